import type { TaskRecord } from '../../../domain/task.js';

/**
 * Orders a batch of tasks so that a parent is inserted before its children (foreign keys are checked
 * at each insert). Both SQL adapters use it; it loads no query builder.
 */
export function parentsFirst(tasks: readonly TaskRecord[]): TaskRecord[] {
  const inBatch = new Set(tasks.map((t) => t.id));
  const placed = new Set<string>();
  const out: TaskRecord[] = [];
  let rest = [...tasks];
  while (rest.length > 0) {
    const next = rest.filter((t) => t.parentId === null || !inBatch.has(t.parentId) || placed.has(t.parentId));
    if (next.length === 0) {
      out.push(...rest); // A parent cycle: let the foreign key report it.
      break;
    }
    for (const t of next) {
      placed.add(t.id);
      out.push(t);
    }
    const done = new Set(next.map((t) => t.id));
    rest = rest.filter((t) => !done.has(t.id));
  }
  return out;
}
