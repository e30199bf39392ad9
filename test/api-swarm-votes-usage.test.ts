import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { estimateCostUsd } from '../src/providers/pricing.js';
import { expectProblem, startApi, type TestApi } from './support/api-server.js';
import { swarmModel } from './support/swarm-model.js';

/**
 * The swarm page's two REST additions: a swarm's votes with every vote cast, and its usage summed
 * per task, agent and model from the model-call ledger, with the budget left.
 */

let api: TestApi;
let llm: FakeLlmServer;
const PRICED = 'claude-sonnet-5';

beforeAll(async () => {
  llm = new FakeLlmServer({ defaultReply: swarmModel({ usage: { inputTokens: 1_000, outputTokens: 200 } }) });
  const { anthropicBaseUrl } = await llm.start();
  api = await startApi(
    { providers: { anthropic: { baseUrl: anthropicBaseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } }, agents: { defaultProvider: 'anthropic' } },
    { startEngine: true },
  );
});
afterAll(async () => {
  await api?.close();
  await llm?.close();
});

async function finishedSwarm(spec: Record<string, unknown>): Promise<string> {
  const created = await api.request('POST', '/api/v2/swarms', { body: { objective: 'Write a haiku', agents: 3, ...spec } });
  expect(created.status).toBe(201);
  const swarm = await api.colony.swarms.waitFor(created.json.id);
  expect(swarm.status).toBe('completed');
  return swarm.id;
}

describe('GET /api/v2/swarms/:id/votes', () => {
  it("lists a mesh swarm's proposals with each voter's decision, confidence, reason and whether it counted", async () => {
    const id = await finishedSwarm({ topology: 'mesh' });
    const res = await api.request('GET', `/api/v2/swarms/${id}/votes`);
    expect(res.status).toBe(200);
    const status = await api.colony.swarms.status(id);
    expect(res.json.items).toHaveLength(status.proposals.length);
    expect(res.json.items.length).toBeGreaterThan(0);
    for (const { proposal, votes } of res.json.items) {
      expect(proposal.swarmId).toBe(id);
      expect(votes.map((v: { voterId: string }) => v.voterId).sort()).toEqual([...proposal.voterIds].sort());
      for (const vote of votes) expect(vote).toMatchObject({ proposalId: proposal.id, decision: 'approve', confidence: 0.9, reason: 'looks right', status: 'counted', exclusion: null });
    }
  });

  it('answers 404 for an unknown swarm', async () => {
    expectProblem(await api.request('GET', '/api/v2/swarms/swm_unknown/votes'), 404);
  });
});

describe('GET /api/v2/swarms/:id/usage', () => {
  it('sums the ledger per task, agent and model, prices known models and leaves the rest unpriced', async () => {
    const id = await finishedSwarm({ topology: 'centralized', model: PRICED, maxTokens: 1_000_000, maxCostUsd: 10 });
    const res = await api.request('GET', `/api/v2/swarms/${id}/usage`);
    expect(res.status).toBe(200);
    const usage = res.json;
    const calls = usage.total.calls as number;
    expect(calls).toBeGreaterThan(3);
    expect(usage.total).toMatchObject({ inputTokens: calls * 1_000, outputTokens: calls * 200, openCalls: 0, lostCalls: 0 });
    const perCall = estimateCostUsd(PRICED, { inputTokens: 1_000, outputTokens: 200 });
    expect(perCall).not.toBeNull();
    expect(usage.total.costUsd).toBeCloseTo(calls * (perCall as number), 9);
    expect(usage.budget).toEqual({ maxTokens: 1_000_000, maxCostUsd: 10, tokensLeft: 1_000_000 - calls * 1_200, costLeftUsd: expect.closeTo(10 - calls * (perCall as number), 9) });

    const sum = (rows: { calls: number }[]) => rows.reduce((n, r) => n + r.calls, 0);
    expect(sum(usage.tasks)).toBe(calls);
    expect(sum(usage.agents)).toBe(calls);
    expect(usage.models).toEqual([expect.objectContaining({ provider: 'anthropic', model: PRICED, priced: true, calls, unpricedCalls: 0 })]);
    const status = await api.colony.swarms.status(id);
    for (const t of status.tasks) {
      const row = usage.tasks.find((r: { taskId: string | null }) => r.taskId === t.taskId);
      expect(row).toMatchObject({ planTaskId: t.planTaskId, calls: 1, inputTokens: 1_000, outputTokens: 200 });
    }
    // Planning, review and synthesis are the swarm's own calls, made by its queen.
    expect(usage.tasks.find((r: { taskId: string | null }) => r.taskId === null)?.calls).toBe(calls - status.tasks.length);
    expect(usage.agents.map((a: { agentId: string }) => a.agentId)).toContain(status.swarm.leaderAgentId);
  });

  it('says a model without a price is unpriced: no dollars, no cost left', async () => {
    const id = await finishedSwarm({ topology: 'centralized', maxCostUsd: 5 });
    const usage = (await api.request('GET', `/api/v2/swarms/${id}/usage`)).json;
    expect(usage.total.costUsd).toBeNull();
    expect(usage.budget).toMatchObject({ maxTokens: null, maxCostUsd: 5, tokensLeft: null, costLeftUsd: null });
    expect(usage.models).toEqual([expect.objectContaining({ model: 'fake-model', priced: false, costUsd: null })]);
    expect(usage.models[0].unpricedCalls).toBe(usage.total.calls);
  });

  it('answers 404 for an unknown swarm', async () => {
    expectProblem(await api.request('GET', '/api/v2/swarms/swm_unknown/usage'), 404);
  });
});
