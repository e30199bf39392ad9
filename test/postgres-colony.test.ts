import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createColony, type Colony } from '../src/app/colony.js';
import { useTestDatabase } from './support/postgres.js';
import { startColonyProcess } from './support/colony-process.js';
import { eventually, tempDir } from './support/temp-colony.js';

/**
 * A whole colony on PostgreSQL, chosen by `database.url`: the engine, its events and its memory on a
 * fresh schema of a real server; then real Colony processes (test/fixtures/colony-process.mjs, on the
 * built code) sharing that schema with this test's colony.
 */

const place = useTestDatabase();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function colonyOn(url: string): Promise<Colony> {
  const dir = tempDir('colony-pg-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const colony = await createColony({ projectDir: dir, env: {}, config: { database: { url, poolSize: 4 }, log: { level: 'silent' }, tasks: { pollIntervalMs: 20 } } });
  cleanups.push(() => colony.close({ drainTimeoutMs: 0 }));
  return colony;
}

async function schemaUrl(): Promise<string> {
  const schema = await place.freshSchema();
  cleanups.push(() => schema.drop());
  return schema.url;
}


describe('a colony on PostgreSQL (database.url)', () => {
  it('runs a fan-out and join DAG, with its events and memory in the database', async () => {
    const colony = await colonyOn(await schemaUrl());
    expect(colony.storeLocation).toMatch(/^postgres/);
    expect(colony.storeLocation).not.toMatch(/password/);
    colony.registerExecutor({ type: 'double', execute: async ({ task }) => 2 * Number((task.input as { n: number }).n) });
    const branches = Array.from({ length: 12 }, (_, i) => ({ type: 'double', name: `b${i}`, input: { n: i } }));
    const submitted = await colony.tasks.submit([...branches, { type: 'double', name: 'join', input: { n: 100 }, dependencies: branches.map((b) => b.name) }]);
    await colony.start();
    const done = await eventually(async () => {
      const counts = await colony.store.tasks.countByStatus();
      return counts.completed === submitted.length ? counts : undefined;
    });
    expect(done).toMatchObject({ completed: 13, failed: 0 });
    const join = await colony.tasks.get(submitted.at(-1)!.id);
    const branchTasks = await Promise.all(submitted.slice(0, -1).map((t) => colony.tasks.get(t.id)));
    // The join started only after every branch had completed.
    expect(join.startedAt ?? 0).toBeGreaterThanOrEqual(Math.max(...branchTasks.map((t) => t.completedAt ?? Infinity)));
    expect(branchTasks.map((t) => t.result)).toEqual(Array.from({ length: 12 }, (_, i) => 2 * i));

    await colony.events.flush();
    const started = await colony.events.list({ types: ['task.started'], limit: 100 });
    expect(new Set(started.map((e) => (e.data as { taskId: string }).taskId))).toEqual(new Set(submitted.map((t) => t.id)));

    const memory = await colony.memory();
    await memory.store('notes', 'pg', { on: 'postgres' }, { tags: ['team'] });
    expect((await memory.retrieve('notes', 'pg'))?.value).toEqual({ on: 'postgres' });
    const found = await memory.search('postgres', { namespace: 'notes' });
    expect(found.hits.map((r) => r.entry.key)).toContain('pg');
  });

  it('two processes on one PostgreSQL schema run 200 tasks, each exactly once', async () => {
    const url = await schemaUrl();
    const colony = await colonyOn(url);
    // This colony only submits and reads (it is not started); the two processes run the work.
    colony.registerExecutor({ type: 'noop', execute: async ({ task }) => task.id });
    const dir = tempDir('colony-pg-proc-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const processes = await Promise.all([startColonyProcess(cleanups, dir, url), startColonyProcess(cleanups, dir, url)]);
    const tasks = await colony.tasks.submit(Array.from({ length: 200 }, (_, i) => ({ type: 'noop', name: `t${i}` })));
    const done = await eventually(async () => {
      if (processes.some((p) => p.exitCode !== null)) throw new Error('a colony process exited before it was stopped');
      const counts = await colony.store.tasks.countByStatus();
      return counts.completed === tasks.length ? counts : undefined;
    });
    expect(done).toMatchObject({ completed: 200, failed: 0, running: 0, queued: 0 });
    const finished = await colony.store.tasks.list({ limit: 300 });
    expect(finished.map((t) => t.attempts)).toEqual(finished.map(() => 1));
    // Each task's result is its own id (the executor returns it): nothing ran twice or crossed over.
    expect(finished.every((t) => t.result === t.id)).toBe(true);
    const runners = await colony.store.runners.list();
    expect(new Set(runners.map((r) => r.pid))).toEqual(new Set(processes.map((p) => p.pid)));
    // The processes persist their events in batches after the task records: wait for the log to settle.
    const started = await eventually(async () => {
      const events = await colony.store.events.list({ types: ['task.started'], limit: 1_000 });
      return events.length >= 200 ? events : undefined;
    });
    expect(started).toHaveLength(200);
    expect(new Set(started.map((e) => (e.data as { taskId: string }).taskId)).size).toBe(200);
  });
});
