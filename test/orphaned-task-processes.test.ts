import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createColony, type Colony } from '../src/app/colony.js';
import { BWRAP_INSTALL_HINT, probeBubblewrap } from '../src/sandbox/bwrap-probe.js';
import { eventually, tempDir } from './support/temp-colony.js';

/**
 * Orphaned task processes: a real `colony worker` runs a shell task whose command keeps running (and
 * ignores SIGTERM), and is killed with SIGKILL. The command must not outlive it where the platform
 * allows (bubblewrap's --die-with-parent; on the host, the setpriv + timeout wrapper), and where it
 * does (no wrapper), the next worker's recovery must end it before the task runs again: there is
 * never a second copy of the command beside the first. Copies are counted in /proc by a marker.
 */

const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist/cli/main.js');
const NODE = existsSync(join(ROOT, 'node_modules/.bin/node')) ? join(ROOT, 'node_modules/.bin/node') : process.execPath;
/** Bounds for conditions polled below; never a measure of speed. */
const WAIT_MS = 30_000;
const SAMPLE_MS = 5;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

beforeAll(async () => {
  const probe = await probeBubblewrap('bwrap', process.env);
  if (!probe.ok) throw new Error(`${BWRAP_INSTALL_HINT} (${probe.reason})`);
});

interface ProcInfo {
  pid: number;
  pgrp: number;
}

/** Live (not zombie) processes running exactly `sleep <marker>`, wherever they run (bwrap's own pid namespace too). */
function copiesOf(marker: string): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8') !== `sleep\0${marker}\0`) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') continue;
      found.push({ pid: Number(entry), pgrp: Number(fields[2]) });
    } catch {
      // it ended while we looked
    }
  }
  return found;
}

function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function starts(dir: string): number {
  const log = join(dir, 'runs.log');
  return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => l === 'start').length : 0;
}

interface Project {
  dir: string;
  colony: Colony;
  marker: string;
}

async function project(): Promise<Project> {
  const dir = tempDir('colony-orphans-');
  const marker = `${900_000 + Math.floor(Math.random() * 99_999)}`;
  // Whatever happens in the test, no copy of the command survives it.
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => {
    for (const copy of copiesOf(marker)) {
      try {
        process.kill(-copy.pgrp, 'SIGKILL');
      } catch {
        process.kill(copy.pid, 'SIGKILL');
      }
    }
  });
  mkdirSync(join(dir, '.colony'), { recursive: true });
  writeFileSync(join(dir, '.colony', 'config.yaml'), 'tasks:\n  pollIntervalMs: 25\n  drainTimeoutMs: 0\n');
  // This process only submits and reads; it never runs tasks.
  const colony = await createColony({ projectDir: dir, env: {}, config: { log: { level: 'silent' } } });
  cleanups.push(() => colony.close({ drainTimeoutMs: 0 }));
  return { dir, colony, marker };
}

/** A `colony worker` on the project; killed after the test if it is still running. */
function worker(dir: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(NODE, [CLI, 'worker'], { cwd: dir, env: { ...env, COLONY_LOG_LEVEL: 'silent' }, stdio: 'ignore' });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return child;
}

async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGKILL');
  await exited;
}

/** A PATH with `sleep` and nothing else: a host without setpriv or timeout. */
function bareBin(dir: string): string {
  const bin = join(dir, 'bare-bin');
  mkdirSync(bin);
  symlinkSync('/bin/sleep', join(bin, 'sleep'));
  return bin;
}

interface Scenario {
  sandbox: 'off' | 'bwrap';
  /** Without setpriv and timeout on PATH, host-run commands cannot die with their runner. */
  bare?: boolean;
}

/**
 * Runs the task under a worker, kills the worker with SIGKILL, checks what became of the command,
 * then runs a second worker and checks that the task ran again without two copies ever side by side.
 */
async function crashAndRecover(scenario: Scenario): Promise<{ survivedRunner: boolean }> {
  const { dir, colony, marker } = await project();
  const env: NodeJS.ProcessEnv = { ...process.env, COLONY_SANDBOX: scenario.sandbox, ...(scenario.bare ? { PATH: bareBin(dir) } : {}) };
  const [task] = await colony.tasks.submit([
    { type: 'shell', name: 'long', input: { command: `echo start >> runs.log; trap '' TERM; sleep ${marker} & wait` }, maxRetries: 2 },
  ]);
  const taskId = (task as { id: string }).id;

  const first = worker(dir, env);
  const running = await eventually(async () => {
    const stored = await colony.store.tasks.get(taskId);
    if (stored?.status !== 'running' || stored.runnerId === null) return undefined;
    const groups = await colony.store.taskProcesses.listHeldBy([stored.runnerId]);
    const copies = copiesOf(marker);
    return groups.length === 1 && copies.length === 1 && starts(dir) === 1 ? { runnerId: stored.runnerId, group: groups[0], copy: copies[0] } : undefined;
  }, WAIT_MS);
  expect(running.group).toMatchObject({ taskId, attempt: 1, runnerId: running.runnerId });
  expect(running.group?.leaderStartTime).toMatch(/^\d+$/);
  expect(isRunning(running.group?.pgid as number)).toBe(true);

  await killHard(first);
  let survivedRunner = true;
  if (scenario.bare) {
    // Nothing on this host ends it: it runs on, and its group is still on record for recovery.
    expect(isRunning((running.copy as ProcInfo).pid)).toBe(true);
    expect(await colony.store.taskProcesses.listHeldBy([running.runnerId])).toHaveLength(1);
  } else {
    // It dies with its runner, before any other process recovers anything.
    await eventually(() => copiesOf(marker).length === 0, WAIT_MS);
    survivedRunner = false;
  }

  // A second worker recovers the task and runs it again; sample the copies alive all the while.
  let most = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      most = Math.max(most, copiesOf(marker).length);
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
  })();
  worker(dir, env);
  try {
    await eventually(() => starts(dir) === 2 && copiesOf(marker).length === 1, WAIT_MS);
  } finally {
    sampling = false;
    await sampler;
  }
  most = Math.max(most, copiesOf(marker).length);
  expect(most).toBe(1);
  expect(isRunning((running.copy as ProcInfo).pid)).toBe(false);
  const again = await colony.store.tasks.get(taskId);
  expect(again).toMatchObject({ status: 'running', attempts: 2 });
  expect(again?.runnerId).not.toBe(running.runnerId);
  const recovered = await colony.store.events.list({ types: ['task.recovered'] });
  expect(recovered.map((e) => (e.data as { taskId: string }).taskId)).toEqual([taskId]);
  // The dead runner's record is gone; the new attempt's group is on record under the new runner.
  expect(await colony.store.taskProcesses.listHeldBy([running.runnerId])).toEqual([]);
  const current = await eventually(async () => {
    const groups = await colony.store.taskProcesses.listHeldBy([again?.runnerId as string]);
    return groups.length > 0 ? groups : undefined;
  }, WAIT_MS);
  expect(current).toMatchObject([{ taskId, attempt: 2, pgid: expect.any(Number) }]);
  return { survivedRunner };
}

describe('orphaned task processes after kill -9 of a worker', () => {
  it('on the host (sandbox off): the command dies with its runner, and runs again once', async () => {
    expect((await crashAndRecover({ sandbox: 'off' })).survivedRunner).toBe(false);
  }, 90_000);

  it('under bubblewrap: the command dies with its runner, and runs again once', async () => {
    expect((await crashAndRecover({ sandbox: 'bwrap' })).survivedRunner).toBe(false);
  }, 90_000);

  it('on a host without setpriv: recovery ends the orphaned group (SIGTERM ignored, so SIGKILL) before the task runs again', async () => {
    expect((await crashAndRecover({ sandbox: 'off', bare: true })).survivedRunner).toBe(true);
  }, 90_000);
});
