import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs the real `colony` CLI (bin/colony, which runs dist/: build first) as a child process, the way
 * a person or a script does, in temporary project directories.
 */

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const COLONY_BIN = join(REPO_ROOT, 'bin', 'colony');

/**
 * A hang guard, not a speed limit: a CLI (or a server started for a test) is killed after this long.
 * Well under the suite's test timeout (300 s), because on a loaded 2-core machine a test's commands and its
 * background server can together take well over a minute.
 */
export const CLI_HANG_GUARD_MS = 110_000;
/** How long `eventually` polls before it gives up: also a hang guard (a met condition returns at once). */
export const EVENTUALLY_HANG_GUARD_MS = 60_000;

export interface CliResult {
  /** The exit code; null only if the process was killed by a signal it did not handle. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  /** Added to a copy of this process's environment with every COLONY_* variable removed. */
  env?: Record<string, string | undefined>;
  /** Kill the CLI (and fail) after this long. Default CLI_HANG_GUARD_MS. */
  timeoutMs?: number;
}

/** This process's environment without COLONY_* variables, without colour, plus `extra`. */
export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('COLONY_')) env[key] = value;
  env.NO_COLOR = '1';
  delete env.FORCE_COLOR;
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** A CLI process running in the background (a worker, a workflow run to interrupt). */
export interface BackgroundCli {
  child: ChildProcess;
  pid: number;
  /** Everything written so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves when stderr matches (rejects if the process exits first or after `timeoutMs`). */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the outcome when the process has exited. */
  exited: Promise<CliResult>;
}

export function startCli(args: string[], options: CliOptions): BackgroundCli {
  const child = spawn(COLONY_BIN, args, { cwd: options.cwd, env: cliEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const stderrListeners = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const listener of stderrListeners) listener();
  });
  const timeoutMs = options.timeoutMs ?? CLI_HANG_GUARD_MS;
  const exited = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`colony ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close' rather than 'exit': all output has been read by then.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  // A caller that only awaits waitForStderr must not see an unhandled rejection from a timeout.
  exited.catch(() => undefined);
  if (child.pid === undefined) throw new Error(`could not start ${COLONY_BIN}`);
  return {
    child,
    pid: child.pid,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    waitForStderr(pattern, waitMs = 20_000) {
      return new Promise<void>((resolve, reject) => {
        const done = (fn: () => void) => {
          stderrListeners.delete(check);
          clearTimeout(timer);
          fn();
        };
        const check = () => {
          if (pattern.test(stderr)) done(resolve);
        };
        const timer = setTimeout(() => done(() => reject(new Error(`stderr never matched ${pattern}; stderr so far:\n${stderr}`))), waitMs);
        stderrListeners.add(check);
        exited.then(
          (r) => done(() => (pattern.test(stderr) ? resolve() : reject(new Error(`process exited (${r.code}) before stderr matched ${pattern}:\n${stderr}`)))),
          (error: unknown) => done(() => reject(error)),
        );
        check();
      });
    },
  };
}

/** Runs `colony <args>` to completion. Never rejects for a non-zero exit: the code is the result. */
export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  return startCli(args, options).exited;
}

/** Runs `colony --json <args>` and parses stdout (whatever the exit code). */
export async function runJson<T = unknown>(args: string[], options: CliOptions): Promise<{ code: number | null; data: T; stderr: string }> {
  const result = await runCli(['--json', ...args], options);
  let data: T;
  try {
    data = JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`colony --json ${args.join(' ')} printed no JSON (exit ${result.code})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return { code: result.code, data, stderr: result.stderr };
}

export interface TempProject {
  /** The project directory (real path), empty at first. */
  dir: string;
  /** The directory that holds only the project, so a test can see anything written beside it. */
  parent: string;
  path(...parts: string[]): string;
  write(relativePath: string, content: string): string;
  read(relativePath: string): string;
  /** Removes the project and its parent. */
  remove(): void;
}

const created = new Set<TempProject>();

/**
 * A fresh, empty project directory at `<tmp>/colony-cli-XXXX/project`. Remove it with `remove()` or
 * `removeTempProjects()` (e.g. in afterAll).
 */
export function tempProject(): TempProject {
  const parent = realpathSync(mkdtempSync(join(tmpdir(), 'colony-cli-')));
  const dir = join(parent, 'project');
  mkdirSync(dir);
  const project: TempProject = {
    dir,
    parent,
    path: (...parts) => join(dir, ...parts),
    write(relativePath, content) {
      const file = join(dir, relativePath);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, content);
      return file;
    },
    read: (relativePath) => readFileSync(join(dir, relativePath), 'utf8'),
    remove() {
      created.delete(project);
      rmSync(parent, { recursive: true, force: true });
    },
  };
  created.add(project);
  return project;
}

export function removeTempProjects(): void {
  for (const project of [...created]) project.remove();
}

/**
 * Whether a process is alive. A zombie counts as gone: process.kill(pid, 0) succeeds for one, and an
 * orphan on this machine may stay a zombie forever because PID 1 does not reap it.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

/**
 * Live processes whose working directory is `dir` or inside it (Linux /proc; empty elsewhere). Shell
 * tasks run in the project directory, so after a CLI invocation has exited, any such process is one
 * it left behind.
 */
export function processesIn(dir: string): { pid: number; cmdline: string }[] {
  if (process.platform !== 'linux') return [];
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${entry}/cwd`);
    } catch {
      continue; // gone, a zombie, or not ours to see
    }
    if ((cwd === dir || cwd.startsWith(dir + sep)) && isAlive(pid)) {
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      } catch {
        cmdline = '?';
      }
      found.push({ pid, cmdline });
    }
  }
  return found;
}

/** Polls `fn` until it returns a value other than undefined (or throws after `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = EVENTUALLY_HANG_GUARD_MS, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
