import type { Logger } from '../kernel/logger.js';
import type { ColonyError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import type { TaskRecord } from '../domain/task.js';
import type { EventBus } from '../ports/event-bus.js';
import type { TaskStore } from '../ports/task-store.js';
import { retryDelayMs, type RetryPolicy } from './retry-policy.js';
import { cancelDependents } from './task-cascade.js';
import type { TaskDependencies } from './task-dependencies.js';
import type { TaskExecutor } from './task-executor.js';
import type { AbortKind } from './task-run.js';
import { TASK_EVENT_SOURCE, type TaskTransitions } from './task-transitions.js';

export interface TaskOutcomeDeps {
  store: { tasks: Pick<TaskStore, 'get' | 'listDependents'> };
  transitions: TaskTransitions;
  events: EventBus;
  /** Tasks that became queued here (retried, promoted): on to be claimed. */
  queued: (tasks: readonly TaskRecord[]) => void;
  dependencies: TaskDependencies;
  executors: ReadonlyMap<string, TaskExecutor>;
  retry: RetryPolicy;
  logger: Logger;
  workspace: string;
  now: () => number;
  random: () => number;
  /** Whether the scheduler has stopped for good: a failure then is not retried here. */
  stopped: () => boolean;
  /** A task reached a terminal state here (or was found there). */
  settled: (task: TaskRecord) => void;
  /** This process stops following a task: another process or the store's state has it. */
  forget: (id: string) => void;
}

/**
 * What becomes of a task after an attempt: completion (with the promotion of the dependents it makes
 * ready, in the same write), a retry with backoff, failure with rollback and the cancellation of its
 * dependents, or cancellation. Also queues pending tasks whose dependencies have all completed.
 */
export class TaskOutcomes {
  private readonly deps: TaskOutcomeDeps;

  constructor(deps: TaskOutcomeDeps) {
    this.deps = deps;
  }

  async completed(task: TaskRecord, result: JsonValue, durationMs: number): Promise<void> {
    const { transitions, dependencies } = this.deps;
    // The completion and the promotion of dependents it makes ready commit together: one write.
    const ready = dependencies.readyDependents(task.id);
    const completion = { result, error: null, completedAt: this.deps.now() };
    const changes = [{ task, to: 'completed' as const, patch: completion }, ...ready.map((d) => ({ task: d, to: 'queued' as const }))];
    const writing = transitions.applyAll(changes);
    // A claim issued after this write, in the same turn, commits with it and sees these dependents
    // queued: they are put forward now, not once the write is in (a claim that finds them otherwise
    // just takes nothing).
    if (ready.length > 0) this.deps.queued(ready.map((d) => ({ ...d, status: 'queued' as const })));
    let written = await writing;
    if (!written && ready.length > 0) {
      // A dependent changed meanwhile (cancelled, or promoted by another process): complete alone.
      const alone = await transitions.apply(task, 'completed', completion);
      written = alone ? [alone] : undefined;
    }
    if (!written) return this.lost(task);
    const [done, ...promoted] = written as [TaskRecord, ...TaskRecord[]];
    this.deps.events.publish(
      'task.completed',
      { taskId: done.id, name: done.name, attempt: done.attempts, durationMs },
      { source: TASK_EVENT_SOURCE, correlationId: transitions.correlation(done) },
    );
    dependencies.settled(done.id);
    this.deps.settled(done);
    this.promoted(promoted, false);
    if (promoted.length < ready.length) for (const d of ready) if (!promoted.some((p) => p.id === d.id)) await this.promote(d);
  }

  async failed(task: TaskRecord, error: ColonyError, abortKind: AbortKind | null): Promise<void> {
    const { transitions, events, now } = this.deps;
    const info = { code: error.code, message: error.message, attempt: task.attempts };
    const correlationId = transitions.correlation(task);

    if (abortKind === 'cancel') {
      const current = await this.deps.store.tasks.get(task.id);
      // A cancellation from another process already wrote the cancelled state.
      const done =
        current && current.status === 'cancelled'
          ? current
          : await transitions.apply(task, 'cancelled', { error: { ...info, code: 'cancelled' }, completedAt: now() });
      if (!done) return this.lost(task);
      if (current?.status !== 'cancelled') {
        events.publish('task.cancelled', { taskId: task.id, name: task.name, reason: error.message, from: 'running' }, { source: TASK_EVENT_SOURCE, correlationId });
      }
      this.deps.settled(done);
      await cancelDependents(this.deps, done);
      return;
    }

    if (abortKind === 'shutdown') {
      // Not the task's fault: requeue it and give back the attempt (this or another process runs it).
      const back = await transitions.apply(task, 'queued', { maxAttempts: task.maxAttempts + 1, runnerId: null });
      if (back) this.deps.forget(task.id);
      return;
    }

    const willRetry = error.retryable && task.attempts < task.maxAttempts && !this.deps.stopped();
    if (willRetry) {
      const delay = retryDelayMs(this.deps.retry, task.attempts, this.deps.random);
      const back = await transitions.apply(task, 'queued', { error: info, runnerId: null, notBefore: now() + delay });
      if (!back) return this.lost(task);
      events.publish(
        'task.failed',
        { taskId: task.id, name: task.name, attempt: task.attempts, error: info, willRetry: true, retryInMs: delay },
        { source: TASK_EVENT_SOURCE, correlationId },
      );
      this.deps.queued([back]);
      return;
    }

    const done = await transitions.apply(task, 'failed', { error: info, completedAt: now() });
    if (!done) return this.lost(task);
    events.publish(
      'task.failed',
      { taskId: task.id, name: task.name, attempt: task.attempts, error: info, willRetry: false, retryInMs: null },
      { source: TASK_EVENT_SOURCE, correlationId },
    );
    this.deps.settled(done);
    await this.rollback(done, info);
    await cancelDependents(this.deps, done);
  }

  /** Queues a pending task whose dependencies have completed; follows the store when it changed meanwhile. */
  async promote(task: TaskRecord): Promise<void> {
    const queued = await this.deps.transitions.apply(task, 'queued');
    if (queued) return this.promoted([queued]);
    // Promoted meanwhile (by another process), or cancelled: what the store says goes.
    const fresh = await this.deps.store.tasks.get(task.id);
    if (!fresh || fresh.status !== 'pending') this.deps.forget(task.id);
    if (fresh?.status === 'queued') this.deps.queued([fresh]);
  }

  /** Says that tasks were queued here (and, unless they were put forward already, passes them on to be claimed). */
  private promoted(tasks: readonly TaskRecord[], passOn = true): void {
    if (tasks.length === 0) return;
    for (const queued of tasks) {
      this.deps.events.publish(
        'task.queued',
        { taskId: queued.id, name: queued.name },
        { source: TASK_EVENT_SOURCE, correlationId: this.deps.transitions.correlation(queued) },
      );
      this.deps.dependencies.forget(queued.id);
    }
    if (passOn) this.deps.queued(tasks);
  }

  private async rollback(task: TaskRecord, error: { code: string; message: string }): Promise<void> {
    const executor = this.deps.executors.get(task.type);
    if (!executor?.rollback) return;
    let problem: string | null = null;
    try {
      const didSomething = await executor.rollback({ task, error, workspace: this.deps.workspace, logger: this.deps.logger.child({ taskId: task.id }) });
      if (didSomething === false) return;
    } catch (e) {
      problem = (e as Error).message;
      this.deps.logger.warn({ err: e, taskId: task.id }, 'rollback failed');
    }
    this.deps.events.publish(
      'task.rolledback',
      { taskId: task.id, name: task.name, ok: problem === null, error: problem },
      { source: TASK_EVENT_SOURCE, correlationId: this.deps.transitions.correlation(task) },
    );
  }

  /** Our compare-and-set lost: someone else changed the task (e.g. cancelled it from another process). */
  private lost(task: TaskRecord): void {
    this.deps.logger.info({ taskId: task.id }, 'task changed elsewhere while running here; keeping the stored state');
    this.deps.forget(task.id);
  }
}

