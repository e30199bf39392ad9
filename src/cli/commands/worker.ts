import type { GlobalOptions } from '../cli-context.js';
import { openColony } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { color, printJson } from '../output.js';
import { runUntilDone } from '../run-until-done.js';

/**
 * `colony worker`: runs queued tasks in the foreground (any workflow, any process submitted them)
 * until interrupted, or with --until-idle until nothing is left to run.
 */
export async function workerCommand(options: GlobalOptions & { concurrency?: number; untilIdle?: boolean }): Promise<number> {
  const colony = await openColony(options, 'worker', options.concurrency ? { tasks: { concurrency: options.concurrency } } : {});
  let completed = 0;
  let failed = 0;
  colony.events.subscribe({ types: ['task.completed', 'task.failed'] }, (e) => {
    if (e.type === 'task.completed') completed++;
    else if (!e.data.willRetry) failed++;
  });
  try {
    if (!options.json) process.stderr.write(`${color.bold('worker')} ${colony.runners.id} running tasks (Ctrl-C to stop)\n`);
    const outcome = await runUntilDone(colony, {}, async (signal) => {
      if (!options.untilIdle) {
        // The engine's timers are unref'd (a library must not hold its host process open), so the
        // worker holds the event loop itself until a signal arrives; otherwise it would exit at once.
        const keepAlive = setInterval(() => undefined, 1 << 30);
        try {
          await new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
        } finally {
          clearInterval(keepAlive);
        }
      }
      for (;;) {
        const counts = await colony.tasks.countByStatus();
        if (counts.queued + counts.running === 0 && (counts.pending === 0 || (await noPendingCanRun(colony)))) return counts;
        await new Promise((r) => setTimeout(r, colony.config.tasks.pollIntervalMs));
        if (signal.aborted) throw signal.reason;
      }
    });
    if (options.json) printJson({ runner: colony.runners.id, completed, failed, interrupted: outcome.interrupted });
    else process.stderr.write(`worker stopped: ${completed} completed, ${failed} failed\n`);
    if (outcome.interrupted) return outcome.signal === 'SIGTERM' ? 143 : EXIT.interrupted;
    return failed > 0 ? EXIT.failed : EXIT.ok;
  } finally {
    await colony.close();
  }
}

/** Pending tasks wait on dependencies; if none of those is queued or running, nothing can move. */
async function noPendingCanRun(colony: Awaited<ReturnType<typeof openColony>>): Promise<boolean> {
  const promotable = await colony.tasks.listPromotable({ limit: 1 });
  return promotable.length === 0;
}
