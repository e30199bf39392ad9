import type { Logger } from '../kernel/logger.js';
import type { TaskRecord } from '../domain/task.js';
import type { TaskStore } from '../ports/task-store.js';
import { TASK_DEFAULTS } from './task-defaults.js';

export interface DependentsProbeDeps {
  store: { tasks: Pick<TaskStore, 'listPromotable'> };
  /** Queues pending tasks whose dependencies have all completed (compare-and-set: one process wins each). */
  promote: (tasks: readonly TaskRecord[]) => Promise<void>;
  logger: Logger;
}

/**
 * Asks the store, after completions have committed, which of the completed tasks' dependents are now
 * ready, and promotes them. The dependents this process watches are promoted in the completion's own
 * write; those submitted by another process (a DAG posted to an API process and run by workers) are
 * known only to the store. Reading after the commit is what makes this safe across processes: of two
 * dependencies completed at once by two processes, each reads after its own commit, so at least one
 * reads both as completed and promotes. Completions of one tick are asked about in one read.
 */
export class DependentsProbe {
  private readonly deps: DependentsProbeDeps;
  private waiting: string[] = [];
  private flushing: Promise<void> | null = null;

  constructor(deps: DependentsProbeDeps) {
    this.deps = deps;
  }

  /** `id` completed and its write committed. */
  completed(id: string): void {
    this.waiting.push(id);
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  /** Resolves when every completion reported so far has been probed. */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const ids = this.waiting.splice(0, TASK_DEFAULTS.pollBatch);
        for (;;) {
          const ready = await this.deps.store.tasks.listPromotable({ dependentsOf: ids, limit: TASK_DEFAULTS.pollBatch });
          await this.deps.promote(ready);
          // A full page: more dependents may be ready (the promoted ones are no longer pending).
          if (ready.length < TASK_DEFAULTS.pollBatch) break;
        }
      }
    } catch (error) {
      // The scheduler's reconciliation promotes what a failed read missed.
      this.deps.logger.warn({ err: error }, 'could not look up the dependents of completed tasks; reconciliation will promote them');
      this.waiting = [];
    } finally {
      // Completions reported during the reads were taken by the loop: nothing is left behind.
      this.flushing = null;
    }
  }
}
