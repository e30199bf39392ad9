import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createColony, type Colony } from '../src/app/colony.js';
import type { ConfigInput } from '../src/app/config.js';
import { ExecutionError } from '../src/domain/errors.js';
import { useTestDatabase } from './support/postgres.js';
import { eventually, tempDir } from './support/temp-colony.js';

/**
 * The notified TaskQueue between two colonies in this process on one PostgreSQL schema (each with its
 * own notification connection, as two processes would have), their polls ten minutes apart.
 */

const place = useTestDatabase();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const NEVER_MS = 10 * 60_000;

async function colonyOn(url: string, tasks: NonNullable<ConfigInput['tasks']> = {}): Promise<Colony> {
  const dir = tempDir('colony-pg-notify-queue-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const colony = await createColony({ projectDir: dir, env: {}, config: { database: { url, poolSize: 4 }, log: { level: 'silent' }, tasks: { pollIntervalMs: NEVER_MS, ...tasks } } });
  cleanups.push(() => colony.close({ drainTimeoutMs: 0 }));
  return colony;
}

/** Runs until aborted (the colony's close). */
const blocking = { type: 'block', execute: ({ signal }: { signal: AbortSignal }) => new Promise<null>((resolve) => signal.addEventListener('abort', () => resolve(null))) };

describe('the notified task queue on PostgreSQL', () => {
  it('announces a retry when its time comes: an idle runner elsewhere takes it while its own runner is busy', async () => {
    const schema = await place.freshSchema();
    cleanups.push(() => schema.drop());
    // A runs two tasks at a time; a failed attempt is retried three seconds later.
    const a = await colonyOn(schema.url, { concurrency: 2, retryBaseDelayMs: 3_000, retryJitter: 0 });
    a.registerExecutor(blocking);
    a.registerExecutor({
      type: 'flaky',
      execute: async ({ task }) => {
        if (task.attempts === 1) throw new ExecutionError('the first attempt fails (retryable)');
        return 'ok';
      },
    });
    await a.start();
    const [flaky] = await a.tasks.submit([{ type: 'block', name: 'first' }, { type: 'flaky', name: 'flaky', maxRetries: 2 }]).then((t) => [t[1]!]);
    await eventually(async () => {
      const task = await a.tasks.get(flaky!.id);
      return (task.status === 'queued' && task.attempts === 1) || undefined;
    });
    // A's slots both busy from here on, so that A cannot take the retry itself.
    await a.tasks.submit([{ type: 'block', name: 'second' }]);
    await eventually(async () => ((await a.store.tasks.countByStatus()).running === 2) || undefined);

    const b = await colonyOn(schema.url);
    b.registerExecutor({ type: 'flaky', execute: async () => 'ok from b' });
    await b.start();
    const done = await eventually(async () => {
      const task = await b.tasks.get(flaky!.id);
      return task.status === 'completed' ? task : undefined;
    });
    expect(done.runnerId).toBe(b.runners.id);
    expect(done.result).toBe('ok from b');
  });
});
