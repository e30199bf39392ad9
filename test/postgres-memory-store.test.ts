import { sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgres, type PostgresDatabase } from '../src/adapters/storage/postgres/postgres-connection.js';
import { PostgresMemoryStore, type PostgresMemoryStoreOptions } from '../src/adapters/storage/postgres/postgres-memory-store.js';
import { migratePostgres } from '../src/adapters/storage/postgres/postgres-migrator.js';
import { ConflictError } from '../src/domain/errors.js';
import type { JsonValue } from '../src/domain/json.js';
import { MAX_MEMORY_VALUE_BYTES, type MemoryEntry } from '../src/ports/memory-store.js';
import { largeValue, runMemoryStoreConformance, T, vec, write } from './conformance/memory-store.js';
import { useTestDatabase, type TestSchema } from './support/postgres.js';

/**
 * The PostgreSQL memory store: the MemoryStore conformance suite on a fresh schema per test, then
 * what only this adapter has (its tables and indexes, the query plans, two pools as two processes,
 * the vector search mode and its label).
 */

const place = useTestDatabase();

/** Whether this server could give a database pgvector (it cannot here: Debian 12's PostgreSQL 15). */
async function serverHasPgvector(url: string): Promise<boolean> {
  const probe = openPostgres({ url, poolSize: 1 });
  try {
    return (await sql`select 1 from pg_available_extensions where name = 'vector'`.execute(probe.db)).rows.length > 0;
  } finally {
    await probe.close();
  }
}

async function openMemory(options: PostgresMemoryStoreOptions = {}) {
  const schema = await place.freshSchema();
  const database = openPostgres({ url: schema.url, poolSize: 4 });
  await migratePostgres(database.db as unknown as Kysely<unknown>);
  const store = new PostgresMemoryStore(database.db, options);
  return {
    store,
    schema,
    database,
    cleanup: async () => {
      await database.close();
      await schema.drop();
    },
  };
}

runMemoryStoreConformance('postgres (fresh schema; pgvector when the server has it)', async () => {
  const { store, cleanup } = await openMemory();
  return { store, cleanup };
});

// Exact search is what runs without pgvector; on a server that has it, the suite runs a second time
// with pgvector turned off, so that both ways are held to the port.
const pgvectorOnServer = await (async () => {
  const { url } = await place.database();
  return serverHasPgvector(url);
})();
if (pgvectorOnServer) {
  runMemoryStoreConformance('postgres (fresh schema; exact vector search)', async () => {
    const { store, cleanup } = await openMemory({ pgvector: 'off' });
    return { store, cleanup };
  });
}

describe('PostgresMemoryStore specifics', () => {
  const cleanups: (() => Promise<void>)[] = [];

  async function open(options: PostgresMemoryStoreOptions = {}) {
    const opened = await openMemory(options);
    cleanups.push(opened.cleanup);
    return opened;
  }

  /** A second pool on the same schema: another process, as far as PostgreSQL can tell. */
  function secondProcess(schema: TestSchema, options: PostgresMemoryStoreOptions = {}): PostgresMemoryStore {
    const database = openPostgres({ url: schema.url, poolSize: 4 });
    cleanups.unshift(() => database.close());
    return new PostgresMemoryStore(database.db, options);
  }

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  const rows = async <R>(db: PostgresDatabase, query: string): Promise<R[]> => (await sql<R>`${sql.raw(query)}`.execute(db.db)).rows;

  it('has the memory tables, byte-wise addresses, the vector column, and a stemming configuration without stop words', async () => {
    const { database } = await open();
    const columns = await rows<{ line: string }>(
      database,
      `select format('%s.%s %s %s', table_name, column_name, udt_name, coalesce(collation_name, '-')) as line
       from information_schema.columns where table_schema = current_schema() and table_name like 'memory%' order by 1`,
    );
    const lines = columns.map((c) => c.line);
    for (const expected of ['memory.namespace text C', 'memory.key text C', 'memory.search tsvector -', 'memory.tags jsonb -', 'memory_embeddings.namespace text C', 'memory_embeddings.key text C', 'memory_embeddings.embedding _float4 -', 'memory_blobs.data bytea -']) {
      expect(lines, expected).toContain(expected);
    }
    const indexes = (await rows<{ indexname: string; indexdef: string }>(database, `select indexname, indexdef from pg_indexes where schemaname = current_schema()`)).map(
      (r) => `${r.indexname}: ${r.indexdef.replace(/ ON \S+\./, ' ON ')}`,
    );
    expect(indexes).toContainEqual(expect.stringMatching(/^idx_memory_search: .* USING gin \(search\)/));
    expect(indexes).toContainEqual(expect.stringMatching(/^idx_memory_tags: .* USING gin \(tags jsonb_path_ops\)/));
    expect(indexes).toContainEqual(expect.stringMatching(/^idx_memory_expires: .*\(expires_at\) WHERE \(expires_at IS NOT NULL\)/));
    // English stems, and every word is kept: "it" and "the" are words a query may look for.
    const [vector] = await rows<{ v: string }>(database, `select to_tsvector('memory_search', 'the caching of it')::text as v`);
    expect(vector?.v).toBe(`'cach':2 'it':4 'of':3 'the':1`);
    // An embedding of the wrong length for its row is refused by the database too.
    await expect(
      sql`insert into memory_embeddings (namespace, key, version, model, dims, created_at, embedding) values ('a', 'k', 1, 'm', 3, 0, '{1,2}'::real[])`.execute(database.db),
    ).rejects.toThrow(/check constraint|foreign key/);
  });

  it('says how vector search runs: an exact scan without pgvector, with the reason, known after first use', async () => {
    const { store } = await open();
    expect(store.vectors).toBeUndefined();
    await store.put(write({ key: 'k' }));
    await store.setEmbedding('default', 'k', 1, 'm', vec(1, 0));
    const mode = store.vectors;
    expect(mode).toBeDefined();
    if (pgvectorOnServer) {
      expect(mode).toMatchObject({ available: true, exact: false, engine: 'pgvector' });
      expect(mode?.label).toMatch(/^pgvector \d+\.\d+\.\d+: HNSW index, approximate/);
    } else {
      expect(mode).toMatchObject({ available: true, exact: true, engine: 'exact' });
      expect(mode?.label).toBe('exact cosine scan, no index (the vector extension (pgvector) is not installed on this PostgreSQL server)');
    }
    expect((await store.searchVector(vec(1, 0.1), 'm', { now: T, limit: 5 })).map((h) => h.entry.key)).toEqual(['k']);

    const off = await open({ pgvector: 'off' });
    expect(await off.store.vectorMode()).toEqual({
      available: true,
      exact: true,
      engine: 'exact',
      reason: 'pgvector is turned off for this store',
      label: 'exact cosine scan, no index (pgvector is turned off for this store)',
    });
  });

  it.runIf(pgvectorOnServer)('with pgvector, indexes each vector length with HNSW and answers nearest-neighbour queries from it', async () => {
    const { store, database } = await open();
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.put(write({ key: `k${i}` }))));
    await Promise.all(Array.from({ length: 50 }, (_, i) => store.setEmbedding('default', `k${i}`, 1, 'm', vec(1, i / 10, 0, 0))));
    const indexes = await rows<{ indexdef: string }>(database, `select indexdef from pg_indexes where indexname = 'idx_memory_embeddings_hnsw_4'`);
    expect(indexes[0]?.indexdef).toMatch(/USING hnsw \(\(\(embedding\)::.*vector\(4\)\) .*vector_cosine_ops\) WHERE \(dims = 4\)/);
    const hits = await store.searchVector(vec(1, 0, 0, 0), 'm', { now: T, limit: 3 });
    expect(hits.map((h) => h.entry.key)).toEqual(['k0', 'k1', 'k2']);
    expect(hits[0]?.score).toBeCloseTo(1, 5);
  });

  it('runs its hot queries on indexes', async () => {
    const { schema } = await open();
    const planner = openPostgres({ url: schema.url, poolSize: 1 });
    cleanups.unshift(() => planner.close());
    // On an empty table every plan is a sequential scan; with those priced out, a query that can use
    // an index does.
    const plan = async (query: string, avoid: 'seqscan' | 'sort' = 'seqscan') =>
      planner.db.connection().execute(async (conn) => {
        await sql`reset all`.execute(conn);
        await sql`set ${sql.raw(`enable_${avoid}`)} = off`.execute(conn);
        return (await sql<{ 'QUERY PLAN': string }>`explain (costs off) ${sql.raw(query)}`.execute(conn)).rows.map((r) => r['QUERY PLAN']).join('\n');
      });
    expect(await plan(`select * from memory where namespace = 'a' and key = 'k'`)).toMatch(/Index Scan using memory_pkey/);
    expect(await plan(`select * from memory where namespace = 'a' and key >= 'task/' and key < 'task0' order by namespace, key`)).toMatch(
      /Index Scan using memory_pkey on memory\s+Index Cond: \(\(namespace = 'a'::text\) AND \(key >= 'task\/'::text\) AND \(key < 'task0'::text\)\)/,
    );
    // Listing comes out of the primary key in its order (byte-wise, as the columns now are), unsorted.
    expect(await plan(`select * from memory where namespace = 'a' order by namespace, key limit 10`, 'sort')).toMatch(/^Limit\s+-> {2}Index Scan using memory_pkey/);
    expect(await plan(`select * from memory m where m.tags @> '["a"]'::jsonb`)).toMatch(/Bitmap Index Scan on idx_memory_tags/);
    expect(await plan(`select * from memory m where m.search @@ plainto_tsquery('memory_search', 'cache')`)).toMatch(/Bitmap Index Scan on idx_memory_search/);
    expect(await plan(`select * from memory where expires_at is not null and expires_at <= 5 order by expires_at limit 10`)).toMatch(/idx_memory_expires/);
    expect(await plan(`select dims from memory_embeddings where model = 'm' limit 1`)).toMatch(/idx_memory_embeddings_model/);
  });

  it('keeps values in a content-addressed, reference-counted, compressed blob table', async () => {
    const { store, database } = await open();
    const big = largeValue(50_000);
    await store.put(write({ key: 'a', value: big }));
    await store.put(write({ namespace: 'other', key: 'b', value: big }));
    await store.put(write({ key: 'small', value: 'tiny' }));
    const blobs = await rows<{ hash: string; compressed: number; size: number; stored: number; refcount: number }>(
      database,
      'select hash, compressed, size, octet_length(data) as stored, refcount from memory_blobs order by size',
    );
    expect(blobs).toHaveLength(2);
    expect(blobs[0]).toMatchObject({ compressed: 0, size: 6, stored: 6, refcount: 1 });
    expect(blobs[1]).toMatchObject({ compressed: 1, refcount: 2 });
    expect(blobs[1]?.stored).toBeLessThan((blobs[1]?.size ?? 0) / 4);
    expect(blobs[1]?.hash).toMatch(/^[0-9a-f]{64}$/);
    await store.delete('default', 'a');
    expect(await rows(database, `select refcount from memory_blobs where hash = '${blobs[1]?.hash ?? ''}'`)).toEqual([{ refcount: 1 }]);
    expect((await store.get('other', 'b', T))?.value).toEqual(big);
    await store.delete('other', 'b');
    expect(await rows(database, 'select count(*)::int as n from memory_blobs')).toEqual([{ n: 1 }]);
  });

  it('keeps keyword vectors and embeddings in step with the entries', async () => {
    const { store, database } = await open();
    await store.put(write({ key: 'k1', value: 'alpha beta', expiresAt: T + 5 }));
    await store.put(write({ key: 'k2', value: 'gamma', tags: ['first'] }));
    await store.setEmbedding('default', 'k1', 1, 'm', vec(1, 0, 0));
    await store.setEmbedding('default', 'k2', 1, 'm', vec(0, 1, 0));
    const state = async () => ({
      embeddings: (await rows<{ n: number }>(database, 'select count(*)::int as n from memory_embeddings'))[0]?.n,
      search: (await rows<{ key: string; search: string }>(database, 'select key, search::text as search from memory order by key')).map((r) => `${r.key} ${r.search}`),
    });
    expect(await state()).toEqual({ embeddings: 2, search: [`k1 'alpha':2 'beta':3 'k1':1A`, `k2 'first':2B 'gamma':3 'k2':1A`] });
    // Other tags, same value: searched by the new tags, embedding kept.
    await store.put(write({ key: 'k2', value: 'gamma', tags: ['second'] }));
    expect(await state()).toEqual({ embeddings: 2, search: [`k1 'alpha':2 'beta':3 'k1':1A`, `k2 'gamma':3 'k2':1A 'second':2B`] });
    // Another value: reindexed, embedding dropped.
    await store.put(write({ key: 'k2', value: 'gamma delta', tags: ['second'] }));
    expect(await state()).toEqual({ embeddings: 1, search: [`k1 'alpha':2 'beta':3 'k1':1A`, `k2 'delta':4 'gamma':3 'k2':1A 'second':2B`] });
    await store.deleteExpired(T + 10, 10);
    expect(await state()).toEqual({ embeddings: 0, search: [`k2 'delta':4 'gamma':3 'k2':1A 'second':2B`] });
  });

  it('builds the same keyword vector for an entry written in a batch as for one written alone', async () => {
    const { store, database } = await open();
    const entries = [
      { key: 'auth/decision', value: { text: 'Use JWT; see https://example.com/docs', n: 3 } as JsonValue, tags: ['auth', 'security'] },
      { key: 'menu', value: 'Café crème brûlée' as JsonValue, tags: [] },
      { key: 'k', value: 42 as JsonValue, tags: ['number'] },
    ];
    for (const e of entries) await store.put(write({ namespace: 'single', ...e }));
    await store.putMany(entries.map((e) => write({ namespace: 'batch', ...e })));
    // Over existing rows too: a changed value is reindexed, a same-value retag as well.
    await store.put(write({ namespace: 'single', key: 'menu', value: 'Crème brûlée, café', tags: ['dessert'] }));
    await store.putMany([write({ namespace: 'batch', key: 'menu', value: 'Crème brûlée, café', tags: ['dessert'] })]);
    const vectors = async (namespace: string) =>
      (await rows<{ key: string; search: string }>(database, `select key, search::text as search from memory where namespace = '${namespace}' order by key`)).map((r) => `${r.key} ${r.search}`);
    expect(await vectors('batch')).toEqual(await vectors('single'));
    expect(await vectors('batch')).toHaveLength(3);
  });

  it('searches words however they are written: paths, URLs, diacritics, case, common words', async () => {
    const { store } = await open();
    await store.put(write({ namespace: 'n', key: 'auth/decision', value: 'Use JWT; see https://example.com/docs/guide.html' }));
    await store.put(write({ namespace: 'n', key: 'menu', value: 'Café crème brûlée' }));
    await store.put(write({ namespace: 'n', key: 'hamlet', value: 'To be, or not to be: that is it.' }));
    await store.put(write({ namespace: 'n', key: 'mail', value: 'write to ops@colony.dev about v2.3.1' }));
    const found = async (query: string) => (await store.searchText(query, { now: T, limit: 10 })).map((h) => h.entry.key);
    expect(await found('decision')).toEqual(['auth/decision']);
    expect(await found('guide')).toEqual(['auth/decision']);
    expect(await found('example.com')).toEqual(['auth/decision']);
    expect(await found('cafe creme')).toEqual(['menu']);
    expect(await found('BRÛLÉE')).toEqual(['menu']);
    expect(await found('it')).toEqual(['hamlet']);
    expect(await found('be')).toEqual(['hamlet']);
    expect(await found('colony')).toEqual(['mail']);
    expect(await found('v2')).toEqual(['mail']);
  });

  it('ranks a rare word above many repeats of a common one (inverse document frequency)', async () => {
    const { store } = await open();
    for (let i = 0; i < 10; i++) await store.put(write({ key: `filler${i}`, value: `common filler text number ${i}` }));
    await store.put(write({ key: 'repeats', value: 'common common common common common common' }));
    await store.put(write({ key: 'rare', value: 'a zebra crossing' }));
    const hits = await store.searchText('common zebra', { now: T, limit: 3 });
    expect(hits.map((h) => h.entry.key)).toEqual(['rare', 'repeats', expect.stringMatching(/^filler/)]);
    expect(hits[0]?.score).toBeGreaterThan(hits[1]?.score ?? Infinity);
  });

  it('indexes a 1 MiB value of distinct words (more than a tsvector holds) up to its budget, and stores it whole', async () => {
    const { store } = await open();
    const words: string[] = [];
    for (let i = 0, length = 0; length < MAX_MEMORY_VALUE_BYTES - 20_000; i++) {
      words.push(`w${i.toString(36)}x`);
      length += (words.at(-1) as string).length + 1;
    }
    const value = words.join(' ');
    const written = await store.put(write({ key: 'huge', value }));
    expect(written.size).toBeGreaterThan(1_000_000);
    expect((await store.get('default', 'huge', T))?.value).toBe(value);
    // The first words are indexed; so many distinct words would overflow a tsvector's 1 MB if all were.
    expect((await store.searchText(words[0] as string, { now: T, limit: 1 })).map((h) => h.entry.key)).toEqual(['huge']);
    expect((await store.searchText(words[20_000] as string, { now: T, limit: 1 })).map((h) => h.entry.key)).toEqual(['huge']);
  });

  it('lets exactly one of two processes win a version, and one of them create an entry', async () => {
    const { store: a, schema } = await open();
    const b = secondProcess(schema);
    await a.put(write({ key: 'shared', value: 'base' }));
    expect((await b.get('default', 'shared', T))?.value).toBe('base');
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 4 }, (_, i) => a.put(write({ key: 'shared', value: `from a ${i}` }), 1)),
      ...Array.from({ length: 4 }, (_, i) => b.put(write({ key: 'shared', value: `from b ${i}` }), 1)),
    ]);
    const won = outcomes.filter((o): o is PromiseFulfilledResult<MemoryEntry> => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ConflictError);
    expect((await a.get('default', 'shared', T))?.value).toBe(won[0]?.value.value);
    expect((await b.get('default', 'shared', T))?.version).toBe(2);

    const creates = await Promise.allSettled([a, b, a, b].map((s, i) => s.put(write({ key: 'new', value: i }), null)));
    expect(creates.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    // Unconditional writes of one new key from both never fail: they take turns.
    const blind = await Promise.allSettled([a, b, a, b].map((s, i) => s.put(write({ key: 'blind', value: i }))));
    expect(blind.every((o) => o.status === 'fulfilled')).toBe(true);
    expect((await a.get('default', 'blind', T))?.version).toBe(4);
  });

  it('collects expired entries from two processes at once without collecting any twice', async () => {
    const { store: a, schema, database } = await open();
    const b = secondProcess(schema);
    for (let i = 0; i < 40; i++) await a.put(write({ key: `gone${i}`, value: `shared value ${i % 4}`, expiresAt: T + 1 }));
    const [one, two] = await Promise.all([a.deleteExpired(T + 10, 30), b.deleteExpired(T + 10, 30)]);
    expect((one ?? 0) + (two ?? 0) + (await a.deleteExpired(T + 10, 100))).toBe(40);
    expect(await rows(database, 'select count(*)::int as n from memory_blobs')).toEqual([{ n: 0 }]);
    expect(await a.stats(T)).toMatchObject({ entries: 0, expired: 0, storedBytes: 0 });
  });

  it('upgrades a schema from before 0011 that holds memory, keeping it readable and searchable', async () => {
    const schema = await place.freshSchema();
    const database = openPostgres({ url: schema.url, poolSize: 2 });
    cleanups.push(async () => {
      await database.close();
      await schema.drop();
    });
    const raw = database.db as unknown as Kysely<unknown>;
    await migratePostgres(raw, { to: '0010_event_commit_order' });
    await sql`insert into memory_blobs (hash, data, compressed, size, refcount) values ('h', convert_to('"old note about queues"', 'UTF8'), 0, 23, 1)`.execute(raw);
    await sql`insert into memory (namespace, key, version, value_ref, tags, metadata, created_at, updated_at, accessed_at, search)
      values ('kept', 'B-key', 3, 'h', '["t"]', '{}', 1, 2, 3, to_tsvector('english', 'old note about queues'))`.execute(raw);
    await migratePostgres(raw);
    const store = new PostgresMemoryStore(database.db);
    expect(await store.get('kept', 'B-key', T)).toMatchObject({ value: 'old note about queues', version: 3, tags: ['t'] });
    expect((await store.searchText('queues', { now: T, limit: 5 })).map((h) => h.entry.key)).toEqual(['B-key']);
    expect((await store.put(write({ namespace: 'kept', key: 'B-key', value: 'new' }), 3)).version).toBe(4);
  });
});

describe('PostgresMemoryStore on a database whose collation is not byte order (ICU en-US)', () => {
  const icu = useTestDatabase({ icuLocale: 'en-US' });

  it('lists and filters by prefix in code point order, as on SQLite', async () => {
    const schema = await icu.freshSchema();
    const database = openPostgres({ url: schema.url, poolSize: 2 });
    try {
      await migratePostgres(database.db as unknown as Kysely<unknown>);
      const store = new PostgresMemoryStore(database.db);
      // en-US would sort these b, B, task/1, tasks, task-2 (case and punctuation second); bytes do not.
      for (const key of ['tasks', 'b', 'task/1', 'B', 'task-2', 'Task']) await store.put(write({ namespace: 'n', key }));
      expect((await store.list({ namespace: 'n', now: T })).map((e) => e.key)).toEqual(['B', 'Task', 'b', 'task-2', 'task/1', 'tasks']);
      expect((await store.list({ namespace: 'n', keyPrefix: 'task', now: T })).map((e) => e.key)).toEqual(['task-2', 'task/1', 'tasks']);
      expect((await store.list({ namespace: 'n', keyPrefix: 'task/', now: T })).map((e) => e.key)).toEqual(['task/1']);
      expect(await store.count({ namespace: 'n', keyPrefix: 'T', now: T })).toBe(1);
    } finally {
      await database.close();
      await schema.drop();
    }
  });
});
