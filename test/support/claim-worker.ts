import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const WORKER_SCRIPT = resolve(import.meta.dirname, '../fixtures/claim-worker.mjs');

/** Longer than any test may take: a worker with this poll learns of new work by notification, or not in time. */
export const POLL_NEVER_MS = 600_000;

/**
 * Starts a worker process (test/fixtures/claim-worker.mjs) on a PostgreSQL database that runs `noop`
 * tasks, logging each execution's task id to `log`, with the given poll interval; resolves once it
 * runs. `cleanups` gets its stop (SIGTERM, then waiting for it to exit).
 */
export async function startClaimWorker(cleanups: (() => Promise<void> | void)[], dir: string, url: string, log: string, pollIntervalMs = POLL_NEVER_MS): Promise<void> {
  const child = spawn(process.execPath, [WORKER_SCRIPT, dir, url, log, String(pollIntervalMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  const [line] = await Promise.race([once(createInterface({ input: child.stdout }), 'line'), exited.then(() => [null])]);
  if (line !== 'started') throw new Error('claim worker exited before it started');
}
