import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { ConflictError, ValidationError } from '../../../domain/errors.js';
import type { JsonValue } from '../../../domain/json.js';
import {
  checkAddress,
  checkCount,
  checkExpectedVersion,
  checkMemoryBatch,
  checkMemoryWrite,
  checkModel,
  checkNamespace,
  checkSearchFilter,
  checkTags,
  checkTime,
  restoreBatchOf,
  restoreWriteOf,
  type CheckedWrite,
} from '../../../memory/memory-store-input.js';
import { addressId, batchAddresses, batchWritesOf, planMemoryBatch, type BatchPlan, type BatchRestore, type BatchWrite, type StoredState } from '../sql/memory-batch-plan.js';
import type {
  MemoryEntry,
  MemoryListQuery,
  MemorySearchFilter,
  MemorySearchHit,
  MemoryStamp,
  MemoryStore,
  MemoryStoreStats,
  MemoryWrite,
} from '../../../ports/memory-store.js';
import type { ColonyTables } from '../sql/schema.js';
import { checkVector } from '../sqlite/memory-input.js';
import { flattenJsonText } from '../sqlite/memory-text.js';
import { decodeValue, encodeValue, hashValueJson, MEMORY_COMPRESSION_THRESHOLD_BYTES, type EncodedValue } from '../sqlite/memory-value-codec.js';
import { mapped, mapPostgresError } from './postgres-errors.js';
import { documentWords, queryWords } from './postgres-memory-text.js';
import {
  detectVectorSearch,
  exactSimilarity,
  HNSW_MAX_DIMENSIONS,
  MEMORY_ENTRY_LOCK_NAMESPACE,
  PgvectorSql,
  type PostgresVectorOptions,
  type PostgresVectorSearch,
} from './postgres-memory-vectors.js';

/**
 * The MemoryStore port on PostgreSQL (memory's durable tier in team mode), on the pool of the store
 * that creates it: `new PostgresMemoryStore(db)`. Same tables as on SQLite (migrations 0003 and 0011),
 * same behaviour (the conformance suite runs on both):
 * - `memory_blobs`: values by SHA-256 of their JSON, gzip-compressed above 1 KB, reference-counted;
 *   identical values are stored once.
 * - `memory.search`: the entry's tsvector (key weighted A, tags B, value strings D), rebuilt when its
 *   value or tags change, GIN-indexed. Keyword search ranks like BM25: each query word's cover
 *   density rank in the entry (ts_rank_cd), weighted by the word's inverse document frequency,
 *   summed; so entries matching more and rarer words come first (ts_rank_cd alone has no IDF: an
 *   entry repeating a common word would win).
 * - Tag filters are `tags @> '[…]'` on jsonb (GIN-indexed); addresses compare byte-wise (`collate "C"`).
 * - Vectors: see postgres-memory-vectors.ts; `vectors` says which kind of search runs (pgvector's
 *   index or an exact scan), for status output.
 *
 * Each write is one transaction that first takes an advisory lock on its entry's address, so that
 * writers of one entry (any process) take turns: a version is won by exactly one, and a create races
 * nobody. Blob reference counts change in hash order; a deadlock or serialization failure still
 * possible with the garbage collector is retried.
 */

const WRITE_ATTEMPTS = 3;
/** ts_rank_cd weights for labels D (value text), C (unused), B (tags), A (key): 1 : 2 : 3, as SQLite's BM25 weights. */
const RANK_WEIGHTS = '{0.3333, 0.3333, 0.6667, 1.0}';
/**
 * ts_rank_cd normalization 1 | 32: divided by 1 + log(document length), then mapped to rank/(rank+1).
 * With the IDF factor this has BM25's three parts: rarer words weigh more, repeats of a word saturate,
 * long documents are damped. (On the labelled set of test/postgres-memory-search-quality.test.ts,
 * plain ts_rank or no normalization rank a little worse, and the `english` configuration with its
 * stop words would make words such as "it" unsearchable, which the port does not allow.)
 */
const RANK_NORMALIZATION = 1 | 32;
/** Above this many rows, the corpus size for IDF is the planner's estimate rather than a count. */
const EXACT_CORPUS_COUNT_LIMIT = 50_000;

/** The text search configuration of migration 0011 (English stemming, no stop words). */
const TEXT_SEARCH_CONFIG = sql.lit('memory_search');

type Db = Kysely<ColonyTables> | Transaction<ColonyTables>;
type Row = Record<string, unknown>;

interface StoredRow {
  namespace: string;
  key: string;
  version: number;
  value_ref: string;
  tags: string[];
  expires_at: number | null;
  created_at: number;
  accessed_at: number;
  access_count: number;
}

const ENTRY_COLUMNS = sql.raw(
  'm.namespace, m.key, m.version, m.tags, m.metadata, m.expires_at, m.created_at, m.updated_at, m.accessed_at, m.access_count, b.data, b.compressed, b.size',
);
const LIVE = (now: number) => sql`(m.expires_at is null or m.expires_at > ${now})`;

export type PostgresMemoryStoreOptions = PostgresVectorOptions;
export type { PostgresVectorSearch } from './postgres-memory-vectors.js';

export class PostgresMemoryStore implements MemoryStore {
  private readonly db: Kysely<ColonyTables>;
  private readonly options: PostgresMemoryStoreOptions;
  private detected: PostgresVectorSearch | undefined;
  private detecting: Promise<PostgresVectorSearch> | undefined;
  /** Vector lengths whose HNSW index is known to exist. */
  private readonly indexed = new Set<number>();

  constructor(db: Kysely<ColonyTables>, options: PostgresMemoryStoreOptions = {}) {
    this.db = db;
    this.options = options;
  }

  /**
   * How vector search runs here (pgvector's index, or an exact scan, with the reason): known after
   * the first vector operation or a call of `vectorMode()`; undefined before.
   */
  get vectors(): PostgresVectorSearch | undefined {
    return this.detected;
  }

  /** Finds out how vector search runs here (once; a failed look is tried again next time). */
  vectorMode(): Promise<PostgresVectorSearch> {
    if (this.detected) return Promise.resolve(this.detected);
    this.detecting ??= mapped('detect vector search', () => detectVectorSearch(this.db, this.options)).then(
      (found) => (this.detected = found),
      (error: unknown) => {
        this.detecting = undefined;
        throw error;
      },
    );
    return this.detecting;
  }

  // ---- reads ----

  async get(namespace: string, key: string, now: number): Promise<MemoryEntry | undefined> {
    checkAddress(namespace, key);
    checkTime(now, 'now');
    const { rows } = await this.run(
      `read memory ${namespace}/${key}`,
      sql<Row>`select ${ENTRY_COLUMNS} from memory m join memory_blobs b on b.hash = m.value_ref
        where m.namespace = ${namespace} and m.key = ${key} and ${LIVE(now)}`,
    );
    return rows[0] ? entryFrom(rows[0]) : undefined;
  }

  async stamp(namespace: string, key: string): Promise<MemoryStamp | undefined> {
    const { rows } = await this.run(
      `read the stamp of memory ${namespace}/${key}`,
      sql<{ version: number; updated_at: number }>`select version, updated_at from memory where namespace = ${namespace} and key = ${key}`,
    );
    const row = rows[0];
    return row ? { version: Number(row.version), updatedAt: Number(row.updated_at) } : undefined;
  }

  async list(query: MemoryListQuery): Promise<MemoryEntry[]> {
    const where = listWhere(query);
    const limit = query.limit === undefined ? null : checkCount(query.limit, 'limit', 0);
    const offset = query.offset === undefined ? 0 : checkCount(query.offset, 'offset', 0);
    const { rows } = await this.run(
      'list memory',
      sql<Row>`select ${ENTRY_COLUMNS} from memory m join memory_blobs b on b.hash = m.value_ref
        where ${where} order by m.namespace, m.key limit ${limit} offset ${offset}`,
    );
    return rows.map(entryFrom);
  }

  async count(query: Omit<MemoryListQuery, 'limit' | 'offset'>): Promise<number> {
    const where = listWhere(query);
    const { rows } = await this.run('count memory', sql<{ n: number }>`select count(*) as n from memory m where ${where}`);
    return Number(rows[0]?.n ?? 0);
  }

  async searchText(query: string, filter: MemorySearchFilter): Promise<MemorySearchHit[]> {
    if (typeof query !== 'string') throw new ValidationError('memory search query must be a string', { details: { field: 'query' } });
    checkSearchFilter(filter);
    const words = queryWords(query);
    if (words.length === 0 || filter.limit === 0) return [];
    // One term per query word (its stem, or the AND of its lexemes); IDF over all entries, as FTS5's
    // counts it: ln(1 + (N - n + 0.5) / (n + 0.5)). N is counted exactly on small tables, and taken
    // from the planner's statistics on large ones, where a count would cost more than the search.
    const { rows } = await this.run(
      'search memory by keyword',
      sql<Row>`
        with terms as (
          select distinct q.query from unnest(${words}::text[]) as w(word)
            cross join lateral (select plainto_tsquery(${TEXT_SEARCH_CONFIG}, w.word) as query) q
          where numnode(q.query) > 0
        ),
        corpus as (
          select greatest(1, case when c.reltuples >= ${EXACT_CORPUS_COUNT_LIMIT} then c.reltuples::float8
                                  else (select count(*) from memory)::float8 end) as n
          from pg_class c where c.oid = 'memory'::regclass
        ),
        weighted as (
          select t.query, ln(1 + (corpus.n - d.n + 0.5) / (d.n + 0.5)) as idf
          from terms t cross join corpus
            cross join lateral (select count(*)::float8 as n from memory x where x.search @@ t.query) d
        ),
        ranked as (
          select m.namespace, m.key, sum(w.idf * ts_rank_cd(${RANK_WEIGHTS}::float4[], m.search, w.query, ${sql.lit(RANK_NORMALIZATION)})) as score
          from weighted w join memory m on m.search @@ w.query
          where ${searchWhere(filter)}
          group by m.namespace, m.key
          order by score desc, m.namespace, m.key
          limit ${filter.limit}
        )
        select ${ENTRY_COLUMNS}, r.score from ranked r
          join memory m on m.namespace = r.namespace and m.key = r.key
          join memory_blobs b on b.hash = m.value_ref
        order by r.score desc, m.namespace, m.key`,
    );
    return rows.map((row) => ({ entry: entryFrom(row), score: Number(row.score) }));
  }

  async searchVector(vector: Float32Array, model: string, filter: MemorySearchFilter): Promise<MemorySearchHit[]> {
    checkVector(vector);
    checkModel(model);
    checkSearchFilter(filter);
    if (filter.limit === 0) return [];
    const dims = await this.modelDimensions(this.db, model);
    if (dims === null) return [];
    if (dims !== vector.length) {
      throw new ValidationError(`embedding model ${model} has ${dims}-dimensional vectors; the query vector has ${vector.length}`, {
        details: { field: 'vector', model, dims, queryDims: vector.length },
      });
    }
    const mode = await this.vectorMode();
    const indexable = mode.engine === 'pgvector' && dims <= HNSW_MAX_DIMENSIONS ? new PgvectorSql(mode) : undefined;
    const pgvector = indexable && (await this.ensureIndex(indexable, dims)) ? indexable : undefined;
    return mapped('search memory by vector', async () => {
      if (pgvector) {
        const approximate = await this.db.transaction().execute(async (trx) => {
          await pgvector.tuneScan(trx, filter.limit);
          const distance = pgvector.distanceOperator(dims, vector);
          // Ordered by the distance operator itself, ascending: what pgvector answers from its index.
          return this.nearest(trx, sql`1 - ${distance}`, distance, model, dims, filter);
        });
        // Filters can leave the index's candidates short of `limit`; then only a full scan is sure.
        if (approximate.length >= filter.limit) return approximate;
      }
      return this.db.transaction().execute(async (trx) => {
        // JIT compilation costs more than it saves on this scan.
        await sql`select set_config('jit', 'off', true)`.execute(trx);
        const similarity = mode.engine === 'pgvector' ? sql`1 - ${new PgvectorSql(mode).distanceFunction(dims, vector)}` : exactSimilarity(vector);
        return this.nearest(trx, similarity, sql`similarity desc, e.namespace, e.key`, model, dims, filter);
      });
    });
  }

  async listUnembedded(model: string, limit: number): Promise<{ namespace: string; key: string; version: number; text: string }[]> {
    checkModel(model);
    checkCount(limit, 'limit', 0);
    // No `now` here: expired entries not yet collected may be listed; embedding them is harmless.
    const { rows } = await this.run(
      'list memory without embeddings',
      sql<Row>`select m.namespace, m.key, m.version, b.data, b.compressed from memory m join memory_blobs b on b.hash = m.value_ref
        where not exists (select 1 from memory_embeddings e
                          where e.namespace = m.namespace and e.key = m.key and e.model = ${model} and e.version = m.version)
        order by m.updated_at, m.namespace, m.key limit ${limit}`,
    );
    return rows.map((r) => {
      const value = JSON.parse(decodeValue(r.data as Uint8Array, Number(r.compressed))) as JsonValue;
      const text = flattenJsonText(value);
      // A value without strings (a number, say) is described by its key alone.
      return { namespace: r.namespace as string, key: r.key as string, version: Number(r.version), text: text === '' ? (r.key as string) : text };
    });
  }

  async stats(now: number): Promise<MemoryStoreStats> {
    checkTime(now, 'now');
    return mapped('read memory statistics', () =>
      // One snapshot for all the figures.
      this.db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (trx) => {
          const totals = await sql<Row>`
            select count(*) filter (where ${LIVE(now)}) as entries, count(*) filter (where not ${LIVE(now)}) as expired,
                   coalesce(sum(b.size), 0) as logical,
                   (select coalesce(sum(octet_length(data)), 0) from memory_blobs) as stored,
                   (select count(*) from memory_embeddings) as embeddings
            from memory m join memory_blobs b on b.hash = m.value_ref`.execute(trx);
          const namespaces = await sql<{ namespace: string; n: number }>`
            select m.namespace, count(*) as n from memory m where ${LIVE(now)} group by m.namespace order by m.namespace`.execute(trx);
          const t = totals.rows[0] ?? {};
          return {
            entries: Number(t.entries ?? 0),
            expired: Number(t.expired ?? 0),
            storedBytes: Number(t.stored ?? 0),
            logicalBytes: Number(t.logical ?? 0),
            namespaces: namespaces.rows.map((r) => ({ namespace: r.namespace, entries: Number(r.n) })),
            embeddings: Number(t.embeddings ?? 0),
          };
        }),
    );
  }

  // ---- writes ----

  async put(entry: MemoryWrite, expectedVersion?: number | null): Promise<MemoryEntry> {
    checkExpectedVersion(expectedVersion);
    return (await this.writeEntry(entry, expectedVersion, undefined)) as MemoryEntry;
  }

  async restore(entry: MemoryEntry, mode: 'skip' | 'overwrite', now: number): Promise<MemoryEntry | null> {
    return this.writeEntry(restoreWriteOf(entry), undefined, { entry, mode, now });
  }

  async putMany(entries: readonly MemoryWrite[]): Promise<MemoryEntry[]> {
    const checked = checkMemoryBatch(entries);
    return (await this.writeBatch(entries, checked, undefined)) as MemoryEntry[];
  }

  async restoreMany(entries: readonly MemoryEntry[], mode: 'skip' | 'overwrite', now: number): Promise<(MemoryEntry | null)[]> {
    const { writes, checked } = restoreBatchOf(entries, mode, now);
    return this.writeBatch(writes, checked, { entries, mode, now });
  }

  /**
   * The batch write path: one transaction, a fixed number of statements whatever the batch's size
   * (each over arrays, `unnest`): lock the addresses and read their rows, change reference counts,
   * insert the new rows, update the others, fix embeddings, drop values no longer referenced. The
   * plan (memory-batch-plan.ts) applies the writes in order to each address's state first.
   */
  private async writeBatch(
    entries: readonly MemoryWrite[],
    checked: readonly CheckedWrite[],
    restoring: BatchRestore | undefined,
  ): Promise<(MemoryEntry | null)[]> {
    if (entries.length === 0) return [];
    const writes = batchWritesOf(entries, checked, restoring);
    const addresses = batchAddresses(writes);
    const first = entries[0] as MemoryWrite;
    return this.transaction(`put ${entries.length} memory entries (${first.namespace}/${first.key} first)`, async (trx) => {
      const stored = await this.lockEntries(trx, addresses);
      const plan = planMemoryBatch(writes, stored);
      await applyBatch(trx, plan);
      return plan.results;
    });
  }

  /**
   * `lockEntry` for many addresses: their advisory locks, taken in the order of the lock keys (so
   * that two batches cannot each hold one the other waits for), then their rows, locked too.
   */
  private async lockEntries(trx: Transaction<ColonyTables>, addresses: readonly { namespace: string; key: string }[]): Promise<Map<string, StoredState>> {
    const names = addresses.map((a) => `${a.namespace} ${a.key}`);
    await sql`select pg_advisory_xact_lock(${sql.lit(MEMORY_ENTRY_LOCK_NAMESPACE)}, l.id) from (
        select distinct hashtext(current_schema() || ' ' || a.name) as id from unnest(${names}::text[]) as a(name) order by 1 offset 0
      ) l`.execute(trx);
    const { rows } = await sql<Row>`select m.namespace, m.key, m.version, m.value_ref, m.tags, m.expires_at, m.created_at, m.accessed_at, m.access_count
      from memory m join unnest(${addresses.map((a) => a.namespace)}::text[], ${addresses.map((a) => a.key)}::text[]) as a(namespace, key)
        on m.namespace = a.namespace and m.key = a.key
      for update of m`.execute(trx);
    const stored = new Map<string, StoredState>();
    for (const row of rows) {
      stored.set(addressId(row.namespace as string, row.key as string), {
        version: Number(row.version),
        valueRef: row.value_ref as string,
        // jsonb comes back parsed; its text as this adapter writes it is JSON.stringify's.
        tagsJson: JSON.stringify(readJson<string[]>(row.tags)),
        expiresAt: row.expires_at === null ? null : Number(row.expires_at),
        createdAt: Number(row.created_at),
        accessedAt: Number(row.accessed_at),
        accessCount: Number(row.access_count),
      });
    }
    return stored;
  }

  /**
   * The one write path (as on SQLite). A restore keeps the entry's own version and history; over a
   * live entry it skips, or overwrites with a version above the current one.
   */
  private async writeEntry(
    entry: MemoryWrite,
    expectedVersion: number | null | undefined,
    restoring: { entry: MemoryEntry; mode: 'skip' | 'overwrite'; now: number } | undefined,
  ): Promise<MemoryEntry | null> {
    const checked = checkMemoryWrite(entry);
    const { namespace, key, at } = entry;
    const hash = hashValueJson(checked.json);
    const tagsJson = JSON.stringify(checked.tags);
    const search = searchDocument(key, checked.tags, flattenJsonText(entry.value));
    // Large values are compressed before the transaction (no locks held meanwhile), unless stored already.
    let encoded: EncodedValue | undefined =
      checked.size <= MEMORY_COMPRESSION_THRESHOLD_BYTES || (await this.blobExists(hash)) ? undefined : encodeValue(checked.json, hash);

    return this.transaction(`put memory ${namespace}/${key}`, async (trx) => {
      const current = await this.lockEntry(trx, namespace, key);
      const live = current !== undefined && isLive(current.expires_at, restoring?.now ?? at);
      const actual = live ? current.version : null;
      if (expectedVersion !== undefined && expectedVersion !== actual) throw conflict(namespace, key, expectedVersion, actual);
      if (restoring && live && restoring.mode === 'skip') return null;

      const sameValue = current !== undefined && current.value_ref === hash;
      if (!sameValue) {
        // Reference counts change in hash order, so that two writes swapping values cannot deadlock.
        const changes = [{ hash, delta: 1 }];
        if (current !== undefined) changes.push({ hash: current.value_ref, delta: -1 });
        changes.sort((a, b) => (a.hash < b.hash ? -1 : 1));
        for (const change of changes) {
          if (change.delta > 0) await retainBlob(trx, hash, () => (encoded ??= encodeValue(checked.json, hash)));
          else await sql`update memory_blobs set refcount = refcount - 1 where hash = ${change.hash}`.execute(trx);
        }
      }

      const r = restoring?.entry;
      const version = r ? (live ? Math.max(r.version, current.version + 1) : r.version) : live ? current.version + 1 : 1;
      const createdAt = r ? r.createdAt : live ? current.created_at : at;
      const accessedAt = r ? r.accessedAt : live ? current.accessed_at : at;
      const accessCount = r ? r.accessCount : live ? current.access_count : 0;
      if (current === undefined) {
        await sql`insert into memory (namespace, key, version, value_ref, tags, metadata, expires_at, created_at, updated_at, accessed_at, access_count, search)
          values (${namespace}, ${key}, ${version}, ${hash}, ${tagsJson}::jsonb, ${checked.metadataJson}::jsonb, ${entry.expiresAt},
                  ${createdAt}, ${at}, ${accessedAt}, ${accessCount}, ${search})`.execute(trx);
      } else {
        // An entry's embeddings describe its value: kept (moved to the new version) when the value is
        // unchanged, dropped when it changed or when the old entry had expired.
        if (live && sameValue) await sql`update memory_embeddings set version = ${version} where namespace = ${namespace} and key = ${key}`.execute(trx);
        else await sql`delete from memory_embeddings where namespace = ${namespace} and key = ${key}`.execute(trx);
        const reindex = !sameValue || JSON.stringify(current.tags) !== tagsJson;
        await sql`update memory set version = ${version}, value_ref = ${hash}, tags = ${tagsJson}::jsonb, metadata = ${checked.metadataJson}::jsonb,
            expires_at = ${entry.expiresAt}, created_at = ${createdAt}, updated_at = ${at}, accessed_at = ${accessedAt}, access_count = ${accessCount}
            ${reindex ? sql`, search = ${search}` : sql``}
          where namespace = ${namespace} and key = ${key}`.execute(trx);
        if (!sameValue) await dropUnreferencedBlobs(trx, [current.value_ref]);
      }
      return {
        namespace,
        key,
        value: JSON.parse(checked.json) as JsonValue,
        version,
        tags: checked.tags,
        metadata: JSON.parse(checked.metadataJson) as Record<string, JsonValue>,
        expiresAt: entry.expiresAt,
        createdAt,
        updatedAt: at,
        accessedAt,
        accessCount,
        size: checked.size,
      };
    });
  }

  async delete(namespace: string, key: string, expectedVersion?: number): Promise<boolean> {
    checkAddress(namespace, key);
    if (expectedVersion !== undefined) checkCount(expectedVersion, 'expectedVersion', 1);
    // No clock: the row goes whether or not it has expired meanwhile.
    return this.transaction(`delete memory ${namespace}/${key}`, async (trx) => {
      const current = await this.lockEntry(trx, namespace, key);
      const actual = current?.version ?? null;
      if (expectedVersion !== undefined && expectedVersion !== actual) throw conflict(namespace, key, expectedVersion, actual);
      if (current === undefined) return false;
      await removeEntries(trx, [current]);
      return true;
    });
  }

  async recordAccess(hits: readonly { namespace: string; key: string; at: number }[]): Promise<void> {
    if (!Array.isArray(hits)) throw new ValidationError('memory access hits must be an array', { details: { field: 'hits' } });
    if (hits.length === 0) return;
    const merged = new Map<string, { namespace: string; key: string; count: number; at: number }>();
    for (const hit of hits) {
      checkAddress(hit.namespace, hit.key);
      checkTime(hit.at, 'at');
      const id = `${hit.namespace}\u0000${hit.key}`;
      const seen = merged.get(id);
      if (seen) {
        seen.count += 1;
        seen.at = Math.max(seen.at, hit.at);
      } else merged.set(id, { namespace: hit.namespace, key: hit.key, count: 1, at: hit.at });
    }
    const all = [...merged.values()];
    await this.transaction('record memory access', async (trx) => {
      await sql`update memory m set access_count = m.access_count + h.n, accessed_at = greatest(m.accessed_at, h.at)
        from unnest(${all.map((h) => h.namespace)}::text[], ${all.map((h) => h.key)}::text[], ${all.map((h) => h.count)}::int[],
                    ${all.map((h) => h.at)}::bigint[]) as h(namespace, key, n, at)
        where m.namespace = h.namespace and m.key = h.key`.execute(trx);
    });
  }

  async setEmbedding(namespace: string, key: string, version: number, model: string, vector: Float32Array): Promise<void> {
    checkAddress(namespace, key);
    checkCount(version, 'version', 1);
    checkModel(model);
    checkVector(vector);
    const dims = vector.length;
    const mode = await this.vectorMode();
    // Indexed before the first vector of its length is written, so that the index build is short.
    if (mode.engine === 'pgvector' && dims <= HNSW_MAX_DIMENSIONS) await this.ensureIndex(new PgvectorSql(mode), dims);
    await this.transaction(`set embedding of memory ${namespace}/${key}`, async (trx) => {
      const current = await this.lockEntry(trx, namespace, key);
      if (current === undefined || current.version !== version) return; // Stale: the entry changed or went.
      const known = await this.modelDimensions(trx, model);
      if (known !== null && known !== dims) {
        throw new ValidationError(`embedding model ${model} has ${known}-dimensional vectors; this one has ${dims}`, {
          details: { field: 'vector', model, dims: known, vectorDims: dims },
        });
      }
      await sql`insert into memory_embeddings (namespace, key, version, model, dims, created_at, embedding)
        values (${namespace}, ${key}, ${version}, ${model}, ${dims}, (extract(epoch from clock_timestamp()) * 1000)::bigint, ${Array.from(vector)}::real[])
        on conflict (namespace, key, model) do update
          set version = excluded.version, dims = excluded.dims, created_at = excluded.created_at, embedding = excluded.embedding`.execute(trx);
    });
  }

  async deleteExpired(now: number, limit: number): Promise<number> {
    checkTime(now, 'now');
    checkCount(limit, 'limit', 0);
    if (limit === 0) return 0;
    return this.transaction('delete expired memory', async (trx) => {
      // Entries being written right now are locked by their writer: skipped, collected next time.
      const { rows } = await sql<StoredRow>`select namespace, key, value_ref from memory
        where expires_at is not null and expires_at <= ${now} order by expires_at limit ${limit} for update skip locked`.execute(trx);
      await removeEntries(trx, rows);
      return rows.length;
    });
  }

  // ---- internals ----

  private async run<T>(what: string, query: RawBuilder<T>): Promise<{ rows: T[] }> {
    return mapped(what, () => query.execute(this.db));
  }

  /** A transaction, tried again on a deadlock or a serialization failure; errors mapped. */
  private async transaction<T>(what: string, body: (trx: Transaction<ColonyTables>) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction().execute(body);
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        if ((code === '40P01' || code === '40001') && attempt < WRITE_ATTEMPTS) continue;
        throw mapPostgresError(error, what);
      }
    }
  }

  /**
   * Takes the entry's advisory lock (held to the end of the transaction) and reads it, locking its
   * row too (so that the garbage collector skips it). Undefined when there is no such entry.
   */
  private async lockEntry(trx: Transaction<ColonyTables>, namespace: string, key: string): Promise<StoredRow | undefined> {
    // Namespaces hold no spaces, so `namespace key` names one address; the schema keeps other
    // Colonies sharing the database from contending for the same keys.
    await sql`select pg_advisory_xact_lock(${sql.lit(MEMORY_ENTRY_LOCK_NAMESPACE)}, hashtext(current_schema() || ' ' || ${`${namespace} ${key}`}))`.execute(trx);
    const { rows } = await sql<Row>`select namespace, key, version, value_ref, tags, expires_at, created_at, accessed_at, access_count
      from memory where namespace = ${namespace} and key = ${key} for update`.execute(trx);
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      namespace: row.namespace as string,
      key: row.key as string,
      version: Number(row.version),
      value_ref: row.value_ref as string,
      tags: readJson<string[]>(row.tags),
      expires_at: row.expires_at === null ? null : Number(row.expires_at),
      created_at: Number(row.created_at),
      accessed_at: Number(row.accessed_at),
      access_count: Number(row.access_count),
    };
  }

  private async blobExists(hash: string): Promise<boolean> {
    const { rows } = await this.run('read memory blob', sql`select 1 as found from memory_blobs where hash = ${hash}`);
    return rows.length > 0;
  }

  private async modelDimensions(db: Db, model: string): Promise<number | null> {
    const { rows } = await mapped('read embedding model', () =>
      sql<{ dims: number }>`select dims from memory_embeddings where model = ${model} limit 1`.execute(db),
    );
    return rows[0] ? Number(rows[0].dims) : null;
  }

  /**
   * Makes sure vectors of this length have their HNSW index. False when it could not be created (no
   * privilege on the schema, say): searches then scan exactly, and the next one tries again.
   */
  private async ensureIndex(pgvector: PgvectorSql, dims: number): Promise<boolean> {
    if (this.indexed.has(dims)) return true;
    try {
      await pgvector.ensureIndex(this.db, dims);
    } catch {
      return false;
    }
    this.indexed.add(dims);
    return true;
  }

  /**
   * The `limit` entries of `model` nearest the query that pass the filter, chosen by `order` (over
   * `e` and the selected `similarity`), then best first, ties by address. `similarity` is an
   * expression of the stored vector `e.embedding`.
   */
  private async nearest(
    trx: Transaction<ColonyTables>,
    similarity: RawBuilder<unknown>,
    order: RawBuilder<unknown>,
    model: string,
    dims: number,
    filter: MemorySearchFilter,
  ): Promise<MemorySearchHit[]> {
    const { rows } = await sql<Row>`
      with nearest as (
        select e.namespace, e.key, ${similarity} as similarity
        from memory_embeddings e join memory m on m.namespace = e.namespace and m.key = e.key and m.version = e.version
        where e.model = ${model} and e.dims = ${sql.lit(dims)} and e.embedding is not null and ${searchWhere(filter)}
        order by ${order}
        limit ${filter.limit}
      )
      select ${ENTRY_COLUMNS}, n.similarity from nearest n
        join memory m on m.namespace = n.namespace and m.key = n.key
        join memory_blobs b on b.hash = m.value_ref
      order by n.similarity desc, m.namespace, m.key`.execute(trx);
    return rows.map((row) => ({ entry: entryFrom(row), score: Number(row.similarity) }));
  }
}

/** The entry's tsvector: key (weight A), tags (B) and the value's strings (D). Also what `colony db copy` writes. */
export function searchDocument(key: string, tags: readonly string[], text: string): RawBuilder<unknown> {
  const part = (words: string, weight: string) => sql`setweight(to_tsvector(${TEXT_SEARCH_CONFIG}, ${words}::text), ${sql.lit(weight)})`;
  return sql`(${part(documentWords(key), 'A')} || ${part(documentWords(tags.join(' ')), 'B')} || ${part(documentWords(text), 'D')})`;
}

/** One more reference to the blob `hash`, stored now (from `encode`) if it is new. */
async function retainBlob(trx: Transaction<ColonyTables>, hash: string, encode: () => EncodedValue): Promise<void> {
  const bumped = await sql`update memory_blobs set refcount = refcount + 1 where hash = ${hash}`.execute(trx);
  if (Number(bumped.numAffectedRows ?? 0) === 1) return;
  const blob = encode();
  // Another writer may store the same value at the same moment: then this is one more reference.
  await sql`insert into memory_blobs (hash, data, compressed, size, refcount)
    values (${blob.hash}, ${Buffer.from(blob.data.buffer, blob.data.byteOffset, blob.data.byteLength)}, ${blob.compressed}, ${blob.size}, 1)
    on conflict (hash) do update set refcount = memory_blobs.refcount + 1`.execute(trx);
}

/** Applies a planned batch (see PostgresMemoryStore.writeBatch). */
async function applyBatch(trx: Transaction<ColonyTables>, plan: BatchPlan): Promise<void> {
  // Reference counts first for values gaining references (an entry may only point at a stored
  // value). The rows are locked in hash order, as single writes change them, so no deadlock.
  const deltas = [...plan.blobDeltas].sort(([a], [b]) => (a < b ? -1 : 1));
  if (deltas.length > 0) {
    const hashes = deltas.map(([hash]) => hash);
    await sql`select 1 from memory_blobs where hash = any(${hashes}::text[]) order by hash for update`.execute(trx);
    const gaining = deltas.filter(([, delta]) => delta > 0);
    const { rows: existing } = await sql<{ hash: string }>`update memory_blobs b set refcount = b.refcount + d.delta
      from unnest(${gaining.map(([h]) => h)}::text[], ${gaining.map(([, d]) => d)}::bigint[]) as d(hash, delta)
      where b.hash = d.hash returning b.hash`.execute(trx);
    const found = new Set(existing.map((r) => r.hash));
    const fresh = gaining.filter(([hash]) => !found.has(hash));
    if (fresh.length > 0) {
      const blobs = fresh.map(([hash]) => {
        const w = plan.valueOf.get(hash) as BatchWrite;
        return encodeValue(w.checked.json, hash);
      });
      // Another writer may store the same value at the same moment: then these are more references.
      await sql`insert into memory_blobs (hash, data, compressed, size, refcount)
        select * from unnest(${blobs.map((b) => b.hash)}::text[], ${blobs.map((b) => Buffer.from(b.data.buffer, b.data.byteOffset, b.data.byteLength))}::bytea[],
                             ${blobs.map((b) => b.compressed)}::int[], ${blobs.map((b) => b.size)}::bigint[], ${fresh.map(([, d]) => d)}::bigint[])
        on conflict (hash) do update set refcount = memory_blobs.refcount + excluded.refcount`.execute(trx);
    }
  }

  const written = plan.addresses.filter((a) => a.after !== undefined);
  const columns = (list: typeof written) => {
    const after = list.map((a) => a.after as NonNullable<(typeof a)['after']>);
    const reindex = list.map((a) => a.before === undefined || a.before.valueRef !== a.after?.write.hash || a.before.tagsJson !== a.after.tagsJson);
    return sql`unnest(${list.map((a) => a.namespace)}::text[], ${list.map((a) => a.key)}::text[], ${after.map((x) => x.version)}::bigint[],
        ${after.map((x) => x.write.hash)}::text[], ${after.map((x) => x.tagsJson)}::jsonb[], ${after.map((x) => x.write.checked.metadataJson)}::jsonb[],
        ${after.map((x) => x.write.write.expiresAt)}::bigint[], ${after.map((x) => x.createdAt)}::bigint[], ${after.map((x) => x.write.write.at)}::bigint[],
        ${after.map((x) => x.accessedAt)}::bigint[], ${after.map((x) => x.accessCount)}::bigint[],
        ${list.map((a, i) => (reindex[i] ? documentWords(a.key) : null))}::text[],
        ${after.map((x, i) => (reindex[i] ? documentWords(x.write.checked.tags.join(' ')) : null))}::text[],
        ${after.map((x, i) => (reindex[i] ? documentWords(flattenJsonText(x.write.write.value)) : null))}::text[])
      as u(namespace, key, version, value_ref, tags, metadata, expires_at, created_at, updated_at, accessed_at, access_count, key_words, tag_words, text_words)`;
  };
  const created = written.filter((a) => a.before === undefined);
  if (created.length > 0) {
    await sql`insert into memory (namespace, key, version, value_ref, tags, metadata, expires_at, created_at, updated_at, accessed_at, access_count, search)
      select u.namespace, u.key, u.version, u.value_ref, u.tags, u.metadata, u.expires_at, u.created_at, u.updated_at, u.accessed_at, u.access_count,
             ${wordsDocument()}
      from ${columns(created)}`.execute(trx);
  }
  const updated = written.filter((a) => a.before !== undefined);
  if (updated.length > 0) {
    // An entry's embeddings describe its value: moved to the new version when it kept its value, else dropped.
    const keep = updated.filter((a) => a.keepEmbeddings);
    const drop = updated.filter((a) => !a.keepEmbeddings);
    if (keep.length > 0) {
      await sql`update memory_embeddings e set version = u.version
        from unnest(${keep.map((a) => a.namespace)}::text[], ${keep.map((a) => a.key)}::text[], ${keep.map((a) => a.after?.version)}::bigint[]) as u(namespace, key, version)
        where e.namespace = u.namespace and e.key = u.key`.execute(trx);
    }
    if (drop.length > 0) {
      await sql`delete from memory_embeddings e using unnest(${drop.map((a) => a.namespace)}::text[], ${drop.map((a) => a.key)}::text[]) as u(namespace, key)
        where e.namespace = u.namespace and e.key = u.key`.execute(trx);
    }
    await sql`update memory m set version = u.version, value_ref = u.value_ref, tags = u.tags, metadata = u.metadata, expires_at = u.expires_at,
        created_at = u.created_at, updated_at = u.updated_at, accessed_at = u.accessed_at, access_count = u.access_count,
        search = case when u.key_words is null then m.search else ${wordsDocument()} end
      from ${columns(updated)}
      where m.namespace = u.namespace and m.key = u.key`.execute(trx);
  }

  const losing = [...plan.blobDeltas].filter(([, delta]) => delta < 0);
  if (losing.length > 0) {
    await sql`update memory_blobs b set refcount = b.refcount + d.delta
      from unnest(${losing.map(([h]) => h)}::text[], ${losing.map(([, d]) => d)}::bigint[]) as d(hash, delta)
      where b.hash = d.hash`.execute(trx);
    await dropUnreferencedBlobs(
      trx,
      losing.map(([hash]) => hash),
    );
  }
}

/** searchDocument over the batch columns `u.key_words`, `u.tag_words`, `u.text_words` (already folded by documentWords). */
function wordsDocument(): RawBuilder<unknown> {
  const part = (column: string, weight: string) => sql`setweight(to_tsvector(${TEXT_SEARCH_CONFIG}, ${sql.ref(column)}), ${sql.lit(weight)})`;
  return sql`(${part('u.key_words', 'A')} || ${part('u.tag_words', 'B')} || ${part('u.text_words', 'D')})`;
}

async function dropUnreferencedBlobs(trx: Transaction<ColonyTables>, hashes: readonly string[]): Promise<void> {
  await sql`delete from memory_blobs where hash = any(${[...new Set(hashes)]}::text[]) and refcount <= 0`.execute(trx);
}

/** Removes locked entries with what hangs off them: embeddings (by cascade) and blob references. */
async function removeEntries(trx: Transaction<ColonyTables>, rows: readonly Pick<StoredRow, 'namespace' | 'key' | 'value_ref'>[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`delete from memory m using unnest(${rows.map((r) => r.namespace)}::text[], ${rows.map((r) => r.key)}::text[]) as d(namespace, key)
    where m.namespace = d.namespace and m.key = d.key`.execute(trx);
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.value_ref, (counts.get(row.value_ref) ?? 0) + 1);
  const hashes = [...counts.keys()].sort();
  for (const hash of hashes) await sql`update memory_blobs set refcount = refcount - ${counts.get(hash) ?? 0} where hash = ${hash}`.execute(trx);
  await dropUnreferencedBlobs(trx, hashes);
}

function readJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

function entryFrom(row: Row): MemoryEntry {
  const value = JSON.parse(decodeValue(row.data as Uint8Array, Number(row.compressed))) as JsonValue;
  return {
    namespace: row.namespace as string,
    key: row.key as string,
    value,
    version: Number(row.version),
    tags: readJson<string[]>(row.tags),
    metadata: readJson<Record<string, JsonValue>>(row.metadata),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    accessedAt: Number(row.accessed_at),
    accessCount: Number(row.access_count),
    size: Number(row.size),
  };
}

function isLive(expiresAt: number | null, now: number): boolean {
  return expiresAt === null || expiresAt > now;
}

function conflict(namespace: string, key: string, expected: number | null, actual: number | null): ConflictError {
  const want = expected === null ? 'no entry' : `version ${expected}`;
  const found = actual === null ? 'none' : `version ${actual}`;
  return new ConflictError(`memory ${namespace}/${key}: expected ${want}, found ${found}`, {
    details: { namespace, key, expected, actual },
  });
}

/** The namespaces a search is limited to, or null for all. `namespaces: []` matches nothing. */
function filterNamespaces(filter: MemorySearchFilter): readonly string[] | null {
  if (filter.namespace !== undefined) return [filter.namespace];
  return filter.namespaces ?? null;
}

function listWhere(query: Omit<MemoryListQuery, 'limit' | 'offset'>): RawBuilder<unknown> {
  if (typeof query !== 'object' || query === null) throw new ValidationError('memory list query must be an object', { details: { field: 'query' } });
  checkTime(query.now, 'now');
  const clauses: RawBuilder<unknown>[] = [LIVE(query.now)];
  if (query.namespace !== undefined) {
    checkNamespace(query.namespace);
    clauses.push(sql`m.namespace = ${query.namespace}`);
  }
  if (query.keyPrefix !== undefined && query.keyPrefix !== '') {
    if (typeof query.keyPrefix !== 'string') throw new ValidationError('memory keyPrefix must be a string', { details: { field: 'keyPrefix' } });
    // A range of the primary key (byte-wise, migration 0011): from the prefix to the smallest string above all it starts.
    clauses.push(sql`m.key >= ${query.keyPrefix}`);
    const upper = prefixUpperBound(query.keyPrefix);
    if (upper !== null) clauses.push(sql`m.key < ${upper}`);
  }
  if (query.tags !== undefined && query.tags.length > 0) clauses.push(hasAllTags(checkTags(query.tags)));
  return sql.join(clauses, sql` and `);
}

function searchWhere(filter: MemorySearchFilter): RawBuilder<unknown> {
  const clauses: RawBuilder<unknown>[] = [LIVE(filter.now)];
  const namespaces = filterNamespaces(filter);
  if (namespaces !== null) clauses.push(sql`m.namespace = any(${[...namespaces]}::text[])`);
  if (filter.tags !== undefined && filter.tags.length > 0) clauses.push(hasAllTags(filter.tags));
  return sql.join(clauses, sql` and `);
}

/** Entries having every one of `tags` (jsonb containment, served by the GIN index on tags). */
function hasAllTags(tags: readonly string[]): RawBuilder<unknown> {
  return sql`m.tags @> ${JSON.stringify(tags)}::jsonb`;
}

/**
 * The smallest string greater than every string that starts with `prefix` in code point order (which
 * `collate "C"` on UTF-8 is): the prefix with its last code point incremented (dropping trailing
 * U+10FFFF). Null when there is none.
 */
function prefixUpperBound(prefix: string): string | null {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop() as string;
    let cp = (last.codePointAt(0) as number) + 1;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000;
    if (cp <= 0x10ffff) return points.join('') + String.fromCodePoint(cp);
  }
  return null;
}
