import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { Kysely, Migrator, SqliteDialect, sql } from 'kysely';
import type { AgentRecord, AgentTrackRecord } from '../../../domain/agent.js';
import type { StoredEvent } from '../../../domain/events.js';
import { TASK_STATUSES, type TaskRecord, type TaskStatus } from '../../../domain/task.js';
import type { WorkflowRecord, WorkflowStatus } from '../../../domain/workflow.js';
import type {
  AgentQuery,
  EventQuery,
  MetricQuery,
  MetricSample,
  NewEvent,
  RunnerRecord,
  Store,
  TaskQuery,
} from '../../../ports/store.js';
import { colonyMigrations } from '../sql/migrations.js';
import {
  agentFromRow,
  agentToRow,
  eventFromRow,
  metricFromRow,
  runnerFromRow,
  taskFromRow,
  taskToRow,
  workflowFromRow,
} from '../sql/rows.js';
import type { AgentRow, ColonyTables, TaskRow, WorkflowRow } from '../sql/schema.js';
import { kyselyDatabaseFor } from './node-sqlite-kysely.js';
import { mapSqliteError } from './sqlite-errors.js';
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
 * go through Kysely, whose queries the PostgreSQL adapter shares.
 */
export class SqliteStore implements Store {
  readonly location: string;
  private readonly db: DatabaseSync;
  private readonly kysely: Kysely<ColonyTables>;
  private readonly writes: WriteBatcher;
  private readonly statements = new Map<string, StatementSync>();
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    this.location = options.path;
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs });
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = NORMAL');
    this.db.exec('PRAGMA foreign_keys = ON');
    this.writes = new WriteBatcher(this.db);
    this.kysely = new Kysely<ColonyTables>({ dialect: new SqliteDialect({ database: kyselyDatabaseFor(this.db) }) });
  }

  async migrate(): Promise<void> {
    const migrator = new Migrator({
      db: this.kysely,
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
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private all(text: string, ...params: SQLInputValue[]): Row[] {
    return this.stmt(text).all(...params) as Row[];
  }

  private write<T>(what: string, run: () => T): Promise<T> {
    return this.writes.enqueue(() => {
      try {
        return run();
      } catch (error) {
        throw mapSqliteError(error, what);
      }
    });
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

  updateTask(next: TaskRecord, expected: { status: TaskStatus; attempts: number }): Promise<boolean> {
    return this.write(`update task ${next.id}`, () => this.casTask(next, expected));
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
  private casTask(next: TaskRecord, expected: { status: TaskStatus; attempts: number }): boolean {
    const result = this.stmt(
      `UPDATE tasks SET status = ?, priority = ?, assigned_agent = ?, max_attempts = ?, attempts = ?, result = ?, error = ?,
         runner_id = ?, not_before = ?, updated_at = ?, started_at = ?, completed_at = ?
       WHERE id = ? AND status = ? AND attempts = ?`,
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
    let q = this.kysely.selectFrom('tasks').selectAll();
    q = applyTaskFilter(q, query);
    if (query.order === 'priority') q = q.orderBy('priority', 'desc').orderBy('id', 'asc');
    else q = q.orderBy('id', query.order === 'created_desc' ? 'desc' : 'asc');
    // SQLite accepts OFFSET only after LIMIT; a negative limit means none.
    if (query.limit !== undefined || query.offset !== undefined) q = q.limit(query.limit ?? -1);
    if (query.offset !== undefined) q = q.offset(query.offset);
    const rows = await q.execute();
    return rows.map((r) => taskFromRow(r as TaskRow));
  }

  async countTasks(query: Omit<TaskQuery, 'limit' | 'offset' | 'order'>): Promise<number> {
    let q = this.kysely.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n'));
    q = applyTaskFilter(q, query);
    const row = await q.executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async countTasksByStatus(query: { workflowId?: string } = {}): Promise<Record<TaskStatus, number>> {
    const rows = query.workflowId
      ? this.all('SELECT status, count(*) AS n FROM tasks WHERE workflow_id = ? GROUP BY status', query.workflowId)
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

  insertAgent(agent: AgentRecord): Promise<void> {
    const row = agentToRow(agent);
    return this.write('insert agent', () => {
      this.stmt(
        `INSERT INTO agents (id, name, type, status, health, capabilities, config, current_tasks, max_concurrency, created_at, updated_at, terminated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(...(Object.values(row) as SQLInputValue[]));
    });
  }

  updateAgent(agent: AgentRecord): Promise<boolean> {
    const row = agentToRow(agent);
    return this.write(`update agent ${agent.id}`, () => {
      const result = this.stmt(
        `UPDATE agents SET name = ?, status = ?, health = ?, capabilities = ?, config = ?, current_tasks = ?,
           max_concurrency = ?, updated_at = ?, terminated_at = ?
         WHERE id = ? AND status <> 'terminated'`,
      ).run(
        row.name,
        row.status,
        row.health,
        row.capabilities,
        row.config,
        row.current_tasks,
        row.max_concurrency,
        row.updated_at,
        row.terminated_at,
        row.id,
      );
      return Number(result.changes) === 1;
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
    let q = this.kysely.selectFrom('agents').selectAll();
    if (query.status !== undefined) {
      const statuses = typeof query.status === 'string' ? [query.status] : [...query.status];
      q = q.where('status', 'in', statuses);
    }
    if (query.type !== undefined) q = q.where('type', '=', query.type);
    if (query.excludeTerminated) q = q.where('status', '<>', 'terminated');
    q = q.orderBy('id', 'asc');
    // SQLite accepts OFFSET only after LIMIT; a negative limit means none.
    if (query.limit !== undefined || query.offset !== undefined) q = q.limit(query.limit ?? -1);
    if (query.offset !== undefined) q = q.offset(query.offset);
    return (await q.execute()).map((r) => agentFromRow(r as AgentRow));
  }

  async countAgents(query: { excludeTerminated?: boolean }): Promise<number> {
    const row = query.excludeTerminated
      ? this.stmt(`SELECT count(*) AS n FROM agents WHERE status <> 'terminated'`).get()
      : this.stmt('SELECT count(*) AS n FROM agents').get();
    return Number((row as Row).n);
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
    let q = this.kysely.selectFrom('events').selectAll();
    if (query.afterId !== undefined) q = q.where('id', '>', query.afterId);
    if (query.types && query.types.length > 0) q = q.where('type', 'in', [...query.types]);
    if (query.correlationId !== undefined) q = q.where('correlation_id', '=', query.correlationId);
    if (query.source !== undefined) q = q.where('source', '=', query.source);
    q = q.orderBy('id', query.newestFirst ? 'desc' : 'asc');
    if (query.limit !== undefined) q = q.limit(query.limit);
    return (await q.execute()).map((r) => eventFromRow(r));
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
    let q = this.kysely.selectFrom('metrics').selectAll();
    if (query.entityType !== undefined) q = q.where('entity_type', '=', query.entityType);
    if (query.entityId !== undefined) q = q.where('entity_id', '=', query.entityId);
    if (query.name !== undefined) q = q.where('metric_name', '=', query.name);
    if (query.since !== undefined) q = q.where('timestamp', '>=', query.since);
    q = q.orderBy('id', 'asc');
    if (query.limit !== undefined) q = q.limit(query.limit);
    return (await q.execute()).map((r) => metricFromRow(r));
  }

  async agentTrackRecords(agentIds: readonly string[]): Promise<Map<string, AgentTrackRecord>> {
    const records = new Map<string, AgentTrackRecord>();
    if (agentIds.length === 0) return records;
    const rows = await this.kysely
      .selectFrom('metrics')
      .select([
        'entity_id',
        sql<number>`sum(case when metric_name = 'task.completed' then 1 else 0 end)`.as('completed'),
        sql<number>`sum(case when metric_name = 'task.failed' then 1 else 0 end)`.as('failed'),
        sql<number | null>`avg(case when metric_name = 'task.completed' then metric_value end)`.as('mean'),
      ])
      .where('entity_type', '=', 'agent')
      .where('entity_id', 'in', [...agentIds])
      .where('metric_name', 'in', ['task.completed', 'task.failed'])
      .groupBy('entity_id')
      .execute();
    for (const r of rows) {
      records.set(r.entity_id, {
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function applyTaskFilter<Q extends { where: (...args: any[]) => Q }>(q: Q, query: Omit<TaskQuery, 'limit' | 'offset' | 'order'>): Q {
  let out = q;
  if (query.status !== undefined) {
    const statuses = typeof query.status === 'string' ? [query.status] : [...query.status];
    out = out.where('status', 'in', statuses);
  }
  if (query.type !== undefined) out = out.where('type', '=', query.type);
  if (query.workflowId !== undefined) out = out.where('workflow_id', '=', query.workflowId);
  if (query.parentId !== undefined) out = out.where('parent_id', '=', query.parentId);
  if (query.assignedAgent !== undefined) out = out.where('assigned_agent', '=', query.assignedAgent);
  return out;
}
