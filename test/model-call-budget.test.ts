import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import type { CompletionRequest, CompletionResponse, Provider, StreamEvent } from '../src/ports/provider.js';
import { meteredForSwarm } from '../src/providers/metered-provider.js';
import { swarmRecord } from './conformance/swarm-store.js';
import { eventually, tempDir } from './support/temp-colony.js';

/** A swarm's budget as the ModelCallLedger reads it for each task's calls: the limits alone, not the swarm's record. */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function store(): Promise<SqliteStore> {
  const dir = tempDir('colony-budget-');
  const s = new SqliteStore({ path: join(dir, 'colony.db'), busyTimeoutMs: 5_000 });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => s.close());
  await s.migrate();
  return s;
}

function limits(maxTokens: number | null, maxCostUsd: number | null) {
  const base = swarmRecord('x').config;
  return { config: { ...base, limits: { ...base.limits, maxTokens, maxCostUsd } } };
}

const answering: Provider = {
  id: 'fake',
  async complete(request: CompletionRequest): Promise<CompletionResponse> {
    return { content: [{ type: 'text', text: 'ok' }], stopReason: 'end_turn', usage: { inputTokens: 3, outputTokens: 2 }, model: request.model } as CompletionResponse;
  },
  async *stream(): AsyncIterable<StreamEvent> {},
};

describe('the ledger reads a swarm budget', () => {
  it('gives each swarm its token and cost limits, and none for a swarm without them or no swarm', async () => {
    const s = await store();
    await s.swarms.insert(swarmRecord('swm_both', limits(5_000, 0.25)));
    await s.swarms.insert(swarmRecord('swm_tokens', limits(1_000, null)));
    await s.swarms.insert(swarmRecord('swm_none', limits(null, null)));
    expect(await s.modelCalls.swarmBudget('swm_both')).toEqual({ maxTokens: 5_000, maxCostUsd: 0.25 });
    expect(await s.modelCalls.swarmBudget('swm_tokens')).toEqual({ maxTokens: 1_000, maxCostUsd: null });
    expect(await s.modelCalls.swarmBudget('swm_none')).toEqual({ maxTokens: null, maxCostUsd: null });
    expect(await s.modelCalls.swarmBudget('swm_unknown')).toEqual({ maxTokens: null, maxCostUsd: null });
  });

  it('a metered provider holds a task to the budget read from the ledger, without reading the swarm record', async () => {
    const s = await store();
    await s.swarms.insert(swarmRecord('swm_1', limits(100, null)));
    const swarms = {
      get: async () => {
        throw new Error('the swarm record is not read per call');
      },
    };
    let id = 0;
    // The call's output cap is lowered to what the 100-token budget leaves after its input.
    const seen: CompletionRequest[] = [];
    const spy: Provider = { ...answering, complete: async (r) => (seen.push(r), answering.complete(r)) };
    const metered = await meteredForSwarm(spy, { swarmId: 'swm_1', taskId: null, agentId: null, runnerId: null }, { store: { swarms, modelCalls: s.modelCalls }, newId: () => `call_${++id}`, now: () => 1_000 });
    await metered.complete({ model: 'fake-model', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], maxTokens: 4_096 });
    expect(seen[0]?.maxTokens).toBeLessThan(100);
    // The close is written in the background; a second call on the same provider is admitted after it.
    await metered.complete({ model: 'fake-model', messages: [{ role: 'user', content: [{ type: 'text', text: 'again' }] }], maxTokens: 4_096 });
    expect((await s.modelCalls.swarmUsage('swm_1')).calls).toBeGreaterThanOrEqual(1);
    const usage = await eventually(async () => {
      const u = await s.modelCalls.swarmUsage('swm_1');
      return u.calls === 2 ? u : undefined;
    });
    expect(usage).toMatchObject({ inputTokens: 6, outputTokens: 4, openCalls: 0 });
  });
});
