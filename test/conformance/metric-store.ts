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

      it('sums agent runs\' model calls per provider and model from their llm.* samples, since a time', async () => {
        const call = (taskId: string, provider: string, model: string, input: number, output: number, cost: number | null, at: number) => {
          const metadata = { provider, model, turn: 1, attempt: 1 };
          return [
            metric('task', taskId, 'llm.input_tokens', input, at, metadata),
            metric('task', taskId, 'llm.output_tokens', output, at, metadata),
            ...(cost === null ? [] : [metric('task', taskId, 'llm.cost_usd', cost, at, metadata)]),
            // The same call as the agent's sample: not counted twice.
            metric('agent', 'agt_1', 'llm.input_tokens', input, at, { ...metadata, taskId }),
          ];
        };
        await store.metrics.record([
          ...call('tsk_1', 'anthropic', 'claude-x', 100, 10, 0.25, T),
          ...call('tsk_2', 'anthropic', 'claude-x', 50, 5, 0.5, T + 10),
          ...call('tsk_2', 'anthropic', 'local-model', 7, 3, null, T + 20),
          ...call('tsk_3', 'openai', 'gpt-y', 20, 2, 0.125, T + 30),
          metric('task', 'tsk_1', 'task.completed', 1, T),
        ]);
        expect(await store.metrics.modelCallTotals()).toEqual([
          { provider: 'anthropic', model: 'claude-x', calls: 2, inputTokens: 150, outputTokens: 15, costUsd: 0.75, unpricedCalls: 0, lastCallAt: T + 10 },
          { provider: 'anthropic', model: 'local-model', calls: 1, inputTokens: 7, outputTokens: 3, costUsd: 0, unpricedCalls: 1, lastCallAt: T + 20 },
          { provider: 'openai', model: 'gpt-y', calls: 1, inputTokens: 20, outputTokens: 2, costUsd: 0.125, unpricedCalls: 0, lastCallAt: T + 30 },
        ]);
        expect((await store.metrics.modelCallTotals(T + 15)).map((r) => [r.model, r.calls])).toEqual([
          ['local-model', 1],
          ['gpt-y', 1],
        ]);
      });
    });
  });
}
