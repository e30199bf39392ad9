import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kyselyDatabaseFor } from '../src/adapters/storage/sqlite/node-sqlite-kysely.js';
import { SqliteMemoryStore } from '../src/adapters/storage/sqlite/sqlite-memory-store.js';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import { loadSqliteVec } from '../src/adapters/storage/sqlite/sqlite-vec-loader.js';
import { WriteBatcher } from '../src/adapters/storage/sqlite/write-batcher.js';
import { LATEST_MIGRATION } from '../src/adapters/storage/sql/migration-latest.js';
import { colonyMigrations } from '../src/adapters/storage/sql/migrations.js';
import { ConflictError, type ColonyError } from '../src/domain/errors.js';
import { largeValue, runMemoryStoreConformance, T, vec, write } from './conformance/memory-store.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'colony-memory-'));
}

function openStore(path: string): SqliteStore {
  return new SqliteStore({ path, busyTimeoutMs: 5_000 });
}

runMemoryStoreConformance('sqlite (temp file)', async () => {
  const dir = tempDir();
  const store = openStore(join(dir, 'colony.db'));
  await store.migrate();
  return {
    store: store.memory,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteMemoryStore specifics', () => {
  let dir: string;
  let path: string;
  const opened: SqliteStore[] = [];
  const raw: DatabaseSync[] = [];

  async function open(): Promise<SqliteStore> {
    const store = openStore(path);
    opened.push(store);
    await store.migrate();
    return store;
  }

  function openRaw(options: { allowExtension?: boolean } = {}): DatabaseSync {
    const db = new DatabaseSync(path, options);
    raw.push(db);
    return db;
  }

  const names = (db: DatabaseSync, type: string) =>
    (db.prepare('SELECT name FROM sqlite_master WHERE type = ?').all(type) as { name: string }[]).map((r) => r.name);

  beforeEach(() => {
    dir = tempDir();
    path = join(dir, 'colony.db');
  });

  afterEach(async () => {
    for (const db of raw.splice(0)) if (db.isOpen) db.close();
    for (const store of opened.splice(0)) await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads sqlite-vec once memory is used', async () => {
    const store = await open();
    const memory = store.memory as SqliteMemoryStore;
    expect(memory).toBe(store.memory);
    expect(memory.vectors).toMatchObject({ available: true });
    expect(memory.vectors.available && memory.vectors.version).toMatch(/^v0\.1\.\d+/);
  });

  it('has the memory tables and indexes in the file, and a vec0 table once a vector is stored', async () => {
    const store = await open();
    await store.memory.put(write({ key: 'k' }));
    await store.memory.setEmbedding('default', 'k', 1, 'model-4', vec(1, 2, 3, 4));
    const db = openRaw();
    const tables = names(db, 'table');
    for (const table of ['memory', 'memory_blobs', 'memory_fts', 'memory_embeddings', 'memory_vec_4']) expect(tables, table).toContain(table);
    const indexes = names(db, 'index');
    for (const index of ['idx_memory_expires', 'idx_memory_value_ref', 'idx_memory_fts_rowid', 'idx_memory_embeddings_model']) {
      expect(indexes, index).toContain(index);
    }
    const sql = (db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'memory_vec_4'`).get() as { sql: string }).sql;
    expect(sql).toMatch(/vec0\(embedding float\[4\] distance_metric=cosine, model text partition key, namespace text\)/);
    expect((db.prepare(`SELECT sql FROM sqlite_master WHERE name = 'memory_fts'`).get() as { sql: string }).sql).toMatch(/fts5/);
  });

  it('runs its hot queries on indexes', async () => {
    await open();
    const db = openRaw();
    const plan = (query: string) => (db.prepare(`EXPLAIN QUERY PLAN ${query}`).all() as { detail: string }[]).map((r) => r.detail).join('\n');
    expect(plan(`SELECT * FROM memory WHERE namespace = 'a' AND key = 'k'`)).toMatch(/USING INDEX sqlite_autoindex_memory_1/);
    expect(plan(`SELECT * FROM memory WHERE namespace = 'a' ORDER BY namespace, key`)).toMatch(/USING INDEX sqlite_autoindex_memory_1 \(namespace=\?\)/);
    expect(plan(`SELECT * FROM memory WHERE namespace = 'a' AND key >= 't' AND key < 'u'`)).toMatch(/USING INDEX sqlite_autoindex_memory_1 \(namespace=\? AND key>\? AND key<\?\)/);
    expect(plan(`SELECT * FROM memory WHERE expires_at IS NOT NULL AND expires_at <= 5 ORDER BY expires_at LIMIT 10`)).toMatch(/idx_memory_expires/);
    expect(plan(`SELECT 1 FROM memory WHERE value_ref = 'h'`)).toMatch(/idx_memory_value_ref/);
  });

  it('keeps values in a content-addressed, reference-counted, compressed blob table', async () => {
    const store = await open();
    const big = largeValue(50_000);
    await store.memory.put(write({ key: 'a', value: big }));
    await store.memory.put(write({ namespace: 'other', key: 'b', value: big }));
    await store.memory.put(write({ key: 'small', value: 'tiny' }));
    const db = openRaw();
    const blobs = db.prepare('SELECT hash, compressed, size, length(data) AS stored, refcount FROM memory_blobs ORDER BY size').all() as {
      hash: string;
      compressed: number;
      size: number;
      stored: number;
      refcount: number;
    }[];
    expect(blobs).toHaveLength(2);
    expect(blobs[0]).toMatchObject({ compressed: 0, size: 6, stored: 6, refcount: 1 });
    expect(blobs[1]).toMatchObject({ compressed: 1, refcount: 2 });
    expect(blobs[1]?.stored).toBeLessThan((blobs[1]?.size ?? 0) / 4);
    expect(blobs[1]?.hash).toMatch(/^[0-9a-f]{64}$/);
    await store.memory.delete('default', 'a');
    expect(db.prepare('SELECT refcount FROM memory_blobs WHERE hash = ?').get(blobs[1]?.hash ?? '')).toEqual({ refcount: 1 });
    expect((await store.memory.get('other', 'b', T))?.value).toEqual(big);
    await store.memory.delete('other', 'b');
    expect(db.prepare('SELECT count(*) AS n FROM memory_blobs').get()).toEqual({ n: 1 });
  });

  it('keeps its keyword rows, embeddings and vectors in step with the entries', async () => {
    const store = await open();
    const memory = store.memory;
    await memory.put(write({ key: 'k1', value: 'alpha beta', expiresAt: T + 5 }));
    await memory.put(write({ key: 'k2', value: 'gamma' }));
    await memory.setEmbedding('default', 'k1', 1, 'm', vec(1, 0, 0));
    await memory.setEmbedding('default', 'k2', 1, 'm', vec(0, 1, 0));
    const db = openRaw({ allowExtension: true });
    expect(loadSqliteVec(db).available).toBe(true);
    const counts = () =>
      db.prepare(`SELECT (SELECT count(*) FROM memory_embeddings) AS embeddings, (SELECT count(*) FROM memory_vec_3) AS vectors,
                         (SELECT count(*) FROM memory_fts WHERE memory_fts MATCH 'alpha OR gamma') AS fts`).get();
    expect(counts()).toEqual({ embeddings: 2, vectors: 2, fts: 2 });
    await memory.put(write({ key: 'k2', value: 'gamma delta' }));
    expect(counts()).toEqual({ embeddings: 1, vectors: 1, fts: 2 });
    await memory.deleteExpired(T + 10, 10);
    expect(counts()).toEqual({ embeddings: 0, vectors: 0, fts: 1 });
    expect(db.prepare('PRAGMA foreign_key_check').all()).toEqual([]);
  });

  it('keeps everything across a reopen', async () => {
    const first = await open();
    await first.memory.put(write({ namespace: 'kept', key: 'k', value: { text: 'persistent knowledge about queues' }, tags: ['t'] }));
    await first.memory.setEmbedding('kept', 'k', 1, 'm', vec(0, 0, 1));
    await first.close();
    opened.splice(opened.indexOf(first), 1);

    const second = await open();
    expect(await second.memory.get('kept', 'k', T)).toMatchObject({ value: { text: 'persistent knowledge about queues' }, version: 1 });
    expect((await second.memory.searchText('queues', { now: T, limit: 5 })).map((h) => h.entry.key)).toEqual(['k']);
    expect((await second.memory.searchVector(vec(0, 0.1, 1), 'm', { now: T, limit: 5 })).map((h) => h.entry.key)).toEqual(['k']);
    expect((await second.memory.put(write({ namespace: 'kept', key: 'k' }), 1)).version).toBe(2);
  });

  it('lets exactly one of two connections (as two processes) win a version', async () => {
    const a = await open();
    const b = await open();
    await a.memory.put(write({ key: 'shared', value: 'base' }));
    expect((await b.memory.get('default', 'shared', T))?.value).toBe('base');
    const outcomes = await Promise.allSettled([
      a.memory.put(write({ key: 'shared', value: 'from a' }), 1),
      b.memory.put(write({ key: 'shared', value: 'from b' }), 1),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const rejected = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(ConflictError);
    const winner = outcomes[0]?.status === 'fulfilled' ? 'from a' : 'from b';
    expect((await a.memory.get('default', 'shared', T))?.value).toBe(winner);
    expect((await b.memory.get('default', 'shared', T))?.value).toBe(winner);
  });

  it('works without sqlite-vec, except vector search, which says why', async () => {
    const store = await open();
    await store.memory.put(write({ key: 'embedded', value: 'has a vector' }));
    await store.memory.setEmbedding('default', 'embedded', 1, 'm', vec(1, 0));
    await store.close();
    opened.splice(0);

    const db = openRaw(); // Opened without allowExtension: loading must fail.
    const vectors = loadSqliteVec(db);
    expect(vectors.available).toBe(false);
    const memory = new SqliteMemoryStore(db, new WriteBatcher(db), { vectors });
    await memory.put(write({ key: 'plain', value: 'no vectors needed here' }));
    expect((await memory.get('default', 'plain', T))?.value).toBe('no vectors needed here');
    expect((await memory.searchText('needed', { now: T, limit: 5 })).map((h) => h.entry.key)).toEqual(['plain']);
    expect(await memory.list({ now: T })).toHaveLength(2);
    for (const attempt of [
      () => memory.searchVector(vec(1, 0), 'm', { now: T, limit: 5 }),
      () => memory.setEmbedding('default', 'plain', 1, 'm', vec(1, 0)),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect((error as ColonyError).code).toBe('storage');
      expect((error as ColonyError).message).toMatch(/unavailable: sqlite-vec .* could not be loaded \(.+\)/);
    }
    // Deleting an entry that has a vector still works: its row in the vec0 table is left behind.
    expect(await memory.delete('default', 'embedded')).toBe(true);
    expect((await memory.stats(T)).embeddings).toBe(0);
  });

  it('upgrades a database from before 0003 (with the placeholder memory table)', async () => {
    const db = openRaw();
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: kyselyDatabaseFor(db) }) });
    const migrator = new Migrator({ db: kysely, provider: { getMigrations: async () => colonyMigrations('sqlite') } });
    const { error } = await migrator.migrateTo('0002_agent_runtime');
    expect(error).toBeUndefined();
    expect(names(db, 'table')).toContain('memory');
    expect(names(db, 'table')).not.toContain('memory_blobs');
    db.close();

    const store = await open();
    expect((await store.schemaVersion()) ?? '').toBe(LATEST_MIGRATION);
    expect((await store.memory.put(write({ key: 'k' }))).version).toBe(1);
  });

  it('migrates vectors stored with model as a vec0 metadata column to model as the partition key, with the same search results', async () => {
    // A file as the adapter laid it out before 0013: migrated to 0012, vec0 table with `model text`.
    const db = openRaw({ allowExtension: true });
    expect(loadSqliteVec(db).available).toBe(true);
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: kyselyDatabaseFor(db) }) });
    const migrator = new Migrator({ db: kysely, provider: { getMigrations: async () => colonyMigrations('sqlite') } });
    expect((await migrator.migrateTo('0012_process_roles')).error).toBeUndefined();
    db.exec('CREATE VIRTUAL TABLE memory_vec_3 USING vec0(embedding float[3] distance_metric=cosine, model text, namespace text)');
    const old = new SqliteMemoryStore(db, new WriteBatcher(db), { vectors: loadSqliteVec(db) });
    const longModel = 'a-model-name-longer-than-twelve-bytes';
    const entries = [
      { namespace: 'a', key: 'k1', vector: vec(1, 0, 0) },
      { namespace: 'a', key: 'k2', vector: vec(0.9, 0.1, 0) },
      { namespace: 'b', key: 'k3', vector: vec(0, 1, 0) },
      { namespace: 'b', key: 'k4', vector: vec(0.5, 0.5, 0.1) },
      { namespace: 'a', key: 'gone', vector: vec(1, 0, 0.01) },
    ];
    for (const e of entries) {
      await old.put(write({ namespace: e.namespace, key: e.key, value: e.key }));
      await old.setEmbedding(e.namespace, e.key, 1, longModel, e.vector);
    }
    await old.setEmbedding('a', 'k1', 1, 'short', vec(0, 0, 1));
    await old.delete('a', 'gone');
    const query = vec(1, 0.2, 0);
    const searches = async (memory: SqliteMemoryStore | SqliteStore['memory']) => ({
      all: (await memory.searchVector(query, longModel, { now: T, limit: 10 })).map((h) => [h.entry.namespace, h.entry.key, h.score]),
      b: (await memory.searchVector(query, longModel, { now: T, limit: 10, namespace: 'b' })).map((h) => [h.entry.namespace, h.entry.key, h.score]),
      short: (await memory.searchVector(query, 'short', { now: T, limit: 10 })).map((h) => [h.entry.namespace, h.entry.key, h.score]),
    });
    const before = await searches(old);
    expect(before.all.map(([, key]) => key)).toEqual(['k2', 'k1', 'k4', 'k3']);
    expect(before.b.map(([, key]) => key)).toEqual(['k4', 'k3']);
    expect(before.short.map(([, key]) => key)).toEqual(['k1']);
    db.close();

    const store = await open();
    expect((await store.schemaVersion()) ?? '').toBe(LATEST_MIGRATION);
    const check = openRaw();
    const sql = (check.prepare(`SELECT sql FROM sqlite_master WHERE name = 'memory_vec_3'`).get() as { sql: string }).sql;
    expect(sql).toMatch(/model text partition key, namespace text/);
    expect(names(check, 'table')).not.toContain('memory_vec_move');
    expect(await searches(store.memory)).toEqual(before);
    // Rows keep their ids: replacing and deleting vectors still reaches them.
    await store.memory.setEmbedding('a', 'k1', 1, longModel, vec(0, 1, 0));
    await store.memory.delete('b', 'k4');
    expect((await store.memory.searchVector(query, longModel, { now: T, limit: 10 })).map((h) => h.entry.key)).toEqual(['k2', 'k1', 'k3']);
    expect((check.prepare('SELECT count(*) AS n FROM memory_vec_3_rowids').get() as { n: number }).n).toBe(4);
  });
});
