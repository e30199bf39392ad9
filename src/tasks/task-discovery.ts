import { CancelledError } from '../domain/errors.js';
import type { TaskRecord } from '../domain/task.js';
import type { TaskStore } from '../ports/task-store.js';
import type { DeadRunnerRecovery } from './dead-runner-recovery.js';
import { cancelDependents, type CascadeDeps } from './task-cascade.js';
import { TASK_DEFAULTS } from './task-defaults.js';
import type { RunningTask } from './task-run.js';
import type { TaskScopeFilter } from './task-scope-filter.js';

export interface TaskDiscoveryDeps {
  store: { tasks: Pick<TaskStore, 'listBlocked' | 'listPromotable' | 'list' | 'listHeldBy' | 'get'> };
  cascade: CascadeDeps;
  recovery: DeadRunnerRecovery;
  runnerId: string;
  /** Follows a task this runner may run: pending ones for their dependencies, queued ones through the queue. */
  track: (tasks: readonly TaskRecord[]) => void;
  /** Queues pending tasks whose dependencies have all completed. */
  promote: (tasks: readonly TaskRecord[]) => Promise<void>;
  /** The attempts running here now. */
  running: () => Iterable<RunningTask>;
  /**
   * Whether this process has the task in hand: being claimed, started, run, or its outcome recorded.
   * True for every task while a claim is in flight (its answer may hold any of them). Absent: tasks
   * this runner holds in the store but not in hand are not looked for.
   */
  inHand?: (taskId: string) => boolean;
}

/**
 * Reconciliation with the store, for what other processes did: tasks of dead runners recovered,
 * pending tasks whose dependencies failed cancelled, and those whose dependencies completed queued
 * (this process settles its own in memory), and attempts running here that another process
 * cancelled aborted. Work made ready elsewhere reaches this runner through its TaskQueue.
 */
export class TaskDiscovery {
  private readonly deps: TaskDiscoveryDeps;
  private passes = 0;
  /** Tasks held by this runner in the store but not in hand at the last thorough pass, with their attempt. */
  private strandedSeen = new Map<string, number>();

  constructor(deps: TaskDiscoveryDeps) {
    this.deps = deps;
  }

  /** One pass; the thorough reconciliations run on the first and then every few passes. */
  async pass(scope: TaskScopeFilter, first: boolean): Promise<void> {
    const thorough = first || this.passes++ % TASK_DEFAULTS.recoveryEveryPolls === 0;
    if (thorough) {
      this.deps.track(await this.deps.recovery.recover());
      this.deps.track(await this.recoverStranded());
      await this.reconcileDependencies(scope);
    }
    if (first) {
      // Pending tasks submitted before this process started: completions here promote them in the same write.
      const pending = await this.deps.store.tasks.list({ status: 'pending', workflowId: scope.scope.workflowId, limit: TASK_DEFAULTS.initialPendingScan });
      this.deps.track(pending.filter((t) => scope.includes(t)));
    }
    // A read of every task running here: on the thorough passes only (a cancellation made in another
    // process is noticed within a few polls), not on every poll of a runner with a thousand agents busy.
    if (thorough) await this.noticeExternalCancellations();
  }

  private async reconcileDependencies(scope: TaskScopeFilter): Promise<void> {
    const { store } = this.deps;
    const query = { workflowId: scope.scope.workflowId, limit: TASK_DEFAULTS.pollBatch };
    for (const task of await store.tasks.listBlocked(query)) {
      const deps = await Promise.all(task.dependencies.map((d) => store.tasks.get(d)));
      const broken = deps.find((d) => d && (d.status === 'failed' || d.status === 'cancelled'));
      if (broken) await cancelDependents(this.deps.cascade, broken);
    }
    await this.deps.promote((await store.tasks.listPromotable(query)).filter((task) => scope.includes(task)));
  }

  /**
   * Tasks the store says this runner holds but that it does not have in hand: a claim that committed
   * while its answer was lost with the connection (a database restart), a claim that could not be
   * given back, an outcome that could not be written within the store retry window. Nothing here
   * would ever finish them, and no other process recovers a live runner's tasks: seen so on two
   * thorough passes in a row, at the same attempt, they are recovered as a dead runner's are.
   */
  private async recoverStranded(): Promise<TaskRecord[]> {
    const { inHand } = this.deps;
    if (!inHand) return [];
    const held = await this.deps.store.tasks.listHeldBy([this.deps.runnerId]);
    // Judged after the read: a claim whose answer had not come when the read began is still in flight
    // (in hand, for every task) or has landed (its tasks starting or running).
    const seen = new Map<string, number>();
    const stranded: TaskRecord[] = [];
    for (const task of held) {
      if (inHand(task.id)) continue;
      if (this.strandedSeen.get(task.id) === task.attempts) stranded.push(task);
      else seen.set(task.id, task.attempts);
    }
    this.strandedSeen = seen;
    if (stranded.length === 0) return [];
    return this.deps.recovery.requeue(stranded, () => 'this process lost track of the task: the store did not answer its claim or its outcome');
  }

  /** Attempts running here whose stored task is no longer this attempt (cancelled, taken over) are aborted. */
  private async noticeExternalCancellations(): Promise<void> {
    const running = [...this.deps.running()];
    if (running.length === 0) return;
    // One read of what the store says this runner holds, not one per attempt.
    const held = new Map((await this.deps.store.tasks.listHeldBy([this.deps.runnerId])).map((t) => [t.id, t]));
    for (const entry of running) {
      const stored = held.get(entry.task.id);
      if (stored?.attempts === entry.task.attempts) continue;
      // Not held by this runner any more: confirm with a read of its own (it may have just finished here).
      const current = stored ?? (await this.deps.store.tasks.get(entry.task.id));
      if (current && (current.status !== 'running' || current.attempts !== entry.task.attempts || current.runnerId !== this.deps.runnerId)) {
        entry.abort('cancel', new CancelledError('cancelled by another process'));
      }
    }
  }
}
