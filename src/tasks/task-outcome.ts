import type { Logger } from '../kernel/logger.js';
import { retryStoreWrite, type StoreRetryPolicy } from '../kernel/store-retry.js';
import type { ColonyError } from '../domain/errors.js';
import type { ColonyEvent } from '../domain/events.js';
import type { JsonValue } from '../domain/json.js';
import type { TaskRecord, TaskStatus } from '../domain/task.js';
import type { EventBus } from '../ports/event-bus.js';
import type { TaskStore } from '../ports/task-store.js';
import { newEventOf } from '../ports/event-log.js';
import { retryDelayMs, type RetryPolicy } from './retry-policy.js';
import { cancelDependents } from './task-cascade.js';
import { TASK_DEFAULTS } from './task-defaults.js';
import type { DependencyResults } from './dependency-results.js';
import type { TaskDependencies } from './task-dependencies.js';
import type { TaskExecutor } from './task-executor.js';
import type { AbortKind } from './task-run.js';
import { TASK_EVENT_SOURCE, type TaskTransitions } from './task-transitions.js';

export interface TaskOutcomeDeps {
  store: { tasks: Pick<TaskStore, 'get' | 'list' | 'listDependents'> };
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
  /** Results kept for the dependents of tasks completed here (their executors' `dependencies`). */
  results: Pick<DependencyResults, 'completed' | 'forget'>;
  /**
   * A completion committed, promoting `promoted` in its write: its other dependents (another process
   * submitted them, or they wait on more) may be ready now.
   */
  probeDependents: (id: string, promoted: readonly string[]) => void;
  /** Dependents a completion claims for this runner in its own write. */
  handOff: DependentHandOff;
  /** How an outcome's write is tried again while the store does not answer. Default: DEFAULT_STORE_RETRY. */
  storeRetry?: StoreRetryPolicy;
}

/**
 * The dependents a completion here makes ready that this runner takes at once: they go from pending
 * to running in the completion's write, one write where a promotion and a claim would be two.
 */
export interface DependentHandOff {
  /** This runner, written on the tasks it takes. */
  runnerId: string;
  /** Of the dependents made ready, those to take (a slot free for each, now held): the rest are queued for any runner. */
  reserve(ready: readonly TaskRecord[]): readonly TaskRecord[];
  /** Taken by a committed write: to be started. */
  taken(tasks: readonly TaskRecord[]): void;
  /** Reserved, but not taken after all (the write did not commit them): their slots are free again. */
  dropped(ids: readonly string[]): void;
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
    const { transitions, dependencies, events } = this.deps;
    // The task.completed event is written with the completion (one transaction) where the bus has an
    // outbox: a process killed right after the commit cannot leave the completion unreported. The
    // task's own events not yet in the log (task.started, an agent's turns) go in that write first.
    const outbox = events.outbox;
    const own = outbox ? outbox.take(task.id) : [];
    const carried = Array.isArray(own) ? own : await own;
    // The completion and the promotion of dependents it makes ready commit together: one write. Those
    // this runner has a free slot for are claimed in it (fenced: a copy older than an operator's
    // revision is not run), the rest queued.
    const ready = dependencies.readyDependents(task.id);
    const handOff = this.deps.handOff;
    const reserved = ready.length > 0 ? handOff.reserve(ready) : [];
    const taking = new Set(reserved.map((d) => d.id));
    const completion = { result, error: null, completedAt: this.deps.now() };
    const reported = { taskId: task.id, name: task.name, attempt: task.attempts, durationMs };
    const meta = { source: TASK_EVENT_SOURCE, correlationId: transitions.correlation(task) };
    const report = { id: 0, type: 'task.completed', data: reported, ...meta, timestamp: completion.completedAt } as ColonyEvent<'task.completed'>;
    const logged = outbox ? [...carried, report].map(newEventOf) : undefined;
    const completing = { task, to: 'completed' as const, patch: completion, ...(logged ? { events: logged } : {}) };
    const claim = { runnerId: handOff.runnerId, notBefore: null, startedAt: completion.completedAt };
    const changes = [
      completing,
      ...ready.map((d) => (taking.has(d.id) ? { task: d, to: 'running' as const, patch: { ...claim, attempts: d.attempts + 1 }, fenced: true } : { task: d, to: 'queued' as const })),
    ];
    // Before the write: a dependent claimed in the same commit may start before this function resumes.
    this.deps.results.completed({ ...task, ...completion, status: 'completed' });
    let written: TaskRecord[] | undefined;
    try {
      const writing = this.durably(task, 'completed', () => transitions.applyAll(changes), (stored) => [stored]);
      // A claim issued after this write, in the same turn, commits with it and sees these dependents
      // queued: they are put forward now, not once the write is in (a claim that finds them otherwise
      // just takes nothing).
      const queueing = ready.filter((d) => !taking.has(d.id));
      if (queueing.length > 0) this.deps.queued(queueing.map((d) => ({ ...d, status: 'queued' as const })));
      written = await writing;
      if (!written && ready.length > 0) {
        // A dependent changed meanwhile (cancelled, or promoted by another process): complete alone.
        written = await this.durably(task, 'completed', () => transitions.applyAll([completing]), (stored) => [stored]);
      }
    } finally {
      // Not written: the carried events go back to be published as they were, and the result is not one.
      if (!written) {
        outbox?.restore(carried);
        this.deps.results.forget(task.id);
        handOff.dropped(reserved.map((d) => d.id));
      }
    }
    if (!written) return this.lost(task);
    const [done, ...promoted] = written as [TaskRecord, ...TaskRecord[]];
    // In the log already (also when a retry found the write landed, its answer lost).
    if (outbox) outbox.delivered([...carried, report]);
    else events.publish('task.completed', reported, meta);
    dependencies.settled(done.id);
    this.deps.settled(done);
    this.deps.probeDependents(done.id, promoted.map((d) => d.id));
    this.promoted(promoted, false);
    handOff.taken(promoted.filter((d) => d.status === 'running'));
    if (promoted.length === ready.length) return;
    // Not in the write as it came back: completed alone, or its answer lost and the task read back.
    for (const d of ready) {
      if (promoted.some((p) => p.id === d.id)) continue;
      if (taking.has(d.id)) await this.followTaken(d);
      else await this.promote(d);
    }
  }

  /**
   * A dependent reserved for this runner that the completion's write, as it came back, did not show:
   * taken if the store has it running here at the attempt the write would have made, else followed as
   * the store says.
   */
  private async followTaken(reserved: TaskRecord): Promise<void> {
    const fresh = await this.deps.store.tasks.get(reserved.id).catch(() => undefined);
    if (fresh?.status === 'running' && fresh.runnerId === this.deps.handOff.runnerId && fresh.attempts === reserved.attempts + 1) {
      this.promoted([fresh], false);
      this.deps.handOff.taken([fresh]);
      return;
    }
    this.deps.handOff.dropped([reserved.id]);
    if (fresh?.status === 'pending') await this.promote(fresh);
    else this.followStore(reserved.id, fresh);
  }

  async failed(task: TaskRecord, error: ColonyError, abortKind: AbortKind | null): Promise<void> {
    const { transitions, events, now } = this.deps;
    const info = { code: error.code, message: error.message, attempt: task.attempts };
    const correlationId = transitions.correlation(task);

    if (abortKind === 'cancel') {
      const current = await retryStoreWrite(() => this.deps.store.tasks.get(task.id), this.retryOptions(task));
      // A cancellation from another process already wrote the cancelled state.
      const done =
        current && current.status === 'cancelled'
          ? current
          : await this.durably(task, 'cancelled', () => transitions.apply(task, 'cancelled', { error: { ...info, code: 'cancelled' }, completedAt: now() }), (stored) => stored);
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
      const back = await this.durably(task, 'queued', () => transitions.apply(task, 'queued', { maxAttempts: task.maxAttempts + 1, runnerId: null }), (stored) => stored);
      if (back) this.deps.forget(task.id);
      return;
    }

    const willRetry = error.retryable && task.attempts < task.maxAttempts && !this.deps.stopped();
    if (willRetry) {
      const delay = retryDelayMs(this.deps.retry, task.attempts, this.deps.random);
      const back = await this.durably(task, 'queued', () => transitions.apply(task, 'queued', { error: info, runnerId: null, notBefore: now() + delay }), (stored) => stored);
      if (!back) return this.lost(task);
      events.publish(
        'task.failed',
        { taskId: task.id, name: task.name, attempt: task.attempts, error: info, willRetry: true, retryInMs: delay },
        { source: TASK_EVENT_SOURCE, correlationId },
      );
      this.deps.queued([back]);
      return;
    }

    const done = await this.durably(task, 'failed', () => transitions.apply(task, 'failed', { error: info, completedAt: now() }), (stored) => stored);
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
    this.followStore(task.id, await this.deps.store.tasks.get(task.id));
  }

  /** A dependent this process could not promote or take: followed as the store has it (queued: on to be claimed). */
  private followStore(id: string, fresh: TaskRecord | undefined): void {
    if (!fresh || fresh.status !== 'pending') this.deps.forget(id);
    if (fresh?.status === 'queued') this.deps.queued([fresh]);
  }

  /**
   * Queues pending tasks whose dependencies have completed: each a compare-and-set of its own (the
   * store gathers the writes of a turn into one statement), so that one task promoted meanwhile by
   * another process or cancelled does not hold the others back. Those that changed are read back in
   * one query and followed as the store says; one whose copy was merely stale is tried again.
   */
  async promoteMany(tasks: readonly TaskRecord[]): Promise<void> {
    for (let i = 0; i < tasks.length; i += TASK_DEFAULTS.pollBatch) {
      const batch = tasks.slice(i, i + TASK_DEFAULTS.pollBatch);
      const written = await Promise.all(batch.map((task) => this.deps.transitions.apply(task, 'queued')));
      this.promoted(written.filter((t): t is TaskRecord => t !== undefined));
      const changed = batch.filter((_, j) => written[j] === undefined);
      if (changed.length === 0) continue;
      const fresh = await this.deps.store.tasks.list({ ids: changed.map((t) => t.id) });
      for (const task of fresh) if (task.status !== 'pending') this.deps.forget(task.id);
      this.deps.queued(fresh.filter((t) => t.status === 'queued'));
      for (const task of fresh) if (task.status === 'pending') await this.promote(task);
    }
  }

  /**
   * Says that tasks were queued here (and, unless they were put forward already, passes them on to be
   * claimed). A dependent taken in the completion's write is running already: its event names the runner.
   */
  private promoted(tasks: readonly TaskRecord[], passOn = true): void {
    if (tasks.length === 0) return;
    for (const queued of tasks) {
      this.deps.events.publish(
        'task.queued',
        { taskId: queued.id, name: queued.name, ...(queued.status === 'running' && queued.runnerId !== null ? { takenBy: queued.runnerId } : {}) },
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

  /**
   * An outcome's write, tried again while the store does not answer, so that a database restart
   * neither loses the outcome nor leaves the task running for ever. A retry that loses its
   * compare-and-set may have lost it to the try before, which committed although its answer was lost
   * with the connection: the task found at `to`, at this attempt, is that write (`landed` makes the
   * caller's result of it).
   */
  private durably<T>(task: TaskRecord, to: TaskStatus, write: () => Promise<T | undefined>, landed: (stored: TaskRecord) => T): Promise<T | undefined> {
    return retryStoreWrite(async (attempt) => {
      const written = await write();
      if (written !== undefined || attempt === 1) return written;
      const stored = await this.deps.store.tasks.get(task.id);
      return stored && stored.status === to && stored.attempts === task.attempts ? landed(stored) : undefined;
    }, this.retryOptions(task));
  }

  private retryOptions(task: TaskRecord): Parameters<typeof retryStoreWrite>[1] {
    return {
      ...(this.deps.storeRetry ? { policy: this.deps.storeRetry } : {}),
      onRetry: (error, attempt, delayMs) => {
        if (attempt === 1) this.deps.logger.warn({ err: error, taskId: task.id, delayMs }, 'could not record the task outcome yet; trying again');
      },
    };
  }

  /** Our compare-and-set lost: someone else changed the task (e.g. cancelled it from another process). */
  private lost(task: TaskRecord): void {
    this.deps.logger.info({ taskId: task.id }, 'task changed elsewhere while running here; keeping the stored state');
    this.deps.forget(task.id);
  }
}

