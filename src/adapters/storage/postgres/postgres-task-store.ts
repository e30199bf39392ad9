import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { AgentRecord } from '../../../domain/agent.js';
import type { TaskRecord, TaskStatus } from '../../../domain/task.js';
import type { AgentAssignment, DependentEdge, PromotableQuery, ReadyTaskClaim, TaskChange, TaskExpectation, TaskQuery, TaskStore } from '../../../ports/task-store.js';
import { columnSql, TASK_COLUMNS } from '../sql/column-lists.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import { taskFromRow } from '../sql/rows.js';
import type { ColonyTables, TaskRow } from '../sql/schema.js';
import * as q from '../sql/task-queries.js';
import { claimSlot } from './postgres-agent-store.js';
import { mapped } from './postgres-errors.js';
import { appendEventsIn } from './postgres-event-log.js';
import { casUpdateSql, PostgresTaskUpdateBatch } from './postgres-task-update-batch.js';

/** Thrown inside a transaction to roll back a group of updates when one expectation fails. */
const STALE = Symbol('stale');

/**
 * Tasks on PostgreSQL. Every change is one conditional UPDATE, compare-and-set on (status, attempts[,
 * updated_at]): under READ COMMITTED a writer that waited for the row re-checks its condition against
 * the committed row, so of two racing writers exactly one wins, in this process or any other.
 * Groups of changes (`updateMany`) and batches of inserts commit in one transaction.
 */
export class PostgresTaskStore implements TaskStore {
  private readonly db: Kysely<ColonyTables>;
  private readonly sql: SqlContext;
  private readonly updates: PostgresTaskUpdateBatch;

  constructor(db: Kysely<ColonyTables>) {
    this.db = db;
    this.sql = { db, dialect: 'postgres' };
    this.updates = new PostgresTaskUpdateBatch(db);
  }

  insert(tasks: readonly TaskRecord[]): Promise<void> {
    if (tasks.length === 0) return Promise.resolve();
    // One INSERT (no edges, one chunk) is atomic on its own; more statements need a transaction.
    if (q.insertsInOneStatement(tasks)) return mapped('insert tasks', () => q.insertTasks(this.sql, tasks));
    return mapped('insert tasks', () => this.db.transaction().execute((trx) => q.insertTasks({ db: trx, dialect: 'postgres' }, tasks)));
  }

  update(next: TaskRecord, expected: TaskExpectation & { updatedAt?: number }): Promise<boolean> {
    // Gathered with the other updates of this turn into one statement (one commit for many completions).
    return mapped(`update task ${next.id}`, () => this.updates.update(next, expected));
  }

  revise(next: TaskRecord, expected: TaskExpectation & { updatedAt: number }): Promise<boolean> {
    return mapped(`revise task ${next.id}`, () => q.reviseTask(this.sql, next, expected));
  }

  /**
   * All or none in one transaction. The rows are locked first, in id order, so that two groups
   * sharing tasks wait for each other instead of deadlocking; each change is then the same
   * compare-and-set as `update`, and the first that fails rolls the group back.
   */
  async updateMany(changes: readonly TaskChange[]): Promise<boolean> {
    if (changes.length === 0) return true;
    const [only] = changes;
    if (changes.length === 1 && only) return mapped(`update task ${only.next.id}`, () => this.updates.update(only.next, only.expected, only.events));
    const ids = [...new Set(changes.map((c) => c.next.id))];
    // One change per task: all the compare-and-sets in one statement. Two changes of one task apply in turn.
    const together = ids.length === changes.length;
    return mapped('update tasks', async () => {
      try {
        return await this.db.transaction().execute(async (trx) => {
          await sql`select id from tasks where id = any(${ids}) order by id for no key update`.execute(trx);
          if (together) {
            const { rows } = await casUpdateSql(changes).execute(trx);
            if (rows.length !== changes.length) throw STALE;
          } else {
            const ctx: SqlContext = { db: trx, dialect: 'postgres' };
            for (const change of changes) if (!(await q.compareAndSetTask(ctx, change.next, change.expected))) throw STALE;
          }
          // The events reporting the changes commit with them (the rows are locked already).
          await appendEventsIn(trx, changes.flatMap((c) => c.events ?? []));
          return true;
        });
      } catch (error) {
        if (error === STALE) return false;
        throw error;
      }
    });
  }

  get(id: string): Promise<TaskRecord | undefined> {
    return mapped(`read task ${id}`, () => q.getTask(this.sql, id));
  }

  findIdsByPrefix(prefix: string, limit: number): Promise<string[]> {
    return mapped('find tasks by id prefix', () => q.taskIdsByPrefix(this.sql, prefix, limit));
  }

  list(query: TaskQuery): Promise<TaskRecord[]> {
    return mapped('list tasks', () => q.listTasks(this.sql, query));
  }

  count(query: Omit<TaskQuery, 'limit' | 'offset' | 'order'>): Promise<number> {
    return mapped('count tasks', () => q.countTasks(this.sql, query));
  }

  countByStatus(query?: { workflowId?: string; swarmId?: string }): Promise<Record<TaskStatus, number>> {
    return mapped('count tasks by status', () => q.countTasksByStatus(this.sql, query));
  }

  listDependents(id: string): Promise<string[]> {
    return mapped(`list dependents of ${id}`, () => q.listDependents(this.sql, id));
  }

  listDependentEdges(ids: readonly string[]): Promise<DependentEdge[]> {
    return mapped('list dependent edges', () => q.listDependentEdges(this.sql, ids));
  }

  listPromotable(query: PromotableQuery): Promise<TaskRecord[]> {
    return mapped('list promotable tasks', () => q.listPendingByDependencies(this.sql, 'promotable', query));
  }

  listBlocked(query: { workflowId?: string; limit: number }): Promise<TaskRecord[]> {
    return mapped('list blocked tasks', () => q.listPendingByDependencies(this.sql, 'blocked', query));
  }

  listHeldBy(runnerIds: readonly string[]): Promise<TaskRecord[]> {
    return mapped('list tasks held by runners', () => q.listTasksHeldBy(this.sql, runnerIds));
  }

  listHoldingRunnerIds(): Promise<string[]> {
    return mapped('list runners holding tasks', () => q.runnerIdsHoldingTasks(this.sql));
  }

  /**
   * One transaction: the task's row is locked first, still running attempt `attempts` (a task that
   * changed costs no slot), then a slot is taken on the first candidate that has one free (the same
   * statement as AgentStore.claimSlot), then the agent is recorded on the task. Rows are locked task
   * first, agent second; nothing locks them the other way round, so assignments never deadlock.
   */
  assignAgent(query: AgentAssignment): Promise<{ agent: AgentRecord; task: TaskRecord } | { refused: 'no_free_agent' | 'task_changed' }> {
    return mapped(`assign an agent to task ${query.taskId}`, async () => {
      const NO_FREE_AGENT = { refused: 'no_free_agent' as const };
      try {
        return await this.db.transaction().execute(async (trx) => {
          const { rows: running } = await sql`select 1 from tasks where id = ${query.taskId} and status = 'running' and attempts = ${query.attempts} for no key update`.execute(trx);
          if (running.length === 0) return { refused: 'task_changed' as const };
          for (const agentId of query.agentIds) {
            const agent = await claimSlot(trx, agentId, query.taskId, query.now);
            if (!agent) continue;
            const { rows } = await sql<TaskRow>`
              update tasks set assigned_agent = ${agentId}, updated_at = ${query.now} where id = ${query.taskId}
              returning ${columnSql('postgres', TASK_COLUMNS)}`.execute(trx);
            return { agent, task: taskFromRow(rows[0] as TaskRow) };
          }
          // Nothing was written; the task's lock ends with the transaction.
          throw NO_FREE_AGENT;
        });
      } catch (error) {
        if (error === NO_FREE_AGENT) return NO_FREE_AGENT;
        throw error;
      }
    });
  }

  /**
   * One statement: the ready tasks are picked and row-locked by `FOR UPDATE SKIP LOCKED` (rows another
   * claim has locked are passed over, not waited for) and turned running in the same UPDATE, so
   * concurrent claims from any number of processes never return one task twice and never block each
   * other. The pick walks idx_tasks_ready (priority, then id byte-wise) and stops at the limit.
   * It is `id = any(array(select ...))` rather than `id in (select ...)`: an IN may be planned as a
   * join that runs the pick again for each row, and a second run, passing over the rows this very
   * statement has just changed, picks more: a claim of 3 returned 4 that way.
   */
  claimReady(query: ReadyTaskClaim): Promise<TaskRecord[]> {
    if (query.limit <= 0 || query.types?.length === 0 || query.scope.taskIds?.length === 0) return Promise.resolve([]);
    const filters: RawBuilder<unknown>[] = [];
    if (query.types !== undefined) filters.push(sql`and type = any(${[...query.types]}::text[])`);
    if (query.scope.workflowId !== undefined) filters.push(sql`and workflow_id = ${query.scope.workflowId}`);
    if (query.scope.swarmId !== undefined) filters.push(sql`and swarm_id = ${query.scope.swarmId}`);
    if (query.scope.taskIds !== undefined) {
      // The tasks named and their subtasks, at any depth.
      filters.push(sql`and id in (with recursive scoped(id) as (
          select unnest(${[...query.scope.taskIds]}::text[])
          union select t.id from tasks t join scoped s on t.parent_id = s.id)
        select id from scoped)`);
    }
    // A pooled task only to a runner of its pool; unpooled ones to anyone.
    const pools = query.scope.pools ?? [];
    filters.push(pools.length === 0 ? sql`and pool is null` : sql`and (pool is null or pool = any(${[...pools]}::text[]))`);
    if (query.exclude !== undefined && query.exclude.length > 0) filters.push(sql`and not (id = any(${[...query.exclude]}::text[]))`);
    return mapped('claim ready tasks', async () => {
      // The start is never recorded before a dependency's completion: `now` was read before the statement
      // waited for a connection, and a completion another process recorded meanwhile may be later.
      const { rows } = await sql<TaskRow>`
        update tasks as t set status = 'running', attempts = attempts + 1, runner_id = ${query.runnerId}, not_before = null,
          started_at = greatest(${query.now}::bigint, (select max(d.completed_at) from task_dependencies td join tasks d on d.id = td.depends_on where td.task_id = t.id)),
          updated_at = ${query.now}
        where status = 'queued' and id = any(array(
          select id from tasks
          where status = 'queued' and (not_before is null or not_before <= ${query.now}) ${sql.join(filters, sql` `)}
          order by priority desc, id collate "C"
          limit ${query.limit}
          for update skip locked))
        returning ${columnSql('postgres', TASK_COLUMNS)}`.execute(this.db);
      // RETURNING has no order: back to the claim's.
      return rows.map(taskFromRow).sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    });
  }
}
