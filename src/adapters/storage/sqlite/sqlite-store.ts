import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type * as NodeSqlite from 'node:sqlite';
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { AgentHealth, AgentRecord, AgentStatus, AgentTrackRecord } from '../../../domain/agent.js';
import { ValidationError } from '../../../domain/errors.js';
import type { JsonValue } from '../../../domain/json.js';
import type { StoredEvent } from '../../../domain/events.js';
import { TASK_STATUSES, type TaskRecord, type TaskStatus } from '../../../domain/task.js';
import type { WorkflowRecord, WorkflowStatus } from '../../../domain/workflow.js';
import type { MemoryStore } from '../../../ports/memory-store.js';
import type {
  AgentMessage,
  AgentPatch,
  AgentQuery,
  AgentTurn,
  EventQuery,
  HealthThresholds,
  InboxOptions,
  MetricQuery,
  MetricSample,
  NewAgentMessage,
  NewAgentTurn,
  NewEvent,
  RunnerRecord,
  SlotOutcome,
  Store,
  StoredApiKey,
  TaskQuery,
} from '../../../ports/store.js';
import {
  agentTrackRecordsQuery,
  countAgentsQuery,
  countTasksQuery,
  listAgentsQuery,
  listEventsQuery,
  listMetricsQuery,
  listTasksQuery,
  sqlitePlaceholder as ph,
  type SqlQuery,
} from '../sql/list-queries.js';
import { LATEST_MIGRATION } from '../sql/migration-latest.js';
import {
  agentFromRow,
  agentMessageFromRow,
  agentToRow,
  agentTurnFromRow,
  apiKeyFromRow,
  eventFromRow,
  metricFromRow,
  readJson,
  runnerFromRow,
  taskFromRow,
  taskToRow,
  workflowFromRow,
} from '../sql/rows.js';
import type { AgentRow, ApiKeyRow, EventRow, MetricRow, TaskRow, WorkflowRow } from '../sql/schema.js';
import { mapSqliteError } from './sqlite-errors.js';
import { SqliteMemoryStore } from './sqlite-memory-store.js';
import { loadSqliteVec } from './sqlite-vec-loader.js';
import { SqliteConsensusStore } from './sqlite-consensus-store.js';
import { SqliteModelCallLedger } from './sqlite-model-call-ledger.js';
import { SqliteProviderCircuitStore } from './sqlite-provider-circuit-store.js';
import { SqliteSwarmStore } from './sqlite-swarm-store.js';
import { SqliteTaskProcessStore } from './sqlite-task-process-store.js';
import { StatementCache } from './statement-cache.js';
import { WriteBatcher } from './write-batcher.js';

export interface SqliteStoreOptions {
  /** A file path, or `:memory:`. */
  path: string;
  busyTimeoutMs: number;
}

type Row = Record<string, unknown>;

/** Thrown inside a savepoint to undo a group of updates when one expectation fails. */
const STALE = Symbol('stale');

/** Tries of `migrate` when another process is migrating the same file at the same moment. */
const MIGRATE_ATTEMPTS = 5;

const TASK_COLUMNS =
  'id, name, type, description, status, priority, input, dependencies, parent_id, workflow_id, swarm_id, requirements, assigned_agent, timeout_ms, max_retries, max_attempts, attempts, result, error, runner_id, not_before, created_at, updated_at, started_at, completed_at';

/**
 * The embedded store: one SQLite file in WAL mode, shared safely by every Colony process of a
 * project (CLI, server, MCP server). Hot paths use cached prepared statements; listing and migrations
 * use SQL shared with the PostgreSQL adapter; migrations run on Kysely, loaded only when needed.
 */
export class SqliteStore implements Store {
  readonly location: string;
  private readonly db: DatabaseSync;
  private readonly writes: WriteBatcher;
  private memoryStore: SqliteMemoryStore | undefined;
  readonly swarms: SqliteSwarmStore;
  readonly consensus: SqliteConsensusStore;
  readonly modelCalls: SqliteModelCallLedger;
  readonly circuits: SqliteProviderCircuitStore;
  readonly taskProcesses: SqliteTaskProcessStore;
  private closed = false;
  private readonly statementCache: StatementCache;

  constructor(options: SqliteStoreOptions) {
    this.location = options.path;
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    // Extensions are allowed at open only so that sqlite-vec can be loaded (by `memory`); loading
    // stays switched off except for that moment.
    this.db = new (loadNodeSqlite().DatabaseSync)(options.path, { timeout: options.busyTimeoutMs, allowExtension: true });
    this.db.enableLoadExtension(false);
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = NORMAL');
    this.db.exec('PRAGMA foreign_keys = ON');
    this.writes = new WriteBatcher(this.db);
    this.statementCache = new StatementCache(this.db);
    this.swarms = new SqliteSwarmStore(this.db, this.writes);
    this.consensus = new SqliteConsensusStore(this.db, this.writes);
    this.modelCalls = new SqliteModelCallLedger(this.db, this.writes);
    this.circuits = new SqliteProviderCircuitStore(this.db, this.writes);
    this.taskProcesses = new SqliteTaskProcessStore(this.db, this.writes);
  }

  /**
   * Memory's durable tier on this same file and write batcher. Created on first use, which is also
   * when sqlite-vec is loaded (once per connection): commands that never touch memory do not pay
   * for it. If it cannot be loaded, vector search says so and everything else works.
   */
  get memory(): MemoryStore {
    this.memoryStore ??= new SqliteMemoryStore(this.db, this.writes, { vectors: loadSqliteVec(this.db) });
    return this.memoryStore;
  }

  async migrate(): Promise<void> {
    if ((await this.schemaVersion()) === LATEST_MIGRATION) return;
    // Kysely and the migrations load only when the schema is behind: a short CLI command on an
    // up-to-date database does not pay for them.
    const [{ Kysely, Migrator, SqliteDialect }, { colonyMigrations }, { kyselyDatabaseFor }] = await Promise.all([
      import('kysely'),
      import('../sql/migrations.js'),
      import('./node-sqlite-kysely.js'),
    ]);
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: kyselyDatabaseFor(this.db) }) });
    const migrator = new Migrator({
      db: kysely,
      provider: { getMigrations: async () => colonyMigrations('sqlite') },
    });
    // Kysely's SQLite adapter takes no migration lock, so two processes migrating one new file at the
    // same time collide: the loser's transaction fails and rolls back. Running again finds the work done.
    for (let attempt = 1; ; attempt++) {
      const { error, results } = await migrator.migrateToLatest();
      if (!error) return;
      if (attempt >= MIGRATE_ATTEMPTS) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName;
        throw mapSqliteError(error, `migration ${failed ?? ''} failed`.trim());
      }
      await new Promise((done) => setTimeout(done, 20 * attempt));
    }
  }

  async schemaVersion(): Promise<string | null> {
    const table = this.all(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'`);
    if (table.length === 0) return null; // Never migrated.
    const rows = this.all(
      `SELECT name FROM kysely_migration ORDER BY name DESC LIMIT 1`,
    ) as { name: string }[];
    return rows[0]?.name ?? null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.writes.flush();
    this.closed = true;
    this.db.close();
  }

  private stmt(text: string): StatementSync {
    return this.statementCache.get(text);
  }

  private query(q: SqlQuery): Row[] {
    return this.all(q.text, ...q.params);
  }

  private all(text: string, ...params: SQLInputValue[]): Row[] {
    return this.statementCache.all(text, ...params);
  }

  private write<T>(what: string, run: () => T): Promise<T> {
    return this.writes.write(what, run);
  }

  // ---- tasks ----

  insertTasks(tasks: readonly TaskRecord[]): Promise<void> {
    const ordered = parentsFirst(tasks);
    return this.write('insert tasks', () =>
      this.writes.atomically(() => {
        const insert = this.stmt(
          `INSERT INTO tasks (${TASK_COLUMNS}) VALUES (${TASK_COLUMNS.split(',').map(() => '?').join(', ')})`,
        );
        const edge = this.stmt('INSERT INTO task_dependencies (task_id, depends_on) VALUES (?, ?)');
        for (const task of ordered) insert.run(...(Object.values(taskToRow(task)) as SQLInputValue[]));
        for (const task of ordered) for (const dep of task.dependencies) edge.run(task.id, dep);
      }),
    );
  }

  updateTask(next: TaskRecord, expected: { status: TaskStatus; attempts: number; updatedAt?: number }): Promise<boolean> {
    return this.write(`update task ${next.id}`, () => this.casTask(next, expected));
  }

  reviseTask(next: TaskRecord, expected: { status: TaskStatus; attempts: number; updatedAt: number }): Promise<boolean> {
    return this.write(`revise task ${next.id}`, () => {
      const result = this.stmt(
        'UPDATE tasks SET priority = ?, requirements = ?, updated_at = ? WHERE id = ? AND status = ? AND attempts = ? AND updated_at = ?',
      ).run(next.priority, JSON.stringify(next.requirements), next.updatedAt, next.id, expected.status, expected.attempts, expected.updatedAt);
      return Number(result.changes) === 1;
    });
  }

  updateTasks(changes: readonly { next: TaskRecord; expected: { status: TaskStatus; attempts: number } }[]): Promise<boolean> {
    return this.write('update tasks', () => {
      try {
        return this.writes.atomically(() => {
          for (const c of changes) if (!this.casTask(c.next, c.expected)) throw STALE;
          return true;
        });
      } catch (error) {
        if (error === STALE) return false;
        throw error;
      }
    });
  }

  /** Compare-and-set on (status, attempts); only the mutable columns are written. */
  private casTask(next: TaskRecord, expected: { status: TaskStatus; attempts: number; updatedAt?: number }): boolean {
    const fence = expected.updatedAt === undefined ? '' : ' AND updated_at = ?';
    const result = this.stmt(
      `UPDATE tasks SET status = ?, priority = ?, assigned_agent = ?, max_attempts = ?, attempts = ?, result = ?, error = ?,
         runner_id = ?, not_before = ?, updated_at = ?, started_at = ?, completed_at = ?
       WHERE id = ? AND status = ? AND attempts = ?${fence}`,
    ).run(
      next.status,
      next.priority,
      next.assignedAgent,
      next.maxAttempts,
      next.attempts,
      next.result === null ? null : JSON.stringify(next.result),
      next.error === null ? null : JSON.stringify(next.error),
      next.runnerId,
      next.notBefore,
      next.updatedAt,
      next.startedAt,
      next.completedAt,
      next.id,
      expected.status,
      expected.attempts,
      ...(expected.updatedAt === undefined ? [] : [expected.updatedAt]),
    );
    return Number(result.changes) === 1;
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const row = this.stmt(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`).get(id) as TaskRow | undefined;
    return row ? taskFromRow(row) : undefined;
  }

  async findTaskIdsByPrefix(prefix: string, limit: number): Promise<string[]> {
    return this.all(`SELECT id FROM tasks WHERE id >= ? AND id < ? ORDER BY id LIMIT ?`, prefix, `${prefix}\uffff`, limit).map(
      (r) => r.id as string,
    );
  }

  async listTasks(query: TaskQuery): Promise<TaskRecord[]> {
    return (this.query(listTasksQuery(TASK_COLUMNS, query, ph)) as unknown as TaskRow[]).map(taskFromRow);
  }

  async countTasks(query: Omit<TaskQuery, 'limit' | 'offset' | 'order'>): Promise<number> {
    return Number(this.query(countTasksQuery(query, ph))[0]?.n ?? 0);
  }

  async countTasksByStatus(query: { workflowId?: string; swarmId?: string } = {}): Promise<Record<TaskStatus, number>> {
    const rows = query.workflowId
      ? this.all('SELECT status, count(*) AS n FROM tasks WHERE workflow_id = ? GROUP BY status', query.workflowId)
      : query.swarmId
        ? this.all('SELECT status, count(*) AS n FROM tasks WHERE swarm_id = ? GROUP BY status', query.swarmId)
        : this.all('SELECT status, count(*) AS n FROM tasks GROUP BY status');
    const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
    for (const r of rows) counts[r.status as TaskStatus] = Number(r.n);
    return counts;
  }

  async listDependents(id: string): Promise<string[]> {
    return this.all('SELECT task_id FROM task_dependencies WHERE depends_on = ? ORDER BY task_id', id).map(
      (r) => r.task_id as string,
    );
  }

  async listPromotableTasks(query: { workflowId?: string; limit: number }): Promise<TaskRecord[]> {
    const scope = query.workflowId ? 'AND t.workflow_id = ?' : '';
    const params: SQLInputValue[] = query.workflowId ? [query.workflowId, query.limit] : [query.limit];
    return (
      this.all(
        `SELECT ${prefixed('t')} FROM tasks t WHERE t.status = 'pending' ${scope}
           AND NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks dt ON dt.id = d.depends_on
                           WHERE d.task_id = t.id AND dt.status <> 'completed')
         ORDER BY t.id LIMIT ?`,
        ...params,
      ) as unknown as TaskRow[]
    ).map(taskFromRow);
  }

  async listBlockedTasks(query: { workflowId?: string; limit: number }): Promise<TaskRecord[]> {
    const scope = query.workflowId ? 'AND t.workflow_id = ?' : '';
    const params: SQLInputValue[] = query.workflowId ? [query.workflowId, query.limit] : [query.limit];
    return (
      this.all(
        `SELECT ${prefixed('t')} FROM tasks t WHERE t.status = 'pending' ${scope}
           AND EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks dt ON dt.id = d.depends_on
                       WHERE d.task_id = t.id AND dt.status IN ('failed', 'cancelled'))
         ORDER BY t.id LIMIT ?`,
        ...params,
      ) as unknown as TaskRow[]
    ).map(taskFromRow);
  }

  // ---- workflows ----

  insertWorkflow(workflow: WorkflowRecord): Promise<void> {
    return this.write('insert workflow', () => {
      this.stmt(
        `INSERT INTO workflows (id, name, source, definition_hash, status, created_at, updated_at, completed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        workflow.id,
        workflow.name,
        workflow.source,
        workflow.definitionHash,
        workflow.status,
        workflow.createdAt,
        workflow.updatedAt,
        workflow.completedAt,
      );
    });
  }

  updateWorkflowStatus(id: string, status: WorkflowStatus, at: number): Promise<void> {
    const completedAt = status === 'running' ? null : at;
    return this.write(`update workflow ${id}`, () => {
      this.stmt('UPDATE workflows SET status = ?, updated_at = ?, completed_at = ? WHERE id = ?').run(status, at, completedAt, id);
    });
  }

  async getWorkflow(id: string): Promise<WorkflowRecord | undefined> {
    const row = this.stmt('SELECT * FROM workflows WHERE id = ?').get(id) as WorkflowRow | undefined;
    return row ? workflowFromRow(row) : undefined;
  }

  async findWorkflow(query: { definitionHash: string; status?: WorkflowStatus }): Promise<WorkflowRecord | undefined> {
    const rows = query.status
      ? this.all('SELECT * FROM workflows WHERE definition_hash = ? AND status = ? ORDER BY id DESC LIMIT 1', query.definitionHash, query.status)
      : this.all('SELECT * FROM workflows WHERE definition_hash = ? ORDER BY id DESC LIMIT 1', query.definitionHash);
    const row = rows[0] as WorkflowRow | undefined;
    return row ? workflowFromRow(row) : undefined;
  }

  async listWorkflows(query: { status?: WorkflowStatus; limit: number }): Promise<WorkflowRecord[]> {
    const rows = query.status
      ? this.all('SELECT * FROM workflows WHERE status = ? ORDER BY id DESC LIMIT ?', query.status, query.limit)
      : this.all('SELECT * FROM workflows ORDER BY id DESC LIMIT ?', query.limit);
    return (rows as unknown as WorkflowRow[]).map(workflowFromRow);
  }

  // ---- agents ----

  insertAgent(agent: AgentRecord, bound?: { maxActive: number }): Promise<boolean> {
    const row = agentToRow(agent);
    const columns = 'id, name, type, status, health, capabilities, config, current_tasks, max_concurrency, created_at, updated_at, terminated_at';
    return this.write('insert agent', () => {
      const values = Object.values(row) as SQLInputValue[];
      const result = bound
        ? this.stmt(
            `INSERT INTO agents (${columns}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
             WHERE (SELECT count(*) FROM agents WHERE status <> 'terminated') < ?`,
          ).run(...values, bound.maxActive)
        : this.stmt(`INSERT INTO agents (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...values);
      return Number(result.changes) === 1;
    });
  }

  patchAgent(id: string, patch: AgentPatch, expected: { status: AgentStatus }, now: number): Promise<AgentRecord | undefined> {
    const sets: string[] = [];
    const params: SQLInputValue[] = [];
    if (patch.status !== undefined) {
      sets.push(`status = CASE WHEN ? = 'idle' AND json_array_length(current_tasks) > 0 THEN 'busy' ELSE ? END`);
      params.push(patch.status, patch.status);
    }
    if (patch.health !== undefined) {
      sets.push('health = ?');
      params.push(patch.health);
    }
    if (patch.terminatedAt !== undefined) {
      sets.push('terminated_at = ?');
      params.push(patch.terminatedAt);
    }
    if (patch.resetFailures) sets.push('failure_streak = 0');
    sets.push('updated_at = ?');
    params.push(now);
    return this.write(`patch agent ${id}`, () => {
      const row = this.stmt(`UPDATE agents SET ${sets.join(', ')} WHERE id = ? AND status = ? AND status <> 'terminated' RETURNING *`).get(
        ...params,
        id,
        expected.status,
      ) as AgentRow | undefined;
      return row ? agentFromRow(row) : undefined;
    });
  }

  claimAgentSlot(agentId: string, taskId: string, now: number): Promise<AgentRecord | undefined> {
    return this.write(`claim a slot of agent ${agentId}`, () => {
      const row = this.stmt(
        `UPDATE agents SET current_tasks = json_insert(current_tasks, '$[#]', ?), status = 'busy', updated_at = ?
         WHERE id = ? AND status IN ('idle', 'busy') AND health <> 'unhealthy' AND json_array_length(current_tasks) < max_concurrency
           AND NOT EXISTS (SELECT 1 FROM json_each(agents.current_tasks) WHERE value = ?)
         RETURNING *`,
      ).get(taskId, now, agentId, taskId) as AgentRow | undefined;
      return row ? agentFromRow(row) : undefined;
    });
  }

  releaseAgentSlot(
    agentId: string,
    taskId: string,
    outcome: SlotOutcome,
    thresholds: HealthThresholds,
    now: number,
  ): Promise<{ agent: AgentRecord; previous: Pick<AgentRecord, 'status' | 'health'> } | undefined> {
    return this.write(`release a slot of agent ${agentId}`, () => {
      // Read and update in one transaction (the batch holds the write lock): `previous` is exact.
      const before = this.stmt('SELECT status, health FROM agents WHERE id = ?').get(agentId) as { status: AgentStatus; health: AgentHealth } | undefined;
      if (!before) return undefined;
      const row = this.stmt(
        `UPDATE agents SET
           current_tasks = (SELECT json_group_array(value) FROM json_each(agents.current_tasks) WHERE value <> ?1),
           status = CASE WHEN status = 'busy' AND json_array_length(current_tasks) <= 1 THEN 'idle' ELSE status END,
           failure_streak = CASE ?2 WHEN 'success' THEN 0 WHEN 'failure' THEN failure_streak + 1 ELSE failure_streak END,
           health = CASE ?2
             WHEN 'success' THEN 'healthy'
             WHEN 'failure' THEN CASE WHEN failure_streak + 1 >= ?3 THEN 'unhealthy' WHEN failure_streak + 1 >= ?4 THEN 'degraded' ELSE 'healthy' END
             ELSE health END,
           updated_at = ?5
         WHERE id = ?6 AND status <> 'terminated' AND EXISTS (SELECT 1 FROM json_each(agents.current_tasks) WHERE value = ?1)
         RETURNING *`,
      ).get(taskId, outcome, thresholds.unhealthy, thresholds.degraded, now, agentId) as AgentRow | undefined;
      return row ? { agent: agentFromRow(row), previous: { status: before.status, health: before.health } } : undefined;
    });
  }

  async getAgent(id: string): Promise<AgentRecord | undefined> {
    const row = this.stmt('SELECT * FROM agents WHERE id = ?').get(id) as AgentRow | undefined;
    return row ? agentFromRow(row) : undefined;
  }

  async findAgentIdsByPrefix(prefix: string, limit: number): Promise<string[]> {
    return this.all('SELECT id FROM agents WHERE id >= ? AND id < ? ORDER BY id LIMIT ?', prefix, `${prefix}\uffff`, limit).map(
      (r) => r.id as string,
    );
  }

  async listAgents(query: AgentQuery): Promise<AgentRecord[]> {
    return (this.query(listAgentsQuery(query, ph)) as unknown as AgentRow[]).map(agentFromRow);
  }

  async countAgents(query: Omit<AgentQuery, 'limit' | 'offset' | 'order'>): Promise<number> {
    return Number(this.query(countAgentsQuery(query, ph))[0]?.n ?? 0);
  }

  // ---- events ----

  appendEvents(events: readonly NewEvent[]): Promise<number[]> {
    return this.write('append events', () => {
      const insert = this.stmt('INSERT INTO events (type, source, data, correlation_id, timestamp) VALUES (?, ?, ?, ?, ?)');
      return events.map((e) =>
        Number(insert.run(e.type, e.source, JSON.stringify(e.data), e.correlationId, e.timestamp).lastInsertRowid),
      );
    });
  }

  async listEvents(query: EventQuery): Promise<StoredEvent[]> {
    return (this.query(listEventsQuery(query, ph)) as unknown as (Omit<EventRow, 'id'> & { id: number })[]).map((r) => eventFromRow(r));
  }

  // ---- metrics ----

  recordMetrics(metrics: readonly MetricSample[]): Promise<void> {
    return this.write('record metrics', () => {
      const insert = this.stmt(
        'INSERT INTO metrics (entity_type, entity_id, metric_name, metric_value, metadata, timestamp) VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (const m of metrics) {
        insert.run(m.entityType, m.entityId, m.name, m.value, m.metadata === null ? null : JSON.stringify(m.metadata), m.timestamp);
      }
    });
  }

  async listMetrics(query: MetricQuery): Promise<MetricSample[]> {
    return (this.query(listMetricsQuery(query, ph)) as unknown as MetricRow[]).map((r) => metricFromRow(r));
  }

  async agentTrackRecords(agentIds: readonly string[]): Promise<Map<string, AgentTrackRecord>> {
    const records = new Map<string, AgentTrackRecord>();
    if (agentIds.length === 0) return records;
    for (const r of this.query(agentTrackRecordsQuery(agentIds, ph))) {
      records.set(r.entity_id as string, {
        tasksCompleted: Number(r.completed),
        tasksFailed: Number(r.failed),
        meanDurationMs: r.mean === null ? null : Number(r.mean),
      });
    }
    return records;
  }

  // ---- runners ----

  upsertRunner(runner: RunnerRecord): Promise<void> {
    return this.write('upsert runner', () => {
      this.stmt(
        `INSERT INTO runners (id, pid, hostname, kind, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
      ).run(runner.id, runner.pid, runner.hostname, runner.kind, runner.startedAt, runner.heartbeatAt);
    });
  }

  deleteRunner(id: string): Promise<void> {
    return this.write('delete runner', () => {
      this.stmt('DELETE FROM runners WHERE id = ?').run(id);
    });
  }

  async listRunners(): Promise<RunnerRecord[]> {
    return (this.all('SELECT * FROM runners ORDER BY started_at') as never[]).map(runnerFromRow);
  }

  async listTasksHeldBy(runnerIds: readonly string[]): Promise<TaskRecord[]> {
    if (runnerIds.length === 0) return [];
    const marks = runnerIds.map(() => '?').join(', ');
    return (
      this.all(`SELECT ${TASK_COLUMNS} FROM tasks WHERE status = 'running' AND runner_id IN (${marks}) ORDER BY id`, ...runnerIds) as unknown as TaskRow[]
    ).map(taskFromRow);
  }

  async listRunnerIdsHoldingTasks(): Promise<string[]> {
    return this.all(`SELECT DISTINCT runner_id FROM tasks WHERE status = 'running' AND runner_id IS NOT NULL`).map(
      (r) => r.runner_id as string,
    );
  }

  // ---- agent transcripts ----

  appendTurns(turns: readonly NewAgentTurn[]): Promise<number[]> {
    return this.write('append agent turns', () =>
      this.writes.atomically(() => {
        const insert = this.stmt(
          `INSERT INTO agent_turns (task_id, agent_id, attempt, turn, role, content, usage, model, provider, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        return turns.map((t) =>
          Number(
            insert.run(
              t.taskId,
              t.agentId,
              t.attempt,
              t.turn,
              t.role,
              JSON.stringify(t.content),
              t.usage === null ? null : JSON.stringify(t.usage),
              t.model,
              t.provider,
              t.createdAt,
            ).lastInsertRowid,
          ),
        );
      }),
    );
  }

  async listTurns(query: { taskId: string; attempt?: number }): Promise<AgentTurn[]> {
    const rows =
      query.attempt === undefined
        ? this.all('SELECT * FROM agent_turns WHERE task_id = ? ORDER BY id', query.taskId)
        : this.all('SELECT * FROM agent_turns WHERE task_id = ? AND attempt = ? ORDER BY id', query.taskId, query.attempt);
    return (rows as never[]).map(agentTurnFromRow);
  }

  // ---- file journals ----

  saveJournal(taskId: string, journal: JsonValue, updatedAt: number): Promise<void> {
    const text = JSON.stringify(journal);
    return this.write(`save journal of task ${taskId}`, () => {
      this.stmt(
        `INSERT INTO task_journals (task_id, journal, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (task_id) DO UPDATE SET journal = excluded.journal, updated_at = excluded.updated_at`,
      ).run(taskId, text, updatedAt);
    });
  }

  async getJournal(taskId: string): Promise<JsonValue | undefined> {
    const row = this.stmt('SELECT journal FROM task_journals WHERE task_id = ?').get(taskId) as { journal: string } | undefined;
    return row ? readJson<JsonValue>(row.journal) : undefined;
  }

  deleteJournal(taskId: string): Promise<void> {
    return this.write(`delete journal of task ${taskId}`, () => {
      this.stmt('DELETE FROM task_journals WHERE task_id = ?').run(taskId);
    });
  }

  // ---- agent messages ----

  sendMessage(message: NewAgentMessage): Promise<AgentMessage> {
    return this.write('send agent message', () => {
      const result = this.stmt(
        'INSERT INTO agent_messages (from_agent, to_agent, task_id, body, created_at) VALUES (?, ?, ?, ?, ?)',
      ).run(message.fromAgent, message.toAgent, message.taskId, message.body, message.createdAt);
      return { ...message, id: Number(result.lastInsertRowid), readAt: null };
    });
  }

  async readInbox(agentId: string, options: InboxOptions): Promise<AgentMessage[]> {
    const select = (): AgentMessage[] =>
      (
        this.all(
          'SELECT * FROM agent_messages WHERE to_agent = ? AND read_at IS NULL ORDER BY id LIMIT ?',
          agentId,
          options.limit,
        ) as never[]
      ).map(agentMessageFromRow);
    if (options.markRead !== true) return select();
    const readAt = options.readAt;
    if (readAt === undefined) throw new ValidationError('readInbox: markRead needs readAt');
    // Select and mark in one write, so that a message is handed to one reader only.
    return this.write(`read inbox of ${agentId}`, () => {
      const messages = select();
      const mark = this.stmt('UPDATE agent_messages SET read_at = ? WHERE id = ?');
      for (const m of messages) mark.run(readAt, m.id);
      return messages.map((m) => ({ ...m, readAt }));
    });
  }

  // ---- API keys ----

  insertApiKey(key: StoredApiKey): Promise<void> {
    return this.write('insert API key', () => {
      this.stmt('INSERT INTO api_keys (id, name, role, hash, created_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        key.id,
        key.name,
        key.role,
        key.hash,
        key.createdAt,
        key.lastUsedAt,
        key.revokedAt,
      );
    });
  }

  async getApiKey(id: string): Promise<StoredApiKey | undefined> {
    const row = this.stmt('SELECT * FROM api_keys WHERE id = ?').get(id) as ApiKeyRow | undefined;
    return row ? apiKeyFromRow(row) : undefined;
  }

  async listApiKeys(query: { includeRevoked?: boolean }): Promise<StoredApiKey[]> {
    const rows = query.includeRevoked
      ? this.all('SELECT * FROM api_keys ORDER BY created_at, id')
      : this.all('SELECT * FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id');
    return (rows as unknown as ApiKeyRow[]).map(apiKeyFromRow);
  }

  revokeApiKey(id: string, at: number): Promise<boolean> {
    return this.write(`revoke API key ${id}`, () => {
      const result = this.stmt('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
      return Number(result.changes) === 1;
    });
  }

  touchApiKey(id: string, at: number): Promise<void> {
    return this.write(`touch API key ${id}`, () => {
      this.stmt('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(at, id);
    });
  }

  async countActiveApiKeys(): Promise<number> {
    return Number((this.stmt('SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL').get() as Row).n);
  }
}

function prefixed(alias: string): string {
  return TASK_COLUMNS.split(', ')
    .map((c) => `${alias}.${c}`)
    .join(', ');
}

/** Orders a batch so that a parent is inserted before its children (foreign keys are immediate). */
function parentsFirst(tasks: readonly TaskRecord[]): TaskRecord[] {
  const inBatch = new Set(tasks.map((t) => t.id));
  const placed = new Set<string>();
  const out: TaskRecord[] = [];
  let rest = [...tasks];
  while (rest.length > 0) {
    const next = rest.filter((t) => t.parentId === null || !inBatch.has(t.parentId) || placed.has(t.parentId));
    if (next.length === 0) {
      out.push(...rest); // A parent cycle: let the foreign key report it.
      break;
    }
    for (const t of next) {
      placed.add(t.id);
      out.push(t);
    }
    const done = new Set(next.map((t) => t.id));
    rest = rest.filter((t) => !done.has(t.id));
  }
  return out;
}

/**
 * `node:sqlite`, loaded on first use rather than imported: a static import fails at link time on a
 * Node without it, before the entry points can say that Colony needs Node 24 (src/core/node-version.ts).
 */
function loadNodeSqlite(): typeof NodeSqlite {
  return createRequire(import.meta.url)('node:sqlite') as typeof NodeSqlite;
}
