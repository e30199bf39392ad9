import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { MAX_EPOCH_MS } from '../../../domain/bounds.js';
import { ConflictError, StorageError, ValidationError } from '../../../domain/errors.js';
import type { JsonValue } from '../../../domain/json.js';
import type {
  MemoryEntry,
  MemoryListQuery,
  MemoryStamp,
  MemorySearchFilter,
  MemorySearchHit,
  MemoryStore,
  MemoryStoreStats,
  MemoryWrite,
} from '../../../ports/memory-store.js';
import { memoryEntryFromRow } from '../sql/rows.js';
import type { MemoryRow } from '../sql/schema.js';
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
import { checkVector } from './memory-input.js';
import { flattenJsonText, ftsMatchExpression } from './memory-text.js';
import { decodeValue, encodeValue, hashValueJson, MEMORY_COMPRESSION_THRESHOLD_BYTES, type EncodedValue } from './memory-value-codec.js';
import type { VectorExtensionStatus } from './sqlite-vec-loader.js';
import { StatementCache } from './statement-cache.js';
import type { WriteBatcher } from './write-batcher.js';

/**
 * The MemoryStore port on the colony's SQLite file (memory's durable tier, L3). It shares the
 * connection and the group-commit WriteBatcher of the SqliteStore that creates it, so memory writes
 * are batched with the engine's and each operation is atomic (a savepoint) within its batch.
 *
 * Layout (migration 0003_memory):
 * - `memory`: one row per (namespace, key), pointing at its value in `memory_blobs` by hash.
 * - `memory_blobs`: values by SHA-256 of their JSON, gzip-compressed above 1 KB, with a reference
 *   count. Identical values under different keys share one blob; a blob whose count falls to zero
 *   (overwrite, delete, expiry) is deleted in the same transaction.
 * - `memory_fts`: contentless FTS5 over (namespace, key, value strings, tags) for BM25; the entry
 *   keeps its FTS rowid. Kept in step with `memory` by this adapter, in the same savepoint.
 * - `memory_embeddings`: which entry version has a vector for which model.
 * - `memory_vec_<dims>`: sqlite-vec vec0 tables holding the vectors (cosine distance), rowid =
 *   memory_embeddings.id, with `model` as the vec0 partition key and `namespace` as a metadata
 *   column. One table per vector length, created here on first use (migrations run without the
 *   extension): models of the same length share a table, sharded by model, so a KNN scan reads only
 *   its model's vectors. (As a metadata column, `model` cost a lookup of the full string per vector
 *   for names over 12 bytes, which doubled the scan; migration 0013 converted such tables.)
 *
 * Vector search filters model and namespace inside the KNN scan (partition key and metadata column,
 * so those never cost results). Tags and expiry live in `memory`, so the KNN over-fetches (4× the limit, at
 * least 64) and filters afterwards; when filtering leaves too few hits and more neighbours exist, it
 * asks again for 4× as many, up to sqlite-vec's ceiling of 4096 neighbours per query.
 *
 * Without sqlite-vec (the connection could not load it) everything but `setEmbedding` and
 * `searchVector` works; those two fail with a StorageError that says why.
 */

/** Neighbours fetched per requested hit before tag and expiry filtering. */
const VECTOR_OVERFETCH_FACTOR = 4;
const VECTOR_OVERFETCH_MIN = 64;
/** sqlite-vec refuses `k` above this. */
const VEC0_MAX_K = 4096;
/** BM25 column weights of memory_fts: namespace (not searched), key, text, tags. */
const BM25_WEIGHTS = '0.0, 3.0, 1.0, 2.0';

type Row = Record<string, unknown>;

interface StoredRow {
  namespace: string;
  key: string;
  version: number;
  value_ref: string;
  fts_rowid: number | null;
  tags: string;
  expires_at: number | null;
  created_at: number;
  accessed_at: number;
  access_count: number;
}

/**
 * A time column read back within what a Date can show. Writes are bounded (memory-validation.ts), but
 * older versions stored expiries up to 1e19 ms; node:sqlite cannot even read an integer past 2^53,
 * so such a row is read as the latest instant rather than failing every listing that meets it.
 */
const timeColumn = (column: string, table = 'm'): string =>
  `max(min(${table ? `${table}.` : ''}${column}, ${MAX_EPOCH_MS}), -${MAX_EPOCH_MS}) AS ${column}`;
/** Likewise a counter, within the safe integers. */
const countColumn = (column: string, table = 'm'): string => `min(${table ? `${table}.` : ''}${column}, ${Number.MAX_SAFE_INTEGER}) AS ${column}`;

const ENTRY_COLUMNS = [
  'm.namespace',
  'm.key',
  countColumn('version'),
  'm.tags',
  'm.metadata',
  timeColumn('expires_at'),
  timeColumn('created_at'),
  timeColumn('updated_at'),
  timeColumn('accessed_at'),
  countColumn('access_count'),
  'b.data',
  'b.compressed',
  'b.size',
].join(', ');
/** The columns of a StoredRow, read the same safe way. */
const STORED_COLUMNS = [
  'namespace',
  'key',
  countColumn('version', ''),
  'value_ref',
  'fts_rowid',
  'tags',
  timeColumn('expires_at', ''),
  timeColumn('created_at', ''),
  timeColumn('accessed_at', ''),
  countColumn('access_count', ''),
].join(', ');
const STAMP_QUERY = `SELECT ${countColumn('version', '')}, ${timeColumn('updated_at', '')} FROM memory WHERE namespace = ? AND key = ?`;
const LIVE = '(m.expires_at IS NULL OR m.expires_at > ?)';
/** Entries having every tag of a JSON array parameter. */
const HAS_ALL_TAGS =
  'NOT EXISTS (SELECT 1 FROM json_each(?) want WHERE want.value NOT IN (SELECT have.value FROM json_each(m.tags) have))';

export interface SqliteMemoryStoreOptions {
  /** Whether sqlite-vec is loaded on `db` (see `loadSqliteVec`). */
  vectors: VectorExtensionStatus;
}

export class SqliteMemoryStore implements MemoryStore {
  /** Whether vector search works on this connection, and if not, why. */
  readonly vectors: VectorExtensionStatus;
  private readonly db: DatabaseSync;
  private readonly writes: WriteBatcher;
  private readonly vecTables = new Set<number>();
  private readonly statementCache: StatementCache;

  constructor(db: DatabaseSync, writes: WriteBatcher, options: SqliteMemoryStoreOptions) {
    this.db = db;
    this.writes = writes;
    this.vectors = options.vectors;
    this.statementCache = new StatementCache(db);
  }

  // ---- reads ----

  async get(namespace: string, key: string, now: number): Promise<MemoryEntry | undefined> {
    checkAddress(namespace, key);
    checkTime(now, 'now');
    const row = this.stmt(
      `SELECT ${ENTRY_COLUMNS} FROM memory m JOIN memory_blobs b ON b.hash = m.value_ref
       WHERE m.namespace = ? AND m.key = ? AND ${LIVE}`,
    ).get(namespace, key, now) as Row | undefined;
    return row ? entryFrom(row) : undefined;
  }

  async stamp(namespace: string, key: string): Promise<MemoryStamp | undefined> {
    // Read through the same clamps as entries, so that a stamp equals the entry's own fields.
    const row = this.stmt(STAMP_QUERY).get(namespace, key) as
      | { version: number; updated_at: number }
      | undefined;
    return row ? { version: Number(row.version), updatedAt: Number(row.updated_at) } : undefined;
  }

  async list(query: MemoryListQuery): Promise<MemoryEntry[]> {
    const where = listWhere(query);
    const limit = query.limit === undefined ? -1 : checkCount(query.limit, 'limit', 0);
    const offset = query.offset === undefined ? 0 : checkCount(query.offset, 'offset', 0);
    const rows = this.all(
      `SELECT ${ENTRY_COLUMNS} FROM memory m JOIN memory_blobs b ON b.hash = m.value_ref
       WHERE ${where.clauses.join(' AND ')} ORDER BY m.namespace, m.key LIMIT ? OFFSET ?`,
      ...where.params,
      limit,
      offset,
    );
    return rows.map(entryFrom);
  }

  async count(query: Omit<MemoryListQuery, 'limit' | 'offset'>): Promise<number> {
    const where = listWhere(query);
    const row = this.stmt(`SELECT count(*) AS n FROM memory m WHERE ${where.clauses.join(' AND ')}`).get(...where.params) as Row;
    return Number(row.n);
  }

  async searchText(query: string, filter: MemorySearchFilter): Promise<MemorySearchHit[]> {
    if (typeof query !== 'string') throw new ValidationError('memory search query must be a string', { details: { field: 'query' } });
    checkSearchFilter(filter);
    const match = ftsMatchExpression(query);
    if (match === null || filter.limit === 0) return [];
    const where = searchWhere(filter);
    // Ranked on the narrow columns first; only the hits' values are read and decoded.
    const ranked = this.all(
      `SELECT m.namespace, m.key, bm25(memory_fts, ${BM25_WEIGHTS}) AS rank
       FROM memory_fts JOIN memory m ON m.fts_rowid = memory_fts.rowid
       WHERE memory_fts MATCH ? AND ${where.clauses.join(' AND ')}
       ORDER BY rank, m.namespace, m.key LIMIT ?`,
      match,
      ...where.params,
      filter.limit,
    );
    const hits: MemorySearchHit[] = [];
    for (const r of ranked) {
      const row = this.stmt(
        `SELECT ${ENTRY_COLUMNS} FROM memory m JOIN memory_blobs b ON b.hash = m.value_ref WHERE m.namespace = ? AND m.key = ?`,
      ).get(r.namespace as string, r.key as string) as Row | undefined;
      // bm25() is lower-is-better and negative; the port's scores are higher-is-better.
      if (row) hits.push({ entry: entryFrom(row), score: -Number(r.rank) });
    }
    return hits;
  }

  async searchVector(vector: Float32Array, model: string, filter: MemorySearchFilter): Promise<MemorySearchHit[]> {
    checkVector(vector);
    checkModel(model);
    checkSearchFilter(filter);
    this.requireVectors('vector search');
    if (filter.limit === 0) return [];
    const dims = this.modelDimensions(model);
    if (dims === null) return [];
    if (dims !== vector.length) {
      throw new ValidationError(`embedding model ${model} has ${dims}-dimensional vectors; the query vector has ${vector.length}`, {
        details: { field: 'vector', model, dims, queryDims: vector.length },
      });
    }
    if (!this.vecTableExists(dims)) return [];

    const namespaces = filterNamespaces(filter);
    const scope = namespaces === null ? '' : 'AND namespace IN (SELECT value FROM json_each(?))';
    const knn = this.stmt(
      `SELECT rowid AS id, distance FROM ${vecTable(dims)}
       WHERE embedding MATCH ? AND k = ? AND model = ? ${scope} ORDER BY distance`,
    );
    const passing = this.stmt(
      `SELECT e.id FROM json_each(?) j JOIN memory_embeddings e ON e.id = j.value
       JOIN memory m ON m.namespace = e.namespace AND m.key = e.key AND m.version = e.version
       WHERE ${LIVE}${filter.tags?.length ? ` AND ${HAS_ALL_TAGS}` : ''}`,
    );
    const query = vectorBytes(vector);
    let k = Math.min(VEC0_MAX_K, Math.max(filter.limit * VECTOR_OVERFETCH_FACTOR, VECTOR_OVERFETCH_MIN));
    for (;;) {
      const params: SQLInputValue[] = [query, k, model];
      if (namespaces !== null) params.push(JSON.stringify(namespaces));
      const neighbours = knn.all(...params) as { id: number; distance: number }[];
      const tagParams: SQLInputValue[] = filter.tags?.length ? [JSON.stringify(filter.tags)] : [];
      const ok = new Set(
        (passing.all(JSON.stringify(neighbours.map((n) => n.id)), filter.now, ...tagParams) as { id: number }[]).map((r) => Number(r.id)),
      );
      const chosen = neighbours.filter((n) => ok.has(Number(n.id))).slice(0, filter.limit);
      const exhausted = neighbours.length < k || k >= VEC0_MAX_K;
      if (chosen.length < filter.limit && !exhausted) {
        k = Math.min(VEC0_MAX_K, k * VECTOR_OVERFETCH_FACTOR);
        continue;
      }
      return this.hydrate(chosen);
    }
  }

  async listUnembedded(model: string, limit: number): Promise<{ namespace: string; key: string; version: number; text: string }[]> {
    checkModel(model);
    checkCount(limit, 'limit', 0);
    // No `now` here: expired entries not yet collected may be listed; embedding them is harmless.
    const rows = this.all(
      `SELECT m.namespace, m.key, ${countColumn('version')}, b.data, b.compressed FROM memory m JOIN memory_blobs b ON b.hash = m.value_ref
       WHERE NOT EXISTS (SELECT 1 FROM memory_embeddings e
                         WHERE e.namespace = m.namespace AND e.key = m.key AND e.model = ? AND e.version = m.version)
       ORDER BY m.updated_at, m.namespace, m.key LIMIT ?`,
      model,
      limit,
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
    const totals = this.stmt(
      `SELECT coalesce(sum(CASE WHEN ${LIVE} THEN 1 ELSE 0 END), 0) AS entries,
              coalesce(sum(CASE WHEN ${LIVE} THEN 0 ELSE 1 END), 0) AS expired,
              coalesce(sum(b.size), 0) AS logical
       FROM memory m JOIN memory_blobs b ON b.hash = m.value_ref`,
    ).get(now, now) as Row;
    const stored = this.stmt('SELECT coalesce(sum(length(data)), 0) AS n FROM memory_blobs').get() as Row;
    const namespaces = this.all(`SELECT m.namespace, count(*) AS n FROM memory m WHERE ${LIVE} GROUP BY m.namespace ORDER BY m.namespace`, now);
    const embeddings = this.stmt('SELECT count(*) AS n FROM memory_embeddings').get() as Row;
    return {
      entries: Number(totals.entries),
      expired: Number(totals.expired),
      storedBytes: Number(stored.n),
      logicalBytes: Number(totals.logical),
      namespaces: namespaces.map((r) => ({ namespace: r.namespace as string, entries: Number(r.n) })),
      embeddings: Number(embeddings.n),
    };
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
   * The batch write path: one savepoint for the whole batch (all or nothing), not one per entry.
   * The plan (memory-batch-plan.ts) applies the writes in order to each address's stored state;
   * then each address costs one row write and at most one keyword row, and each value's reference
   * count changes once for the whole batch.
   */
  private async writeBatch(
    entries: readonly MemoryWrite[],
    checked: readonly CheckedWrite[],
    restoring: BatchRestore | undefined,
  ): Promise<(MemoryEntry | null)[]> {
    if (entries.length === 0) return [];
    const writes = batchWritesOf(entries, checked, restoring);
    // Large new values are compressed before the write (as a single write does), not under the batch's lock.
    const encoded = new Map<string, EncodedValue>();
    for (const w of writes) {
      if (w.checked.size > MEMORY_COMPRESSION_THRESHOLD_BYTES && !encoded.has(w.hash) && !this.blobExists(w.hash)) {
        encoded.set(w.hash, encodeValue(w.checked.json, w.hash));
      }
    }
    const first = entries[0] as MemoryWrite;
    return this.write(`put ${entries.length} memory entries (${first.namespace}/${first.key} first)`, () =>
      this.writes.atomically(() => {
        const stored = new Map<string, StoredState>();
        const rows = new Map<string, StoredRow>();
        for (const { namespace, key } of batchAddresses(writes)) {
          const row = this.stored(namespace, key);
          if (row === undefined) continue;
          const id = addressId(namespace, key);
          rows.set(id, row);
          stored.set(id, storedState(row));
        }
        const plan = planMemoryBatch(writes, stored);
        this.applyBatch(plan, rows, encoded);
        return plan.results;
      }),
    );
  }

  private applyBatch(plan: BatchPlan, rows: ReadonlyMap<string, StoredRow>, encoded: ReadonlyMap<string, EncodedValue>): void {
    // Values gaining references first (an entry may only point at a stored value), losing them last.
    for (const [hash, delta] of plan.blobDeltas) {
      if (delta <= 0) continue;
      const bumped = this.stmt('UPDATE memory_blobs SET refcount = refcount + ? WHERE hash = ?').run(delta, hash);
      if (Number(bumped.changes) === 1) continue;
      const w = plan.valueOf.get(hash) as BatchWrite;
      const blob = encoded.get(hash) ?? encodeValue(w.checked.json, hash);
      this.stmt('INSERT INTO memory_blobs (hash, data, compressed, size, refcount) VALUES (?, ?, ?, ?, ?)').run(
        blob.hash,
        blob.data,
        blob.compressed,
        blob.size,
        delta,
      );
    }
    const ftsDelete = this.stmt('DELETE FROM memory_fts WHERE rowid = ?');
    const ftsInsert = this.stmt('INSERT INTO memory_fts (namespace, key, text, tags) VALUES (?, ?, ?, ?)');
    const insert = this.stmt(
      `INSERT INTO memory (namespace, key, version, value_ref, tags, metadata, expires_at, created_at, updated_at, accessed_at, access_count, fts_rowid)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const update = this.stmt(
      `UPDATE memory SET version = ?, value_ref = ?, tags = ?, metadata = ?, expires_at = ?, created_at = ?, updated_at = ?,
         accessed_at = ?, access_count = ?, fts_rowid = ?
       WHERE namespace = ? AND key = ?`,
    );
    for (const a of plan.addresses) {
      const after = a.after;
      if (after === undefined) continue;
      const { write, checked, hash } = after.write;
      const row = rows.get(addressId(a.namespace, a.key));
      let ftsRowid = row?.fts_rowid ?? null;
      if (row === undefined || row.value_ref !== hash || row.tags !== after.tagsJson || ftsRowid === null) {
        if (ftsRowid !== null) ftsDelete.run(ftsRowid);
        ftsRowid = Number(ftsInsert.run(a.namespace, a.key, flattenJsonText(write.value), checked.tags.join(' ')).lastInsertRowid);
      }
      const params = [hash, after.tagsJson, checked.metadataJson, write.expiresAt, after.createdAt, write.at, after.accessedAt, after.accessCount, ftsRowid] as const;
      if (row === undefined) {
        insert.run(a.namespace, a.key, after.version, ...params);
        continue;
      }
      if (a.keepEmbeddings) this.stmt('UPDATE memory_embeddings SET version = ? WHERE namespace = ? AND key = ?').run(after.version, a.namespace, a.key);
      else this.dropEmbeddings(a.namespace, a.key);
      update.run(after.version, ...params, a.namespace, a.key);
    }
    for (const [hash, delta] of plan.blobDeltas) {
      if (delta >= 0) continue;
      this.stmt('UPDATE memory_blobs SET refcount = refcount + ? WHERE hash = ?').run(delta, hash);
      this.stmt('DELETE FROM memory_blobs WHERE hash = ? AND refcount <= 0').run(hash);
    }
  }

  /**
   * The one write path. A restore keeps the entry's own version and history (created/accessed times,
   * access count); over a live entry it skips, or overwrites with a version above the current one so
   * that optimistic writers holding the old version still conflict.
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
    const text = flattenJsonText(entry.value);
    // Large values are compressed before the write transaction (so the batch's lock is not held for
    // it), unless the value is stored already (a duplicate). Small ones cost nothing to encode.
    let encoded: EncodedValue | undefined =
      checked.size <= MEMORY_COMPRESSION_THRESHOLD_BYTES || this.blobExists(hash) ? undefined : encodeValue(checked.json, hash);

    return this.write(`put memory ${namespace}/${key}`, () =>
      this.writes.atomically(() => {
        const current = this.stored(namespace, key);
        const live = current !== undefined && isLive(current.expires_at, restoring?.now ?? at);
        const actual = live ? current.version : null;
        if (expectedVersion !== undefined && expectedVersion !== actual) throw conflict(namespace, key, expectedVersion, actual);
        if (restoring && live && restoring.mode === 'skip') return null;

        const sameValue = current !== undefined && current.value_ref === hash;
        if (!sameValue) this.retainBlob(hash, () => (encoded ??= encodeValue(checked.json, hash)));

        let ftsRowid = current?.fts_rowid ?? null;
        if (!sameValue || current.tags !== tagsJson || ftsRowid === null) {
          if (ftsRowid !== null) this.stmt('DELETE FROM memory_fts WHERE rowid = ?').run(ftsRowid);
          ftsRowid = Number(
            this.stmt('INSERT INTO memory_fts (namespace, key, text, tags) VALUES (?, ?, ?, ?)').run(namespace, key, text, checked.tags.join(' '))
              .lastInsertRowid,
          );
        }

        const r = restoring?.entry;
        const version = r ? (live ? Math.max(r.version, current.version + 1) : r.version) : live ? current.version + 1 : 1;
        const createdAt = r ? r.createdAt : live ? current.created_at : at;
        const accessedAt = r ? r.accessedAt : live ? current.accessed_at : at;
        const accessCount = r ? r.accessCount : live ? current.access_count : 0;
        if (current === undefined) {
          this.stmt(
            `INSERT INTO memory (namespace, key, version, value_ref, tags, metadata, expires_at, created_at, updated_at, accessed_at, access_count, fts_rowid)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          ).run(namespace, key, version, hash, tagsJson, checked.metadataJson, entry.expiresAt, createdAt, at, accessedAt, accessCount, ftsRowid);
        } else {
          // An entry's embeddings describe its value: kept (moved to the new version) when the value
          // is unchanged, dropped when it changed or when the old entry had expired.
          if (live && sameValue) this.stmt('UPDATE memory_embeddings SET version = ? WHERE namespace = ? AND key = ?').run(version, namespace, key);
          else this.dropEmbeddings(namespace, key);
          this.stmt(
            `UPDATE memory SET version = ?, value_ref = ?, tags = ?, metadata = ?, expires_at = ?, created_at = ?, updated_at = ?,
               accessed_at = ?, access_count = ?, fts_rowid = ?
             WHERE namespace = ? AND key = ?`,
          ).run(version, hash, tagsJson, checked.metadataJson, entry.expiresAt, createdAt, at, accessedAt, accessCount, ftsRowid, namespace, key);
          if (!sameValue) this.releaseBlob(current.value_ref);
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
      }),
    );
  }

  async delete(namespace: string, key: string, expectedVersion?: number): Promise<boolean> {
    checkAddress(namespace, key);
    if (expectedVersion !== undefined) checkCount(expectedVersion, 'expectedVersion', 1);
    // A delete has no clock: it removes the row whether or not it has expired meanwhile, and compares
    // `expectedVersion` with the stored version.
    return this.write(`delete memory ${namespace}/${key}`, () =>
      this.writes.atomically(() => {
        const current = this.stored(namespace, key);
        const actual = current?.version ?? null;
        if (expectedVersion !== undefined && expectedVersion !== actual) throw conflict(namespace, key, expectedVersion, actual);
        if (current === undefined) return false;
        this.remove(current);
        return true;
      }),
    );
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
    await this.write('record memory access', () => {
      const update = this.stmt(
        'UPDATE memory SET access_count = access_count + ?, accessed_at = max(accessed_at, ?) WHERE namespace = ? AND key = ?',
      );
      for (const m of merged.values()) update.run(m.count, m.at, m.namespace, m.key);
    });
  }

  async setEmbedding(namespace: string, key: string, version: number, model: string, vector: Float32Array): Promise<void> {
    checkAddress(namespace, key);
    checkCount(version, 'version', 1);
    checkModel(model);
    checkVector(vector);
    this.requireVectors('storing an embedding');
    const dims = vector.length;
    const bytes = vectorBytes(vector);
    await this.write(`set embedding of memory ${namespace}/${key}`, () =>
      this.writes.atomically(() => {
        const current = this.stored(namespace, key);
        if (current === undefined || current.version !== version) return; // Stale: the entry changed or went.
        const known = this.modelDimensions(model);
        if (known !== null && known !== dims) {
          throw new ValidationError(`embedding model ${model} has ${known}-dimensional vectors; this one has ${dims}`, {
            details: { field: 'vector', model, dims: known, vectorDims: dims },
          });
        }
        const previous = this.stmt('SELECT id, dims FROM memory_embeddings WHERE namespace = ? AND key = ? AND model = ?').get(
          namespace,
          key,
          model,
        ) as { id: number; dims: number } | undefined;
        if (previous) {
          this.deleteVector(Number(previous.id), Number(previous.dims));
          this.stmt('DELETE FROM memory_embeddings WHERE id = ?').run(previous.id);
        }
        this.ensureVecTable(dims);
        const id = this.stmt(
          'INSERT INTO memory_embeddings (namespace, key, version, model, dims, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        ).run(namespace, key, version, model, dims, Date.now()).lastInsertRowid;
        this.stmt(`INSERT INTO ${vecTable(dims)} (rowid, embedding, model, namespace) VALUES (?, ?, ?, ?)`).run(
          BigInt(id),
          bytes,
          model,
          namespace,
        );
      }),
    );
  }

  async deleteExpired(now: number, limit: number): Promise<number> {
    checkTime(now, 'now');
    checkCount(limit, 'limit', 0);
    if (limit === 0) return 0;
    return this.write('delete expired memory', () =>
      this.writes.atomically(() => {
        const rows = this.all(
          `SELECT ${STORED_COLUMNS} FROM memory
           WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
          now,
          limit,
        ) as unknown as StoredRow[];
        for (const row of rows) this.remove(row);
        return rows.length;
      }),
    );
  }

  // ---- internals ----

  private stmt(text: string): StatementSync {
    return this.statementCache.get(text);
  }

  private all(text: string, ...params: SQLInputValue[]): Row[] {
    return this.statementCache.all(text, ...params);
  }

  private write<T>(what: string, run: () => T): Promise<T> {
    return this.writes.write(what, run);
  }

  private requireVectors(what: string): void {
    if (!this.vectors.available) {
      throw new StorageError(`${what} is unavailable: sqlite-vec (the vector search extension) could not be loaded (${this.vectors.reason})`, {
        details: { reason: this.vectors.reason },
      });
    }
  }

  private stored(namespace: string, key: string): StoredRow | undefined {
    return this.stmt(
      `SELECT ${STORED_COLUMNS} FROM memory WHERE namespace = ? AND key = ?`,
    ).get(namespace, key) as StoredRow | undefined;
  }

  private blobExists(hash: string): boolean {
    return this.stmt('SELECT 1 FROM memory_blobs WHERE hash = ?').get(hash) !== undefined;
  }

  /** One more reference to the blob `hash`, stored now (from `encode`) if it is new. */
  private retainBlob(hash: string, encode: () => EncodedValue): void {
    const bumped = this.stmt('UPDATE memory_blobs SET refcount = refcount + 1 WHERE hash = ?').run(hash);
    if (Number(bumped.changes) === 1) return;
    const blob = encode();
    this.stmt('INSERT INTO memory_blobs (hash, data, compressed, size, refcount) VALUES (?, ?, ?, ?, 1)').run(
      blob.hash,
      blob.data,
      blob.compressed,
      blob.size,
    );
  }

  /** One reference fewer; the blob goes when none is left. Call after the referring row changed. */
  private releaseBlob(hash: string): void {
    this.stmt('UPDATE memory_blobs SET refcount = refcount - 1 WHERE hash = ?').run(hash);
    this.stmt('DELETE FROM memory_blobs WHERE hash = ? AND refcount <= 0').run(hash);
  }

  /** Removes an entry with everything hanging off it: keyword row, embeddings, its blob reference. */
  private remove(row: StoredRow): void {
    if (row.fts_rowid !== null) this.stmt('DELETE FROM memory_fts WHERE rowid = ?').run(row.fts_rowid);
    this.dropEmbeddings(row.namespace, row.key);
    this.stmt('DELETE FROM memory WHERE namespace = ? AND key = ?').run(row.namespace, row.key);
    this.releaseBlob(row.value_ref);
  }

  private dropEmbeddings(namespace: string, key: string): void {
    const rows = this.all('SELECT id, dims FROM memory_embeddings WHERE namespace = ? AND key = ?', namespace, key);
    if (rows.length === 0) return;
    for (const r of rows) this.deleteVector(Number(r.id), Number(r.dims));
    this.stmt('DELETE FROM memory_embeddings WHERE namespace = ? AND key = ?').run(namespace, key);
  }

  /**
   * Without sqlite-vec the vec0 tables cannot be touched; their rows are then left behind. They are
   * harmless: memory_embeddings ids are never reused (AUTOINCREMENT), and search only returns
   * neighbours that still have a memory_embeddings row.
   */
  private deleteVector(id: number, dims: number): void {
    if (!this.vectors.available || !this.vecTableExists(dims)) return;
    this.stmt(`DELETE FROM ${vecTable(dims)} WHERE rowid = ?`).run(BigInt(id));
  }

  private modelDimensions(model: string): number | null {
    const row = this.stmt('SELECT dims FROM memory_embeddings WHERE model = ? LIMIT 1').get(model) as { dims: number } | undefined;
    return row ? Number(row.dims) : null;
  }

  private vecTableExists(dims: number): boolean {
    if (this.vecTables.has(dims)) return true;
    const found = this.stmt(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(vecTable(dims)) !== undefined;
    if (found) this.vecTables.add(dims);
    return found;
  }

  private ensureVecTable(dims: number): void {
    if (this.vecTableExists(dims)) return;
    // Inside the caller's savepoint: rolled back with it if the write fails. Not cached until seen
    // committed, hence no vecTables.add here.
    this.db.exec(createVecTableSql(dims));
  }

  private hydrate(chosen: readonly { id: number; distance: number }[]): MemorySearchHit[] {
    if (chosen.length === 0) return [];
    const rows = this.all(
      `SELECT e.id AS embedding_id, ${ENTRY_COLUMNS} FROM json_each(?) j JOIN memory_embeddings e ON e.id = j.value
       JOIN memory m ON m.namespace = e.namespace AND m.key = e.key JOIN memory_blobs b ON b.hash = m.value_ref`,
      JSON.stringify(chosen.map((c) => c.id)),
    );
    const byId = new Map(rows.map((r) => [Number(r.embedding_id), r]));
    const hits: MemorySearchHit[] = [];
    for (const c of chosen) {
      const row = byId.get(Number(c.id));
      // Cosine distance is 1 - cosine similarity; the score is the similarity.
      if (row) hits.push({ entry: entryFrom(row), score: 1 - c.distance });
    }
    // Equal distances: namespace then key, so that results do not depend on storage order.
    return hits.sort((a, b) => b.score - a.score || compareAddress(a.entry, b.entry));
  }
}

/** The vec0 table of one vector length, created on first use (also by `colony db copy`). */
export function createVecTableSql(dims: number): string {
  return `CREATE VIRTUAL TABLE IF NOT EXISTS ${vecTable(dims)} USING vec0(embedding float[${dims}] distance_metric=cosine, model text partition key, namespace text)`;
}

export function vecTable(dims: number): string {
  if (!Number.isInteger(dims) || dims <= 0) throw new StorageError(`bad vector length ${dims}`);
  return `memory_vec_${dims}`;
}

export function vectorBytes(vector: Float32Array): Uint8Array {
  return new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
}

function storedState(row: StoredRow): StoredState {
  return {
    version: Number(row.version),
    valueRef: row.value_ref,
    tagsJson: row.tags,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    createdAt: Number(row.created_at),
    accessedAt: Number(row.accessed_at),
    accessCount: Number(row.access_count),
  };
}

function isLive(expiresAt: number | null, now: number): boolean {
  return expiresAt === null || Number(expiresAt) > now;
}

function conflict(namespace: string, key: string, expected: number | null, actual: number | null): ConflictError {
  const want = expected === null ? 'no entry' : `version ${expected}`;
  const found = actual === null ? 'none' : `version ${actual}`;
  return new ConflictError(`memory ${namespace}/${key}: expected ${want}, found ${found}`, {
    details: { namespace, key, expected, actual },
  });
}

function compareAddress(a: MemoryEntry, b: MemoryEntry): number {
  return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

function entryFrom(row: Row): MemoryEntry {
  const value = JSON.parse(decodeValue(row.data as Uint8Array, Number(row.compressed))) as JsonValue;
  return memoryEntryFromRow(row as unknown as MemoryRow, value, Number(row.size));
}

/** The namespaces a search is limited to, or null for all. `namespaces: []` matches nothing. */
function filterNamespaces(filter: MemorySearchFilter): readonly string[] | null {
  if (filter.namespace !== undefined) return [filter.namespace];
  return filter.namespaces ?? null;
}

interface Where {
  clauses: string[];
  params: SQLInputValue[];
}

function listWhere(query: Omit<MemoryListQuery, 'limit' | 'offset'>): Where {
  if (typeof query !== 'object' || query === null) throw new ValidationError('memory list query must be an object', { details: { field: 'query' } });
  checkTime(query.now, 'now');
  const where: Where = { clauses: [LIVE], params: [query.now] };
  if (query.namespace !== undefined) {
    checkNamespace(query.namespace);
    where.clauses.push('m.namespace = ?');
    where.params.push(query.namespace);
  }
  if (query.keyPrefix !== undefined && query.keyPrefix !== '') {
    if (typeof query.keyPrefix !== 'string') throw new ValidationError('memory keyPrefix must be a string', { details: { field: 'keyPrefix' } });
    // A range, so that the primary key's index is used; the upper bound is the smallest string
    // above every string starting with the prefix.
    where.clauses.push('m.key >= ?');
    where.params.push(query.keyPrefix);
    const upper = prefixUpperBound(query.keyPrefix);
    if (upper !== null) {
      where.clauses.push('m.key < ?');
      where.params.push(upper);
    }
  }
  if (query.tags !== undefined && query.tags.length > 0) {
    where.clauses.push(HAS_ALL_TAGS);
    where.params.push(JSON.stringify(checkTags(query.tags)));
  }
  return where;
}

function searchWhere(filter: MemorySearchFilter): Where {
  const where: Where = { clauses: [LIVE], params: [filter.now] };
  const namespaces = filterNamespaces(filter);
  if (namespaces !== null) {
    where.clauses.push('m.namespace IN (SELECT value FROM json_each(?))');
    where.params.push(JSON.stringify(namespaces));
  }
  if (filter.tags !== undefined && filter.tags.length > 0) {
    where.clauses.push(HAS_ALL_TAGS);
    where.params.push(JSON.stringify(filter.tags));
  }
  return where;
}

/**
 * The smallest string greater than every string that starts with `prefix`, in SQLite's BINARY
 * order (UTF-8 bytes, which is code point order): the prefix with its last code point incremented
 * (dropping trailing U+10FFFF). Null when there is none.
 */
export function prefixUpperBound(prefix: string): string | null {
  const points = [...prefix];
  while (points.length > 0) {
    const last = points.pop() as string;
    let cp = (last.codePointAt(0) as number) + 1;
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xe000;
    if (cp <= 0x10ffff) return points.join('') + String.fromCodePoint(cp);
  }
  return null;
}
