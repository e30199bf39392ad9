import type { TaskRecord } from '../domain/task.js';
import type { TaskStore } from '../ports/task-store.js';
import type { ClaimRequest, TaskQueue, TaskScope } from '../ports/task-queue.js';
import type { TaskTransitions } from './task-transitions.js';

export interface StorePollQueueDeps {
  store: { tasks: Pick<TaskStore, 'claimReady' | 'list'> };
  transitions: TaskTransitions;
  /** How often the store is asked for work that other processes made ready. */
  pollIntervalMs: number;
  now: () => number;
}

interface OpenRunner {
  runnerId: string;
  scope: TaskScope;
  onReady: () => void;
}

/**
 * The TaskQueue for one machine: the store's claim, woken by what this process makes ready
 * (each task admitted here, at its retry time) and by a poll for what other processes make ready.
 *
 * It keeps the ids admitted here as hints, so that a claim costs a store write only when work is likely:
 * after a hint, a wake or a poll tick. A claim that comes back short shows that the store holds no more
 * ready work for this runner, so the hints older than that claim are dropped (taken by other
 * processes, cancelled, or held back by `exclude` until the next wake).
 */
export class StorePollQueue implements TaskQueue {
  private readonly deps: StorePollQueueDeps;
  private runner: OpenRunner | null = null;
  /** Ids admitted here and due, with the generation they were admitted in. */
  private readonly hints = new Map<string, number>();
  private generation = 0;
  /** Tasks admitted here whose retry time has not come: a timer wakes the runner when it does. */
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  /** A wake or poll tick since the last claim: other processes may have made work ready. */
  private woken = false;
  private pollTimer: NodeJS.Timeout | null = null;

  constructor(deps: StorePollQueueDeps) {
    this.deps = deps;
  }

  open(runner: OpenRunner): void {
    this.close();
    this.runner = runner;
    this.pollTimer = setInterval(() => void this.poll(), this.deps.pollIntervalMs);
    this.pollTimer.unref();
    this.wake();
  }

  close(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
    for (const timer of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.hints.clear();
    this.runner = null;
  }

  admit(tasks: readonly TaskRecord[]): void {
    if (!this.runner) return;
    let due = false;
    for (const task of tasks) {
      if (task.status !== 'queued') continue;
      const wait = (task.notBefore ?? 0) - this.deps.now();
      if (wait <= 0) {
        this.hints.set(task.id, ++this.generation);
        due = true;
      } else if (!this.delayed.has(task.id)) {
        const timer = setTimeout(() => {
          this.delayed.delete(task.id);
          this.hints.set(task.id, ++this.generation);
          this.ready();
        }, wait);
        timer.unref();
        this.delayed.set(task.id, timer);
      }
    }
    if (due) this.ready();
  }

  async claim(request: ClaimRequest): Promise<TaskRecord[]> {
    const runner = this.runner;
    if (!runner || request.limit <= 0 || !this.mayHaveWork(request.exclude)) return [];
    const generation = this.generation;
    this.woken = false;
    const claimed: TaskRecord[] = [];
    // Short only if every batch came back short: one not asked (the total used up) may have more.
    let full = false;
    for (const batch of request.batches) {
      const limit = Math.min(batch.limit, request.limit - claimed.length);
      if (limit <= 0 || batch.types.length === 0) {
        full ||= batch.types.length > 0;
        continue;
      }
      const taken = await this.deps.store.tasks.claimReady({
        runnerId: runner.runnerId,
        types: batch.types,
        scope: runner.scope,
        limit,
        now: this.deps.now(),
        ...(request.exclude && request.exclude.length > 0 ? { exclude: request.exclude } : {}),
      });
      claimed.push(...taken);
      full ||= taken.length >= limit;
    }
    for (const task of claimed) this.hints.delete(task.id);
    if (!full) {
      for (const [id, admitted] of this.hints) if (admitted <= generation) this.hints.delete(id);
    } else {
      // A full batch: there may be more ready than this runner could take.
      this.woken = true;
    }
    return claimed;
  }

  async giveBack(claimed: TaskRecord): Promise<TaskRecord | undefined> {
    const attempts = claimed.attempts - 1;
    // The claim stamped the start; a task that had never run goes back to having no start.
    const back = await this.deps.transitions.apply(claimed, 'queued', { attempts, runnerId: null, ...(attempts === 0 ? { startedAt: null } : {}) });
    if (back) this.hints.set(back.id, ++this.generation);
    return back;
  }

  wake(): void {
    this.woken = true;
    this.ready();
  }

  /**
   * The poll: a read for queued tasks in scope (the claim is a write, which takes the file's write lock
   * even when it finds nothing, so an idle runner does not claim on every tick).
   */
  private async poll(): Promise<void> {
    const runner = this.runner;
    if (!runner || this.woken) return;
    try {
      const { workflowId, swarmId } = runner.scope;
      const queued = await this.deps.store.tasks.list({ status: 'queued', limit: 1, ...(workflowId ? { workflowId } : {}), ...(swarmId ? { swarmId } : {}) });
      if (queued.length > 0 && this.runner === runner) this.wake();
    } catch {
      // A failed read is a missed tick: the next one reads again.
    }
  }

  private mayHaveWork(exclude: readonly string[] | undefined): boolean {
    if (this.woken) return true;
    if (!exclude || exclude.length === 0) return this.hints.size > 0;
    const excluded = new Set(exclude);
    for (const id of this.hints.keys()) if (!excluded.has(id)) return true;
    return false;
  }

  private ready(): void {
    this.runner?.onReady();
  }
}
