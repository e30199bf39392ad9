import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { stat } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { CancelledError, ExecutionError, ValidationError } from '../domain/errors.js';
import { OutputCollector } from './output-collector.js';
import { groupHasLiveMembers, signalGroup } from './process-group.js';
import { SHELL_GROUP_POLL_MS, SHELL_KILL_GRACE_MS, SHELL_KILL_SETTLE_MS, SHELL_STDIO_DRAIN_MS } from './sandbox-defaults.js';

export type OutputStreamName = 'stdout' | 'stderr';

export interface RunShellOptions {
  command: string;
  cwd: string;
  timeoutMs: number;
  /** Cap per stream: the first bytes are kept, the rest dropped and `truncated` set. */
  maxOutputBytes: number;
  /** The child's whole environment (it replaces, not extends, process.env). Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * A program and its arguments that `/bin/sh -c command` runs under (the OS sandbox: `bwrap ... --`).
   * It leads the process group and gets the signals; it must pass on the exit status.
   */
  prefix?: readonly string[];
  signal?: AbortSignal;
  /** Written to the command's stdin, which is then closed (a hook's JSON input). Default: stdin closed at once. */
  stdin?: string;
  /** Decoded output as it arrives, within the cap. Throwing from it ends the command and rejects the run. */
  onOutput?: (stream: OutputStreamName, chunk: string) => void;
  /** Told when the command's process group starts and when it is gone (to record it while it runs). */
  group?: ProcessGroupObserver;
}

/** Hears of a command's process group, for instance to record it in the store while it runs. */
export interface ProcessGroupObserver {
  /** The group started; its id is its leader's pid. Must not reject. */
  started(pgid: number): Promise<void>;
  /** No process of the group is left (or runShell gave up waiting after SIGKILL); after `started` settled. Must not reject. */
  ended(pgid: number): Promise<void>;
}

export interface ShellResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  timedOut: boolean;
  durationMs: number;
}

/** setTimeout silently fires at once for anything larger. */
const MAX_TIMER_MS = 2_147_483_647;

type ShellChild = ChildProcessByStdio<Writable | null, Readable, Readable>;

interface GroupEnding {
  started: boolean;
  hardKilled: boolean;
  killTimer: NodeJS.Timeout | undefined;
}

/**
 * Runs `command` with `/bin/sh -c` as the leader of a new process group, stdin closed (or given `stdin`). A timeout, an
 * abort or a throwing observer ends the whole group (SIGTERM, then SIGKILL after a grace period), and
 * background jobs still running when the shell exits are ended the same way, so nothing the command
 * started outlives the call (short of a process that left the group on purpose with setsid).
 *
 * Resolves for any exit status, including a timeout (`timedOut: true`): the caller decides what a
 * failure is. Rejects with CancelledError when `signal` aborts, once the group is gone; with
 * ValidationError for bad options; with ExecutionError when the shell cannot be started.
 */
export async function runShell(options: RunShellOptions): Promise<ShellResult> {
  validateOptions(options);
  if (options.signal?.aborted) throw cancelledError(options.signal, 'before it started');
  await assertDirectory(options.cwd);

  const startedAt = performance.now();
  let child: ShellChild;
  try {
    const argv = [...(options.prefix ?? []), '/bin/sh', '-c', options.command];
    child = spawn(argv[0] as string, argv.slice(1), {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    }) as ShellChild;
  } catch (error) {
    // spawn throws synchronously only for malformed arguments, such as a NUL byte in the environment.
    throw new ValidationError(`invalid shell options: ${(error as Error).message}`, { cause: error });
  }
  const pgid = child.pid;
  if (pgid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    throw new ExecutionError(`could not start ${options.prefix?.[0] ?? '/bin/sh'}: ${error.message}`, { cause: error, retryable: false });
  }
  if (options.stdin !== undefined && child.stdin !== null) {
    // A command that exits without reading its input closes the pipe: EPIPE then means nothing.
    child.stdin.on('error', () => {});
    child.stdin.end(options.stdin);
  }
  const recorded = options.group?.started(pgid);
  return supervise(child, pgid, options, startedAt, recorded);
}

async function supervise(child: ShellChild, pgid: number, options: RunShellOptions, startedAt: number, recorded: Promise<void> | undefined): Promise<ShellResult> {
  const ending: GroupEnding = { started: false, hardKilled: false, killTimer: undefined };
  const endGroup = (): void => {
    if (ending.started) return;
    ending.started = true;
    signalGroup(pgid, 'SIGTERM');
    ending.killTimer = setTimeout(() => {
      ending.hardKilled = true;
      signalGroup(pgid, 'SIGKILL');
    }, SHELL_KILL_GRACE_MS);
  };

  let observerError: { error: unknown } | undefined;
  const observer = (stream: OutputStreamName) => (text: string): void => {
    if (options.onOutput === undefined || observerError !== undefined) return;
    try {
      options.onOutput(stream, text);
    } catch (error) {
      observerError = { error };
      endGroup();
    }
  };
  const stdout = new OutputCollector(options.maxOutputBytes, observer('stdout'));
  const stderr = new OutputCollector(options.maxOutputBytes, observer('stderr'));
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  // A pipe read error is followed by 'close', which is all that matters here; without a listener it would crash the host.
  child.stdout.on('error', () => {});
  child.stderr.on('error', () => {});
  child.on('error', () => {});
  const streamsClosed = Promise.all([closed(child.stdout), closed(child.stderr)]);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  let timedOut = false;
  const timeoutTimer = setTimeout(() => {
    timedOut = true;
    endGroup();
  }, options.timeoutMs);
  let aborted = false;
  const onAbort = (): void => {
    aborted = true;
    endGroup();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const exit = await exited;
    // Background jobs the shell left behind are still in its group: end them too.
    if (!ending.started && (await groupHasLiveMembers(pgid))) endGroup();
    if (ending.started) await waitForGroupEnd(pgid, ending);
    if (recorded !== undefined) {
      await recorded;
      await options.group?.ended(pgid);
    }
    await drain(child, streamsClosed);

    const durationMs = Math.round(performance.now() - startedAt);
    if (aborted && options.signal !== undefined) throw cancelledError(options.signal, `after ${durationMs} ms`);
    if (observerError !== undefined) throw observerError.error;
    return {
      exitCode: exit.code,
      signal: exit.signal,
      stdout: stdout.finish(),
      stderr: stderr.finish(),
      truncated: stdout.truncated || stderr.truncated,
      timedOut,
      durationMs,
    };
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(ending.killTimer);
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Polls until no live process is left in the group; after SIGKILL, gives up after a short settle time. */
async function waitForGroupEnd(pgid: number, ending: GroupEnding): Promise<void> {
  let giveUpAt: number | undefined;
  while (await groupHasLiveMembers(pgid)) {
    if (ending.hardKilled) {
      giveUpAt ??= Date.now() + SHELL_KILL_SETTLE_MS;
      if (Date.now() > giveUpAt) return;
    }
    await delay(SHELL_GROUP_POLL_MS);
  }
}

/** Waits for both pipes to close; a process that escaped the group could hold them open forever. */
async function drain(child: ShellChild, streamsClosed: Promise<unknown>): Promise<void> {
  const timer = setTimeout(() => {
    // setImmediate runs after the next I/O poll, so output already buffered in the pipe is read first.
    setImmediate(() => {
      child.stdout.destroy();
      child.stderr.destroy();
    });
  }, SHELL_STDIO_DRAIN_MS);
  try {
    await streamsClosed;
  } finally {
    clearTimeout(timer);
  }
}

function closed(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.closed) resolve();
    else stream.once('close', () => resolve());
  });
}

function cancelledError(signal: AbortSignal, when: string): CancelledError {
  return new CancelledError(`shell command cancelled ${when}`, { cause: signal.reason });
}

function validateOptions(options: RunShellOptions): void {
  if (typeof options.command !== 'string' || options.command.trim() === '') {
    throw new ValidationError('command must be a non-empty string');
  }
  if (options.command.includes('\0')) throw new ValidationError('command must not contain a NUL byte');
  if (typeof options.cwd !== 'string' || options.cwd === '') throw new ValidationError('cwd must be a non-empty path');
  if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0 || options.timeoutMs > MAX_TIMER_MS) {
    throw new ValidationError(`timeoutMs must be a number of milliseconds between 1 and ${MAX_TIMER_MS}`, {
      details: { timeoutMs: options.timeoutMs },
    });
  }
  if (!Number.isSafeInteger(options.maxOutputBytes) || options.maxOutputBytes < 0) {
    throw new ValidationError('maxOutputBytes must be a non-negative integer', {
      details: { maxOutputBytes: options.maxOutputBytes },
    });
  }
}

async function assertDirectory(cwd: string): Promise<void> {
  try {
    if ((await stat(cwd)).isDirectory()) return;
  } catch (error) {
    throw new ValidationError(`cwd ${JSON.stringify(cwd)} is not an accessible directory`, { cause: error, details: { cwd } });
  }
  throw new ValidationError(`cwd ${JSON.stringify(cwd)} is not a directory`, { details: { cwd } });
}
