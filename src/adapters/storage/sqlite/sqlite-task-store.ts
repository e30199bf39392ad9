import type { SQLInputValue } from 'node:sqlite';
import type { AgentRecord } from '../../../domain/agent.js';
import { TASK_STATUSES, type TaskRecord, type TaskStatus } from '../../../domain/task.js';
import type { AgentAssignment, ReadyTaskClaim, TaskQuery } from '../../../ports/store.js';
import type { DependentEdge, PromotableQuery, TaskChange } from '../../../ports/task-store.js';
import { countTasksQuery, listTasksQuery, sqlitePlaceholder as ph } from '../sql/list-queries.js';
import { agentFromRow, taskFromRow, taskToRow } from '../sql/rows.js';
import type { AgentRow, TaskRow } from '../sql/schema.js';
import type { TaskStore } from '../../../ports/task-store.js';
import { SqliteAggregate } from './sqlite-aggregate.js';
import { INSERT_EVENT, insertEvents } from './sqlite-event-log.js';
import { parentsFirst } from '../sql/parents-first.js';

/** Thrown inside a savepoint to undo a group of updates when one expectation fails. */
const STALE = Symbol('stale');

const TASK_COLUMNS =
  'id, name, type, description, status, priority, input, dependencies, parent_id, workflow_id, swarm_id, requirements, assigned_agent, timeout_ms, max_retries, max_attempts, attempts, result, error, runner_id, not_before, created_at, updated_at, started_at, completed_at, pool, trace_parent';

/** Tasks and their dependency edges; claims and agent assignment in one transaction each. See `SqliteStore`. */
export class SqliteTaskStore extends SqliteAggregate implements TaskStore {
  insert(tasks: readonly TaskRecord[]): Promise<void> {
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

  update(next: TaskRecord, expected: { status: TaskStatus; attempts: number; updatedAt?: number }): Promise<boolean> {
    return this.write(`update task ${next.id}`, () => this.casTask(next, expected));
  }

  revise(next: TaskRecord, expected: { status: TaskStatus; attempts: number; updatedAt: number }): Promise<boolean> {
    return this.write(`revise task ${next.id}`, () => {
      const result = this.stmt(
        'UPDATE tasks SET priority = ?, requirements = ?, pool = ?, updated_at = ? WHERE id = ? AND status = ? AND attempts = ? AND updated_at = ?',
      ).run(next.priority, JSON.stringify(next.requirements), next.pool, next.updatedAt, next.id, expected.status, expected.attempts, expected.updatedAt);
      return Number(result.changes) === 1;
    });
  }

  updateMany(changes: readonly TaskChange[]): Promise<boolean> {
    return this.write('update tasks', () => {
      try {
        return this.writes.atomically(() => {
          for (const c of changes) if (!this.casTask(c.next, c.expected)) throw STALE;
          // The events reporting the changes commit with them.
          const events = changes.flatMap((c) => c.events ?? []);
          if (events.length > 0) insertEvents(this.stmt(INSERT_EVENT), events);
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

  async get(id: string): Promise<TaskRecord | undefined> {
    const row = this.stmt(`SELECT ${TASK_COLUMNS} FROM tasks WHERE id = ?`).get(id) as TaskRow | undefined;
    return row ? taskFromRow(row) : undefined;
  }

  async findIdsByPrefix(prefix: string, limit: number): Promise<string[]> {
    return this.all(`SELECT id FROM tasks WHERE id >= ? AND id < ? ORDER BY id LIMIT ?`, prefix, `${prefix}\uffff`, limit).map(
      (r) => r.id as string,
    );
  }

  async list(query: TaskQuery): Promise<TaskRecord[]> {
    return (this.query(listTasksQuery(TASK_COLUMNS, query, ph)) as unknown as TaskRow[]).map(taskFromRow);
  }

  async count(query: Omit<TaskQuery, 'limit' | 'offset' | 'order'>): Promise<number> {
    return Number(this.query(countTasksQuery(query, ph))[0]?.n ?? 0);
  }

  async countByStatus(query: { workflowId?: string; swarmId?: string } = {}): Promise<Record<TaskStatus, number>> {
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

  async listDependentEdges(ids: readonly string[]): Promise<DependentEdge[]> {
    if (ids.length === 0) return [];
    return this.all(`SELECT task_id, depends_on FROM task_dependencies WHERE depends_on IN (${ids.map(() => '?').join(', ')})`, ...ids).map((r) => ({
      taskId: r.task_id as string,
      dependsOn: r.depends_on as string,
    }));
  }

  async listPromotable(query: PromotableQuery): Promise<TaskRecord[]> {
    if (query.dependentsOf?.length === 0) return [];
    let scope = query.workflowId ? 'AND t.workflow_id = ?' : '';
    const params: SQLInputValue[] = query.workflowId ? [query.workflowId] : [];
    if (query.dependentsOf) {
      scope += ` AND t.id IN (SELECT task_id FROM task_dependencies WHERE depends_on IN (${query.dependentsOf.map(() => '?').join(', ')}))`;
      params.push(...query.dependentsOf);
    }
    params.push(query.limit);
    // Given the completed tasks, the dependents are found from their edges, by primary key: the unary
    // `+` keeps SQLite (which has no statistics here) from scanning every pending task by the status
    // index instead, once per completion; a chain of n tasks paid O(n) per step, 184 µs at n = 1,000.
    const pendingTerm = query.dependentsOf ? "+t.status = 'pending'" : "t.status = 'pending'";
    return (
      this.all(
        `SELECT ${prefixed('t')} FROM tasks t WHERE ${pendingTerm} ${scope}
           AND NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks dt ON dt.id = d.depends_on
                           WHERE d.task_id = t.id AND dt.status <> 'completed')
         ${query.dependentsOf ? '' : 'ORDER BY t.id'} LIMIT ?`,
        ...params,
      ) as unknown as TaskRow[]
    ).map(taskFromRow);
  }

  async listBlocked(query: { workflowId?: string; limit: number }): Promise<TaskRecord[]> {
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

  claimReady(query: ReadyTaskClaim): Promise<TaskRecord[]> {
    if (query.limit <= 0 || query.types?.length === 0) return Promise.resolve([]);
    const ready = readyTasksSql(query);
    // One transaction: the batch's BEGIN IMMEDIATE holds the file's write lock from the select to the
    // last update, so no other connection or process claims in between. (One UPDATE ... WHERE id IN
    // (SELECT ...) RETURNING does the same, but SQLite runs it several times slower, even with nothing to claim.)
    return this.write('claim ready tasks', () => {
      // The start is never recorded before a dependency's completion (another process's clock, or a
      // completion recorded after `now` was read).
      const claim = this.stmt(
        `UPDATE tasks SET status = 'running', attempts = attempts + 1, runner_id = ?, not_before = NULL,
           started_at = max(?, coalesce((SELECT max(d.completed_at) FROM task_dependencies td JOIN tasks d ON d.id = td.depends_on WHERE td.task_id = tasks.id), 0)),
           updated_at = ?
         WHERE id = ? AND status = 'queued' RETURNING ${TASK_COLUMNS}`,
      );
      const claimed: TaskRecord[] = [];
      for (const { id } of this.all(ready.text, ...ready.params) as { id: string }[]) {
        const row = claim.get(query.runnerId, query.now, query.now, id) as TaskRow | undefined;
        if (row) claimed.push(taskFromRow(row));
      }
      return claimed;
    });
  }

  async listHeldBy(runnerIds: readonly string[]): Promise<TaskRecord[]> {
    if (runnerIds.length === 0) return [];
    const marks = runnerIds.map(() => '?').join(', ');
    return (
      this.all(`SELECT ${TASK_COLUMNS} FROM tasks WHERE status = 'running' AND runner_id IN (${marks}) ORDER BY id`, ...runnerIds) as unknown as TaskRow[]
    ).map(taskFromRow);
  }

  async listHoldingRunnerIds(): Promise<string[]> {
    return this.all(`SELECT DISTINCT runner_id FROM tasks WHERE status = 'running' AND runner_id IS NOT NULL`).map(
      (r) => r.runner_id as string,
    );
  }

  assignAgent(query: AgentAssignment): Promise<{ agent: AgentRecord; task: TaskRecord } | { refused: 'no_free_agent' | 'task_changed' }> {
    return this.write(`assign an agent to task ${query.taskId}`, () => {
      // One transaction (the batch holds the write lock): the task is checked first, so that a task that
      // changed costs no slot, and the first candidate with a free slot is taken.
      const attempt = this.stmt(`SELECT 1 FROM tasks WHERE id = ? AND status = 'running' AND attempts = ?`).get(query.taskId, query.attempts);
      if (!attempt) return { refused: 'task_changed' as const };
      const slot = this.stmt(
        `UPDATE agents SET current_tasks = json_insert(current_tasks, '$[#]', ?), status = 'busy', updated_at = ?
         WHERE id = ? AND status IN ('idle', 'busy') AND health <> 'unhealthy' AND json_array_length(current_tasks) < max_concurrency
           AND NOT EXISTS (SELECT 1 FROM json_each(agents.current_tasks) WHERE value = ?)
         RETURNING *`,
      );
      for (const agentId of query.agentIds) {
        const agent = slot.get(query.taskId, query.now, agentId, query.taskId) as AgentRow | undefined;
        if (!agent) continue;
        const task = this.stmt(`UPDATE tasks SET assigned_agent = ?, updated_at = ? WHERE id = ? RETURNING ${TASK_COLUMNS}`).get(agentId, query.now, query.taskId) as unknown as TaskRow;
        return { agent: agentFromRow(agent), task: taskFromRow(task) };
      }
      return { refused: 'no_free_agent' as const };
    });
  }
}

/**
 * The ready tasks a claim takes, best first. It walks the ready-queue index (queued tasks by priority,
 * then id) and stops at the limit; left to itself, SQLite would read every queued task by the status
 * index and sort them, on every claim.
 */
function readyTasksSql(query: ReadyTaskClaim): { text: string; params: SQLInputValue[] } {
  const where = [`status = 'queued'`, `(not_before IS NULL OR not_before <= ?)`];
  const params: SQLInputValue[] = [query.now];
  if (query.types !== undefined) {
    where.push(`type IN (${query.types.map(() => '?').join(', ')})`);
    params.push(...query.types);
  }
  if (query.scope.workflowId !== undefined) {
    where.push('workflow_id = ?');
    params.push(query.scope.workflowId);
  }
  if (query.scope.swarmId !== undefined) {
    where.push('swarm_id = ?');
    params.push(query.scope.swarmId);
  }
  if (query.scope.taskIds !== undefined) {
    // The tasks named and their subtasks, at any depth.
    where.push(
      `id IN (WITH RECURSIVE scoped(id) AS (SELECT value FROM json_each(?) UNION SELECT t.id FROM tasks t JOIN scoped s ON t.parent_id = s.id) SELECT id FROM scoped)`,
    );
    params.push(JSON.stringify(query.scope.taskIds));
  }
  // A pooled task only to a runner of its pool; unpooled ones to anyone.
  const pools = query.scope.pools ?? [];
  if (pools.length === 0) where.push('pool IS NULL');
  else {
    where.push(`(pool IS NULL OR pool IN (${pools.map(() => '?').join(', ')}))`);
    params.push(...pools);
  }
  if (query.exclude !== undefined && query.exclude.length > 0) {
    where.push('id NOT IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(query.exclude));
  }
  return {
    text: `SELECT id FROM tasks INDEXED BY idx_tasks_ready WHERE ${where.join(' AND ')} ORDER BY priority DESC, id LIMIT ?`,
    params: [...params, query.limit],
  };
}

function prefixed(alias: string): string {
  return TASK_COLUMNS.split(', ')
    .map((c) => `${alias}.${c}`)
    .join(', ');
}
