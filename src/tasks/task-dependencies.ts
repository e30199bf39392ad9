import type { TaskRecord } from '../domain/task.js';
import type { TaskStore } from '../ports/task-store.js';

export interface TaskDependenciesDeps {
  store: { tasks: Pick<TaskStore, 'get'> };
  /** A watched task whose dependencies have all completed, as the store says: queue it. */
  promote: (task: TaskRecord) => Promise<void>;
}

/**
 * The pending tasks this process knows of and the dependencies each still waits for, so that a
 * completion here promotes the dependents it makes ready in the same write. A cache of the store:
 * what other processes settle is found by the scheduler's reconciliation.
 */
export class TaskDependencies {
  private readonly deps: TaskDependenciesDeps;
  /** Watched pending tasks, as last read or written here. */
  private readonly pending = new Map<string, TaskRecord>();
  /** Watched task -> its dependencies not known to have completed. */
  private readonly open = new Map<string, Set<string>>();
  /** Dependency -> the watched tasks waiting for it. */
  private readonly waiting = new Map<string, Set<string>>();

  constructor(deps: TaskDependenciesDeps) {
    this.deps = deps;
  }

  get(id: string): TaskRecord | undefined {
    return this.pending.get(id);
  }

  /**
   * Watches pending tasks. Dependencies that are not themselves watched may have completed already
   * (elsewhere, or before this process started): those are checked in the store.
   */
  watch(tasks: readonly TaskRecord[]): void {
    const added: TaskRecord[] = [];
    for (const task of tasks) {
      if (task.status !== 'pending') continue;
      const known = this.pending.get(task.id);
      this.pending.set(task.id, task);
      if (known) continue;
      added.push(task);
      const open = new Set(task.dependencies);
      this.open.set(task.id, open);
      for (const dep of open) {
        let set = this.waiting.get(dep);
        if (!set) this.waiting.set(dep, (set = new Set()));
        set.add(task.id);
      }
    }
    for (const task of added) {
      const unseen = task.dependencies.filter((d) => !this.pending.has(d));
      // A read that fails (the store restarting) leaves the task pending: the scheduler's
      // reconciliation promotes it once its dependencies have completed (listPromotable).
      if (unseen.length > 0) void this.check(task.id, unseen).catch(() => undefined);
    }
  }

  /** Pending dependents of `id`, which completed, whose last open dependency it was. */
  readyDependents(id: string): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const dependentId of this.waiting.get(id) ?? []) {
      const open = this.open.get(dependentId);
      const task = this.pending.get(dependentId);
      if (!open || !task) continue;
      open.delete(id);
      if (open.size === 0) out.push(task);
    }
    return out;
  }

  /** `id` settled: nothing waits for it here any more (its dependents were promoted or cancelled). */
  settled(id: string): void {
    this.waiting.delete(id);
    this.forget(id);
  }

  /** Stops watching a task (it was queued, claimed, or settled). */
  forget(id: string): void {
    for (const dep of this.open.get(id) ?? []) {
      const set = this.waiting.get(dep);
      set?.delete(id);
      if (set?.size === 0) this.waiting.delete(dep);
    }
    this.pending.delete(id);
    this.open.delete(id);
  }

  private async check(taskId: string, ids: readonly string[]): Promise<void> {
    const found = await Promise.all(ids.map((d) => this.deps.store.tasks.get(d)));
    const open = this.open.get(taskId);
    if (!open) return;
    for (const dep of found) if (dep && dep.status === 'completed') open.delete(dep.id);
    const task = this.pending.get(taskId);
    if (open.size === 0 && task) await this.deps.promote(task);
  }
}
