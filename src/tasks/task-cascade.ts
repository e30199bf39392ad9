import type { TaskRecord } from '../domain/task.js';
import type { EventBus } from '../ports/event-bus.js';
import type { TaskStore } from '../ports/task-store.js';
import { TASK_EVENT_SOURCE, type TaskTransitions } from './task-transitions.js';

export const DEPENDENCY_FAILED = 'dependency_failed';

/** What the cascades need: they read dependents from the store, change them by transition and say so on the bus. */
export interface CascadeDeps {
  store: { tasks: Pick<TaskStore, 'listDependents' | 'get'> };
  transitions: TaskTransitions;
  events: EventBus;
  now: () => number;
}

/**
 * Cancels every task that (transitively) depends on `root`, which failed or was cancelled: a
 * dependent can never run. Returns the cancelled tasks.
 */
export async function cancelDependents(deps: CascadeDeps, root: TaskRecord): Promise<TaskRecord[]> {
  const cancelled: TaskRecord[] = [];
  const queue: TaskRecord[] = [root];
  const seen = new Set<string>([root.id]);
  while (queue.length > 0) {
    const cause = queue.shift() as TaskRecord;
    for (const id of await deps.store.tasks.listDependents(cause.id)) {
      if (seen.has(id)) continue;
      seen.add(id);
      const task = await deps.store.tasks.get(id);
      if (!task || (task.status !== 'pending' && task.status !== 'queued')) continue;
      const reason = `dependency ${cause.name ?? cause.id} ${cause.status === 'failed' ? 'failed' : 'was cancelled'}`;
      const next = await deps.transitions.apply(task, 'cancelled', {
        error: { code: DEPENDENCY_FAILED, message: reason, attempt: task.attempts },
        completedAt: deps.now(),
      });
      if (!next) continue;
      deps.events.publish(
        'task.cancelled',
        { taskId: next.id, name: next.name, reason, from: task.status },
        { source: TASK_EVENT_SOURCE, correlationId: deps.transitions.correlation(next) },
      );
      cancelled.push(next);
      queue.push(next);
    }
  }
  return cancelled;
}

/** Brings back to pending the dependents that were cancelled only because `root` had failed. */
export async function restoreDependents(deps: Pick<CascadeDeps, 'store' | 'transitions'>, root: TaskRecord): Promise<TaskRecord[]> {
  const restored: TaskRecord[] = [];
  const queue = [root.id];
  const seen = new Set(queue);
  while (queue.length > 0) {
    for (const id of await deps.store.tasks.listDependents(queue.shift() as string)) {
      if (seen.has(id)) continue;
      seen.add(id);
      const task = await deps.store.tasks.get(id);
      if (!task || task.status !== 'cancelled' || task.error?.code !== DEPENDENCY_FAILED) continue;
      const next = await deps.transitions.apply(task, 'pending', { error: null, completedAt: null });
      if (!next) continue;
      restored.push(next);
      queue.push(next.id);
    }
  }
  return restored;
}
