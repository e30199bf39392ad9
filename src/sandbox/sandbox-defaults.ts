/**
 * Limits and timings of the agent sandbox (shell, file tools, journal), in one place so that they are
 * easy to find, to review and to override from configuration.
 */

/** After SIGTERM to a command's process group, how long it gets to exit before SIGKILL. */
export const SHELL_KILL_GRACE_MS = 2_000;

/** After SIGKILL, how long to wait for the group to disappear before giving up (stuck in the kernel). */
export const SHELL_KILL_SETTLE_MS = 1_000;

/** How often to look whether a process group still has live members while it is being ended. */
export const SHELL_GROUP_POLL_MS = 20;

/**
 * Once the command's process group is gone, how long its pipes may stay open. Normally they close at
 * once; only a process that left the group (setsid) can still hold them, and after this the pipes are
 * closed on it. Generous, because a busy event loop must still get to read what is already buffered.
 */
export const SHELL_STDIO_DRAIN_MS = 1_000;

/** Defaults for callers that expose a shell tool; runShell itself requires explicit values. */
export const SHELL_DEFAULT_TIMEOUT_MS = 120_000;
export const SHELL_DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

/** How deeply nested `sh -c`, `eval` and `$(...)` the command policy follows before refusing. */
export const POLICY_MAX_NESTING = 8;

/** Largest prior content the file journal keeps per file; bigger files are recorded as not restorable. */
export const JOURNAL_MAX_FILE_BYTES = 10 * 1024 * 1024;

/** readFile refuses files bigger than this (use searchFiles or the shell on them). */
export const FILE_READ_MAX_FILE_BYTES = 10 * 1024 * 1024;
/** Most text readFile returns in one call; the rest is reached with offset. */
export const FILE_READ_MAX_OUTPUT_BYTES = 256 * 1024;
/** Lines returned by readFile when the caller gives no limit. */
export const FILE_READ_DEFAULT_LINES = 2_000;

/** Largest content writeFile and editFile will write. */
export const FILE_WRITE_MAX_BYTES = 10 * 1024 * 1024;

/** Upper bound on listFiles' maxEntries, whatever the caller asks. */
export const LIST_MAX_ENTRIES = 10_000;

/** Upper bound on searchFiles' maxResults, whatever the caller asks. */
export const SEARCH_MAX_RESULTS = 1_000;
/** Longest regular expression searchFiles accepts. */
export const SEARCH_MAX_PATTERN_CHARS = 1_000;
/** searchFiles skips files bigger than this. */
export const SEARCH_MAX_FILE_BYTES = 2 * 1024 * 1024;
/** searchFiles stops (and says so) after looking at this many files. */
export const SEARCH_MAX_FILES = 20_000;
/** searchFiles stops (and says so) after reading this many bytes in all. */
export const SEARCH_MAX_TOTAL_BYTES = 64 * 1024 * 1024;
/**
 * searchFiles lets other work run (yields to the event loop) after matching this many bytes of
 * lines: RE2 is linear but not free (about 10 MB/s for the worst patterns), and a server shares the loop.
 */
export const SEARCH_YIELD_EVERY_BYTES = 64 * 1024;
/** Lines longer than this are not searched (minified code). */
export const SEARCH_MAX_LINE_CHARS = 4_096;
/** A matching line is returned cut to this many characters. */
export const SEARCH_MAX_MATCH_CHARS = 300;

/** Directories the file walkers never descend into. */
export const WALK_SKIP_DIRECTORIES: readonly string[] = ['.git', 'node_modules'];

/** How much of a file is looked at to decide whether it is binary (a NUL byte means binary, as git does). */
export const BINARY_SNIFF_BYTES = 8_000;

/** How long the startup check of bubblewrap (`bwrap ... true`) may take before it counts as not working. */
export const BWRAP_PROBE_TIMEOUT_MS = 10_000;

/**
 * Paths hidden from sandboxed commands when they exist, besides the server's HOME and data directory:
 * container secrets, and sockets that would hand a command the host (a read-only mount does not stop
 * connect() on a socket).
 */
export const SANDBOX_HIDDEN_SYSTEM_PATHS: readonly string[] = [
  '/run/secrets',
  '/run/user',
  '/run/docker.sock',
  '/var/run/docker.sock',
  '/run/containerd',
  '/run/podman',
];

/** A SQLite database is its file plus these side files (write-ahead log, its index, rollback journal): all hidden. */
export const DATABASE_FILE_SUFFIXES: readonly string[] = ['', '-wal', '-shm', '-journal'];
