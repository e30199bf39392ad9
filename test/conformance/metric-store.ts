import { beforeEach, describe, expect, it } from 'vitest';
import { T } from '../support/task-fixtures.js';
import type { Store } from '../../src/ports/store.js';
import { useMigratedStore } from './use-migrated-store.js';
import { metric } from './store-fixtures.js';

/**
 * The MetricStore port's conformance suite (metric samples and track records): every Store adapter runs it. `create` returns a
 * fresh, empty, not yet migrated store (the whole Store: cases insert the rows other aggregates hold)
 * and a `cleanup` for after it is closed. Creation order is id order (Colony's ids are time-sorted).
 */
export function runMetricStoreConformance(name: string, create: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`MetricStore conformance: ${name}`, () => {
    const current = useMigratedStore(create);
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    describe('metrics', () => {
      it('records and lists metrics with filters', async () => {
        await store.metrics.record([
          metric('agent', 'agt_1', 'task.completed', 100, T, { taskId: 'tsk_1' }),
          metric('agent', 'agt_2', 'task.failed', 1, T + 10),
          metric('task', 'tsk_1', 'duration', 250.5, T + 20, { nested: { ok: true } }),
          metric('agent', 'agt_1', 'task.completed', 300, T + 30),
        ]);
        expect(await store.metrics.list({})).toHaveLength(4);
        expect(await store.metrics.list({ entityType: 'task' })).toEqual([metric('task', 'tsk_1', 'duration', 250.5, T + 20, { nested: { ok: true } })]);
        expect((await store.metrics.list({ entityId: 'agt_1' })).map((m) => m.value)).toEqual([100, 300]);
        expect((await store.metrics.list({ name: 'task.failed' })).map((m) => m.entityId)).toEqual(['agt_2']);
        expect((await store.metrics.list({ since: T + 10 })).map((m) => m.timestamp)).toEqual([T + 10, T + 20, T + 30]);
        expect((await store.metrics.list({ entityType: 'agent', limit: 2 })).map((m) => m.entityId)).toEqual(['agt_1', 'agt_2']);
        expect((await store.metrics.list({ entityType: 'agent', entityId: 'agt_1', name: 'task.completed', since: T + 1 })).map((m) => m.value)).toEqual([300]);
        expect((await store.metrics.list({ entityId: 'agt_1' }))[0]).toEqual(metric('agent', 'agt_1', 'task.completed', 100, T, { taskId: 'tsk_1' }));
      });

      it('aggregates agent track records from task outcomes', async () => {
        await store.metrics.record([
          metric('agent', 'agt_1', 'task.completed', 100, T),
          metric('agent', 'agt_1', 'task.completed', 200, T),
          metric('agent', 'agt_1', 'task.completed', 600, T),
          metric('agent', 'agt_1', 'task.failed', 1, T),
          metric('agent', 'agt_2', 'task.failed', 1, T),
          metric('agent', 'agt_2', 'task.failed', 1, T),
          // Not outcomes, or not of an agent: ignored.
          metric('agent', 'agt_1', 'tokens', 5_000, T),
          metric('task', 'agt_1', 'task.completed', 9_999, T),
          metric('agent', 'agt_3', 'task.completed', 50, T),
        ]);
        const records = await store.metrics.agentTrackRecords(['agt_1', 'agt_2', 'agt_4']);
        expect(records.get('agt_1')).toEqual({ tasksCompleted: 3, tasksFailed: 1, meanDurationMs: 300 });
        expect(records.get('agt_2')).toEqual({ tasksCompleted: 0, tasksFailed: 2, meanDurationMs: null });
        expect(records.has('agt_3')).toBe(false); // not asked for
        const none = records.get('agt_4');
        expect(none === undefined || (none.tasksCompleted === 0 && none.tasksFailed === 0 && none.meanDurationMs === null)).toBe(true);
        expect((await store.metrics.agentTrackRecords([])).size).toBe(0);
      });
    });
  });
}
