import type { TaskRecord } from '../domain/task.js';
import type { TaskStore } from '../ports/task-store.js';

export interface TaskDependenciesDeps {
  store: { tasks: Pick<TaskStore, 'list'> };
  /** Watched tasks whose dependencies have all completed, as the store says: queue them. */
  promote: (tasks: readonly TaskRecord[]) => Promise<void>;
}

/** Dependencies looked up in the store per read: a bounded IN list. */
const LOOKUP_BATCH = 500;

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
  /** Newly watched tasks whose dependencies outside this cache are to be looked up, gathered over a tick. */
  private readonly unchecked = new Set<string>();
  private checking: Promise<void> | null = null;

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
    for (const task of added) if (task.dependencies.some((d) => !this.pending.has(d))) this.unchecked.add(task.id);
    // One read for the dependencies of everything watched in this tick (a whole DAG shares its roots).
    if (this.unchecked.size > 0) this.checking ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.checkUnchecked());
  }

  /** Resolves when the dependencies of every task watched so far have been looked up. */
  async idle(): Promise<void> {
    while (this.checking) await this.checking;
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

  /**
   * Whether `id` is watched here and still waits for a dependency that `held` says this process holds
   * (running, or being started): that dependency's completion here will promote it, in its own write
   * or by its probe, so a probe for it now would find nothing.
   */
  waitsOnHeld(id: string, held: (dependency: string) => boolean): boolean {
    const open = this.open.get(id);
    if (!open || !this.pending.has(id)) return false;
    for (const dependency of open) if (held(dependency)) return true;
    return false;
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

  /**
   * Looks up the watched tasks' dependencies that are not themselves watched (completed elsewhere, or
   * before this process started), a batch of ids per read, and promotes the tasks left with none open.
   * A read that fails (the store restarting) leaves them pending: the scheduler's reconciliation
   * promotes them once their dependencies have completed (listPromotable).
   */
  private async checkUnchecked(): Promise<void> {
    try {
      while (this.unchecked.size > 0) {
        const taskIds: string[] = [];
        const depIds = new Set<string>();
        for (const id of this.unchecked) {
          const open = this.open.get(id);
          const outside = [...(open ?? [])].filter((d) => !this.pending.has(d));
          if (depIds.size > 0 && depIds.size + outside.length > LOOKUP_BATCH) break;
          this.unchecked.delete(id);
          taskIds.push(id);
          for (const d of outside) depIds.add(d);
        }
        const completed = new Set<string>();
        const ids = [...depIds];
        for (let i = 0; i < ids.length; i += LOOKUP_BATCH) {
          for (const dep of await this.deps.store.tasks.list({ ids: ids.slice(i, i + LOOKUP_BATCH), status: 'completed' })) completed.add(dep.id);
        }
        const ready: TaskRecord[] = [];
        for (const id of taskIds) {
          const open = this.open.get(id);
          const task = this.pending.get(id);
          if (!open || !task) continue;
          for (const d of open) if (completed.has(d)) open.delete(d);
          if (open.size === 0) ready.push(task);
        }
        if (ready.length > 0) await this.deps.promote(ready);
      }
    } catch {
      this.unchecked.clear();
    } finally {
      this.checking = null;
    }
  }
}
