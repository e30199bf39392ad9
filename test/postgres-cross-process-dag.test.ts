import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createColony } from '../src/app/colony.js';
import type { TaskRecord } from '../src/domain/task.js';
import { startClaimWorker } from './support/claim-worker.js';
import { useTestDatabase } from './support/postgres.js';
import { eventually, tempDir } from './support/temp-colony.js';

/**
 * A DAG submitted by one process (as an API process does) and run by worker processes that started
 * before it was submitted, so they never read its pending tasks: each completion must find its
 * dependents in the store. The workers' poll and reconciliation are ten minutes apart, so a dependent
 * that only reconciliation could promote would not run within the test's time.
 */

const place = useTestDatabase();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a DAG submitted elsewhere, run by workers on PostgreSQL', () => {
  it('every completion promotes its dependents, whoever submitted them; no task starts before its dependencies complete', async () => {
    const schema = await place.freshSchema();
    cleanups.push(() => schema.drop());
    const dir = tempDir('colony-dag-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    for (let i = 0; i < 2; i++) await startClaimWorker(cleanups, dir, schema.url, join(dir, `executions-${i}.log`));

    const submitter = await createColony({ projectDir: dir, env: {}, config: { database: { url: schema.url, poolSize: 2 }, log: { level: 'silent' } } });
    cleanups.push(() => submitter.close({ drainTimeoutMs: 0 }));
    submitter.registerExecutor({ type: 'noop', execute: async () => null });
    const chain = Array.from({ length: 15 }, (_, i) => ({ type: 'noop', name: `c${i}`, dependencies: i === 0 ? [] : [`c${i - 1}`] }));
    const fan = Array.from({ length: 30 }, (_, i) => ({ type: 'noop', name: `f${i}`, dependencies: ['c14'] }));
    const join_ = { type: 'noop', name: 'join', dependencies: fan.map((f) => f.name) };
    const submitted = await submitter.tasks.submit([...chain, ...fan, join_]);

    await eventually(async () => {
      const counts = await submitter.tasks.countByStatus();
      return counts.completed === submitted.length ? counts : undefined;
    }, 120_000);
    const tasks = new Map<string, TaskRecord>();
    for (const t of submitted) tasks.set(t.id, await submitter.tasks.get(t.id));
    for (const task of tasks.values()) {
      expect(task.attempts).toBe(1);
      for (const dep of task.dependencies) expect(task.startedAt ?? 0).toBeGreaterThanOrEqual(tasks.get(dep)?.completedAt ?? Infinity);
    }
  });
});
