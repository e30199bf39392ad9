import { beforeEach, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../src/domain/task.js';
import { T } from '../support/task-fixtures.js';
import type { Store } from '../../src/ports/store.js';
import { useMigratedStore } from './use-migrated-store.js';
import { task, runner, ids } from './store-fixtures.js';

/**
 * The RunnerStore port's conformance suite (runners, heartbeats and the store clock): every Store adapter runs it. `create` returns a
 * fresh, empty, not yet migrated store (the whole Store: cases insert the rows other aggregates hold)
 * and a `cleanup` for after it is closed. Creation order is id order (Colony's ids are time-sorted).
 */
export function runRunnerStoreConformance(name: string, create: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`RunnerStore conformance: ${name}`, () => {
    const current = useMigratedStore(create);
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    describe('clock', () => {
      it("reads the store's time in whole epoch milliseconds, what runners' heartbeats are stamped with", async () => {
        const at = await store.runners.clock();
        expect(Number.isSafeInteger(at)).toBe(true);
        expect(at).toBeGreaterThan(Date.UTC(2024, 0, 1));
        await store.runners.upsert(runner('run_a', { startedAt: at, heartbeatAt: at }));
        expect((await store.runners.list())[0]?.heartbeatAt).toBe(at);
      });
    });

    describe('runners', () => {
      it('upserts (updating the heartbeat), lists and deletes runners', async () => {
        const a = runner('run_a', { startedAt: T, heartbeatAt: T });
        const b = runner('run_b', { startedAt: T + 1, heartbeatAt: T + 1, kind: 'worker' });
        await store.runners.upsert(a);
        await store.runners.upsert(b);
        expect(await store.runners.list()).toEqual([a, b]);

        await store.runners.upsert({ ...a, heartbeatAt: T + 5_000 });
        const listed = await store.runners.list();
        expect(listed).toHaveLength(2);
        expect(listed.find((r) => r.id === 'run_a')).toEqual({ ...a, heartbeatAt: T + 5_000 });

        await store.runners.delete('run_a');
        expect(await store.runners.list()).toEqual([b]);
        await store.runners.delete('run_unknown'); // no error
        expect(await store.runners.list()).toEqual([b]);
      });

      it('keeps whether a runner runs tasks and the pools it serves; a heartbeat changes neither', async () => {
        const server = runner('run_a', { kind: 'server', runsTasks: false, pools: [] });
        const worker = runner('run_b', { kind: 'worker', startedAt: T + 1, heartbeatAt: T + 1, pools: ['eu-west', 'us.east_2'] });
        await store.runners.upsert(server);
        await store.runners.upsert(worker);
        expect(await store.runners.list()).toEqual([server, worker]);
        // A heartbeat is the same record with a newer time.
        await store.runners.upsert({ ...worker, heartbeatAt: T + 9, pools: ['ignored'], runsTasks: false });
        expect((await store.runners.list())[1]).toEqual({ ...worker, heartbeatAt: T + 9 });
        // Registered without them: a runner of tasks, of no pool.
        const { runsTasks: _r, pools: _p, ...bare } = runner('run_c', { startedAt: T + 2, heartbeatAt: T + 2 });
        await store.runners.upsert(bare);
        expect((await store.runners.list())[2]).toEqual({ ...bare, runsTasks: true, pools: [] });
      });

      it('lists running tasks held by runners and the runners holding tasks', async () => {
        await store.tasks.insert([
          task('tsk_1', { status: 'running', runnerId: 'run_a', attempts: 1 }),
          task('tsk_2', { status: 'running', runnerId: 'run_b', attempts: 1 }),
          task('tsk_3', { status: 'running', runnerId: 'run_a', attempts: 1 }),
          task('tsk_4', { status: 'completed', runnerId: 'run_c', attempts: 1 }),
          task('tsk_5', { status: 'queued', runnerId: null }),
        ]);
        expect(ids(await store.tasks.listHeldBy(['run_a']))).toEqual(['tsk_1', 'tsk_3']);
        expect(ids(await store.tasks.listHeldBy(['run_a', 'run_b']))).toEqual(['tsk_1', 'tsk_2', 'tsk_3']);
        expect(await store.tasks.listHeldBy(['run_c'])).toEqual([]);
        expect(await store.tasks.listHeldBy([])).toEqual([]);
        expect((await store.tasks.listHoldingRunnerIds()).sort()).toEqual(['run_a', 'run_b']);

        const t2 = (await store.tasks.get('tsk_2')) as TaskRecord;
        await store.tasks.update({ ...t2, status: 'completed' }, { status: 'running', attempts: 1 });
        expect(await store.tasks.listHoldingRunnerIds()).toEqual(['run_a']);
      });
    });
  });
}
