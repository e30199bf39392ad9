import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import { TASK_STATUSES, type TaskRecord, type TaskStatus } from '../../../domain/task.js';
import type { DependentEdge, TaskExpectation, TaskQuery } from '../../../ports/task-store.js';
import { columnSql, selection, TASK_COLUMNS } from './column-lists.js';
import { bytewise, changedOne, isOneOf, paged, startsWith, type SqlContext } from './dialect-sql.js';
import { likeContains } from './list-queries.js';
import { taskFromRow, taskToRow } from './rows.js';
import type { ColonyTables, TaskRow } from './schema.js';
import { parentsFirst } from './parents-first.js';

/**
 * The TaskStore port's statements that read and write the same way on SQLite and PostgreSQL (see
 * dialect-sql.ts). Batches (`insertTasks`) are all-or-none only inside the caller's transaction; the
 * claim of ready tasks differs by dialect and lives with each adapter.
 */

/** Rows per multi-row INSERT: 26 columns each stays below SQLite's 32,766 and PostgreSQL's 65,535 parameters. */
const TASK_INSERT_CHUNK = 1_000;
const EDGE_INSERT_CHUNK = 10_000;

/** Inserts tasks, parents before children, then their dependency edges. Atomic only in a transaction. */
export async function insertTasks({ db }: SqlContext, tasks: readonly TaskRecord[]): Promise<void> {
  const rows = parentsFirst(tasks).map(taskToRow);
  for (let i = 0; i < rows.length; i += TASK_INSERT_CHUNK) {
    await db.insertInto('tasks').values(rows.slice(i, i + TASK_INSERT_CHUNK)).execute();
  }
  const edges = tasks.flatMap((t) => t.dependencies.map((dep) => ({ task_id: t.id, depends_on: dep })));
  for (let i = 0; i < edges.length; i += EDGE_INSERT_CHUNK) {
    await db.insertInto('task_dependencies').values(edges.slice(i, i + EDGE_INSERT_CHUNK)).execute();
  }
}

/** Whether `insertTasks` writes the batch in one statement (then atomic without a transaction). */
export function insertsInOneStatement(tasks: readonly TaskRecord[]): boolean {
  return tasks.length <= TASK_INSERT_CHUNK && tasks.every((t) => t.dependencies.length === 0);
}

/**
 * Compare-and-set on (status, attempts[, updated_at]) in one conditional UPDATE; only the columns a
 * task's life changes are written. Under PostgreSQL's READ COMMITTED a writer that waited for the row
 * re-checks the condition against the committed row, so of two racing writers exactly one wins.
 */
export async function compareAndSetTask({ db }: SqlContext, next: TaskRecord, expected: TaskExpectation & { updatedAt?: number }): Promise<boolean> {
  const row = taskToRow(next);
  let update = db
    .updateTable('tasks')
    .set({
      status: row.status,
      priority: row.priority,
      assigned_agent: row.assigned_agent,
      max_attempts: row.max_attempts,
      attempts: row.attempts,
      result: row.result,
      error: row.error,
      runner_id: row.runner_id,
      not_before: row.not_before,
      updated_at: row.updated_at,
      started_at: row.started_at,
      completed_at: row.completed_at,
    })
    .where('id', '=', next.id)
    .where('status', '=', expected.status)
    .where('attempts', '=', expected.attempts);
  if (expected.updatedAt !== undefined) update = update.where('updated_at', '=', expected.updatedAt);
  return changedOne(await update.executeTakeFirst());
}

/** What an operator may change of a task that has not started: compare-and-set on status, attempts and updated_at. */
export async function reviseTask({ db }: SqlContext, next: TaskRecord, expected: TaskExpectation & { updatedAt: number }): Promise<boolean> {
  const result = await db
    .updateTable('tasks')
    .set({ priority: next.priority, requirements: JSON.stringify(next.requirements), pool: next.pool, updated_at: next.updatedAt })
    .where('id', '=', next.id)
    .where('status', '=', expected.status)
    .where('attempts', '=', expected.attempts)
    .where('updated_at', '=', expected.updatedAt)
    .executeTakeFirst();
  return changedOne(result);
}

export async function getTask({ db, dialect }: SqlContext, id: string): Promise<TaskRecord | undefined> {
  const row = await db.selectFrom('tasks').select(selection(dialect, TASK_COLUMNS)).where('id', '=', id).executeTakeFirst();
  return row ? taskFromRow(row as unknown as TaskRow) : undefined;
}

export async function taskIdsByPrefix({ db, dialect }: SqlContext, prefix: string, limit: number): Promise<string[]> {
  const rows = await db.selectFrom('tasks').select('id').where(startsWith(dialect, 'id', prefix)).orderBy(bytewise(dialect, 'id')).limit(limit).execute();
  return rows.map((r) => r.id);
}

/** Creation order is id order (ids are time-sorted), compared bytewise on both dialects. */
export async function listTasks(ctx: SqlContext, query: TaskQuery): Promise<TaskRecord[]> {
  const { db, dialect } = ctx;
  const id = bytewise(dialect, 'id');
  let select = db
    .selectFrom('tasks')
    .select(selection(dialect, TASK_COLUMNS))
    .where((eb) => taskFilter(ctx, eb, query));
  if (query.order === 'priority') select = select.orderBy('priority', 'desc').orderBy(id, 'asc');
  else select = select.orderBy(id, query.order === 'created_desc' ? 'desc' : 'asc');
  const rows = await paged(dialect, select, query).execute();
  return (rows as unknown as TaskRow[]).map(taskFromRow);
}

export async function countTasks(ctx: SqlContext, query: Omit<TaskQuery, 'limit' | 'offset' | 'order'>): Promise<number> {
  const row = await ctx.db
    .selectFrom('tasks')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => taskFilter(ctx, eb, query))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function countTasksByStatus({ db }: SqlContext, query: { workflowId?: string; swarmId?: string } = {}): Promise<Record<TaskStatus, number>> {
  let select = db.selectFrom('tasks').select((eb) => ['status', eb.fn.countAll<number>().as('n')]).groupBy('status');
  if (query.workflowId !== undefined) select = select.where('workflow_id', '=', query.workflowId);
  else if (query.swarmId !== undefined) select = select.where('swarm_id', '=', query.swarmId);
  const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  for (const r of await select.execute()) counts[r.status as TaskStatus] = Number(r.n);
  return counts;
}

export async function listDependents({ db, dialect }: SqlContext, id: string): Promise<string[]> {
  const rows = await db.selectFrom('task_dependencies').select('task_id').where('depends_on', '=', id).orderBy(bytewise(dialect, 'task_id')).execute();
  return rows.map((r) => r.task_id);
}

export async function listDependentEdges({ db }: SqlContext, ids: readonly string[]): Promise<DependentEdge[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('task_dependencies').select(['task_id', 'depends_on']).where('depends_on', 'in', ids).execute();
  return rows.map((r) => ({ taskId: r.task_id, dependsOn: r.depends_on }));
}

/** Pending tasks all of whose dependencies have completed (`promotable`), or with one failed or cancelled (`blocked`). */
export async function listPendingByDependencies(
  { db, dialect }: SqlContext,
  kind: 'promotable' | 'blocked',
  query: { workflowId?: string; dependentsOf?: readonly string[]; limit: number },
): Promise<TaskRecord[]> {
  if (query.dependentsOf?.length === 0) return [];
  const unmet =
    kind === 'promotable'
      ? sql<SqlBool>`not exists (select 1 from task_dependencies d join tasks dt on dt.id = d.depends_on where d.task_id = t.id and dt.status <> 'completed')`
      : sql<SqlBool>`exists (select 1 from task_dependencies d join tasks dt on dt.id = d.depends_on where d.task_id = t.id and dt.status in ('failed', 'cancelled'))`;
  if (query.dependentsOf) {
    // (PostgreSQL: the SQLite adapter writes its own.) Driven from the completed tasks' edges, each dependent looked up by its id: the lateral subquery
    // is fenced (OFFSET 0) so that a planner misled by stale counts (a fan-out of thousands just
    // inserted, not yet analyzed) cannot walk every pending task instead. In no order: a page of a large
    // fan-out stops at its limit.
    const { rows } = await sql<TaskRow>`
      select ${columnSql(dialect, TASK_COLUMNS, 't')}
      from (select distinct task_id from task_dependencies where ${isOneOf(dialect, 'depends_on', query.dependentsOf)}) c
      cross join lateral (select * from tasks where id = c.task_id and status = 'pending' offset 0) t
      where ${unmet} ${query.workflowId !== undefined ? sql`and t.workflow_id = ${query.workflowId}` : sql``}
      limit ${query.limit}`.execute(db);
    return rows.map(taskFromRow);
  }
  let select = db
    .selectFrom('tasks as t')
    .select(selection(dialect, TASK_COLUMNS, 't'))
    .where('t.status', '=', 'pending')
    .where(unmet);
  if (query.workflowId !== undefined) select = select.where('t.workflow_id', '=', query.workflowId);
  const rows = await select.orderBy(bytewise(dialect, 't.id')).limit(query.limit).execute();
  return (rows as unknown as TaskRow[]).map(taskFromRow);
}

/** Running tasks held by any of the given runners, in id order. */
export async function listTasksHeldBy({ db, dialect }: SqlContext, runnerIds: readonly string[]): Promise<TaskRecord[]> {
  if (runnerIds.length === 0) return [];
  const rows = await db
    .selectFrom('tasks')
    .select(selection(dialect, TASK_COLUMNS))
    .where('status', '=', 'running')
    .where(isOneOf(dialect, 'runner_id', runnerIds))
    .orderBy(bytewise(dialect, 'id'))
    .execute();
  return (rows as unknown as TaskRow[]).map(taskFromRow);
}

export async function runnerIdsHoldingTasks({ db, dialect }: SqlContext): Promise<string[]> {
  const rows = await db
    .selectFrom('tasks')
    .select('runner_id')
    .where('status', '=', 'running')
    .where('runner_id', 'is not', null)
    // GROUP BY, not DISTINCT: PostgreSQL orders a DISTINCT only by what it selects, not by `runner_id collate "C"`.
    .groupBy('runner_id')
    .orderBy(bytewise(dialect, 'runner_id'))
    .execute();
  return rows.map((r) => r.runner_id as string);
}

function taskFilter({ dialect }: SqlContext, eb: ExpressionBuilder<ColonyTables, 'tasks'>, query: Omit<TaskQuery, 'limit' | 'offset' | 'order'>): Expression<SqlBool> {
  const clauses: Expression<SqlBool>[] = [];
  if (query.ids !== undefined) clauses.push(isOneOf(dialect, 'id', query.ids));
  if (query.status !== undefined) clauses.push(isOneOf(dialect, 'status', typeof query.status === 'string' ? [query.status] : query.status));
  if (query.type !== undefined) clauses.push(eb('type', '=', query.type));
  if (query.workflowId !== undefined) clauses.push(eb('workflow_id', '=', query.workflowId));
  if (query.swarmId !== undefined) clauses.push(eb('swarm_id', '=', query.swarmId));
  if (query.parentId !== undefined) clauses.push(eb('parent_id', '=', query.parentId));
  if (query.assignedAgent !== undefined) clauses.push(eb('assigned_agent', '=', query.assignedAgent));
  if (query.pool !== undefined) clauses.push(query.pool === null ? eb('pool', 'is', null) : eb('pool', '=', query.pool));
  if (query.text !== undefined) {
    const pattern = likeContains(query.text);
    const contains = (column: 'name' | 'description') => sql<SqlBool>`lower(coalesce(${sql.ref(column)}, '')) like lower(${pattern}) escape '\\'`;
    clauses.push(eb.or([contains('name'), contains('description')]));
  }
  return eb.and(clauses);
}

