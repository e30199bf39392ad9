import type { TaskRecord } from '../domain/task.js';

/**
 * The TaskQueue port: how a runner learns that tasks may be ready and takes them. The task table stays
 * the truth (states, dependencies, retries, cascades); a queue only hands ready tasks out and wakes
 * runners. Adapters: `tasks/store-poll-queue.ts` (one machine: wake-ups pushed in process plus a poll
 * of the store), and `tasks/notified-queue.ts` around it for team mode: woken too by other processes'
 * hints (a ChangeNotifier: PostgreSQL NOTIFY), the poll then only a safety net (DESIGN.md, "Many
 * processes, one truth").
 *
 * Contract:
 * - `claim` takes up to `limit` ready tasks (queued, retry time come, in scope, of the given types), one
 *   store transaction per batch, highest priority first, then creation order, and returns them running
 *   for this runner with the attempt counted. Two runners, in one process or several, never both get a task.
 * - `giveBack` undoes a claim without counting it: the attempt is restored, nobody's failure is booked.
 * - Wake-ups (`admit`, `wake`, the adapter's own) are hints: a lost or spurious one costs latency,
 *   never correctness, since claims are decided in the store.
 */
export interface TaskQueue {
  /** Starts waking this runner: `onReady` is called whenever ready tasks in scope may be waiting. */
  open(runner: { runnerId: string; scope: TaskScope; onReady: () => void }): void;
  /** Stops the wake-ups; claims already made stand. */
  close(): void;
  /**
   * Tasks this process made queued (submitted, promoted, retried, restored): ready now or when their
   * retry time comes. Tasks in other states are ignored.
   */
  admit(tasks: readonly TaskRecord[]): void;
  /** Claims a batch of ready tasks for this runner (see the contract); an empty batch when there are none. */
  claim(request: ClaimRequest): Promise<TaskRecord[]>;
  /**
   * Gives a claim back uncounted (its agent could not be had): queued again with the attempt restored
   * and no runner. Undefined when the task changed meanwhile (cancelled, say).
   */
  giveBack(claimed: TaskRecord): Promise<TaskRecord | undefined>;
  /** Work may be ready (an agent was freed, a task finished): wake claimers, here and, for a distributed adapter, elsewhere. */
  wake(): void;
}

/** Which tasks a runner takes: every task it has an executor for, or only some. */
export interface TaskScope {
  /** Only this workflow's tasks (a `colony run`). */
  workflowId?: string;
  /** Only this swarm's tasks (a `colony swarm`). */
  swarmId?: string;
  /** Only these tasks and the subtasks they create, at any depth (`colony task create --wait`). */
  taskIds?: readonly string[];
  /**
   * The worker pools this runner serves: it takes the tasks of these pools and unpooled ones. Absent
   * or empty: unpooled tasks only (a pooled task is never run outside its pool).
   */
  pools?: readonly string[];
}

export interface ClaimRequest {
  /** The most tasks taken in all. */
  limit: number;
  /**
   * What to take, in order: each batch up to its own limit and what `limit` leaves, of its task types
   * (types this runner has executors for; none in two batches). One batch per type with a limit of its
   * own (shell tasks), one for the rest; each is a store transaction of its own.
   */
  batches: readonly ClaimBatch[];
  /** Tasks not to take now: this runner gave them back for want of an agent and waits for one to be freed. */
  exclude?: readonly string[];
}

/** Ready tasks of these types, up to `limit`. */
export interface ClaimBatch {
  types: readonly string[];
  limit: number;
}
