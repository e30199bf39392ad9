import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createColony } from '../src/app/colony.js';
import { startClaimWorker } from './support/claim-worker.js';
import { useTestDatabase } from './support/postgres.js';
import { eventually, tempDir } from './support/temp-colony.js';

/**
 * Claims under contention: four real worker processes on one PostgreSQL schema take 20,000 tasks
 * submitted in small batches while they run. Their poll is set to ten minutes, so a batch they are not
 * notified of would wait that long: every task completing within the test's time shows no wake-up was
 * lost. Each execution is logged by the worker that ran it: no task ran twice.
 */

const WORKERS = 4;
const TASKS = 20_000;
const BATCH = 250;

const place = useTestDatabase();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('claims under contention on PostgreSQL', () => {
  it(`${WORKERS} workers, ${TASKS} tasks: each runs exactly once, none waits for a poll`, async () => {
    const schema = await place.freshSchema();
    cleanups.push(() => schema.drop());
    const dir = tempDir('colony-contention-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const submitter = await createColony({ projectDir: dir, env: {}, config: { database: { url: schema.url, poolSize: 4 }, log: { level: 'silent' } } });
    cleanups.push(() => submitter.close({ drainTimeoutMs: 0 }));
    // The submitter knows the type but never starts: only the workers run tasks.
    submitter.registerExecutor({ type: 'noop', execute: async () => null });

    const logs = Array.from({ length: WORKERS }, (_, i) => join(dir, `executions-${i}.log`));
    for (const log of logs) await startClaimWorker(cleanups, dir, schema.url, log);

    for (let i = 0; i < TASKS; i += BATCH) {
      await submitter.tasks.submit(Array.from({ length: BATCH }, () => ({ type: 'noop' })));
    }
    const counts = await eventually(async () => {
      const c = await submitter.tasks.countByStatus();
      return c.completed + c.failed + c.cancelled === TASKS ? c : undefined;
    }, 240_000);
    expect(counts).toMatchObject({ completed: TASKS, failed: 0, queued: 0, running: 0 });

    const executions = logs.flatMap((log) => readFileSync(log, 'utf8').split('\n').filter(Boolean));
    const perTask = new Map<string, number>();
    for (const id of executions) perTask.set(id, (perTask.get(id) ?? 0) + 1);
    expect(perTask.size).toBe(TASKS);
    expect([...perTask.values()].filter((n) => n > 1)).toEqual([]);
    // Every worker took a share: the claims were contended, not won by one process.
    for (const log of logs) expect(readFileSync(log, 'utf8').length).toBeGreaterThan(0);
    // Each task was claimed once by the record too.
    const tasks = await submitter.tasks.list({ limit: TASKS });
    expect(tasks.filter((t) => t.attempts !== 1)).toEqual([]);
  });
});
