import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, SqliteDialect } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPostgres, type PostgresDatabase } from '../src/adapters/storage/postgres/postgres-connection.js';
import { migratePostgres } from '../src/adapters/storage/postgres/postgres-migrator.js';
import * as agents from '../src/adapters/storage/sql/agent-queries.js';
import * as apiKeys from '../src/adapters/storage/sql/api-key-queries.js';
import type { SqlContext } from '../src/adapters/storage/sql/dialect-sql.js';
import { listEvents } from '../src/adapters/storage/sql/event-queries.js';
import * as messages from '../src/adapters/storage/sql/message-queries.js';
import * as metrics from '../src/adapters/storage/sql/metric-queries.js';
import * as runners from '../src/adapters/storage/sql/runner-queries.js';
import type { ColonyTables } from '../src/adapters/storage/sql/schema.js';
import * as tasks from '../src/adapters/storage/sql/task-queries.js';
import * as transcripts from '../src/adapters/storage/sql/transcript-queries.js';
import * as workflows from '../src/adapters/storage/sql/workflow-queries.js';
import { kyselyDatabaseFor } from '../src/adapters/storage/sqlite/node-sqlite-kysely.js';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import type { AgentRecord } from '../src/domain/agent.js';
import type { TaskRecord } from '../src/domain/task.js';
import { useTestDatabase } from './support/postgres.js';
import { T, taskRecord } from './support/task-fixtures.js';

/**
 * The main store's statements written once with Kysely (src/adapters/storage/sql/*-queries.ts) give
 * the same answers on both dialects: the same checks run on SQLite (through Kysely on node:sqlite)
 * and on PostgreSQL, so that the SQLite adapter can move onto them.
 */
interface Host {
  ctx: SqlContext;
  /** Runs `work` in a transaction, as the adapters run batches. */
  atomically<R>(work: (ctx: SqlContext) => Promise<R>): Promise<R>;
  close(): Promise<void>;
}

const pgPlace = useTestDatabase();

const hosts: Record<'sqlite' | 'postgres', () => Promise<Host>> = {
  async sqlite() {
    const dir = mkdtempSync(join(tmpdir(), 'colony-shared-main-sql-'));
    const path = join(dir, 'colony.db');
    const migrating = new SqliteStore({ path, busyTimeoutMs: 5_000 });
    await migrating.migrate();
    await migrating.close();
    const raw = new DatabaseSync(path, { timeout: 5_000 });
    raw.exec('PRAGMA foreign_keys = ON');
    const db = new Kysely<ColonyTables>({ dialect: new SqliteDialect({ database: kyselyDatabaseFor(raw) }) });
    return {
      ctx: { db, dialect: 'sqlite' },
      atomically: (work) => db.transaction().execute((trx) => work({ db: trx, dialect: 'sqlite' })),
      async close() {
        await db.destroy();
        raw.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  async postgres() {
    const schema = await pgPlace.freshSchema();
    const pg: PostgresDatabase = openPostgres({ url: schema.url, poolSize: 2 });
    await migratePostgres(pg.db as unknown as Kysely<unknown>);
    return {
      ctx: { db: pg.db, dialect: 'postgres' },
      atomically: (work) => pg.db.transaction().execute((trx) => work({ db: trx, dialect: 'postgres' })),
      async close() {
        await pg.close();
        await schema.drop();
      },
    };
  },
};

for (const [dialect, open] of Object.entries(hosts)) {
  describe(`shared statements of the main store: ${dialect}`, () => {
    let host: Host;
    let ctx: SqlContext;
    beforeEach(async () => {
      host = await open();
      ctx = host.ctx;
    });
    afterEach(async () => {
      await host.close();
    });

    it('tasks: insert with edges, read back every JSON type, list, count, find by prefix byte-wise', async () => {
      const batch = [
        task('tsk_b', { input: 'just a string', dependencies: ['tsk_a'], priority: 70, status: 'queued' }),
        task('tsk_a', { input: null, result: 0, status: 'completed' }),
        task('tsk_B', { input: [1, { x: null }], parentId: 'tsk_a', runnerId: 'run_1', status: 'running', attempts: 1 }),
        task('tsk_c', { dependencies: ['tsk_a', 'tsk_b'] }),
      ];
      await host.atomically((c) => tasks.insertTasks(c, batch));
      for (const t of batch) expect(await tasks.getTask(ctx, t.id)).toEqual(t);
      expect(ids(await tasks.listTasks(ctx, {}))).toEqual(['tsk_B', 'tsk_a', 'tsk_b', 'tsk_c']);
      expect(ids(await tasks.listTasks(ctx, { order: 'priority', limit: 2 }))).toEqual(['tsk_b', 'tsk_B']);
      expect(ids(await tasks.listTasks(ctx, { order: 'created_desc', offset: 3 }))).toEqual(['tsk_B']);
      expect(ids(await tasks.listTasks(ctx, { status: ['queued', 'running'], parentId: 'tsk_a' }))).toEqual(['tsk_B']);
      expect(await tasks.countTasks(ctx, { status: 'pending' })).toBe(1);
      expect(await tasks.countTasksByStatus(ctx)).toEqual({ pending: 1, queued: 1, running: 1, completed: 1, failed: 0, cancelled: 0 });
      expect(await tasks.taskIdsByPrefix(ctx, 'tsk_', 10)).toEqual(['tsk_B', 'tsk_a', 'tsk_b', 'tsk_c']);
      expect(await tasks.taskIdsByPrefix(ctx, 'tsk_b', 10)).toEqual(['tsk_b']);
      expect(await tasks.listDependents(ctx, 'tsk_a')).toEqual(['tsk_b', 'tsk_c']);
      expect(ids(await tasks.listTasksHeldBy(ctx, ['run_1', 'run_2']))).toEqual(['tsk_B']);
      expect(await tasks.runnerIdsHoldingTasks(ctx)).toEqual(['run_1']);
      expect(ids(await tasks.listPendingByDependencies(ctx, 'promotable', { limit: 10 }))).toEqual([]);
      const b = batch[0] as TaskRecord;
      expect(await tasks.compareAndSetTask(ctx, { ...b, status: 'failed' }, { status: 'queued', attempts: 0, updatedAt: T + 1 })).toBe(false);
      expect(await tasks.compareAndSetTask(ctx, { ...b, status: 'failed', result: 'x' }, { status: 'queued', attempts: 0, updatedAt: T })).toBe(true);
      expect(await tasks.getTask(ctx, 'tsk_b')).toEqual({ ...b, status: 'failed', result: 'x' });
      expect(ids(await tasks.listPendingByDependencies(ctx, 'blocked', { limit: 10 }))).toEqual(['tsk_c']);
      expect(await tasks.reviseTask(ctx, { ...b, priority: 1, requirements: { agentType: 'coder' }, updatedAt: T + 5 }, { status: 'failed', attempts: 0, updatedAt: T })).toBe(true);
      expect(await tasks.getTask(ctx, 'tsk_b')).toMatchObject({ priority: 1, requirements: { agentType: 'coder' }, updatedAt: T + 5 });
    });

    it('agents: a bounded insert, a patch that keeps an agent holding tasks busy, listing', async () => {
      expect(await agents.insertAgent(ctx, agent('agt_1'), { maxActive: 2 })).toBe(true);
      expect(await agents.insertAgent(ctx, agent('agt_2', { status: 'busy', currentTasks: ['tsk_1'] }), { maxActive: 2 })).toBe(true);
      expect(await agents.insertAgent(ctx, agent('agt_3'), { maxActive: 2 })).toBe(false);
      expect(await agents.getAgent(ctx, 'agt_2')).toEqual(agent('agt_2', { status: 'busy', currentTasks: ['tsk_1'] }));
      expect(await agents.patchAgent(ctx, 'agt_2', { status: 'idle' }, { status: 'busy' }, T + 1)).toMatchObject({ status: 'busy', updatedAt: T + 1 });
      expect(await agents.patchAgent(ctx, 'agt_1', { status: 'terminated', terminatedAt: T }, { status: 'idle' }, T + 2)).toMatchObject({ status: 'terminated' });
      expect(await agents.patchAgent(ctx, 'agt_1', { status: 'idle' }, { status: 'terminated' }, T + 3)).toBeUndefined();
      expect(ids(await agents.listAgents(ctx, { excludeTerminated: true }))).toEqual(['agt_2']);
      expect(await agents.countAgents(ctx, { status: ['idle', 'busy', 'terminated'] })).toBe(2);
      expect(await agents.agentIdsByPrefix(ctx, 'agt_', 1)).toEqual(['agt_1']);
    });

    it('workflows, metrics, runners and API keys', async () => {
      await workflows.insertWorkflow(ctx, { id: 'wf_1', name: 'a', source: null, definitionHash: 'h', status: 'running', createdAt: T, updatedAt: T, completedAt: null });
      await workflows.insertWorkflow(ctx, { id: 'wf_2', name: 'b', source: 'x.yaml', definitionHash: 'h', status: 'running', createdAt: T, updatedAt: T, completedAt: null });
      await workflows.updateWorkflowStatus(ctx, 'wf_2', 'failed', T + 1);
      expect((await workflows.findWorkflow(ctx, { definitionHash: 'h' }))?.id).toBe('wf_2');
      expect((await workflows.findWorkflow(ctx, { definitionHash: 'h', status: 'running' }))?.id).toBe('wf_1');
      expect((await workflows.listWorkflows(ctx, { limit: 10 })).map((w) => [w.id, w.completedAt])).toEqual([['wf_2', T + 1], ['wf_1', null]]);

      await metrics.recordMetrics(ctx, [
        { entityType: 'agent', entityId: 'agt_1', name: 'task.completed', value: 100, metadata: { k: 'v' }, timestamp: T },
        { entityType: 'agent', entityId: 'agt_1', name: 'task.completed', value: 201, metadata: null, timestamp: T + 1 },
        { entityType: 'agent', entityId: 'agt_1', name: 'task.failed', value: 1, metadata: null, timestamp: T + 2 },
      ]);
      expect((await metrics.listMetrics(ctx, { since: T + 1 })).map((m) => m.value)).toEqual([201, 1]);
      expect((await metrics.listMetrics(ctx, { limit: 1 }))[0]?.metadata).toEqual({ k: 'v' });
      expect(await metrics.agentTrackRecords(ctx, ['agt_1', 'agt_9'])).toEqual(new Map([['agt_1', { tasksCompleted: 2, tasksFailed: 1, meanDurationMs: 150.5 }]]));

      await runners.upsertRunner(ctx, { id: 'run_b', pid: 2, hostname: 'h', kind: 'worker', startedAt: T, heartbeatAt: T, runsTasks: true, pools: ['eu'] });
      await runners.upsertRunner(ctx, { id: 'run_a', pid: 1, hostname: 'h', kind: 'run', startedAt: T, heartbeatAt: T });
      await runners.upsertRunner(ctx, { id: 'run_a', pid: 9, hostname: 'other', kind: 'run', startedAt: T + 9, heartbeatAt: T + 5 });
      expect(await runners.listRunners(ctx)).toEqual([
        { id: 'run_a', pid: 1, hostname: 'h', kind: 'run', startedAt: T, heartbeatAt: T + 5, runsTasks: true, pools: [] },
        { id: 'run_b', pid: 2, hostname: 'h', kind: 'worker', startedAt: T, heartbeatAt: T, runsTasks: true, pools: ['eu'] },
      ]);
      await runners.deleteRunner(ctx, 'run_a');
      expect((await runners.listRunners(ctx)).map((r) => r.id)).toEqual(['run_b']);

      const key = { id: 'key_1', name: 'ci', role: 'operator' as const, hash: 'abc', createdAt: T, lastUsedAt: null, revokedAt: null };
      await apiKeys.insertApiKey(ctx, key);
      await apiKeys.insertApiKey(ctx, { ...key, id: 'key_0', createdAt: T + 1 });
      await apiKeys.touchApiKey(ctx, 'key_1', T + 2);
      expect(await apiKeys.revokeApiKey(ctx, 'key_0', T + 3)).toBe(true);
      expect(await apiKeys.revokeApiKey(ctx, 'key_0', T + 4)).toBe(false);
      expect(await apiKeys.listApiKeys(ctx, {})).toEqual([{ ...key, lastUsedAt: T + 2 }]);
      expect((await apiKeys.listApiKeys(ctx, { includeRevoked: true })).map((k) => k.id)).toEqual(['key_1', 'key_0']);
      expect(await apiKeys.countActiveApiKeys(ctx)).toBe(1);
    });

    it('transcripts, journals, messages and the event listing', async () => {
      await tasks.insertTasks(ctx, [task('tsk_1')]);
      const turnIds = await host.atomically((c) =>
        transcripts.appendTurns(c, [
          { taskId: 'tsk_1', agentId: null, attempt: 1, turn: 0, role: 'user', content: [{ type: 'text', text: 'hi' }], usage: null, model: null, provider: null, createdAt: T },
          { taskId: 'tsk_1', agentId: 'agt_1', attempt: 2, turn: 1, role: 'assistant', content: [{ type: 'text', text: 'ok' }], usage: { inputTokens: 1, outputTokens: 2 }, model: 'm', provider: 'p', createdAt: T + 1 },
        ]),
      );
      expect(turnIds[1]).toBeGreaterThan(turnIds[0] as number);
      expect((await transcripts.listTurns(ctx, { taskId: 'tsk_1', attempt: 2 }))[0]).toMatchObject({ id: turnIds[1], usage: { inputTokens: 1, outputTokens: 2 } });
      await transcripts.saveJournal(ctx, 'tsk_1', 'a bare string', T);
      expect(await transcripts.getJournal(ctx, 'tsk_1')).toBe('a bare string');
      await transcripts.saveJournal(ctx, 'tsk_1', { version: 1, entries: [] }, T + 1);
      expect(await transcripts.getJournal(ctx, 'tsk_1')).toEqual({ version: 1, entries: [] });
      await transcripts.deleteJournal(ctx, 'tsk_1');
      expect(await transcripts.getJournal(ctx, 'tsk_1')).toBeUndefined();

      const m1 = await messages.sendMessage(ctx, { fromAgent: 'a', toAgent: 'b', taskId: 'tsk_1', body: 'one', createdAt: T });
      const m2 = await messages.sendMessage(ctx, { fromAgent: 'a', toAgent: 'b', taskId: null, body: 'two', createdAt: T + 1 });
      expect(await messages.peekInbox(ctx, 'b', 10)).toEqual([m1, m2]);

      await ctx.db
        .insertInto('events')
        .values(['task.created', 'taskx', 'task.Z', 'agent.spawned'].map((type, i) => ({ type, source: 's', data: JSON.stringify(i === 0 ? 'text' : { i }), correlation_id: null, timestamp: T + i })))
        .execute();
      const all = await listEvents(ctx, {});
      expect(all[0]?.data).toBe('text');
      expect((await listEvents(ctx, { types: ['task.*'] })).map((e) => e.type)).toEqual(['task.created', 'task.Z']);
      expect((await listEvents(ctx, { types: ['agent.spawned', 'taskx'], newestFirst: true, limit: 1 })).map((e) => e.type)).toEqual(['agent.spawned']);
      expect((await listEvents(ctx, { afterId: all[2]?.id })).map((e) => e.type)).toEqual(['agent.spawned']);
    });
  });
}

function task(id: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return taskRecord(id, overrides);
}

function agent(id: string, overrides: Partial<AgentRecord> = {}): AgentRecord {
  return {
    id,
    name: `agent-${id}`,
    type: 'coder',
    status: 'idle',
    health: 'healthy',
    capabilities: ['code'],
    config: { nested: [1, null] },
    currentTasks: [],
    maxConcurrency: 2,
    createdAt: T,
    updatedAt: T,
    terminatedAt: null,
    ...overrides,
  };
}

function ids(records: readonly { id: string }[]): string[] {
  return records.map((r) => r.id);
}
