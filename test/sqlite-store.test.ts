import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kyselyDatabaseFor } from '../src/adapters/storage/sqlite/node-sqlite-kysely.js';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import { colonyMigrations } from '../src/adapters/storage/sql/migrations.js';
import { ColonyError } from '../src/domain/errors.js';
import type { TaskRecord } from '../src/domain/task.js';
import { runStoreConformance } from './conformance/store.js';
import { runModelCallLedgerConformance } from './conformance/model-call-ledger.js';
import { runSwarmStoreConformance } from './conformance/swarm-store.js';
import { runTaskProcessStoreConformance } from './conformance/task-process-store.js';
import { T, taskRecord } from './support/task-fixtures.js';


function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'colony-sqlite-'));
}

function openStore(path: string): SqliteStore {
  return new SqliteStore({ path, busyTimeoutMs: 5_000 });
}

runStoreConformance('sqlite (temp file)', async () => {
  const dir = tempDir();
  return {
    store: openStore(join(dir, 'colony.db')),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

runSwarmStoreConformance('sqlite (temp file)', async () => {
  const dir = tempDir();
  return {
    store: openStore(join(dir, 'colony.db')),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

runModelCallLedgerConformance('sqlite (temp file)', async () => {
  const dir = tempDir();
  return {
    store: openStore(join(dir, 'colony.db')),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

runTaskProcessStoreConformance('sqlite (temp file)', async () => {
  const dir = tempDir();
  return {
    store: openStore(join(dir, 'colony.db')),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

function task(id: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return taskRecord(id, { input: { id }, ...overrides });
}

describe('SqliteStore specifics', () => {
  let dir: string;
  let path: string;
  const opened: SqliteStore[] = [];
  const raw: DatabaseSync[] = [];

  function open(): SqliteStore {
    const store = openStore(path);
    opened.push(store);
    return store;
  }

  function openRaw(): DatabaseSync {
    const db = new DatabaseSync(path);
    raw.push(db);
    return db;
  }

  beforeEach(() => {
    dir = tempDir();
    path = join(dir, 'nested', 'colony.db');
  });

  afterEach(async () => {
    for (const db of raw.splice(0)) if (db.isOpen) db.close();
    for (const store of opened.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the parent directory and puts the file in WAL mode', async () => {
    const store = open();
    await store.migrate();
    expect(store.location).toBe(path);
    const db = openRaw();
    expect((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode).toBe('wal');
  });

  it('has the real indexes, and the hot queries use them', async () => {
    await open().migrate();
    const db = openRaw();
    const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).all() as { name: string }[]).map((r) => r.name);
    for (const index of [
      'idx_task_dependencies_depends_on',
      'idx_events_correlation',
      'idx_events_type',
      'idx_metrics_entity',
      'idx_metrics_name',
      'idx_agents_status',
      'idx_workflows_hash',
    ]) {
      expect(names, index).toContain(index);
    }
    // Index names on tasks may change as the schema is tuned; what must hold is that the queries the
    // engine runs on every state change search an index instead of scanning the table.
    const searches = (query: string, table: string) => {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${query}`).all() as { detail: string }[]).map((r) => r.detail);
      const touching = plan.filter((d) => new RegExp(`\\b${table}\\b`).test(d));
      expect(touching.length, query).toBeGreaterThan(0);
      for (const detail of touching) expect(detail, `${query}\n${plan.join('\n')}`).toMatch(/USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY|USING PRIMARY KEY/);
      return plan.join('\n');
    };
    searches(`SELECT id FROM tasks WHERE status = 'queued' ORDER BY priority DESC, id LIMIT 10`, 'tasks');
    searches(`SELECT id FROM tasks WHERE status = 'pending' LIMIT 10`, 'tasks');
    searches(`SELECT id FROM tasks WHERE status = 'running' AND runner_id IN ('a', 'b')`, 'tasks');
    searches(`SELECT id FROM tasks WHERE workflow_id = 'wf'`, 'tasks');
    searches(`SELECT id FROM tasks WHERE parent_id = 'p'`, 'tasks');
    searches(`SELECT task_id FROM task_dependencies WHERE depends_on = 'x'`, 'task_dependencies');
    expect(searches(`SELECT * FROM events WHERE correlation_id = 'c' ORDER BY id`, 'events')).toContain('idx_events_correlation');
    expect(searches(`SELECT * FROM metrics WHERE entity_type = 'agent' AND entity_id = 'a'`, 'metrics')).toContain('idx_metrics_entity');
    searches(`SELECT * FROM workflows WHERE definition_hash = 'h' AND status = 'running'`, 'workflows');
  });

  it('enforces foreign keys', async () => {
    const store = open();
    await store.migrate();
    const missingWorkflow = await store.tasks.insert([task('tsk_1', { workflowId: 'wf_missing' })]).catch((e: unknown) => e);
    expect(missingWorkflow).toBeInstanceOf(ColonyError);
    expect((missingWorkflow as ColonyError).code).toBe('validation');
    const missingAgent = await store.tasks.insert([task('tsk_2', { assignedAgent: 'agt_missing' })]).catch((e: unknown) => e);
    expect((missingAgent as ColonyError).code).toBe('validation');
    expect(await store.tasks.count({})).toBe(0);
    // An update pointing at a missing agent is refused too, and leaves the task as it was.
    await store.tasks.insert([task('tsk_3')]);
    const badUpdate = await store.tasks.update(task('tsk_3', { assignedAgent: 'agt_missing', status: 'queued' }), { status: 'pending', attempts: 0 }).catch((e: unknown) => e);
    expect((badUpdate as ColonyError).code).toBe('validation');
    expect((await store.tasks.get('tsk_3'))?.status).toBe('pending');
    expect(openRaw().prepare('PRAGMA foreign_key_check').all()).toEqual([]);
  });

  it('rejects values the schema forbids with a validation error', async () => {
    const store = open();
    await store.migrate();
    const error = await store.tasks.insert([task('tsk_1', { maxAttempts: 0 })]).catch((e: unknown) => e);
    expect((error as ColonyError).code).toBe('validation');
    const status = await store.tasks.insert([task('tsk_2', { status: 'bogus' as never })]).catch((e: unknown) => e);
    expect((status as ColonyError).code).toBe('validation');
  });

  it('shares one file between two stores (as between processes)', async () => {
    const a = open();
    const b = open();
    await Promise.all([a.migrate(), b.migrate()]);
    await a.tasks.insert([task('tsk_1', { status: 'queued' })]);
    expect(await b.tasks.get('tsk_1')).toMatchObject({ id: 'tsk_1', status: 'queued' });

    await b.events.append([{ type: 'task.created', source: 'b', data: { from: 'b' }, correlationId: null, timestamp: T }]);
    expect((await a.events.list({})).map((e) => e.source)).toEqual(['b']);

    // Both claim the same task at once: the compare-and-set lets exactly one win across connections.
    const claim = (store: SqliteStore, runnerId: string) =>
      store.tasks.update(task('tsk_1', { status: 'running', attempts: 1, runnerId }), { status: 'queued', attempts: 0 });
    const outcomes = await Promise.all([claim(a, 'run_a'), claim(b, 'run_b')]);
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const winner = outcomes[0] ? 'run_a' : 'run_b';
    expect((await a.tasks.get('tsk_1'))?.runnerId).toBe(winner);
    expect((await b.tasks.get('tsk_1'))?.runnerId).toBe(winner);
  });

  it('lets several stores migrate one new file at the same time', async () => {
    const stores = [open(), open(), open(), open()];
    await Promise.all(stores.map((s) => s.migrate()));
    const versions = await Promise.all(stores.map((s) => s.schemaVersion()));
    expect(new Set(versions)).toEqual(new Set([Object.keys(colonyMigrations('sqlite')).sort().at(-1)]));
    await (stores[0] as SqliteStore).tasks.insert([task('tsk_1')]);
    expect(await (stores[3] as SqliteStore).tasks.get('tsk_1')).toBeDefined();
  });

  it('reopens a database and migrates it again cleanly', async () => {
    const first = open();
    await first.migrate();
    await first.tasks.insert([task('tsk_1'), task('tsk_2', { dependencies: ['tsk_1'] })]);
    const version = await first.schemaVersion();
    await first.close();

    const second = open();
    await second.migrate();
    expect(await second.schemaVersion()).toBe(version);
    expect(await second.tasks.get('tsk_2')).toEqual(task('tsk_2', { dependencies: ['tsk_1'] }));
    expect(await second.tasks.listDependents('tsk_1')).toEqual(['tsk_2']);
    await second.close();

    const third = open();
    await third.migrate();
    expect(await third.tasks.count({})).toBe(2);
  });

  it('upgrades a database created by migration 0001 only to the latest schema', async () => {
    // Build the oldest released schema with nothing but its own migration, as an old Colony did.
    path = join(dir, 'old.db');
    const db = new DatabaseSync(path);
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: kyselyDatabaseFor(db) }) });
    const all = colonyMigrations('sqlite');
    const initial = all['0001_initial'];
    expect(initial).toBeDefined();
    const result = await new Migrator({
      db: kysely,
      provider: { getMigrations: async () => ({ '0001_initial': initial as NonNullable<typeof initial> }) },
    }).migrateToLatest();
    expect(result.error).toBeUndefined();
    db.prepare(
      `INSERT INTO tasks (id, type, description, status, priority, input, dependencies, requirements, max_retries, max_attempts, attempts, created_at, updated_at)
       VALUES ('tsk_old', 'noop', 'from 0001', 'pending', 50, '{"a":1}', '[]', '{}', 0, 1, 0, ${T}, ${T})`,
    ).run();
    await kysely.destroy();
    db.close();

    const store = open();
    await store.migrate();
    const latest = Object.keys(all).sort().at(-1);
    expect(await store.schemaVersion()).toBe(latest);
    expect(await store.tasks.get('tsk_old')).toMatchObject({ id: 'tsk_old', description: 'from 0001', input: { a: 1 } });
    await store.tasks.insert([task('tsk_new', { dependencies: ['tsk_old'] })]);
    expect(await store.tasks.listDependents('tsk_old')).toEqual(['tsk_new']);
  });

  it('reports no schema version before the first migration', async () => {
    const store = open();
    expect(await store.schemaVersion()).toBeNull();
    await store.migrate();
    expect(await store.schemaVersion()).toBe(Object.keys(colonyMigrations('sqlite')).sort().at(-1));
  });

  it('group-commits 1,000 concurrent inserts and updates, all resolved and all visible', async () => {
    const store = open();
    await store.migrate();
    const n = 1_000;
    const inserted = await Promise.all(Array.from({ length: n }, (_, i) => store.tasks.insert([task(`tsk_${String(i).padStart(4, '0')}`)])));
    expect(inserted).toHaveLength(n);
    expect(await store.tasks.count({})).toBe(n);

    const updates = await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const id = `tsk_${String(i).padStart(4, '0')}`;
        return store.tasks.update(task(id, { status: 'queued', priority: i % 100, updatedAt: T + i }), { status: 'pending', attempts: 0 });
      }),
    );
    expect(updates.every((ok) => ok === true)).toBe(true);
    expect(await store.tasks.countByStatus()).toMatchObject({ pending: 0, queued: n });

    // Inserts, updates and event appends interleaved in the same turn.
    const mixed = await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const id = `tsk_${String(i).padStart(4, '0')}`;
        if (i % 3 === 0) return store.tasks.insert([task(`tsk_m${String(i).padStart(4, '0')}`)]).then(() => true);
        if (i % 3 === 1) return store.tasks.update(task(id, { status: 'running', attempts: 1, runnerId: 'run_x' }), { status: 'queued', attempts: 0 });
        return store.events.append([{ type: 'task.created', source: 'bulk', data: { i }, correlationId: id, timestamp: T }]).then((ids) => ids.length === 1);
      }),
    );
    expect(mixed.every((ok) => ok === true)).toBe(true);
    expect(await store.tasks.count({})).toBe(n + Math.ceil(n / 3));
    expect(await store.tasks.count({ status: 'running' })).toBe(Math.floor((n + 1) / 3));
    expect(await store.events.list({ source: 'bulk' })).toHaveLength(Math.floor(n / 3));

    // Another connection sees all of it: the writes were committed, not just queued.
    const other = open();
    expect(await other.tasks.count({})).toBe(n + Math.ceil(n / 3));
    expect((await other.tasks.listHeldBy(['run_x'])).length).toBe(Math.floor((n + 1) / 3));
  });

  it('flushes queued writes on close', async () => {
    const store = open();
    await store.migrate();
    const pending = store.tasks.insert([task('tsk_late')]);
    await store.close();
    await pending;
    const reopened = open();
    expect(await reopened.tasks.get('tsk_late')).toBeDefined();
  });
});
