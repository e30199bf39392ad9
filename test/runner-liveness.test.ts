import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import { DEFAULTS } from '../src/kernel/constants.js';
import { RunnerRegistry } from '../src/kernel/runner-registry.js';
import type { RunnerRecord } from '../src/ports/store.js';
import { taskRecord } from './support/task-fixtures.js';
import { eventually, tempColony, tempDir } from './support/temp-colony.js';

/**
 * Runner liveness across hosts is judged by the store's clock: a heartbeat is stamped with it, and its
 * age measured with it, so a host whose clock is minutes off neither kills live runners (and runs
 * their tasks twice) nor keeps dead ones alive.
 */

const MINUTE = 60_000;
const LEASE = DEFAULTS.runnerLeaseMs;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function elsewhere(id: string, heartbeatAt: number): RunnerRecord {
  return { id, pid: 1, hostname: 'another-host.example', kind: 'worker', runsTasks: true, pools: [], startedAt: heartbeatAt, heartbeatAt };
}

describe('runner liveness by the store clock', () => {
  it('colonies whose clocks are ten minutes off stamp heartbeats and judge runners on other hosts by the database clock', async () => {
    const dir = tempDir('colony-runners-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const open = async (skewMs: number) => {
      const t = await tempColony({}, { dir, now: () => Date.now() + skewMs });
      cleanups.push(() => t.colony.close({ drainTimeoutMs: 0 }));
      return t.colony;
    };
    const behind = await open(-10 * MINUTE);
    const ahead = await open(10 * MINUTE);
    const store = behind.store;

    // The heartbeat is the database's time, not the registering host's.
    await behind.runners.register();
    cleanups.push(() => behind.runners.unregister());
    const own = (await store.runners.list()).find((r) => r.id === behind.runners.id) as RunnerRecord;
    const age = (await store.runners.clock()) - own.heartbeatAt;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(LEASE);
    expect(own.startedAt).toBe(own.heartbeatAt);

    // Runners on another host, as their registries write them: one that has just beaten, one silent
    // for two leases. Each holds a running task.
    const now = await store.runners.clock();
    await store.runners.upsert(elsewhere('run_fresh', now));
    await store.runners.upsert(elsewhere('run_silent', now - 2 * LEASE));
    await store.tasks.insert([
      taskRecord('tsk_fresh', { status: 'running', attempts: 1, runnerId: 'run_fresh' }),
      taskRecord('tsk_silent', { status: 'running', attempts: 1, runnerId: 'run_silent' }),
    ]);

    for (const judge of [ahead, behind]) {
      // Ten minutes ahead, the fresh heartbeat would look dead; ten minutes behind, the silent one alive.
      const live = (await judge.runners.liveRunners()).map((r) => r.id);
      expect(live).toContain('run_fresh');
      expect(live).not.toContain('run_silent');
      expect(await judge.runners.deadRunnersHoldingTasks()).toEqual(['run_silent']);
    }
  });

  it('a runner is live while its heartbeat, by the store clock, is younger than the lease', async () => {
    const dir = tempDir('colony-runners-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // Two processes on two hosts sharing one database, and so one clock (here, one the test moves).
    let dbNow = 1_800_000_000_000;
    const storeOf = async () => {
      const store = new SqliteStore({ path: join(dir, 'colony.db'), busyTimeoutMs: 5_000, clock: () => dbNow });
      await store.migrate();
      cleanups.push(() => store.close());
      return store;
    };
    const [storeA, storeB] = [await storeOf(), await storeOf()];
    const a = new RunnerRegistry({ store: storeA, id: 'run_a', kind: 'worker', heartbeatMs: 5, leaseMs: LEASE, host: 'host-a' });
    const b = new RunnerRegistry({ store: storeB, id: 'run_b', kind: 'worker', heartbeatMs: 60 * MINUTE, leaseMs: LEASE, host: 'host-b' });
    await a.register();
    await b.register();
    cleanups.push(() => a.unregister());
    cleanups.push(() => b.unregister());
    const heartbeatOf = async (id: string) => (await storeB.runners.list()).find((r) => r.id === id)?.heartbeatAt;
    expect(await heartbeatOf('run_a')).toBe(dbNow);
    expect((await b.liveRunners()).map((r) => r.id).sort()).toEqual(['run_a', 'run_b']);

    // A keeps beating: each beat carries the store's time, so A stays live as that time moves on.
    dbNow += 10 * MINUTE;
    await eventually(async () => (await heartbeatOf('run_a')) === dbNow);
    expect((await b.liveRunners()).map((r) => r.id).sort()).toEqual(['run_a', 'run_b']);

    // A stops beating (its process hangs): live until its heartbeat is a lease old, dead from then on.
    await a.unregister();
    await storeA.runners.upsert({ id: 'run_a', pid: process.pid, hostname: 'host-a', kind: 'worker', startedAt: dbNow, heartbeatAt: dbNow });
    dbNow += LEASE - 1;
    expect((await b.liveRunners()).map((r) => r.id).sort()).toEqual(['run_a', 'run_b']);
    dbNow += 1;
    expect((await b.liveRunners()).map((r) => r.id).sort()).toEqual(['run_b']);
    // B's own record counts as live while B is registered, whatever its age.
    expect(await heartbeatOf('run_b')).toBe(1_800_000_000_000);
  });
});
