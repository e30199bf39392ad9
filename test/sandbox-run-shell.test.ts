import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, ValidationError } from '../src/domain/errors.js';
import { runShell } from '../src/sandbox/run-shell.js';

/**
 * Whether a process is still running. process.kill(pid, 0) also succeeds for a zombie, and this
 * machine's PID 1 never reaps orphans, so a killed grandchild stays a zombie ("Z" in /proc) forever:
 * that counts as gone.
 */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ESRCH');
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('runShell', () => {
  let cwd: string;
  beforeEach(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'colony-shell-'));
  });
  afterEach(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  const base = () => ({ cwd, timeoutMs: 10_000, maxOutputBytes: 64 * 1024 });

  it('captures stdout, stderr and a zero exit code', async () => {
    const result = await runShell({ ...base(), command: 'echo out; echo err >&2' });
    expect(result).toMatchObject({ exitCode: 0, signal: null, stdout: 'out\n', stderr: 'err\n', truncated: false, timedOut: false });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('resolves, not rejects, for a non-zero exit code', async () => {
    const result = await runShell({ ...base(), command: 'echo nope >&2; exit 7' });
    expect(result.exitCode).toBe(7);
    expect(result.stderr).toBe('nope\n');
  });

  it('runs in cwd with the given environment and stdin closed', async () => {
    const result = await runShell({ ...base(), command: 'pwd; echo "$GREETING"; cat; echo "cat=$?"', env: { GREETING: 'hello', PATH: process.env.PATH } });
    const [dir, greeting, cat] = result.stdout.trim().split('\n');
    expect(dir).toMatch(/colony-shell-/);
    expect(greeting).toBe('hello');
    expect(cat).toBe('cat=0'); // cat reads EOF at once instead of hanging on a terminal
  });

  it('writes `stdin` to the command and closes it; a command that does not read it is not an error', async () => {
    const read = await runShell({ ...base(), command: 'cat; echo " cat=$?"', stdin: '{"hook":"input"}' });
    expect(read.stdout).toBe('{"hook":"input"} cat=0\n');
    // More than a pipe holds, to a command that exits without reading: EPIPE is ignored.
    const ignored = await runShell({ ...base(), command: 'exit 0', stdin: 'x'.repeat(1024 * 1024) });
    expect(ignored.exitCode).toBe(0);
  });

  it('on timeout kills the whole process group, including a child the shell spawned', async () => {
    let childPid: number | undefined;
    const result = await runShell({
      ...base(),
      timeoutMs: 300,
      command: 'sleep 30 & echo $!; wait',
      onOutput: (stream, chunk) => {
        if (stream === 'stdout') childPid = Number(chunk.trim());
      },
    });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.signal).toBe('SIGTERM');
    expect(childPid).toBeGreaterThan(0);
    expect(isRunning(childPid!)).toBe(false);
  });

  it('escalates to SIGKILL when the group ignores SIGTERM', async () => {
    const result = await runShell({ ...base(), timeoutMs: 200, command: 'trap "" TERM; sleep 30 & echo $!; wait; wait' });
    const pid = Number(result.stdout.trim());
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGKILL');
    expect(isRunning(pid)).toBe(false);
  });

  it('ends background jobs left behind when the shell exits', async () => {
    const result = await runShell({ ...base(), command: 'sleep 30 >/dev/null 2>&1 & echo $!' });
    expect(result.exitCode).toBe(0);
    expect(result.timedOut).toBe(false);
    expect(isRunning(Number(result.stdout.trim()))).toBe(false);
  });

  it('rejects with CancelledError when aborted, after killing the group', async () => {
    const controller = new AbortController();
    let childPid: number | undefined;
    const run = runShell({
      ...base(),
      signal: controller.signal,
      command: 'sleep 30 & echo $!; wait',
      onOutput: (_stream, chunk) => {
        childPid = Number(chunk.trim());
        controller.abort(new Error('user pressed stop'));
      },
    });
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(isRunning(childPid!)).toBe(false);
  });

  it('rejects at once when the signal is already aborted', async () => {
    await expect(runShell({ ...base(), command: 'echo never', signal: AbortSignal.abort() })).rejects.toBeInstanceOf(CancelledError);
  });

  it('caps each stream at maxOutputBytes, keeping the first bytes', async () => {
    const result = await runShell({ ...base(), maxOutputBytes: 1000, command: 'head -c 200000 /dev/zero | tr "\\0" a; echo short >&2' });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toBe('a'.repeat(1000));
    expect(result.stderr).toBe('short\n');
    expect(result.truncated).toBe(true);
  });

  it('decodes UTF-8 split across chunks and does not leave half a character at the cap', async () => {
    // "é" is 0xC3 0xA9: the first byte arrives, then a pause, then the second.
    const split = await runShell({ ...base(), command: "printf '\\303'; sleep 0.2; printf '\\251\\n'" });
    expect(split.stdout).toBe('é\n');
    expect(split.stdout).not.toContain('\uFFFD');
    const capped = await runShell({ ...base(), maxOutputBytes: 3, command: "printf 'aéé'" });
    expect(capped.stdout).toBe('aé');
    expect(capped.truncated).toBe(true);
  });

  it('streams decoded output to onOutput', async () => {
    const seen: string[] = [];
    await runShell({ ...base(), command: 'echo one; sleep 0.1; echo two >&2', onOutput: (stream, chunk) => seen.push(`${stream}:${chunk}`) });
    expect(seen).toEqual(['stdout:one\n', 'stderr:two\n']);
  });

  it('ends the group and rejects with the observer error when onOutput throws', async () => {
    let childPid = 0;
    const run = runShell({
      ...base(),
      command: 'sleep 30 & echo $!; wait',
      onOutput: (_stream, chunk) => {
        childPid = Number(chunk.trim());
        throw new Error('observer broke');
      },
    });
    await expect(run).rejects.toThrow('observer broke');
    expect(isRunning(childPid)).toBe(false);
  });

  it('refuses bad options with ValidationError', async () => {
    await expect(runShell({ ...base(), command: '  ' })).rejects.toBeInstanceOf(ValidationError);
    await expect(runShell({ ...base(), command: 'true', timeoutMs: 0 })).rejects.toBeInstanceOf(ValidationError);
    await expect(runShell({ ...base(), command: 'true', maxOutputBytes: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(runShell({ ...base(), command: 'true', cwd: join(cwd, 'missing') })).rejects.toBeInstanceOf(ValidationError);
  });
});
