import type { Colony } from '../app/colony.js';
import { CancelledError } from '../domain/errors.js';
import { formatDuration } from '../tasks/duration.js';
import type { SchedulerScope } from '../tasks/task-scheduler.js';

export interface RunOutcome<T> {
  interrupted: boolean;
  signal?: NodeJS.Signals;
  value?: T;
}

/**
 * Runs the engine in this process until `wait` resolves. SIGINT or SIGTERM stops claiming new work
 * and drains running tasks (up to the configured drain timeout); a second signal stops at once, and
 * the interrupted tasks go back to the queue for the next run.
 */
export async function runUntilDone<T>(
  colony: Colony,
  scope: SchedulerScope,
  wait: (signal: AbortSignal) => Promise<T>,
  /** Where notices go; a live display passes its own so they are not drawn over. */
  say: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  /** What the first and second signal are said to do, for commands whose `wait` reacts to the signal otherwise. */
  notices: { first?: (signal: NodeJS.Signals) => string; second?: string } = {},
): Promise<RunOutcome<T>> {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      say(notices.second ?? 'stopping now; interrupted tasks go back to the queue');
      void colony.stop({ drainTimeoutMs: 0 });
      return;
    }
    received = signal;
    say(notices.first?.(signal) ?? `${signal}: letting running tasks finish (up to ${formatDuration(colony.config.tasks.drainTimeoutMs)}); send it again to stop now`);
    controller.abort(new CancelledError(`interrupted by ${signal}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await colony.start({ scope });
    const value = await wait(controller.signal);
    return { interrupted: false, value };
  } catch (error) {
    if (received) return { interrupted: true, signal: received };
    throw error;
  } finally {
    await colony.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
