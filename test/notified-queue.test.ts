import { describe, expect, it } from 'vitest';
import { LocalChangeNotifier } from '../src/adapters/notify/local-change-notifier.js';
import { createLogger } from '../src/kernel/logger.js';
import { LocalEventBus } from '../src/kernel/local-event-bus.js';
import type { TaskQueue } from '../src/ports/task-queue.js';
import { NotifiedQueue } from '../src/tasks/notified-queue.js';
import { eventually } from './support/temp-colony.js';

/**
 * The team-mode queue announces the tasks this process makes ready to the other processes' runners
 * (a `tasks` hint) and claims again itself; a dependent its runner took in the completion's own write
 * (`task.queued` with `takenBy`) is running already, and wakes nobody.
 */
describe('NotifiedQueue', () => {
  it('announces a queued task to other processes and wakes its own runner, but not a task its runner took in the same write', async () => {
    const logger = createLogger('silent');
    const events = new LocalEventBus({ logger, bufferSize: 100 });
    const peers = new Set<LocalChangeNotifier>();
    const here = new LocalChangeNotifier({ peers, logger });
    const elsewhere = new LocalChangeNotifier({ peers, logger });
    let hints = 0;
    elsewhere.listen('tasks', () => hints++);
    let sentinels = 0;
    elsewhere.listen('events', () => sentinels++);
    let wakes = 0;
    const wrapped = { wake: () => wakes++ } as unknown as TaskQueue;
    new NotifiedQueue({ queue: wrapped, notifier: here, events, now: Date.now });
    // Hints are delivered in the order sent: once a later one has arrived, any earlier one has too.
    const settle = async () => {
      await events.flush();
      const before = sentinels;
      here.notify('events');
      await eventually(() => sentinels > before);
    };

    events.publish('task.queued', { taskId: 'tsk_taken', name: null, takenBy: 'run_here' }, { source: 'test', correlationId: 'tsk_taken' });
    await settle();
    expect({ wakes, hints }).toEqual({ wakes: 0, hints: 0 });

    events.publish('task.queued', { taskId: 'tsk_open', name: null }, { source: 'test', correlationId: 'tsk_open' });
    await settle();
    expect({ wakes, hints }).toEqual({ wakes: 1, hints: 1 });
    await Promise.all([here.close(), elsewhere.close()]);
  });
});
