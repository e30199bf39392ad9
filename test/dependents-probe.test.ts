import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import type { TaskRecord } from '../src/domain/task.js';
import { createLogger } from '../src/kernel/logger.js';
import type { PromotableQuery } from '../src/ports/task-store.js';
import { DependentsProbe } from '../src/tasks/dependents-probe.js';
import { taskRecord } from './support/task-fixtures.js';
import { tempDir } from './support/temp-colony.js';

/**
 * The look at a completed task's dependents after its commit, on a real SQLite store: the full
 * readiness query runs only for completions with a dependent their own write did not promote, and
 * every dependent that is ready in the store is handed over for promotion.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openStore(): Promise<SqliteStore> {
  const dir = tempDir('colony-probe-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = new SqliteStore({ path: join(dir, 'colony.db'), busyTimeoutMs: 30_000 });
  cleanups.push(() => store.close());
  await store.migrate();
  return store;
}

function probeOver(store: SqliteStore, covered: ReadonlySet<string> = new Set()): { probe: DependentsProbe; readiness: PromotableQuery[]; promoted: string[] } {
  const readiness: PromotableQuery[] = [];
  const promoted: string[] = [];
  const probe = new DependentsProbe({
    store: {
      tasks: {
        listDependentEdges: (ids) => store.tasks.listDependentEdges(ids),
        listPromotable: (query) => {
          readiness.push(query);
          return store.tasks.listPromotable(query);
        },
      },
    },
    promote: async (tasks: readonly TaskRecord[]) => {
      promoted.push(...tasks.map((t) => t.id));
    },
    covered: (id) => covered.has(id),
    logger: createLogger('silent'),
  });
  return { probe, readiness, promoted };
}

const done = (id: string) => taskRecord(id, { status: 'completed', completedAt: 1 });

describe('DependentsProbe', () => {
  it('skips the readiness query when the completion promoted every dependent, or there are none', async () => {
    const store = await openStore();
    await store.tasks.insert([done('tsk_a'), taskRecord('tsk_b', { status: 'queued', dependencies: ['tsk_a'] }), done('tsk_leaf')]);
    const { probe, readiness, promoted } = probeOver(store);
    probe.completed('tsk_a', ['tsk_b']);
    probe.completed('tsk_leaf', []);
    await probe.idle();
    expect(readiness).toEqual([]);
    expect(promoted).toEqual([]);
  });

  it('finds a ready dependent the completion did not promote (submitted by another process) and leaves a waiting one', async () => {
    const store = await openStore();
    await store.tasks.insert([
      done('tsk_a'),
      taskRecord('tsk_open'),
      // Promoted by the completion's write:
      taskRecord('tsk_mine', { status: 'queued', dependencies: ['tsk_a'] }),
      // Unknown to the completing process, and ready:
      taskRecord('tsk_foreign', { dependencies: ['tsk_a'] }),
      // Still waiting on another task:
      taskRecord('tsk_waits', { dependencies: ['tsk_a', 'tsk_open'] }),
    ]);
    const { probe, readiness, promoted } = probeOver(store);
    probe.completed('tsk_a', ['tsk_mine']);
    await probe.idle();
    expect(readiness.map((q) => q.dependentsOf)).toEqual([['tsk_a']]);
    expect(promoted).toEqual(['tsk_foreign']);
  });

  it('asks about the completions of one tick together, and only about those that need it', async () => {
    const store = await openStore();
    await store.tasks.insert([
      done('tsk_x'),
      done('tsk_y'),
      done('tsk_z'),
      taskRecord('tsk_both', { dependencies: ['tsk_x', 'tsk_y'] }),
      taskRecord('tsk_z1', { status: 'queued', dependencies: ['tsk_z'] }),
    ]);
    const { probe, readiness, promoted } = probeOver(store);
    // Each of x and y completed without promoting tsk_both (each thought the other still open).
    probe.completed('tsk_x', []);
    probe.completed('tsk_y', []);
    probe.completed('tsk_z', ['tsk_z1']);
    await probe.idle();
    expect(readiness).toHaveLength(1);
    expect([...(readiness[0]?.dependentsOf ?? [])].sort()).toEqual(['tsk_x', 'tsk_y']);
    expect(promoted).toEqual(['tsk_both']);
  });

  it('skips a dependent covered here (it waits on a task this process holds), but not one beside it that is not', async () => {
    const store = await openStore();
    await store.tasks.insert([
      done('tsk_a'),
      taskRecord('tsk_held', { status: 'running', attempts: 1 }),
      taskRecord('tsk_waits', { dependencies: ['tsk_a', 'tsk_held'] }),
      done('tsk_b'),
      taskRecord('tsk_ready', { dependencies: ['tsk_b'] }),
      taskRecord('tsk_waits_too', { dependencies: ['tsk_b', 'tsk_held'] }),
    ]);
    const covered = new Set(['tsk_waits', 'tsk_waits_too']);
    const { probe, readiness, promoted } = probeOver(store, covered);
    probe.completed('tsk_a', []);
    probe.completed('tsk_b', []);
    await probe.idle();
    // tsk_a's only dependent is covered: no readiness query for it. tsk_b has one that is not.
    expect(readiness.map((q) => q.dependentsOf)).toEqual([['tsk_b']]);
    expect(promoted).toEqual(['tsk_ready']);
  });
});
