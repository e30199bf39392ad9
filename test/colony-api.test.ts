import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LATEST_MIGRATION } from '../src/adapters/storage/sql/migration-latest.js';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import type { Colony } from '../src/app/colony.js';
import { NotFoundError } from '../src/domain/errors.js';
import type { Store } from '../src/ports/store.js';
import type { TaskExecutor } from '../src/tasks/task-executor.js';
import { LocalEventBus } from '../src/kernel/local-event-bus.js';
import { createLogger } from '../src/kernel/logger.js';
import { tempColony, tempDir, type TempColony } from './support/temp-colony.js';

// The library API that the CLI, REST and MCP servers use instead of the store: each method on a real SQLite colony.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<void> | void)();
});

async function colonyWith(config: Parameters<typeof tempColony>[0] = {}, options: Parameters<typeof tempColony>[1] = {}): Promise<TempColony> {
  const t = await tempColony(config, options);
  cleanups.push(t.cleanup);
  return t;
}

const noop: TaskExecutor = { type: 'work', execute: async () => null };

/** Two tasks, `b` waiting on `a`, submitted to a colony that is not started: `a` queued, `b` pending. */
async function twoTasks(colony: Colony) {
  colony.registerExecutor(noop);
  const [a, b] = await colony.tasks.submit([
    { type: 'work', name: 'b', dependencies: ['a'] },
    { type: 'work', name: 'a' },
  ]).then((records) => [records[1], records[0]]);
  return { a: a!, b: b! };
}

/** A store whose schema version read fails or answers `version`; everything else is the real store. */
function storeAnswering(real: Store, schemaVersion: () => Promise<string | null>): Store {
  return new Proxy(real, {
    get(target, property) {
      if (property === 'schemaVersion') return schemaVersion;
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function openedStore(): Promise<{ store: SqliteStore; dir: string }> {
  const dir = tempDir();
  const store = new SqliteStore({ path: join(dir, 'colony.db'), busyTimeoutMs: 5_000 });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => store.close());
  return { store, dir };
}

describe('colony.events.list', () => {
  it('reads the persisted log with the same filters and order as the store', async () => {
    const { colony } = await colonyWith();
    const { a, b } = await twoTasks(colony);
    colony.events.publish('provider.state_changed', { provider: 'anthropic', state: 'open' }, { source: 'providers', correlationId: 'anthropic' });
    await colony.events.flush();

    const all = await colony.events.list();
    expect(all.map((e) => e.type)).toEqual(['task.created', 'task.created', 'provider.state_changed']);
    expect(all.map((e) => e.id)).toEqual([...all.map((e) => e.id)].sort((x, y) => x - y));

    const created = await colony.events.list({ types: ['task.*'] });
    expect(created.map((e) => (e.data as { taskId: string }).taskId).sort()).toEqual([a.id, b.id].sort());
    expect(await colony.events.list({ correlationId: 'anthropic' })).toMatchObject([{ type: 'provider.state_changed', source: 'providers', data: { provider: 'anthropic', state: 'open' } }]);
    expect(await colony.events.list({ afterId: all[1]!.id })).toEqual([all[2]]);
    expect(await colony.events.list({ newestFirst: true, limit: 1 })).toEqual([all[2]]);
  });

  it('is empty on a bus that persists nothing', async () => {
    const local = new LocalEventBus({ logger: createLogger('silent'), bufferSize: 10 });
    local.publish('provider.state_changed', { provider: 'anthropic', state: 'open' }, { source: 'providers' });
    await local.flush();
    expect(await local.list()).toEqual([]);
  });
});

describe('colony.tasks', () => {
  it('transcript: the turns in order, of one attempt when asked, with usage over every attempt', async () => {
    const { colony } = await colonyWith();
    const { a } = await twoTasks(colony);
    const turn = (attempt: number, n: number, role: 'user' | 'assistant', text: string) => ({
      taskId: a.id,
      agentId: null,
      attempt,
      turn: n,
      role,
      content: [{ type: 'text' as const, text }],
      usage: role === 'assistant' ? { inputTokens: 10 * attempt, outputTokens: attempt } : null,
      model: role === 'assistant' ? 'm' : null,
      provider: role === 'assistant' ? 'p' : null,
      createdAt: 1_000 + attempt * 10 + n,
    });
    await colony.store.transcripts.appendTurns([turn(1, 0, 'user', 'go'), turn(1, 1, 'assistant', 'first'), turn(2, 0, 'user', 'again'), turn(2, 1, 'assistant', 'second')]);
    const sample = (name: string, value: number) => ({ entityType: 'task', entityId: a.id, name, value, metadata: null, timestamp: 1 });
    await colony.store.metrics.record([sample('llm.input_tokens', 10), sample('llm.output_tokens', 1), sample('llm.input_tokens', 20), sample('llm.output_tokens', 2)]);

    const whole = await colony.tasks.transcript(a.id);
    expect(whole.task.id).toBe(a.id);
    expect(whole.turns.map((t) => [t.attempt, t.turn, t.role])).toEqual([
      [1, 0, 'user'],
      [1, 1, 'assistant'],
      [2, 0, 'user'],
      [2, 1, 'assistant'],
    ]);
    expect(whole.usage).toEqual({ inputTokens: 30, outputTokens: 3, costUsd: null });

    const second = await colony.tasks.transcript(a.id, { attempt: 2 });
    expect(second.turns.map((t) => t.content)).toEqual([[{ type: 'text', text: 'again' }], [{ type: 'text', text: 'second' }]]);
    expect(second.usage).toEqual(whole.usage);

    await colony.store.metrics.record([sample('llm.cost_usd', 0.25), sample('llm.cost_usd', 0.5)]);
    expect((await colony.tasks.transcript(a.id)).usage.costUsd).toBe(0.75);
  });

  it('transcript: empty for a task without turns, NotFoundError for an unknown task', async () => {
    const { colony } = await colonyWith();
    const { b } = await twoTasks(colony);
    expect(await colony.tasks.transcript(b.id)).toEqual({ task: b, turns: [], usage: { inputTokens: 0, outputTokens: 0, costUsd: null } });
    await expect(colony.tasks.transcript('task_nonexistent')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('listPromotable: pending tasks whose dependencies have all completed', async () => {
    const { colony } = await colonyWith();
    const { a, b } = await twoTasks(colony);
    expect(b.status).toBe('pending');
    expect(await colony.tasks.listPromotable({ limit: 10 })).toEqual([]);
    expect(await colony.store.tasks.update({ ...a, status: 'completed', completedAt: 2 }, { status: a.status, attempts: a.attempts })).toBe(true);
    expect((await colony.tasks.listPromotable({ limit: 10 })).map((t) => t.id)).toEqual([b.id]);
    expect(await colony.tasks.listPromotable({ limit: 10, workflowId: 'wf_other' })).toEqual([]);
  });
});

describe('colony.agents.count', () => {
  it('counts with the list filters, without paging', async () => {
    const { colony } = await colonyWith();
    const first = await colony.agents.spawn({ type: 'coder' });
    await colony.agents.spawn({ type: 'coder' });
    await colony.agents.spawn({ type: 'researcher' });
    await colony.agents.terminate(first.id);
    expect(await colony.agents.count()).toBe(3);
    expect(await colony.agents.count({ excludeTerminated: true })).toBe(2);
    expect(await colony.agents.count({ type: 'coder', excludeTerminated: true })).toBe(1);
    expect(await colony.agents.count({ status: 'terminated' })).toBe(1);
  });
});

describe('colony.metrics.list', () => {
  it('lists recorded samples oldest first, filtered by entity and name', async () => {
    const { colony } = await colonyWith();
    const at = (entityId: string, name: string, value: number, timestamp: number) => ({ entityType: 'task', entityId, name, value, metadata: null, timestamp });
    await colony.store.metrics.record([at('t1', 'llm.input_tokens', 5, 10), at('t2', 'llm.input_tokens', 7, 20), at('t1', 'llm.cost_usd', 0.1, 30)]);
    expect((await colony.metrics.list({ entityType: 'task', entityId: 't1' })).map((m) => [m.name, m.value])).toEqual([
      ['llm.input_tokens', 5],
      ['llm.cost_usd', 0.1],
    ]);
    expect((await colony.metrics.list({ name: 'llm.input_tokens' })).map((m) => m.entityId)).toEqual(['t1', 't2']);
    expect(await colony.metrics.list({ since: 25, entityType: 'task' })).toMatchObject([{ entityId: 't1', name: 'llm.cost_usd' }]);
  });
});

describe('colony.workflows', () => {
  it('lists runs newest first by status, and gets one by id', async () => {
    const { colony } = await colonyWith();
    const run = (id: string, status: 'running' | 'completed') => ({
      id,
      name: id,
      source: null,
      definitionHash: `hash-${id}`,
      status,
      createdAt: 1,
      updatedAt: 1,
      completedAt: status === 'completed' ? 2 : null,
    });
    await colony.store.workflows.insert(run('wf_01', 'running'));
    await colony.store.workflows.insert(run('wf_02', 'completed'));
    await colony.store.workflows.insert(run('wf_03', 'running'));
    expect((await colony.workflows.list({ status: 'running', limit: 20 })).map((w) => w.id)).toEqual(['wf_03', 'wf_01']);
    expect((await colony.workflows.list({ limit: 2 })).map((w) => w.id)).toEqual(['wf_03', 'wf_02']);
    expect(await colony.workflows.get('wf_02')).toEqual(run('wf_02', 'completed'));
    await expect(colony.workflows.get('wf_none')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('colony.apiKeys', () => {
  it('creates, gets (never the hash), lists and revokes keys, timed by the colony clock', async () => {
    let clock = 5_000;
    const { colony } = await colonyWith({}, { now: () => clock });
    const { key, record } = await colony.apiKeys.create({ role: 'viewer', name: 'ci' });
    expect(record).toMatchObject({ name: 'ci', role: 'viewer', createdAt: 5_000, revokedAt: null });
    expect(await colony.apiKeys.get(record.id)).toEqual(record);
    expect(await colony.apiKeys.get(record.id)).not.toHaveProperty('hash');
    expect(await colony.apiKeys.verify(key)).toEqual(record);
    expect(await colony.apiKeys.activeCount()).toBe(1);
    clock = 6_000;
    await colony.apiKeys.revoke(record.id);
    expect(await colony.apiKeys.get(record.id)).toMatchObject({ id: record.id, revokedAt: 6_000 });
    expect(await colony.apiKeys.list()).toEqual([]);
    expect(await colony.apiKeys.get('000000000000')).toBeUndefined();
  });
});

describe('colony.health', () => {
  it('is ok when the store answers at the latest migration', async () => {
    const { colony } = await colonyWith();
    const health = await colony.health();
    expect(health).toMatchObject({ ok: true, location: colony.storeLocation, schemaVersion: LATEST_MIGRATION, latestSchema: LATEST_MIGRATION });
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    expect(health).not.toHaveProperty('error');
    expect(colony.storeLocation).toBe(colony.config.database.path);
  });

  it('is not ok, and says why, when the schema is behind or the store does not answer', async () => {
    const { store, dir } = await openedStore();
    const behind = await colonyWith({}, { dir, store: storeAnswering(store, async () => '0001_initial') });
    expect(await behind.colony.health()).toMatchObject({ ok: false, schemaVersion: '0001_initial', latestSchema: LATEST_MIGRATION });
    await behind.colony.close();

    const gone = await colonyWith({}, { dir, store: storeAnswering(store, () => Promise.reject(new Error('disk gone'))) });
    expect(await gone.colony.health()).toMatchObject({ ok: false, schemaVersion: null, latestSchema: LATEST_MIGRATION, error: 'disk gone' });
  });
});

describe('colony.providerCircuits', () => {
  it('reports the breaker states of live processes only, with their age and owner', async () => {
    let clock = 10_000;
    const { colony } = await colonyWith({}, { now: () => clock });
    await colony.start();
    await colony.store.circuits.report({ runnerId: colony.runners.id, provider: 'anthropic', state: 'open', changedAt: 9_000 });
    await colony.store.circuits.report({ runnerId: 'runner_dead', provider: 'openai', state: 'open', changedAt: 9_500 });
    clock = 12_000;
    expect(await colony.providerCircuits()).toEqual([
      { provider: 'anthropic', state: 'open', since: 9_000, ageMs: 3_000, runner: { id: colony.runners.id, kind: 'library', pid: process.pid, host: expect.any(String) } },
    ]);
  });
});
