import type { ColonyEvent } from '../domain/events.js';
import type { TaskRecord } from '../domain/task.js';
import type { ChangeNotifier } from '../ports/change-notifier.js';
import type { EventBus } from '../ports/event-bus.js';
import type { ClaimRequest, TaskQueue, TaskScope } from '../ports/task-queue.js';

export interface NotifiedQueueDeps {
  /** Claims, and wakes this process's runner for what this process does; its poll is the safety net. */
  queue: TaskQueue;
  /** Carries the `tasks` hints between processes. */
  notifier: ChangeNotifier;
  /** This process's events: those of tasks it made ready are announced. */
  events: EventBus;
  now: () => number;
}

/** The events of a task made queued (or, for `task.recovered` and `task.retried`, maybe queued; for `task.revised`, maybe claimable by others now). */
const READY_EVENTS = ['task.created', 'task.queued', 'task.failed', 'task.retried', 'task.recovered', 'task.revised'] as const;

/**
 * A TaskQueue whose runners wake on other processes' hints (DESIGN.md, "Many processes, one truth"):
 * it wraps a queue (the store's claim, woken in process and by a poll) and adds the `tasks` topic of a
 * ChangeNotifier. A hint from elsewhere wakes this runner; this process's `wake`s, and every task it
 * makes ready, are announced. Those are read from this process's task events rather than from `admit`,
 * which only hears of the tasks this runner may take (in its scope and pools, while it runs): a task
 * submitted by a process that runs nothing, or for another pool, must wake the runners that take it.
 * The notifier coalesces, so a batch of a thousand tasks costs one NOTIFY. Hints only save latency:
 * claims are decided in the store, and a lost hint waits for the wrapped queue's poll.
 */
export class NotifiedQueue implements TaskQueue {
  private readonly deps: NotifiedQueueDeps;
  private unlisten: (() => void) | null = null;
  /** When failed tasks waiting for their retry become ready, ascending, without repeats. */
  private readonly due: number[] = [];
  private dueTimer: NodeJS.Timeout | null = null;

  constructor(deps: NotifiedQueueDeps) {
    this.deps = deps;
    // For the colony's lifetime, runner or not (the bus goes with it): announcing is not waking this runner.
    deps.events.subscribe({ types: READY_EVENTS }, (event) => this.announce(event));
  }

  open(runner: { runnerId: string; scope: TaskScope; onReady: () => void }): void {
    this.unlisten?.();
    this.deps.queue.open(runner);
    // The wrapped queue's wake is this process's only: a hint is not sent back out.
    this.unlisten = this.deps.notifier.listen('tasks', () => this.deps.queue.wake());
  }

  close(): void {
    this.unlisten?.();
    this.unlisten = null;
    this.deps.queue.close();
  }

  admit(tasks: readonly TaskRecord[]): void {
    this.deps.queue.admit(tasks);
  }

  claim(request: ClaimRequest): Promise<TaskRecord[]> {
    return this.deps.queue.claim(request);
  }

  giveBack(claimed: TaskRecord): Promise<TaskRecord | undefined> {
    return this.deps.queue.giveBack(claimed);
  }

  wake(): void {
    this.deps.queue.wake();
    this.deps.notifier.notify('tasks');
  }

  private announce(event: ColonyEvent<(typeof READY_EVENTS)[number]>): void {
    if (event.type === 'task.created' && event.data.status !== 'queued') return;
    if (event.type === 'task.failed') {
      if (event.data.willRetry) this.later(event.timestamp + (event.data.retryInMs ?? 0));
      return;
    }
    if (event.type === 'task.queued') {
      // Taken by its runner in the write that made it ready: nobody need look for it.
      if (event.data.takenBy !== undefined) return;
      // Dependents a completion promotes are put forward before its write commits, and a claim on another
      // connection may miss them; the event comes after the commit, so this runner claims again too.
      this.deps.queue.wake();
    }
    this.deps.notifier.notify('tasks');
  }

  /**
   * A retry whose time has not come is announced when it comes: this runner may be busy then, and an
   * idle one elsewhere should not wait for its poll. One timer, for the earliest time.
   */
  private later(at: number): void {
    let i = 0;
    while (i < this.due.length && (this.due[i] as number) < at) i++;
    if (this.due[i] === at) return;
    this.due.splice(i, 0, at);
    if (i === 0) this.arm();
  }

  private arm(): void {
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueTimer = null;
    const next = this.due[0];
    if (next === undefined) return;
    this.dueTimer = setTimeout(() => this.fire(), Math.max(0, next - this.deps.now()));
    this.dueTimer.unref();
  }

  private fire(): void {
    this.dueTimer = null;
    const now = this.deps.now();
    let came = 0;
    while (this.due.length > 0 && (this.due[0] as number) <= now) {
      this.due.shift();
      came++;
    }
    if (came > 0) this.deps.notifier.notify('tasks');
    this.arm();
  }
}
