import { beforeEach, describe, expect, it } from 'vitest';
import type { TaskProcessRecord, TaskProcessStore } from '../../src/ports/task-process-store.js';
import { useMigratedStore } from './use-migrated-store.js';

function group(pgid: number, patch: Partial<TaskProcessRecord> = {}): TaskProcessRecord {
  return { hostname: 'host-a', pgid, runnerId: 'run_a', taskId: 'tsk_1', attempt: 1, leaderStartTime: '123456', startedAt: 1_000 + pgid, ...patch };
}

/** What the suite needs of a store: the port, `migrate` and `close` (a whole Store has them all). */
export interface TaskProcessStoreHost {
  taskProcesses: TaskProcessStore;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/** The TaskProcessStore port's conformance suite (Store.taskProcesses); `create` gives a fresh, unmigrated store. */
export function runTaskProcessStoreConformance(name: string, create: () => Promise<{ store: TaskProcessStoreHost; cleanup: () => Promise<void> }>): void {
  describe(`TaskProcessStore conformance: ${name}`, () => {
    // useMigratedStore calls only migrate and close.
    const current = useMigratedStore(create);
    let store: TaskProcessStoreHost;
    beforeEach(() => {
      store = current();
    });

    it('lists the groups of the runners asked for, oldest first, with every field as written', async () => {
      await store.taskProcesses.add(group(30, { startedAt: 3_000 }));
      await store.taskProcesses.add(group(10, { startedAt: 1_000, runnerId: 'run_b', hostname: 'host-b', leaderStartTime: null, attempt: 2, taskId: 'tsk_2' }));
      await store.taskProcesses.add(group(20, { startedAt: 2_000 }));
      await store.taskProcesses.add(group(40, { runnerId: 'run_c' }));
      expect(await store.taskProcesses.listHeldBy(['run_a', 'run_b'])).toEqual([
        group(10, { startedAt: 1_000, runnerId: 'run_b', hostname: 'host-b', leaderStartTime: null, attempt: 2, taskId: 'tsk_2' }),
        group(20, { startedAt: 2_000 }),
        group(30, { startedAt: 3_000 }),
      ]);
      expect(await store.taskProcesses.listHeldBy([])).toEqual([]);
      expect(await store.taskProcesses.listHeldBy(['run_none'])).toEqual([]);
    });

    it('removes a group only for the runner that recorded it, and quietly when it is not there', async () => {
      await store.taskProcesses.add(group(10));
      await store.taskProcesses.remove({ hostname: 'host-a', pgid: 10, runnerId: 'run_other' });
      await store.taskProcesses.remove({ hostname: 'host-b', pgid: 10, runnerId: 'run_a' });
      expect(await store.taskProcesses.listHeldBy(['run_a'])).toHaveLength(1);
      await store.taskProcesses.remove({ hostname: 'host-a', pgid: 10, runnerId: 'run_a' });
      expect(await store.taskProcesses.listHeldBy(['run_a'])).toEqual([]);
      await store.taskProcesses.remove({ hostname: 'host-a', pgid: 10, runnerId: 'run_a' });
    });

    it('a new group with the id of a stale record on the same host replaces it; the same id on another host is another group', async () => {
      await store.taskProcesses.add(group(10, { runnerId: 'run_dead', leaderStartTime: '1' }));
      await store.taskProcesses.add(group(10, { runnerId: 'run_a', leaderStartTime: '2', taskId: 'tsk_9' }));
      await store.taskProcesses.add(group(10, { runnerId: 'run_b', hostname: 'host-b' }));
      expect(await store.taskProcesses.listHeldBy(['run_dead'])).toEqual([]);
      expect(await store.taskProcesses.listHeldBy(['run_a'])).toEqual([group(10, { runnerId: 'run_a', leaderStartTime: '2', taskId: 'tsk_9' })]);
      expect(await store.taskProcesses.listHeldBy(['run_b'])).toHaveLength(1);
      // The old runner's late removal does not remove the new group's record.
      await store.taskProcesses.remove({ hostname: 'host-a', pgid: 10, runnerId: 'run_dead' });
      expect(await store.taskProcesses.listHeldBy(['run_a'])).toHaveLength(1);
    });
  });
}
