import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import { AdaptiveSelector, OUTCOME_ENTITY_TYPE, OUTCOME_METRIC } from '../src/agents/adaptive-selector.js';
import { sampleBeta, sampleGamma } from '../src/agents/beta-sampler.js';
import { ValidationError } from '../src/domain/errors.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { expectProblem, startApi } from './support/api-server.js';
import { runCli } from './support/cli.js';
import { eventually, tempColony, tempDir, type TempColony } from './support/temp-colony.js';
import { rejectionOf } from './support/rejection.js';
import { seededRandom } from '../src/testing/seeded-random.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('beta sampler', () => {
  it('draws Beta(α, β) with the right mean and variance, always inside [0, 1]', () => {
    const random = seededRandom(7);
    for (const [a, b] of [
      [2, 5],
      [1, 1],
      [30, 3],
      [0.5, 0.5],
    ] as const) {
      const draws = Array.from({ length: 20_000 }, () => sampleBeta(a, b, random));
      expect(draws.every((x) => x >= 0 && x <= 1)).toBe(true);
      const m = mean(draws);
      const variance = mean(draws.map((x) => (x - m) ** 2));
      expect(m).toBeCloseTo(a / (a + b), 2);
      expect(variance).toBeCloseTo((a * b) / ((a + b) ** 2 * (a + b + 1)), 2);
    }
  });

  it('draws Gamma(k) with mean k, for shapes below and above 1', () => {
    const random = seededRandom(11);
    for (const k of [0.3, 1, 4.5]) {
      expect(mean(Array.from({ length: 20_000 }, () => sampleGamma(k, random)))).toBeCloseTo(k, 1);
    }
  });

  it('is deterministic for a seeded source, and refuses bad parameters', () => {
    const a = seededRandom(3);
    const b = seededRandom(3);
    expect(Array.from({ length: 5 }, () => sampleBeta(3, 4, a))).toEqual(Array.from({ length: 5 }, () => sampleBeta(3, 4, b)));
    expect(() => sampleBeta(0, 1, Math.random)).toThrow(RangeError);
    expect(() => sampleBeta(1, Number.NaN, Math.random)).toThrow(RangeError);
  });
});

describe('AdaptiveSelector', () => {
  let dir: string;
  let store: SqliteStore;

  beforeEach(async () => {
    dir = tempDir('colony-selector-');
    store = new SqliteStore({ path: join(dir, 'colony.db'), busyTimeoutMs: 1_000 });
    await store.migrate();
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const selectorOn = (s: SqliteStore, seed = 42) => new AdaptiveSelector({ store: s, random: seededRandom(seed), now: () => 1_000 });
  const picks = async (selector: AdaptiveSelector, candidates: string[], kind: string, n = 200) => {
    const counts = new Map<string, number>(candidates.map((c) => [c, 0]));
    for (let i = 0; i < n; i++) {
      const choice = await selector.choose(candidates, kind);
      counts.set(choice, (counts.get(choice) ?? 0) + 1);
    }
    return counts;
  };

  async function teach(selector: AdaptiveSelector): Promise<void> {
    for (let i = 0; i < 30; i++) {
      await selector.record({ agentType: 'tester', taskKind: 'test', success: true, latencyMs: 1_000, costUsd: 0.01, at: i });
      await selector.record({ agentType: 'coder', taskKind: 'test', success: false, latencyMs: 2_000, costUsd: null, at: i });
    }
  }

  it('picks the type that succeeds on a kind of task, and explores both on a kind never seen', async () => {
    const selector = selectorOn(store);
    await teach(selector);
    const learnt = await picks(selector, ['tester', 'coder'], 'test');
    expect(learnt.get('tester')).toBeGreaterThanOrEqual(190);

    const unseen = await picks(selector, ['tester', 'coder'], 'docs');
    expect(unseen.get('tester')).toBeGreaterThan(60);
    expect(unseen.get('coder')).toBeGreaterThan(60);
  });

  it('keeps exploring a type never tried beside one that mostly fails', async () => {
    const selector = selectorOn(store);
    for (let i = 0; i < 10; i++) await selector.record({ agentType: 'coder', taskKind: 'test', success: i < 3, latencyMs: 100, costUsd: null });
    const counts = await picks(selector, ['coder', 'newcomer'], 'test');
    // Beta(1, 1) beats Beta(4, 8) about 2 times in 3.
    expect(counts.get('newcomer')).toBeGreaterThan(counts.get('coder') as number);
    expect(counts.get('coder')).toBeGreaterThan(20);
  });

  it('breaks near-ties on latency and cost', async () => {
    const selector = selectorOn(store, 5);
    for (let i = 0; i < 200; i++) {
      await selector.record({ agentType: 'slow-dear', taskKind: 'build', success: true, latencyMs: 10_000, costUsd: 1 });
      await selector.record({ agentType: 'fast-cheap', taskKind: 'build', success: true, latencyMs: 1_000, costUsd: 0.1 });
    }
    const counts = await picks(selector, ['slow-dear', 'fast-cheap'], 'build');
    expect(counts.get('fast-cheap')).toBeGreaterThanOrEqual(180);
  });

  it('persists outcomes as metrics: a new selector on the same store knows them', async () => {
    await teach(selectorOn(store));
    const rows = await store.metrics.list({ entityType: OUTCOME_ENTITY_TYPE, name: OUTCOME_METRIC });
    expect(rows).toHaveLength(60);
    expect(rows[0]).toMatchObject({ entityId: 'tester', value: 1, metadata: { taskKind: 'test', latencyMs: 1_000, costUsd: 0.01 }, timestamp: 0 });

    const fresh = selectorOn(store, 99);
    expect(await fresh.stats()).toEqual([
      { agentType: 'coder', taskKind: 'test', successes: 0, failures: 30, meanLatencyMs: 2_000, meanCostUsd: null },
      { agentType: 'tester', taskKind: 'test', successes: 30, failures: 0, meanLatencyMs: 1_000, meanCostUsd: expect.closeTo(0.01, 12) },
    ]);
    expect((await picks(fresh, ['coder', 'tester'], 'test')).get('tester')).toBeGreaterThanOrEqual(190);

    // Recorded after the load: counted once, not again by a reload.
    await fresh.record({ agentType: 'coder', taskKind: 'test', success: true, latencyMs: 500, costUsd: 0.02 });
    expect((await fresh.stats({ taskKind: 'test' }))[0]).toMatchObject({ agentType: 'coder', successes: 1, failures: 30, meanCostUsd: 0.02 });
    expect(await selectorOn(store).stats()).toEqual(await fresh.stats());
  });

  it('filters stats by kind, and skips metric rows that are not outcomes', async () => {
    const selector = selectorOn(store);
    await selector.record({ agentType: 'coder', taskKind: 'refactor', success: true, latencyMs: 10, costUsd: null });
    await selector.record({ agentType: 'coder', taskKind: 'docs', success: false, latencyMs: 30, costUsd: null });
    await store.metrics.record([{ entityType: OUTCOME_ENTITY_TYPE, entityId: 'coder', name: OUTCOME_METRIC, value: 1, metadata: { junk: true }, timestamp: 1 }]);
    expect((await selectorOn(store).stats()).map((a) => a.taskKind)).toEqual(['docs', 'refactor']);
    expect(await selector.stats({ taskKind: 'refactor' })).toEqual([
      { agentType: 'coder', taskKind: 'refactor', successes: 1, failures: 0, meanLatencyMs: 10, meanCostUsd: null },
    ]);
    expect(await selector.stats({ taskKind: 'nothing' })).toEqual([]);
  });

  it('refuses bad input with a ValidationError and records nothing', async () => {
    const selector = selectorOn(store);
    const bad = [
      { agentType: '', taskKind: 'test', success: true, latencyMs: 1, costUsd: null },
      { agentType: 'coder', taskKind: 'Not A Word', success: true, latencyMs: 1, costUsd: null },
      { agentType: 'coder', taskKind: 'test', success: 'yes' as unknown as boolean, latencyMs: 1, costUsd: null },
      { agentType: 'coder', taskKind: 'test', success: true, latencyMs: -1, costUsd: null },
      { agentType: 'coder', taskKind: 'test', success: true, latencyMs: 1, costUsd: Number.NaN },
    ];
    for (const sample of bad) expect(await rejectionOf(selector.record(sample))).toBeInstanceOf(ValidationError);
    expect(await rejectionOf(selector.choose([], 'test'))).toBeInstanceOf(ValidationError);
    expect(await rejectionOf(selector.choose(['coder'], 'BAD KIND'))).toBeInstanceOf(ValidationError);
    expect(await rejectionOf(selector.stats({ taskKind: '' }))).toBeInstanceOf(ValidationError);
    expect(await store.metrics.list({ entityType: OUTCOME_ENTITY_TYPE })).toEqual([]);
    // One candidate (or duplicates of one) is the answer without a draw.
    expect(await selector.choose(['coder', 'coder'], 'test')).toBe('coder');
    expect(await selector.chooseWithReasons(['coder'], 'test')).toEqual({ type: 'coder', kind: 'test', by: 'only', candidates: [] });
  });

  it('says what a choice was made from: each candidate\'s record for the kind of work and its drawn score, the highest winning', async () => {
    const selector = selectorOn(store);
    await teach(selector);
    const choice = await selector.chooseWithReasons(['tester', 'coder', 'reviewer'], 'test');
    expect(choice.by).toBe('selector');
    expect(choice.kind).toBe('test');
    expect(choice.candidates.map((c) => [c.type, c.successes, c.failures])).toEqual([
      ['tester', 30, 0],
      ['coder', 0, 30],
      ['reviewer', 0, 0],
    ]);
    const best = Math.max(...choice.candidates.map((c) => c.score));
    expect(choice.candidates.find((c) => c.type === choice.type)?.score).toBe(best);
  });
});

describe('outcomes of real agent tasks', () => {
  const llm = new FakeLlmServer();
  let openaiBaseUrl: string;
  let temp: TempColony;

  beforeAll(async () => {
    openaiBaseUrl = (await llm.start()).openaiBaseUrl;
  });
  afterAll(async () => {
    await llm.close();
  });
  afterEach(async () => {
    await temp?.cleanup();
    llm.reset();
  });

  async function startColony(dir?: string): Promise<TempColony> {
    temp = await tempColony(
      {
        // gpt-4.1 has a published price, so the outcome's cost is known.
        providers: { openai: { baseUrl: openaiBaseUrl, apiKey: 'sk-test-0123456789', model: 'gpt-4.1', maxRetries: 0 } },
        agents: { defaultProvider: 'openai', maxTurns: 2 },
        tasks: { defaultMaxRetries: 0 },
      },
      { env: {}, ...(dir ? { dir } : {}) },
    );
    await temp.colony.start();
    return temp;
  }

  it('records a completed and a failed agent task, by agent type and kind, and serves the stats', async () => {
    const { colony, dir } = await startColony();
    llm.enqueue({ toolCalls: [{ name: 'report_result', input: { result: 'tests written' } }], usage: { inputTokens: 1_000, outputTokens: 100 } });
    const [ok] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'Write the tests.', agentType: 'tester', kind: 'test' } }]);
    await eventually(async () => (await colony.selection.stats({ taskKind: 'test' })).length > 0);
    const [arm] = await colony.selection.stats({ taskKind: 'test' });
    const done = await colony.store.tasks.get(ok!.id);
    expect(done?.status).toBe('completed');
    expect(arm).toMatchObject({ agentType: 'tester', taskKind: 'test', successes: 1, failures: 0 });
    expect(arm!.meanLatencyMs).toBe((done!.completedAt as number) - (done!.startedAt as number));
    expect(arm!.meanCostUsd).toBeCloseTo(1_000 * (2 / 1e6) + 100 * (8 / 1e6), 10);

    // Never reports a result within its two turns: fails for good, as a `general` task of the default type.
    llm.setDefaultReply({ toolCalls: [{ name: 'list_files', input: {} }] });
    const [bad] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'Loop.' } }]);
    await eventually(async () => (await colony.selection.stats({ taskKind: 'general' })).length > 0);
    expect((await colony.store.tasks.get(bad!.id))?.status).toBe('failed');
    expect(await colony.selection.stats({ taskKind: 'general' })).toEqual([expect.objectContaining({ agentType: 'coder', successes: 0, failures: 1 })]);

    // Not agent tasks: not outcomes.
    colony.registerExecutor({ type: 'echo', execute: async ({ task }) => task.input });
    const [echo] = await colony.tasks.submit([{ type: 'echo' }]);
    await eventually(async () => (await colony.store.tasks.get(echo!.id))?.status === 'completed');
    await colony.events.flush();
    expect((await colony.selection.stats()).map((a) => a.taskKind)).toEqual(['general', 'test']);

    // The CLI and REST read the same stats from the database.
    await temp.colony.close();
    const cli = await runCli(['--json', 'agent', 'stats', '--kind', 'test'], { cwd: dir });
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual([expect.objectContaining({ agentType: 'tester', taskKind: 'test', successes: 1, successRate: 1 })]);
    const table = await runCli(['agent', 'stats'], { cwd: dir });
    expect(table.stdout).toMatch(/general\s+coder\s+1\s+0\s+1\s+0%/);
    expect(table.stdout).toMatch(/test\s+tester\s+1\s+1\s+0\s+100%/);
    const badKind = await runCli(['agent', 'stats', '--kind', 'Not Valid'], { cwd: dir });
    expect(badKind.code).toBe(2);
    expect(badKind.stderr).toMatch(/--kind/);
  });

  it('rejects an agent task whose kind is not a short lower-case word', async () => {
    const { colony } = await startColony();
    const error = await rejectionOf(colony.tasks.submit([{ type: 'agent', input: { prompt: 'x', kind: 'Big Kind!' } }]));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/kind/);
    expect(await colony.tasks.count({})).toBe(0);
  });
});

describe('GET /api/v2/agent-types/stats', () => {
  it('lists arms with runs and success rate, filtered by kind; a bad kind is a 400', async () => {
    const api = await startApi();
    try {
      await api.colony.selection.record({ agentType: 'tester', taskKind: 'test', success: true, latencyMs: 100, costUsd: 0.5 });
      await api.colony.selection.record({ agentType: 'tester', taskKind: 'test', success: false, latencyMs: 300, costUsd: null });
      await api.colony.selection.record({ agentType: 'coder', taskKind: 'refactor', success: true, latencyMs: 50, costUsd: null });
      const all = await api.request('GET', '/api/v2/agent-types/stats');
      expect(all.status, all.text).toBe(200);
      expect(all.json.items).toEqual([
        { agentType: 'coder', taskKind: 'refactor', successes: 1, failures: 0, runs: 1, successRate: 1, meanLatencyMs: 50, meanCostUsd: null },
        { agentType: 'tester', taskKind: 'test', successes: 1, failures: 1, runs: 2, successRate: 0.5, meanLatencyMs: 200, meanCostUsd: 0.5 },
      ]);
      expect((await api.request('GET', '/api/v2/agent-types/stats?kind=refactor')).json.items).toHaveLength(1);
      expectProblem(await api.request('GET', '/api/v2/agent-types/stats?kind=NOPE'), 400, 'validation');
      expectProblem(await api.request('GET', '/api/v2/agent-types/stats?agent=x'), 400, 'validation');
    } finally {
      await api.close();
    }
  });
});
