import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import type { TaskRecord } from '../src/domain/task.js';
import type { TaskQuery } from '../src/ports/task-store.js';
import { TaskDependencies } from '../src/tasks/task-dependencies.js';
import { taskRecord } from './support/task-fixtures.js';
import { tempDir } from './support/temp-colony.js';

/**
 * The pending tasks a process watches, on a real SQLite store: dependencies it does not watch itself
 * (completed elsewhere, or before it started) are looked up in batches, however many tasks share them,
 * and the tasks left with nothing open are promoted together.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openStore(): Promise<SqliteStore> {
  const dir = tempDir('colony-deps-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = new SqliteStore({ path: join(dir, 'colony.db'), busyTimeoutMs: 30_000 });
  cleanups.push(() => store.close());
  await store.migrate();
  return store;
}

/** The store as TaskDependencies sees it, with its reads counted. */
function counted(store: SqliteStore): { tasks: { list: (q: TaskQuery) => Promise<TaskRecord[]> }; reads: TaskQuery[] } {
  const reads: TaskQuery[] = [];
  return {
    reads,
    tasks: {
      list: (query) => {
        reads.push(query);
        return store.tasks.list(query);
      },
    },
  };
}

describe('TaskDependencies', () => {
  it('looks up the outside dependencies of 2,000 watched tasks in a few reads and promotes the ready ones together', async () => {
    const store = await openStore();
    const done = taskRecord('tsk_done', { status: 'completed' });
    const running = taskRecord('tsk_running', { status: 'running' });
    const pending = Array.from({ length: 2_000 }, (_, i) =>
      taskRecord(`tsk_p${String(i).padStart(4, '0')}`, { status: 'pending', dependencies: i % 4 === 0 ? [done.id, running.id] : [done.id] }),
    );
    await store.tasks.insert([done, running, ...pending]);
    const view = counted(store);
    const promoted: TaskRecord[][] = [];
    const deps = new TaskDependencies({ store: view, promote: async (tasks) => void promoted.push([...tasks]) });

    deps.watch(pending);
    await deps.idle();

    // Two distinct outside dependencies: one read, not one per task.
    expect(view.reads).toHaveLength(1);
    expect(promoted).toHaveLength(1);
    const ready = new Set(promoted.flat().map((t) => t.id));
    expect(ready.size).toBe(1_500);
    for (const [i, task] of pending.entries()) expect(ready.has(task.id)).toBe(i % 4 !== 0);

    // The other quarter waits for the running task; its completion here makes them ready.
    expect(deps.readyDependents(running.id).map((t) => t.id)).toEqual(pending.filter((_, i) => i % 4 === 0).map((t) => t.id));
  });

  it('says which watched tasks still wait for a task this process holds, until its completion is seen', async () => {
    const store = await openStore();
    const held = taskRecord('tsk_held', { status: 'running' });
    const other = taskRecord('tsk_other', { status: 'running' });
    const both = taskRecord('tsk_both', { status: 'pending', dependencies: [held.id, other.id] });
    const onlyOther = taskRecord('tsk_only_other', { status: 'pending', dependencies: [other.id] });
    await store.tasks.insert([held, other, both, onlyOther]);
    const deps = new TaskDependencies({ store: counted(store), promote: async () => {} });
    deps.watch([both, onlyOther]);
    await deps.idle();
    const holds = (id: string) => id === held.id;

    expect(deps.waitsOnHeld(both.id, holds)).toBe(true);
    expect(deps.waitsOnHeld(onlyOther.id, holds)).toBe(false);
    expect(deps.waitsOnHeld('tsk_unwatched', () => true)).toBe(false);
    // The held task's completion here is seen: nothing it covered is covered any more.
    expect(deps.readyDependents(held.id)).toEqual([]);
    expect(deps.waitsOnHeld(both.id, holds)).toBe(false);
    expect(deps.waitsOnHeld(both.id, (id) => id === other.id)).toBe(true);
    deps.forget(both.id);
    expect(deps.waitsOnHeld(both.id, () => true)).toBe(false);
  });

  it('reads many distinct dependencies a bounded batch at a time, and a dependency watched here is not read', async () => {
    const store = await openStore();
    const roots = Array.from({ length: 1_200 }, (_, i) => taskRecord(`tsk_r${String(i).padStart(4, '0')}`, { status: 'completed' }));
    const local = taskRecord('tsk_local', { status: 'pending' });
    const leaves = roots.map((root, i) => taskRecord(`tsk_l${String(i).padStart(4, '0')}`, { status: 'pending', dependencies: [root.id, local.id] }));
    await store.tasks.insert([...roots, local, ...leaves]);
    const view = counted(store);
    const promoted: TaskRecord[] = [];
    const deps = new TaskDependencies({ store: view, promote: async (tasks) => void promoted.push(...tasks) });

    deps.watch([local, ...leaves]);
    await deps.idle();

    // 1,200 outside dependencies, at most 500 ids a read; the watched one (still pending) is never read.
    expect(view.reads.length).toBeGreaterThanOrEqual(3);
    expect(view.reads.every((q) => (q.ids?.length ?? Infinity) <= 500 && !q.ids?.includes(local.id))).toBe(true);
    expect(promoted).toEqual([]);
    // Every leaf now waits only for the local task.
    expect(deps.readyDependents(local.id)).toHaveLength(1_200);
  });

  it('a read that fails leaves the tasks pending for reconciliation, and later watches are looked up again', async () => {
    const store = await openStore();
    const done = taskRecord('tsk_done', { status: 'completed' });
    const first = taskRecord('tsk_a', { status: 'pending', dependencies: [done.id] });
    const second = taskRecord('tsk_b', { status: 'pending', dependencies: [done.id] });
    await store.tasks.insert([done, first, second]);
    let fail = true;
    const promoted: string[] = [];
    const deps = new TaskDependencies({
      store: {
        tasks: {
          list: async (query) => {
            if (fail) throw new Error('the store is restarting');
            return store.tasks.list(query);
          },
        },
      },
      promote: async (tasks) => void promoted.push(...tasks.map((t) => t.id)),
    });
    deps.watch([first]);
    await deps.idle();
    expect(promoted).toEqual([]);
    fail = false;
    deps.watch([second]);
    await deps.idle();
    expect(promoted).toEqual([second.id]);
  });
});
