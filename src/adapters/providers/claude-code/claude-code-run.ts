import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { signalGroup } from '../../../sandbox/process-group.js';

/**
 * One Claude Code process: spawned as the leader of its own process group (the tools it runs, a
 * Bash command, an MCP server, are in that group too), the prompt written to stdin, stdout read
 * line by line, the end of stderr kept.
 *
 * Stopping (timeout, abort, a consumer that stops reading) sends SIGTERM to the whole group and
 * SIGKILL after a grace period. When the leader exits, whatever it left behind in its group is
 * killed as well, so a run never outlives its call. `exited` resolves once the leader has exited and
 * its pipes are closed; it never rejects.
 */

export type StopReason = 'timeout' | 'cancelled' | 'abandoned';

export interface RunExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (ENOENT, EACCES). */
  spawnError: NodeJS.ErrnoException | null;
}

export interface ClaudeCodeRunOptions {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  input: string;
  timeoutMs: number;
  killGraceMs: number;
  stderrTailChars: number;
  signal?: AbortSignal | undefined;
}

export class ClaudeCodeRun {
  readonly exited: Promise<RunExit>;
  readonly #child: ChildProcessByStdio<Writable, Readable, Readable>;
  readonly #options: ClaudeCodeRunOptions;
  #stderr = '';
  #stopReason: StopReason | null = null;
  #timeoutTimer: NodeJS.Timeout | null = null;
  #killTimer: NodeJS.Timeout | null = null;
  #done = false;
  readonly #onAbort = (): void => this.stop('cancelled');

  constructor(options: ClaudeCodeRunOptions) {
    this.#options = options;
    const child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: process.platform !== 'win32',
      windowsHide: true,
    });
    this.#child = child;
    let spawnError: NodeJS.ErrnoException | null = null;

    this.exited = new Promise<RunExit>((resolve) => {
      const finish = (exit: RunExit): void => {
        if (this.#done) return;
        this.#done = true;
        this.#clearTimers();
        options.signal?.removeEventListener('abort', this.#onAbort);
        resolve(exit);
      };
      child.once('error', (error: NodeJS.ErrnoException) => {
        spawnError = error;
        // A process that never started has no 'close' to wait for.
        if (child.pid === undefined) finish({ code: null, signal: null, spawnError });
      });
      child.once('exit', () => {
        // The leader is gone: stragglers in its group (a background command) must not hold the pipes.
        if (child.pid !== undefined && process.platform !== 'win32') signalGroup(child.pid, 'SIGKILL');
      });
      child.once('close', (code, signal) => finish({ code, signal, spawnError }));
    });

    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-options.stderrTailChars * 2);
    });
    // The process may exit before reading its input (bad flag, missing auth): not an error here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input);

    if (child.pid !== undefined) {
      this.#timeoutTimer = setTimeout(() => this.stop('timeout'), options.timeoutMs);
      this.#timeoutTimer.unref?.();
      if (options.signal?.aborted === true) this.stop('cancelled');
      else options.signal?.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Why the run was stopped from this side, if it was. */
  get stopReason(): StopReason | null {
    return this.#stopReason;
  }

  stderrTail(): string {
    return this.#stderr.slice(-this.#options.stderrTailChars);
  }

  /** stdout, one line at a time, until the process closes it. */
  lines(): AsyncIterable<string> {
    return createInterface({ input: this.#child.stdout, crlfDelay: Infinity });
  }

  /** SIGTERM to the group now, SIGKILL after the grace period; the first reason given sticks. */
  stop(reason: StopReason): void {
    if (this.#done) return;
    this.#stopReason ??= reason;
    const pid = this.#child.pid;
    if (pid === undefined) return;
    this.#signal(pid, 'SIGTERM');
    if (this.#killTimer === null) {
      this.#killTimer = setTimeout(() => this.#signal(pid, 'SIGKILL'), this.#options.killGraceMs);
      this.#killTimer.unref?.();
    }
  }

  /** Stops the run if it is still going and waits until it has exited. */
  async dispose(reason: StopReason = 'abandoned'): Promise<RunExit> {
    if (!this.#done) this.stop(reason);
    return this.exited;
  }

  #signal(pid: number, signal: NodeJS.Signals): void {
    if (process.platform === 'win32') {
      this.#child.kill(signal);
      return;
    }
    if (!signalGroup(pid, signal)) this.#child.kill(signal);
  }

  #clearTimers(): void {
    if (this.#timeoutTimer !== null) clearTimeout(this.#timeoutTimer);
    if (this.#killTimer !== null) clearTimeout(this.#killTimer);
    this.#timeoutTimer = null;
    this.#killTimer = null;
  }
}
