import { beforeEach, describe, expect, it } from 'vitest';
import type { ModelCallLedger, OpenModelCall } from '../../src/ports/model-call-ledger.js';
import { useMigratedStore } from './use-migrated-store.js';

function call(id: string, patch: Partial<OpenModelCall> = {}): OpenModelCall {
  return {
    id,
    swarmId: 'swm_1',
    taskId: 'tsk_1',
    agentId: 'agt_1',
    runnerId: 'run_a',
    provider: 'anthropic',
    model: 'fake-model',
    reservedTokens: 100,
    reservedCostUsd: 0.01,
    startedAt: 1_000,
    ...patch,
  };
}

/** What the suite needs of a store: the port, `migrate` and `close` (a whole Store has them all). */
export interface ModelCallLedgerHost {
  modelCalls: ModelCallLedger;
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/** The ModelCallLedger port's conformance suite (Store.modelCalls); `create` gives a fresh, unmigrated store. */
export function runModelCallLedgerConformance(name: string, create: () => Promise<{ store: ModelCallLedgerHost; cleanup: () => Promise<void> }>): void {
  describe(`ModelCallLedger conformance: ${name}`, () => {
    // useMigratedStore calls only migrate and close.
    const current = useMigratedStore(create);
    let store: ModelCallLedgerHost;
    beforeEach(() => {
      store = current();
    });

    it('counts closed calls at their cost, open ones apart, and only the swarm asked for', async () => {
      expect(await store.modelCalls.open(call('c1'))).toBe(true);
      expect(await store.modelCalls.open(call('c2'))).toBe(true);
      expect(await store.modelCalls.open(call('other', { swarmId: 'swm_2' }))).toBe(true);
      await store.modelCalls.close('c1', { inputTokens: 30, outputTokens: 12, costUsd: 0.002 }, 1_010);
      expect(await store.modelCalls.swarmUsage('swm_1')).toEqual({
        calls: 1,
        inputTokens: 30,
        outputTokens: 12,
        costUsd: 0.002,
        openCalls: 1,
        openTokens: 100,
        lostCalls: 0,
        lostTokens: 0,
        refusedCalls: 0,
      });
      expect((await store.modelCalls.swarmUsage('swm_none')).calls).toBe(0);
    });

    it('admits a call only while used and reserved tokens plus its reservation fit the budget', async () => {
      const budget = { maxTokens: 250, maxCostUsd: null };
      expect(await store.modelCalls.open(call('c1'), budget)).toBe(true);
      expect(await store.modelCalls.open(call('c2'), budget)).toBe(true);
      // 200 reserved: a third reservation of 100 would pass 250.
      expect(await store.modelCalls.open(call('c3'), budget)).toBe(false);
      expect(await store.modelCalls.open(call('c3', { reservedTokens: 50 }), budget)).toBe(true);
      // c1 used less than it reserved: what it did not use is free again.
      await store.modelCalls.close('c1', { inputTokens: 10, outputTokens: 10, costUsd: null }, 1_010);
      expect(await store.modelCalls.open(call('c4', { reservedTokens: 80 }), budget)).toBe(true);
      expect((await store.modelCalls.swarmUsage('swm_1')).openCalls).toBe(3);
    });

    it('records a refused call, which costs nothing and tells every process the budget is spent', async () => {
      await store.modelCalls.open(call('c1'));
      await store.modelCalls.refuse(call('c2', { reservedTokens: 0 }));
      expect(await store.modelCalls.swarmUsage('swm_1')).toMatchObject({ calls: 0, openCalls: 1, openTokens: 100, refusedCalls: 1 });
      expect(await store.modelCalls.open(call('c3'), { maxTokens: 200, maxCostUsd: null })).toBe(true);
    });

    it('admits against a cost budget where prices are known', async () => {
      const budget = { maxTokens: null, maxCostUsd: 0.025 };
      expect(await store.modelCalls.open(call('c1'), budget)).toBe(true);
      expect(await store.modelCalls.open(call('c2'), budget)).toBe(true);
      expect(await store.modelCalls.open(call('c3'), budget)).toBe(false);
      // An unknown price cannot be held to a cost budget.
      expect(await store.modelCalls.open(call('c4', { reservedCostUsd: null }), budget)).toBe(true);
    });

    it('concurrent admissions never overshoot the budget together', async () => {
      const budget = { maxTokens: 500, maxCostUsd: null };
      const admitted = await Promise.all(Array.from({ length: 20 }, (_, i) => store.modelCalls.open(call(`c${i}`), budget)));
      expect(admitted.filter(Boolean)).toHaveLength(5);
    });

    it('open calls of a dead process count at their reservation, and a late close still records the real figures', async () => {
      await store.modelCalls.open(call('c1', { runnerId: 'run_dead' }));
      await store.modelCalls.open(call('c2', { runnerId: 'run_alive' }));
      await store.modelCalls.open(call('c3', { runnerId: 'run_dead' }));
      await store.modelCalls.close('c3', { inputTokens: 1, outputTokens: 1, costUsd: 0 }, 1_005);
      expect(await store.modelCalls.markLost(['run_dead'], 1_010)).toBe(1);
      expect(await store.modelCalls.markLost([], 1_010)).toBe(0);
      expect(await store.modelCalls.swarmUsage('swm_1')).toMatchObject({ calls: 1, openCalls: 1, lostCalls: 1, lostTokens: 100, costUsd: 0.01 });
      expect(await store.modelCalls.open(call('c4'), { maxTokens: 250, maxCostUsd: null })).toBe(false);
      await store.modelCalls.close('c1', { inputTokens: 20, outputTokens: 5, costUsd: 0.001 }, 1_020);
      expect(await store.modelCalls.swarmUsage('swm_1')).toMatchObject({ calls: 2, inputTokens: 21, outputTokens: 6, lostCalls: 0 });
    });
  
    it('sums ended calls per task, agent and model, with unpriced calls counted apart', async () => {
      await store.modelCalls.open(call('a1'));
      await store.modelCalls.open(call('a2'));
      await store.modelCalls.open(call('b1', { taskId: 'tsk_2', agentId: 'agt_2', model: 'unpriced-model', reservedCostUsd: null }));
      await store.modelCalls.open(call('s1', { taskId: null, agentId: 'agt_q' }));
      await store.modelCalls.open(call('still-open', { taskId: 'tsk_3' }));
      await store.modelCalls.open(call('other', { swarmId: 'swm_2' }));
      await store.modelCalls.close('a1', { inputTokens: 30, outputTokens: 10, costUsd: 0.002 }, 1_010);
      await store.modelCalls.close('a2', { inputTokens: 20, outputTokens: 5, costUsd: 0.001 }, 1_011);
      await store.modelCalls.close('b1', { inputTokens: 7, outputTokens: 3, costUsd: null }, 1_012);
      await store.modelCalls.close('s1', { inputTokens: 4, outputTokens: 2, costUsd: 0.0005 }, 1_013);
      await store.modelCalls.close('other', { inputTokens: 99, outputTokens: 99, costUsd: 1 }, 1_014);
      const parts = await store.modelCalls.swarmUsageParts('swm_1');
      const byTask = new Map(parts.map((p) => [p.taskId, p]));
      expect(parts).toHaveLength(3);
      expect(byTask.get('tsk_1')).toMatchObject({ agentId: 'agt_1', provider: 'anthropic', model: 'fake-model', calls: 2, inputTokens: 50, outputTokens: 15, unpricedCalls: 0 });
      expect(byTask.get('tsk_1')?.costUsd).toBeCloseTo(0.003, 9);
      expect(byTask.get('tsk_2')).toEqual({ taskId: 'tsk_2', agentId: 'agt_2', provider: 'anthropic', model: 'unpriced-model', calls: 1, inputTokens: 7, outputTokens: 3, costUsd: null, unpricedCalls: 1 });
      expect(byTask.get(null)).toMatchObject({ agentId: 'agt_q', calls: 1, inputTokens: 4, outputTokens: 2, costUsd: 0.0005 });
      expect(parts[0]?.taskId).toBeNull();
      expect(await store.modelCalls.swarmUsageParts('swm_none')).toEqual([]);
    });

    it('sums calls per provider and model over every swarm: usage, failures (ended with no tokens), latency, and since a time', async () => {
      await store.modelCalls.open(call('a1', { startedAt: 1_000 }));
      await store.modelCalls.open(call('a2', { swarmId: 'swm_2', startedAt: 2_000 }));
      await store.modelCalls.open(call('a3', { startedAt: 3_000 }));
      await store.modelCalls.open(call('o1', { provider: 'openai', model: 'gpt-x', startedAt: 4_000 }));
      await store.modelCalls.refuse(call('r1', { provider: 'openai', model: 'gpt-x', startedAt: 5_000 }));
      await store.modelCalls.close('a1', { inputTokens: 30, outputTokens: 10, costUsd: 0.002 }, 1_100);
      await store.modelCalls.close('a2', { inputTokens: 20, outputTokens: 5, costUsd: 0.001 }, 2_300);
      await store.modelCalls.close('a3', { inputTokens: 0, outputTokens: 0, costUsd: 0 }, 3_050);
      expect(await store.modelCalls.providerUsage()).toEqual([
        {
          provider: 'anthropic',
          model: 'fake-model',
          calls: 3,
          failed: 1,
          openCalls: 0,
          lostCalls: 0,
          refusedCalls: 0,
          inputTokens: 50,
          outputTokens: 15,
          costUsd: 0.003,
          unpricedCalls: 0,
          meanLatencyMs: 200,
          lastCallAt: 3_000,
        },
        {
          provider: 'openai',
          model: 'gpt-x',
          calls: 0,
          failed: 0,
          openCalls: 1,
          lostCalls: 0,
          refusedCalls: 1,
          inputTokens: 0,
          outputTokens: 0,
          costUsd: 0,
          unpricedCalls: 0,
          meanLatencyMs: null,
          lastCallAt: 5_000,
        },
      ]);
      const recent = await store.modelCalls.providerUsage(2_500);
      expect(recent.map((r) => [r.provider, r.calls, r.failed])).toEqual([
        ['anthropic', 1, 1],
        ['openai', 0, 0],
      ]);
    });
  });
}
