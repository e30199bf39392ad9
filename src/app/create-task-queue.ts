import { DEFAULTS } from '../kernel/constants.js';
import type { ChangeNotifier } from '../ports/change-notifier.js';
import type { EventBus } from '../ports/event-bus.js';
import type { TaskQueue } from '../ports/task-queue.js';
import { NotifiedQueue } from '../tasks/notified-queue.js';
import { StorePollQueue, type StorePollQueueDeps } from '../tasks/store-poll-queue.js';

export interface TaskQueueChoice extends Omit<StorePollQueueDeps, 'pollIntervalMs'> {
  events: EventBus;
  changes: ChangeNotifier;
  /** `tasks.pollIntervalMs`. */
  pollIntervalMs: number;
}

/**
 * The TaskQueue for the store: its batch claim, woken in process and by a poll; with cross-process
 * notifications (PostgreSQL) also by other processes' hints, the poll then only a slower safety net.
 */
export function createTaskQueue(choice: TaskQueueChoice): TaskQueue {
  const { events, changes, pollIntervalMs, ...deps } = choice;
  if (!changes.crossProcess) return new StorePollQueue({ ...deps, pollIntervalMs });
  const local = new StorePollQueue({ ...deps, pollIntervalMs: Math.max(pollIntervalMs, DEFAULTS.notifiedTaskPollMs) });
  return new NotifiedQueue({ queue: local, notifier: changes, events, now: deps.now });
}
