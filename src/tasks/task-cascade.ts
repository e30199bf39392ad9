import type { TaskRecord } from '../domain/task.js';
import type { Store } from '../ports/store.js';
import { TASK_EVENT_SOURCE, type TaskTransitions } from './task-transitions.js';

export const DEPENDENCY_FAILED = 'dependency_failed';

/**
 * Cancels every task that (transitively) depends on `root`, which failed or was cancelled: a
 * dependent can never run. Returns the cancelled tasks.
 */
export async function cancelDependents(store: Store, transitions: TaskTransitions, root: TaskRecord): Promise<TaskRecord[]> {
  const cancelled: TaskRecord[] = [];
  const queue: TaskRecord[] = [root];
  const seen = new Set<string>([root.id]);
  while (queue.length > 0) {
    const cause = queue.shift() as TaskRecord;
    for (const id of await store.listDependents(cause.id)) {
      if (seen.has(id)) continue;
      seen.add(id);
      const task = await store.getTask(id);
      if (!task || (task.status !== 'pending' && task.status !== 'queued')) continue;
      const reason = `dependency ${cause.name ?? cause.id} ${cause.status === 'failed' ? 'failed' : 'was cancelled'}`;
      const next = await transitions.apply(task, 'cancelled', {
        error: { code: DEPENDENCY_FAILED, message: reason, attempt: task.attempts },
        completedAt: Date.now(),
      });
      if (!next) continue;
      transitions.events.publish(
        'task.cancelled',
        { taskId: next.id, name: next.name, reason, from: task.status },
        { source: TASK_EVENT_SOURCE, correlationId: transitions.correlation(next) },
      );
      cancelled.push(next);
      queue.push(next);
    }
  }
  return cancelled;
}

/** Brings back to pending the dependents that were cancelled only because `root` had failed. */
export async function restoreDependents(store: Store, transitions: TaskTransitions, root: TaskRecord): Promise<TaskRecord[]> {
  const restored: TaskRecord[] = [];
  const queue = [root.id];
  const seen = new Set(queue);
  while (queue.length > 0) {
    for (const id of await store.listDependents(queue.shift() as string)) {
      if (seen.has(id)) continue;
      seen.add(id);
      const task = await store.getTask(id);
      if (!task || task.status !== 'cancelled' || task.error?.code !== DEPENDENCY_FAILED) continue;
      const next = await transitions.apply(task, 'pending', { error: null, completedAt: null });
      if (!next) continue;
      restored.push(next);
      queue.push(next.id);
    }
  }
  return restored;
}
