import type { GlobalOptions } from '../cli-context.js';
import { openColony } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { color, printJson } from '../output.js';
import { runUntilDone } from '../run-until-done.js';

export interface WorkerOptions extends GlobalOptions {
  concurrency?: number;
  untilIdle?: boolean;
  /** Worker pools to serve (checked by the option's parser): their tasks and unpooled ones run here. */
  pool?: string[];
}

/**
 * `colony worker`: runs queued tasks in the foreground (any workflow, any process submitted them) and
 * coordinates swarms no live process coordinates, until interrupted, or with --until-idle until
 * nothing this worker could run is left. Any number of workers, on any host that reaches the database,
 * share the work; `--pool` makes this one serve worker pools as well as unpooled work.
 */
export async function workerCommand(options: WorkerOptions): Promise<number> {
  const pools = options.pool ?? [];
  const colony = await openColony(options, 'worker', options.concurrency ? { tasks: { concurrency: options.concurrency } } : {}, { role: { pools } });
  let completed = 0;
  let failed = 0;
  colony.events.subscribe({ types: ['task.completed', 'task.failed'] }, (e) => {
    if (e.type === 'task.completed') completed++;
    else if (!e.data.willRetry) failed++;
  });
  try {
    if (!options.json) {
      const serving = pools.length > 0 ? ` of pool${pools.length > 1 ? 's' : ''} ${pools.join(', ')} and unpooled ones` : '';
      process.stderr.write(`${color.bold('worker')} ${colony.runners.id} running tasks${serving} (Ctrl-C to stop)\n`);
    }
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
        // Queued tasks of pools this worker does not serve are not its to wait for.
        const queued = counts.queued === 0 ? 0 : await queuedForThisWorker(colony, pools);
        if (queued + counts.running === 0 && (counts.pending === 0 || (await noPendingCanRun(colony)))) return counts;
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

type OpenedColony = Awaited<ReturnType<typeof openColony>>;

/** Queued tasks this worker may take: unpooled ones and those of its pools. */
async function queuedForThisWorker(colony: OpenedColony, pools: readonly string[]): Promise<number> {
  const counts = await Promise.all([null, ...pools].map((pool) => colony.tasks.count({ status: 'queued', pool })));
  return counts.reduce((sum, n) => sum + n, 0);
}

/** Pending tasks wait on dependencies; if none of those is queued or running, nothing can move. */
async function noPendingCanRun(colony: OpenedColony): Promise<boolean> {
  const promotable = await colony.tasks.listPromotable({ limit: 1 });
  return promotable.length === 0;
}
