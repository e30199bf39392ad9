import type { AgentRecord } from '../domain/agent.js';
import type { TaskRecord, TaskStatus } from '../domain/task.js';
import type { NewEvent } from './event-log.js';
import type { TaskScope } from './task-queue.js';

/** `taskId` depends on `dependsOn`. */
export interface DependentEdge {
  taskId: string;
  dependsOn: string;
}

/**
 * The TaskStore port: tasks and their dependency edges. Several processes share one database, so
 * every change is compare-and-set on (status, attempts[, updatedAt]): two processes never both win
 * the same task, and a lost race is normal, not an error.
 * Conformance: `test/conformance/task-store.ts`.
 */
export interface TaskStore {
  /** Inserts tasks and their dependency edges atomically: all or none. */
  insert(tasks: readonly TaskRecord[]): Promise<void>;
  /**
   * Writes `next` if the stored task still has `expected` status and attempts (and, when given, was
   * last written at `updatedAt`: a claim made from a copy older than a revision fails); returns
   * whether it did.
   */
  update(next: TaskRecord, expected: TaskExpectation & { updatedAt?: number }): Promise<boolean>;
  /**
   * Changes what an operator may change of a task that has not started (priority, requirements, pool),
   * compare-and-set on status, attempts and updatedAt; returns whether it did.
   */
  revise(next: TaskRecord, expected: TaskExpectation & { updatedAt: number }): Promise<boolean>;
  /**
   * Several compare-and-set updates applied together: if any expectation fails, none is written and
   * the result is false. (A task's completion and its dependents' promotion commit as one.) The
   * changes' `events` are appended to the event log in the same transaction, so they are in the log
   * exactly when the changes are.
   */
  updateMany(changes: readonly TaskChange[]): Promise<boolean>;
  get(id: string): Promise<TaskRecord | undefined>;
  /** Tasks whose id starts with `prefix` (at most `limit`), for abbreviated ids typed by people. */
  findIdsByPrefix(prefix: string, limit: number): Promise<string[]>;
  list(query: TaskQuery): Promise<TaskRecord[]>;
  count(query: Omit<TaskQuery, 'limit' | 'offset' | 'order'>): Promise<number>;
  countByStatus(query?: { workflowId?: string; swarmId?: string }): Promise<Record<TaskStatus, number>>;
  /** Ids of the tasks that depend on `id`. */
  listDependents(id: string): Promise<string[]>;
  /** The dependency edges into these tasks (who depends on each), in no particular order. */
  listDependentEdges(ids: readonly string[]): Promise<DependentEdge[]>;
  /**
   * Pending tasks all of whose dependencies have completed, in id order; with `dependentsOf`, only those
   * that depend on one of these tasks (the dependents a completion may have made ready, whoever
   * submitted them), in no particular order, so that a page of a large fan-out is found without
   * looking at the whole of it.
   */
  listPromotable(query: PromotableQuery): Promise<TaskRecord[]>;
  /** Pending tasks with at least one failed or cancelled dependency. */
  listBlocked(query: { workflowId?: string; limit: number }): Promise<TaskRecord[]>;
  /** Running tasks held by any of the given runners. */
  listHeldBy(runnerIds: readonly string[]): Promise<TaskRecord[]>;
  /** Ids of runners that hold a running task. */
  listHoldingRunnerIds(): Promise<string[]>;
  /**
   * Claims up to `limit` ready tasks for a runner in one transaction (one statement where the database
   * allows, e.g. PostgreSQL's `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`): queued tasks
   * whose retry time (`notBefore`) has come by `now`, of one of `types` (any type when absent), in
   * `scope` (a workflow, a swarm, or some tasks and their subtasks at any depth; unpooled tasks and
   * those of `scope.pools`, never a task of another pool), not in `exclude`;
   * highest priority first, then creation order. Each becomes `running` with `attempts + 1`, the runner
   * set, `notBefore` cleared and started and updated at `now`; the claimed records are returned in that
   * order. Concurrent claims, from this store or any other process on the same data, never return the
   * same task.
   */
  claimReady(query: ReadyTaskClaim): Promise<TaskRecord[]>;
  /**
   * Gives a claimed task its agent in one transaction: takes a slot (as `AgentStore.claimSlot` does) on
   * the first of `agentIds` (best first) that has one free, and records that agent on the task, which
   * must still be running attempt `attempts`. Nothing is written unless both are. Says which agent and
   * task were written, or why not: no candidate had a free slot, or the task had changed meanwhile.
   */
  assignAgent(query: AgentAssignment): Promise<{ agent: AgentRecord; task: TaskRecord } | { refused: 'no_free_agent' | 'task_changed' }>;
}

export interface PromotableQuery {
  workflowId?: string;
  dependentsOf?: readonly string[];
  limit: number;
}

/** What `claimReady` takes. */
export interface ReadyTaskClaim {
  runnerId: string;
  types?: readonly string[];
  scope: TaskScope;
  limit: number;
  now: number;
  exclude?: readonly string[];
}

/** What `assignAgent` takes. */
export interface AgentAssignment {
  taskId: string;
  attempts: number;
  agentIds: readonly string[];
  now: number;
}

/** The state a compare-and-set expects to find. */
/** One compare-and-set update of `updateMany`. */
export interface TaskChange {
  next: TaskRecord;
  /** As `update`'s: with `updatedAt`, the stored task must also have been last written then. */
  expected: TaskExpectation & { updatedAt?: number };
  /**
   * Events that report the change (a `task.completed`), written with it: a process killed right after
   * the commit cannot leave the change unreported, nor a retried write report it twice.
   */
  events?: readonly NewEvent[];
}

export interface TaskExpectation {
  status: TaskStatus;
  attempts: number;
}

export interface TaskQuery {
  /** Only these tasks (at most a few hundred ids a query). */
  ids?: readonly string[];
  status?: TaskStatus | readonly TaskStatus[];
  type?: string;
  workflowId?: string;
  swarmId?: string;
  parentId?: string;
  assignedAgent?: string;
  /** Only tasks of this worker pool; null: only unpooled tasks. */
  pool?: string | null;
  /** Only tasks whose name or description contains this text, letter case ignored (`%` and `_` are plain characters). */
  text?: string;
  limit?: number;
  offset?: number;
  /** Default: creation order. `priority` lists the highest priority first. */
  order?: 'created' | 'created_desc' | 'priority';
}
