import type { JsonValue } from '../domain/json.js';
import type { TaskRecord } from '../domain/task.js';
import type { TaskStore } from '../ports/task-store.js';

/** Completed tasks whose results are kept here for their dependents, at most (oldest forgotten first). */
const MAX_REMEMBERED = 10_000;

export interface DependencyResultsDeps {
  store: { tasks: Pick<TaskStore, 'list'> };
}

/**
 * The results a task's dependencies produced, handed to its executor (`TaskContext.dependencies`):
 * the way values travel through a DAG. Keyed by each dependency's name, or by its id when it has none
 * or shares its name with another of the task's dependencies. Results of tasks completed in this
 * process, and those read from the store, are kept (a bounded number, oldest forgotten first) so
 * that a chain's next step reads nothing; the others (completed by another process, or forgotten) are
 * read from the store in one query.
 */
export class DependencyResults {
  private readonly deps: DependencyResultsDeps;
  private readonly remembered = new Map<string, { name: string | null; result: JsonValue }>();

  constructor(deps: DependencyResultsDeps) {
    this.deps = deps;
  }

  /**
   * A task is completing here with this result: kept for its dependents. Called before the completion
   * is written, since a dependent may be claimed in the same commit; `forget` if the write does not land.
   */
  completed(task: TaskRecord): void {
    this.remember(task.id, { name: task.name, result: task.result });
  }

  private remember(id: string, entry: { name: string | null; result: JsonValue }): void {
    this.remembered.delete(id);
    this.remembered.set(id, entry);
    if (this.remembered.size > MAX_REMEMBERED) {
      const oldest = this.remembered.keys().next().value;
      if (oldest !== undefined) this.remembered.delete(oldest);
    }
  }

  forget(id: string): void {
    this.remembered.delete(id);
  }

  /**
   * The results of `task`'s dependencies when every one is known here (no read, no promise: the
   * common case of a DAG run in one process); undefined when some must be read (`of`).
   */
  known(task: TaskRecord): Record<string, JsonValue> | undefined {
    if (task.dependencies.length === 0) return {};
    const found = new Map<string, { name: string | null; result: JsonValue }>();
    for (const id of task.dependencies) {
      const known = this.remembered.get(id);
      if (!known) return undefined;
      found.set(id, known);
    }
    return keyedResults(task, found);
  }

  /** The results of `task`'s dependencies (all completed: a task runs only then). */
  async of(task: TaskRecord): Promise<Record<string, JsonValue>> {
    const known = this.known(task);
    if (known) return known;
    const found = new Map<string, { name: string | null; result: JsonValue }>();
    const missing: string[] = [];
    for (const id of task.dependencies) {
      const known = this.remembered.get(id);
      if (known) found.set(id, known);
      else missing.push(id);
    }
    for (const dep of await this.deps.store.tasks.list({ ids: missing })) {
      const entry = { name: dep.name, result: dep.result };
      found.set(dep.id, entry);
      // A completed task's result never changes: kept, so that the dependents of one task completed
      // elsewhere (a gate before thousands) read it once per process, not once each.
      if (dep.status === 'completed') this.remember(dep.id, entry);
    }
    return keyedResults(task, found);
  }
}

/** Keyed by each dependency's name, or by its id when it has none or shares its name with another of the task's dependencies. */
function keyedResults(task: TaskRecord, found: ReadonlyMap<string, { name: string | null; result: JsonValue }>): Record<string, JsonValue> {
  const names = new Map<string, number>();
  for (const id of task.dependencies) {
    const name = found.get(id)?.name;
    if (name) names.set(name, (names.get(name) ?? 0) + 1);
  }
  // Built without a prototype, then given Object's: a dictionary from the start. Keys are task names, new
  // ones in every task of a DAG, and a plain object literal would grow a hidden class per name (2-8 µs a task).
  const results = Object.create(null) as Record<string, JsonValue>;
  for (const id of task.dependencies) {
    const dep = found.get(id);
    if (!dep) continue;
    const key = dep.name && names.get(dep.name) === 1 ? dep.name : id;
    results[key] = dep.result;
  }
  return Object.setPrototypeOf(results, Object.prototype) as Record<string, JsonValue>;
}
