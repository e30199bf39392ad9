/**
 * Defaults of the claude-code provider, in one place. (The configurable ones, binary and timeout,
 * live in providers/provider-defaults.ts beside the other providers'.)
 */

/** After SIGTERM, how long a Claude Code run gets to exit before its process group is SIGKILLed. */
export const CLAUDE_CODE_KILL_GRACE_MS = 3_000;

/** How much of the end of stderr is kept for error messages. */
export const CLAUDE_CODE_STDERR_TAIL_CHARS = 2_000;

/**
 * Claude Code's own retries per API request inside a run (CLAUDE_CODE_MAX_RETRIES). Zero: the
 * resilient wrapper is Colony's one retry layer, and Claude Code's default (ten, with backoff) would
 * multiply with it and hold a failing call for minutes.
 */
export const CLAUDE_CODE_DEFAULT_INTERNAL_RETRIES = 0;

/** The npm package that ships the CLI (its `bin` is `claude`). */
export const CLAUDE_CODE_PACKAGE = '@anthropic-ai/claude-code';

/** Claude Code is a Node program in older releases (cli.js) and needs this Node major or newer. */
export const CLAUDE_CODE_MIN_NODE_MAJOR = 22;

/**
 * Set for every run: no auto-update, telemetry, error reporting or other nonessential traffic. A
 * headless run should talk to its model endpoint and nothing else (and machines without internet
 * would otherwise wait on those calls).
 */
export const CLAUDE_CODE_QUIET_ENV: Readonly<Record<string, string>> = {
  CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  DISABLE_AUTOUPDATER: '1',
  DISABLE_TELEMETRY: '1',
  DISABLE_ERROR_REPORTING: '1',
};

/**
 * Inherited variables that mark "running inside another Claude Code session". Colony may itself run
 * under Claude Code (as its MCP server, or from its Bash tool); each provider call is a session of
 * its own, so these are not passed on.
 */
export const CLAUDE_CODE_SESSION_ENV_DROPPED: readonly string[] = [
  'CLAUDECODE',
  'CLAUDE_CODE_ENTRYPOINT',
  'CLAUDE_CODE_CHILD_SESSION',
  'CLAUDE_CODE_SESSION_ID',
  'CLAUDE_CODE_SSE_PORT',
];
