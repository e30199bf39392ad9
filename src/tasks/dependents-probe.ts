import type { Logger } from '../kernel/logger.js';
import type { TaskRecord } from '../domain/task.js';
import type { TaskStore } from '../ports/task-store.js';
import { TASK_DEFAULTS } from './task-defaults.js';

export interface DependentsProbeDeps {
  store: { tasks: Pick<TaskStore, 'listPromotable' | 'listDependentEdges'> };
  /** Queues pending tasks whose dependencies have all completed (compare-and-set: one process wins each). */
  promote: (tasks: readonly TaskRecord[]) => Promise<void>;
  /**
   * Whether a dependent needs no probe now: it still waits for a dependency this process holds, whose
   * completion here promotes it or probes again (see TaskDependencies.waitsOnHeld). If that
   * dependency is lost here, the process that completes it instead probes after its own commit.
   */
  covered: (dependentId: string) => boolean;
  logger: Logger;
}

interface Completion {
  id: string;
  /** Dependents the completion's own write promoted. */
  promoted: ReadonlySet<string>;
}

/**
 * Asks the store, after completions have committed, which of the completed tasks' dependents are now
 * ready, and promotes them. The dependents this process watches are promoted in the completion's own
 * write; those submitted by another process (a DAG posted to an API process and run by workers) are
 * known only to the store. Reading after the commit is what makes this safe across processes: of two
 * dependencies completed at once by two processes, each reads after its own commit, so at least one
 * reads both as completed and promotes. Completions of one tick are asked about in one read.
 *
 * The read is in two steps because most completions need nothing: first the dependency edges (an
 * index-only read), and only completions with a dependent their own write did not promote, and that
 * does not still wait for a task this process holds, get the full readiness query. A dependent whose
 * edge commits after that first read was submitted by a process that checks its new tasks'
 * dependencies after its own commit, and sees this completion.
 */
export class DependentsProbe {
  private readonly deps: DependentsProbeDeps;
  private waiting: Completion[] = [];
  private flushing: Promise<void> | null = null;

  constructor(deps: DependentsProbeDeps) {
    this.deps = deps;
  }

  /** `id` completed and its write, which promoted `promoted`, committed. */
  completed(id: string, promoted: readonly string[]): void {
    this.waiting.push({ id, promoted: new Set(promoted) });
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  /** Resolves when every completion reported so far has been probed. */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      while (this.waiting.length > 0) {
        const ids = await this.needingCheck(this.waiting.splice(0, TASK_DEFAULTS.pollBatch));
        if (ids.length === 0) continue;
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

  /** The completed tasks with a dependent in the store that their own write did not promote, and that is not covered here. */
  private async needingCheck(batch: readonly Completion[]): Promise<string[]> {
    const byId = new Map(batch.map((c) => [c.id, c]));
    const needed = new Set<string>();
    for (const edge of await this.deps.store.tasks.listDependentEdges([...byId.keys()])) {
      if (needed.has(edge.dependsOn) || byId.get(edge.dependsOn)?.promoted.has(edge.taskId)) continue;
      if (!this.deps.covered(edge.taskId)) needed.add(edge.dependsOn);
    }
    return [...needed];
  }
}
