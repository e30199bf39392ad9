import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import type { TaskRecord } from '../src/domain/task.js';
import { taskRecord } from './support/task-fixtures.js';
import { tempDir } from './support/temp-colony.js';

/**
 * Batch claims across connections and processes sharing one SQLite file: every ready task is claimed
 * exactly once, whoever asks. (The Store conformance suite covers claims on one connection.)
 */

const CLAIMER = resolve(import.meta.dirname, 'fixtures/claim-tasks-process.mjs');
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function database(tasks: number): Promise<{ path: string; store: SqliteStore; ids: string[] }> {
  const dir = tempDir('colony-claims-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'colony.db');
  const store = open(path);
  await store.migrate();
  const ids = Array.from({ length: tasks }, (_, i) => `tsk_${String(i).padStart(5, '0')}`);
  await store.tasks.insert(ids.map((id, i) => taskRecord(id, { status: 'queued', priority: i % 5 })));
  return { path, store, ids };
}

function open(path: string): SqliteStore {
  const store = new SqliteStore({ path, busyTimeoutMs: 30_000 });
  cleanups.push(() => store.close());
  return store;
}

/** Claims batches until the store has none left; returns what this claimer got. */
async function drain(store: SqliteStore, runnerId: string, batch: number): Promise<TaskRecord[]> {
  const claimed: TaskRecord[] = [];
  for (;;) {
    const tasks = await store.tasks.claimReady({ runnerId, scope: {}, limit: batch, now: Date.now() });
    if (tasks.length === 0) return claimed;
    claimed.push(...tasks);
  }
}

describe('claiming ready tasks from one file', () => {
  it('two connections claiming at once: every task once, each held by the one that claimed it', async () => {
    const { path, store, ids } = await database(300);
    const other = open(path);
    const [a, b] = await Promise.all([drain(store, 'run_a', 7), drain(other, 'run_b', 5)]);
    const all = [...a, ...b].map((t) => t.id);
    expect(all.sort()).toEqual(ids);
    // Both took part (each claim is one transaction; they interleave).
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    const stored = await store.tasks.list({ status: 'running', limit: 1_000 });
    const holder = new Map([...a.map((t) => [t.id, 'run_a'] as const), ...b.map((t) => [t.id, 'run_b'] as const)]);
    expect(stored).toHaveLength(ids.length);
    for (const task of stored) expect({ id: task.id, runnerId: task.runnerId, attempts: task.attempts }).toEqual({ id: task.id, runnerId: holder.get(task.id), attempts: 1 });
  });

  it('two processes claiming at once (built code): every task once between them', async () => {
    const { path, store, ids } = await database(600);
    const children = ['run_p1', 'run_p2'].map((runnerId) => {
      const child = spawn(process.execPath, [CLAIMER, path, runnerId, '4'], { stdio: ['pipe', 'pipe', 'inherit'] });
      const exited = once(child, 'exit');
      cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      });
      return { runnerId, child, lines: createInterface({ input: child.stdout })[Symbol.asyncIterator]() };
    });
    for (const { lines } of children) expect((await lines.next()).value).toBe('ready');
    for (const { child } of children) child.stdin.write('go\n');
    const results = await Promise.all(children.map(async ({ runnerId, lines }) => ({ runnerId, ids: JSON.parse((await lines.next()).value as string) as string[] })));
    expect(results.flatMap((r) => r.ids).sort()).toEqual(ids);
    for (const { runnerId, ids: claimed } of results) {
      for (const id of claimed) expect((await store.tasks.get(id))?.runnerId).toBe(runnerId);
    }
  });
});
