import type { EventBus } from '../ports/event-bus.js';
import type { Logger } from '../kernel/logger.js';
import { ColonyError, ConfigError, ValidationError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import type { Cache } from '../ports/cache.js';
import type { Embedder } from '../ports/embedder.js';
import type { MemoryEntry, MemoryListQuery, MemorySearchFilter, MemoryStore, MemoryStoreStats } from '../ports/memory-store.js';
import { AccessRecorder } from './access-recorder.js';
import { EmbeddingWorker, type EmbeddingRun } from './embedding-worker.js';
import { hybridRank, memoryHitId } from './hybrid-rank.js';
import { L1Cache, type L1Stats } from './l1-cache.js';
import { L2Tier } from './l2-tier.js';
import { MEMORY_DEFAULTS } from './memory-defaults.js';
import { entryToJsonLine, readJsonl, writeChunk, type JsonlSink, type JsonlSource } from './memory-jsonl.js';
import {
  checkBatch,
  checkBatchBytes,
  checkBatchEntry,
  checkExpectedVersion,
  checkKey,
  checkLimit,
  checkMetadata,
  checkNamespace,
  checkOffset,
  checkTags,
  checkTtl,
  checkValue,
} from './memory-validation.js';
import { ReadGuard } from './read-guard.js';

/** Source of the events the memory manager publishes. */
const EVENT_SOURCE = 'memory';
/** Entries written per transaction while importing (one `restoreMany` each). */
const IMPORT_BATCH = 1_000;
/** Entries read per page while exporting. */
const EXPORT_PAGE_SIZE = 500;
/** Bytes of an entry's JSON besides its value, tags, metadata and address (field names, numbers). */
const ENTRY_ENVELOPE_BYTES = 200;

export type MemoryTuning = { -readonly [K in keyof typeof MEMORY_DEFAULTS]: number };

export interface MemoryManagerOptions {
  /** L3: the durable store, source of truth. */
  store: MemoryStore;
  /** L2: a cache shared between processes (Redis); absent: L1 and L3 only. */
  cache?: Cache;
  /** Embeds entries for semantic search; absent: keyword search only. */
  embedder?: Embedder;
  events?: EventBus;
  logger: Logger;
  /** Overrides of MEMORY_DEFAULTS (sizes, TTLs, cadences); `gcIntervalMs: 0` / `l2HealthCheckMs: 0` switch those timers off. */
  tuning?: Partial<MemoryTuning>;
  now?: () => number;
}

export interface StoreOptions {
  /** Time to live in ms (a positive number); absent: the entry never expires. */
  ttlMs?: number;
  tags?: string[];
  metadata?: Record<string, JsonValue>;
  /** Optimistic concurrency: the version being replaced, or null for "must not exist yet". */
  expectedVersion?: number | null;
}

/** One entry of `storeMany`: its address and value, with `store`'s options (no expectedVersion). */
export interface StoreManyEntry extends Omit<StoreOptions, 'expectedVersion'> {
  namespace: string;
  key: string;
  value: JsonValue;
}

export interface ListOptions {
  namespace?: string;
  tags?: string[];
  keyPrefix?: string;
  limit?: number;
  offset?: number;
}

export type SearchMode = 'keyword' | 'semantic' | 'hybrid';

export interface SearchOptions {
  namespace?: string;
  /** Several namespaces (ignored when `namespace` is given). */
  namespaces?: string[];
  /** Entries having every one of these tags. */
  tags?: string[];
  limit?: number;
  mode?: SearchMode;
}

export interface EmbedderInfo {
  model: string;
  dimensions: number;
  kind: 'local' | 'remote';
  /** True for the built-in hashing embedder: lexical similarity, not meaning. */
  local: boolean;
}

export interface MemorySearchResultHit {
  entry: MemoryEntry;
  /** Higher is better; comparable within one result list only. */
  score: number;
  /** Which rankings found it. */
  matchedBy: ('keyword' | 'semantic')[];
}

export interface MemorySearchResult {
  query: string;
  mode: SearchMode;
  /** The embedder behind the semantic part; null for keyword search. */
  embedder: EmbedderInfo | null;
  hits: MemorySearchResultHit[];
}

export interface ExportFilter {
  namespace?: string;
  tags?: string[];
  keyPrefix?: string;
}

export interface ImportOptions {
  /** An entry that exists already: keep it (`skip`) or replace it (`overwrite`). */
  mode: 'skip' | 'overwrite';
}

export interface ImportResult {
  /** Entries in the input. */
  entries: number;
  imported: number;
  skipped: number;
  /** Entries whose expiry had already passed (not written). */
  expired: number;
}

export interface TierHitStats {
  hits: number;
  misses: number;
  /** hits / (hits + misses); null before the first lookup. */
  hitRate: number | null;
}

export interface MemoryStats extends Omit<MemoryStoreStats, 'namespaces'> {
  namespaces: MemoryStoreStats['namespaces'];
  /** storedBytes / logicalBytes (compression and deduplication); null when nothing is stored. */
  storageRatio: number | null;
  l1: TierHitStats & Omit<L1Stats, 'hits' | 'misses'>;
  l2: TierHitStats & { configured: boolean; healthy: boolean; description: string | null; pendingDeletes: number };
  l3: TierHitStats;
  /** Whether the shared Redis cache answers; null when there is none. */
  redisHealthy: boolean | null;
  embedder: EmbedderInfo | null;
  pendingAccessRecords: number;
}

/**
 * Colony's memory: the seed's three tiers behind one API.
 *
 * - Reads go L1 (in-process LRU) → L2 (shared cache) → L3 (durable store), back-filling the tiers
 *   above on the way out. Reads are recorded in L3 in batches (access count, accessed-at).
 * - Other processes' writes: their invalidations (through L2's pub/sub) drop the L1 copy at once.
 *   Invalidations can be missed (no Redis; a writer that could not reach it), so an L1 copy not
 *   checked for `l1RevalidateMs` is served only after one index lookup finds its version still
 *   stored; an L2 copy is checked on every hit. A stale copy is served for at most that window.
 * - Writes go to L3 first (the source of truth, with optimistic versions), then update L1 and L2
 *   and publish an invalidation so that other processes drop their L1 copy. L2 being down never
 *   reaches a caller: memory runs on L1 and L3 until it is back, then drops L1 (invalidations were
 *   missed) and deletes from L2 the keys written meanwhile.
 * - After a write, entries are embedded in the background for semantic search.
 * - A GC timer removes expired entries. Expired entries are never returned, GC or not: L1 and L2
 *   hold an entry no longer than its expiry, and L3 hides expired entries from reads.
 *
 * Entries handed out are frozen: they may be shared with the cache, so they must not be changed.
 * The manager does not own the store, cache or event bus: `close` leaves them open.
 */
export class MemoryManager {
  private readonly l3: MemoryStore;
  private readonly l1: L1Cache<L1Slot>;
  private readonly l2: L2Tier | null;
  private readonly embedder: Embedder | undefined;
  private readonly embeddings: EmbeddingWorker | null;
  private readonly access: AccessRecorder;
  private readonly reads = new ReadGuard();
  private readonly events: EventBus | undefined;
  private readonly logger: Logger;
  private readonly tuning: MemoryTuning;
  private readonly now: () => number;
  private readonly unsubscribeInvalidations: (() => void) | null;
  private readonly gcTimer: NodeJS.Timeout | null;
  private readonly healthTimer: NodeJS.Timeout | null;
  private gcRunning: Promise<{ removed: number }> | null = null;
  private l3Hits = 0;
  private l3Misses = 0;
  private closed = false;

  constructor(options: MemoryManagerOptions) {
    this.l3 = options.store;
    this.embedder = options.embedder;
    this.events = options.events;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.tuning = { ...MEMORY_DEFAULTS, ...options.tuning };
    const t = this.tuning;
    this.l1 = new L1Cache<L1Slot>({ maxBytes: t.l1MaxBytes, defaultTtlMs: t.l1TtlMs, now: this.now });
    this.l2 = options.cache
      ? new L2Tier(options.cache, {
          ttlMs: t.l2TtlMs,
          compressAboveBytes: t.l2CompressAboveBytes,
          raceWindowMs: t.l2RaceWindowMs,
          pendingDeletesMax: t.l2PendingDeletesMax,
          connectWaitMs: t.l2ConnectWaitMs,
          logger: this.logger,
          now: this.now,
        })
      : null;
    this.unsubscribeInvalidations = options.cache ? options.cache.onInvalidation((cacheKey) => this.onRemoteInvalidation(cacheKey)) : null;
    this.access = new AccessRecorder(this.l3, { flushMs: t.accessFlushMs, batchSize: t.accessFlushBatch, logger: this.logger });
    this.embeddings = options.embedder
      ? new EmbeddingWorker(this.l3, options.embedder, { delayMs: t.embedDelayMs, batchSize: t.embedBatchSize, logger: this.logger })
      : null;
    // Entries written before this process started (or by processes without an embedder) get embedded too.
    this.embeddings?.schedule();
    if (t.gcIntervalMs > 0) {
      this.gcTimer = setInterval(() => {
        this.gc().catch((error: unknown) => this.logger.warn({ err: error }, 'memory: garbage collection failed'));
      }, t.gcIntervalMs);
      this.gcTimer.unref();
    } else {
      this.gcTimer = null;
    }
    if (this.l2 && t.l2HealthCheckMs > 0) {
      this.healthTimer = setInterval(() => this.observeL2(), t.l2HealthCheckMs);
      this.healthTimer.unref();
    } else {
      this.healthTimer = null;
    }
  }

  /** Writes an entry (L3, then L1 and L2); ConflictError when `expectedVersion` is stale. */
  async store(namespace: string, key: string, value: JsonValue, options: StoreOptions = {}): Promise<MemoryEntry> {
    this.assertOpen();
    checkNamespace(namespace);
    checkKey(key);
    if (typeof options !== 'object' || options === null) throw new ValidationError('store options must be an object');
    const ttlMs = checkTtl(options.ttlMs);
    const tags = checkTags(options.tags);
    const metadata = checkMetadata(options.metadata);
    const expectedVersion = checkExpectedVersion(options.expectedVersion);
    const valueJson = checkValue(value);
    const now = this.now();
    const expiresAt = ttlMs === undefined ? null : now + ttlMs;
    const entry = await this.l3.put({ namespace, key, value, tags, metadata, expiresAt, at: now }, expectedVersion);
    return this.afterWrite(entry, valueJson);
  }

  /**
   * Writes many entries in one transaction (L3's `putMany`), then updates L1 and L2 and publishes
   * an invalidation for each address, as `store` does for one: much faster than that many `store`
   * calls. Each entry is written unconditionally (no expectedVersion). An address given twice is
   * written twice: the last value wins, the versions count up in order. All or nothing: a bad entry
   * (checked as `store` checks, and at most MAX_MEMORY_BATCH_ENTRIES entries of
   * MAX_MEMORY_BATCH_BYTES of values) rejects the batch with a ValidationError naming its index
   * (`entries[3]: ...`, `details.index`), and nothing is written. Resolves with the entries as
   * written, in the order given; publishes `memory.stored` for each.
   */
  async storeMany(entries: readonly StoreManyEntry[]): Promise<MemoryEntry[]> {
    this.assertOpen();
    const batch = checkBatch<StoreManyEntry>(entries);
    const now = this.now();
    let bytes = 0;
    const writes = batch.map((entry, i) =>
      checkBatchEntry(i, () => {
        if (typeof entry !== 'object' || entry === null) throw new ValidationError('must be an object', { details: { field: 'entry' } });
        if ((entry as { expectedVersion?: unknown }).expectedVersion !== undefined) {
          throw new ValidationError('expectedVersion is not taken by storeMany (use store for a conditional write)', { details: { field: 'expectedVersion' } });
        }
        const namespace = checkNamespace(entry.namespace);
        const key = checkKey(entry.key);
        const ttlMs = checkTtl(entry.ttlMs);
        const tags = checkTags(entry.tags);
        const metadata = checkMetadata(entry.metadata);
        const valueJson = checkValue(entry.value);
        bytes += Buffer.byteLength(valueJson);
        const expiresAt = ttlMs === undefined ? null : now + ttlMs;
        return { write: { namespace, key, value: entry.value, tags, metadata, expiresAt, at: now }, valueJson };
      }),
    );
    checkBatchBytes(bytes);
    if (writes.length === 0) return [];
    const written = await this.l3.putMany(writes.map((w) => w.write));
    return this.afterWriteMany(written.map((entry, i) => ({ entry, valueJson: (writes[i] as { valueJson: string }).valueJson })));
  }

  /** The entry, or undefined when it does not exist (or has expired). */
  async retrieve(namespace: string, key: string): Promise<MemoryEntry | undefined> {
    this.assertOpen();
    checkNamespace(namespace);
    checkKey(key);
    this.observeL2();
    const cacheKey = cacheKeyOf(namespace, key);
    const now = this.now();
    const cached = this.l1.get(cacheKey);
    if (cached !== undefined) {
      // Another process may have changed or deleted the entry, and its invalidation may never come
      // (no Redis, or a writer that exited first): a copy not checked within the revalidation
      // window is served only if the store still has its version.
      if (now - cached.checkedAt < this.tuning.l1RevalidateMs || (await this.isCurrent(cached.entry))) {
        if (now - cached.checkedAt >= this.tuning.l1RevalidateMs) cached.checkedAt = now;
        this.access.record(namespace, key, now);
        return cached.entry;
      }
      this.l1.delete(cacheKey);
    }

    const read = this.reads.begin(cacheKey);
    let staleInL2 = false;
    try {
      if (this.l2) {
        const fromL2 = await this.l2.get(cacheKey);
        // Redis expires entries by its own clock; this process's clock decides, as it does for L1 and L3.
        if (fromL2 !== undefined && fromL2.namespace === namespace && fromL2.key === key && (fromL2.expiresAt === null || fromL2.expiresAt > now)) {
          if (await this.isCurrent(fromL2)) {
            const entry = deepFreeze(fromL2);
            if (!read.stale) this.cacheInL1(cacheKey, entry, now);
            this.access.record(namespace, key, now);
            return entry;
          }
          // Stale in L2 (a writer that could not reach it): the back-fill below replaces it, or the
          // delete below removes it.
          staleInL2 = true;
        }
      }
      const stored = await this.l3.get(namespace, key, now);
      if (stored === undefined) {
        this.l3Misses++;
        if (staleInL2 && this.l2) await this.l2.remove(cacheKey);
        return undefined;
      }
      this.l3Hits++;
      const entry = deepFreeze(stored);
      // A write (here or elsewhere) during this read: do not put what was read over it.
      if (!read.stale) {
        this.cacheInL1(cacheKey, entry, now);
        if (this.l2) await this.l2.put(cacheKey, entry, false);
      }
      this.access.record(namespace, key, now);
      return entry;
    } finally {
      this.reads.end(cacheKey, read);
    }
  }

  /** Deletes an entry; with `expectedVersion`, only that version (ConflictError otherwise). Returns whether it existed. */
  async delete(namespace: string, key: string, options: { expectedVersion?: number } = {}): Promise<boolean> {
    this.assertOpen();
    checkNamespace(namespace);
    checkKey(key);
    const expectedVersion = checkExpectedVersion(options.expectedVersion);
    if (expectedVersion === null) throw new ValidationError('expectedVersion of a delete must be a positive integer');
    const existed = await this.l3.delete(namespace, key, expectedVersion);
    const cacheKey = cacheKeyOf(namespace, key);
    this.reads.invalidate(cacheKey);
    this.l1.delete(cacheKey);
    if (this.l2) await this.l2.remove(cacheKey);
    if (existed) this.events?.publish('memory.deleted', { namespace, key }, { source: EVENT_SOURCE });
    return existed;
  }

  /** Live entries, ordered by namespace then key (straight from L3; not cached). */
  async list(options: ListOptions = {}): Promise<MemoryEntry[]> {
    this.assertOpen();
    return this.l3.list(this.listQuery(options));
  }

  /** Live entries matching the filter. */
  async count(options: Omit<ListOptions, 'limit' | 'offset'> = {}): Promise<number> {
    this.assertOpen();
    const { limit: _limit, offset: _offset, ...query } = this.listQuery(options);
    return this.l3.count(query);
  }

  /**
   * Searches memory. `keyword`: BM25 over keys, values and tags. `semantic`: nearest neighbours of
   * the query's embedding. `hybrid`: both, fused by reciprocal rank. The result names the embedder
   * (and whether it is the built-in local one, which compares words, not meaning).
   */
  async search(query: string, options: SearchOptions = {}): Promise<MemorySearchResult> {
    this.assertOpen();
    if (typeof query !== 'string') throw new ValidationError('search query must be a string', { details: { field: 'query' } });
    const mode = options.mode ?? 'keyword';
    if (mode !== 'keyword' && mode !== 'semantic' && mode !== 'hybrid') {
      throw new ValidationError(`search mode must be keyword, semantic or hybrid, got ${String(mode)}`, { details: { field: 'mode' } });
    }
    const limit = checkLimit(options.limit ?? this.tuning.searchLimit, this.tuning.searchMaxLimit);
    const filter = this.searchFilter(options, limit);
    if (mode === 'keyword') {
      const hits = await this.l3.searchText(query, filter);
      return { query, mode, embedder: null, hits: hits.map((hit) => ({ ...hit, matchedBy: ['keyword'] })) };
    }

    const embedder = this.embedder;
    if (!embedder) throw new ConfigError(`${mode} search needs an embedder, and memory has none configured`);
    const info = embedderInfo(embedder);
    if (query.trim() === '') return { query, mode, embedder: info, hits: [] };
    const [vector] = await embedder.embed([query]);
    if (vector === undefined) throw new ConfigError(`embedder ${embedder.model} returned no vector for the query`);
    if (mode === 'semantic') {
      const hits = await this.l3.searchVector(vector, embedder.model, filter);
      return { query, mode, embedder: info, hits: hits.map((hit) => ({ ...hit, matchedBy: ['semantic'] })) };
    }

    const candidates = { ...filter, limit: Math.min(this.tuning.searchMaxLimit, limit * this.tuning.hybridCandidateFactor) };
    const [keywordHits, vectorHits] = await Promise.all([
      this.l3.searchText(query, candidates),
      this.l3.searchVector(vector, embedder.model, candidates),
    ]);
    const byKeyword = new Set(keywordHits.map(memoryHitId));
    const byVector = new Set(vectorHits.map(memoryHitId));
    const hits = hybridRank(keywordHits, vectorHits, { limit }).map((hit): MemorySearchResultHit => {
      const id = memoryHitId(hit);
      const matchedBy: ('keyword' | 'semantic')[] = [];
      if (byKeyword.has(id)) matchedBy.push('keyword');
      if (byVector.has(id)) matchedBy.push('semantic');
      return { ...hit, matchedBy };
    });
    return { query, mode, embedder: info, hits };
  }

  /** Writes matching entries as JSON Lines (every field); returns how many. */
  async exportJsonl(sink: JsonlSink, filter: ExportFilter = {}): Promise<{ entries: number }> {
    this.assertOpen();
    const base = this.listQuery({ ...filter });
    let entries = 0;
    for (let offset = 0; ; offset += EXPORT_PAGE_SIZE) {
      const page = await this.l3.list({ ...base, limit: EXPORT_PAGE_SIZE, offset });
      if (page.length > 0) await writeChunk(sink, page.map(entryToJsonLine).join(''));
      entries += page.length;
      if (page.length < EXPORT_PAGE_SIZE) break;
    }
    return { entries };
  }

  /**
   * Reads JSON Lines written by `exportJsonl` (or by hand: namespace, key and value are enough).
   * Every line is checked first; if any is bad, a ValidationError names the line and nothing is
   * written. Entries already expired are not written.
   *
   * What the L3 port can restore: value, tags, metadata and expiry exactly. It assigns versions
   * and times itself, so an imported entry starts at version 1 (or the next version, when it
   * overwrites), is dated by the line's `updatedAt`, and has no accesses yet.
   */
  async importJsonl(source: JsonlSource, options: ImportOptions): Promise<ImportResult> {
    this.assertOpen();
    if (typeof options !== 'object' || options === null || (options.mode !== 'skip' && options.mode !== 'overwrite')) {
      throw new ValidationError("import mode must be 'skip' or 'overwrite'", { details: { field: 'mode' } });
    }
    const now = this.now();
    const lines = await readJsonl(source, now);
    const result: ImportResult = { entries: lines.length, imported: 0, skipped: 0, expired: 0 };
    const writable = lines.filter(({ entry }) => {
      const expired = entry.expiresAt !== null && entry.expiresAt <= now;
      if (expired) result.expired++;
      return !expired;
    });
    // A transaction per IMPORT_BATCH lines (every line was checked above, so none of them fails on
    // its input): far fewer commits than a write per line, and bounded locks and memory.
    for (let i = 0; i < writable.length; i += IMPORT_BATCH) {
      const chunk = writable.slice(i, i + IMPORT_BATCH);
      // restoreMany keeps the exported version, timestamps and access count: a round trip loses nothing.
      const outcomes = await this.l3.restoreMany(
        chunk.map((line) => line.entry),
        options.mode,
        now,
      );
      const written: { entry: MemoryEntry; valueJson: string }[] = [];
      outcomes.forEach((entry, j) => {
        if (entry === null) result.skipped++;
        else written.push({ entry, valueJson: (chunk[j] as { valueJson: string }).valueJson });
      });
      await this.afterWriteMany(written);
      result.imported += written.length;
    }
    return result;
  }

  /** Removes expired entries from L3 (and L1); publishes `memory.expired` with how many. */
  gc(): Promise<{ removed: number }> {
    this.gcRunning ??= this.collect().finally(() => {
      this.gcRunning = null;
    });
    return this.gcRunning;
  }

  /** Embeds every entry not yet embedded, now (tests; a CLI that exits right after writing). */
  async flushEmbeddings(): Promise<EmbeddingRun> {
    return this.embeddings ? this.embeddings.flush() : { embedded: 0, error: null };
  }

  /** Writes the pending access records now. */
  async flushAccess(): Promise<void> {
    await this.access.flush();
  }

  async stats(): Promise<MemoryStats> {
    this.observeL2();
    const stored = await this.l3.stats(this.now());
    const { hits: l1Hits, misses: l1Misses, ...l1 } = this.l1.stats();
    const l2Hits = this.l2?.hits ?? 0;
    const l2Misses = this.l2?.misses ?? 0;
    return {
      ...stored,
      storageRatio: stored.logicalBytes > 0 ? stored.storedBytes / stored.logicalBytes : null,
      l1: { hits: l1Hits, misses: l1Misses, hitRate: rate(l1Hits, l1Misses), ...l1 },
      l2: {
        configured: this.l2 !== null,
        healthy: this.l2?.healthy ?? false,
        description: this.l2?.description ?? null,
        hits: l2Hits,
        misses: l2Misses,
        hitRate: rate(l2Hits, l2Misses),
        pendingDeletes: this.l2?.pendingDeleteCount ?? 0,
      },
      l3: { hits: this.l3Hits, misses: this.l3Misses, hitRate: rate(this.l3Hits, this.l3Misses) },
      redisHealthy: this.l2 ? this.l2.healthy : null,
      embedder: this.embedder ? embedderInfo(this.embedder) : null,
      pendingAccessRecords: this.access.pendingCount,
    };
  }

  /** Stops the GC timer and background work, writing pending access records. Leaves store and cache open. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.gcTimer) clearInterval(this.gcTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    this.unsubscribeInvalidations?.();
    await this.embeddings?.close();
    await this.gcRunning;
    await this.access.flush();
    await this.l2?.settle();
  }

  /** `checkedAt`: when the entry was known to be the stored version (read from L3, or checked). */
  private cacheInL1(cacheKey: string, entry: MemoryEntry, checkedAt: number): void {
    this.l1.set(cacheKey, { entry, checkedAt }, { expiresAt: entry.expiresAt, jsonBytes: footprint(entry) });
  }

  /** Whether a cached copy is the stored version (one index lookup; no value read). */
  private async isCurrent(cached: MemoryEntry): Promise<boolean> {
    const stamp = await this.l3.stamp(cached.namespace, cached.key);
    return stamp !== undefined && stamp.version === cached.version && stamp.updatedAt === cached.updatedAt;
  }

  private async afterWrite(written: MemoryEntry, valueJson: string): Promise<MemoryEntry> {
    const { namespace, key } = written;
    const cacheKey = cacheKeyOf(namespace, key);
    this.reads.invalidate(cacheKey);
    // A copy: the store may hand back objects the caller still holds, and cached entries are frozen.
    const entry = deepFreeze(structuredClone(written));
    this.cacheInL1(cacheKey, entry, this.now());
    if (this.l2) await this.l2.put(cacheKey, entry, true, valueJson);
    this.embeddings?.schedule();
    this.events?.publish('memory.stored', { namespace, key, version: entry.version }, { source: EVENT_SOURCE });
    return entry;
  }

  /**
   * `afterWrite` for a batch's results: every address's L1 and L2 copy replaced and invalidated
   * elsewhere (only by its last write when a batch wrote it twice), one embedding schedule, and a
   * `memory.stored` per write (subscribers and the event log learn of each entry's new version).
   */
  private async afterWriteMany(written: readonly { entry: MemoryEntry; valueJson: string }[]): Promise<MemoryEntry[]> {
    const checkedAt = this.now();
    // No copy (unlike afterWrite): the port's batch writes hand back new objects, shared with no caller.
    const entries = written.map(({ entry }) => deepFreeze(entry));
    const last = new Map<string, number>();
    entries.forEach((entry, i) => last.set(cacheKeyOf(entry.namespace, entry.key), i));
    const l2Puts: Promise<void>[] = [];
    for (const [cacheKey, i] of last) {
      const entry = entries[i] as MemoryEntry;
      this.reads.invalidate(cacheKey);
      this.cacheInL1(cacheKey, entry, checkedAt);
      if (this.l2) l2Puts.push(this.l2.put(cacheKey, entry, true, (written[i] as { valueJson: string }).valueJson));
    }
    await Promise.all(l2Puts);
    if (entries.length > 0) this.embeddings?.schedule();
    for (const { namespace, key, version } of entries) this.events?.publish('memory.stored', { namespace, key, version }, { source: EVENT_SOURCE });
    return entries;
  }

  private async collect(): Promise<{ removed: number }> {
    const now = this.now();
    const batch = this.tuning.gcBatchSize;
    let removed = 0;
    for (;;) {
      const n = await this.l3.deleteExpired(now, batch);
      removed += n;
      if (n < batch) break;
    }
    this.l1.prune();
    this.l2?.prune();
    this.observeL2();
    // Entries written by processes without an embedder (or that exited first) get embedded too.
    this.embeddings?.schedule();
    if (removed > 0) {
      this.logger.debug({ removed }, 'memory: expired entries removed');
      this.events?.publish('memory.expired', { count: removed }, { source: EVENT_SOURCE });
    }
    return { removed };
  }

  private onRemoteInvalidation(cacheKey: string): void {
    this.reads.invalidate(cacheKey);
    this.l1.delete(cacheKey);
    this.l2?.onRemoteInvalidation(cacheKey);
  }

  /** When L2 has just come back, L1 may hold entries whose invalidations were missed: drop them. */
  private observeL2(): void {
    if (this.l2?.checkRecovery()) {
      this.l1.clear();
      this.logger.debug('memory: L2 back; L1 cleared (invalidations may have been missed)');
    }
  }

  private listQuery(options: ListOptions): MemoryListQuery {
    if (typeof options !== 'object' || options === null) throw new ValidationError('list options must be an object');
    const query: MemoryListQuery = { now: this.now() };
    if (options.namespace !== undefined) query.namespace = checkNamespace(options.namespace);
    if (options.tags !== undefined) query.tags = checkTags(options.tags);
    if (options.keyPrefix !== undefined) {
      if (typeof options.keyPrefix !== 'string') throw new ValidationError('keyPrefix must be a string', { details: { field: 'keyPrefix' } });
      query.keyPrefix = options.keyPrefix;
    }
    if (options.limit !== undefined) query.limit = checkLimit(options.limit, Number.MAX_SAFE_INTEGER);
    if (options.offset !== undefined) query.offset = checkOffset(options.offset);
    return query;
  }

  private searchFilter(options: SearchOptions, limit: number): MemorySearchFilter {
    if (typeof options !== 'object' || options === null) throw new ValidationError('search options must be an object');
    const filter: MemorySearchFilter = { now: this.now(), limit };
    if (options.namespace !== undefined) filter.namespace = checkNamespace(options.namespace);
    else if (options.namespaces !== undefined) {
      if (!Array.isArray(options.namespaces)) throw new ValidationError('namespaces must be an array', { details: { field: 'namespaces' } });
      filter.namespaces = options.namespaces.map((ns) => checkNamespace(ns, 'namespaces'));
    }
    if (options.tags !== undefined) filter.tags = checkTags(options.tags);
    return filter;
  }

  private assertOpen(): void {
    if (this.closed) throw new ColonyError('internal', 'memory manager is closed');
  }
}

/** An L1 entry: the frozen entry, and when it was last known to match the store. */
interface L1Slot {
  readonly entry: MemoryEntry;
  checkedAt: number;
}

/** The tiers' key for an entry: namespaces cannot contain `/`, so the first `/` ends the namespace. */
export function cacheKeyOf(namespace: string, key: string): string {
  return `${namespace}/${key}`;
}

function embedderInfo(embedder: Embedder): EmbedderInfo {
  return { model: embedder.model, dimensions: embedder.dimensions, kind: embedder.kind, local: embedder.kind === 'local' };
}

function rate(hits: number, misses: number): number | null {
  const total = hits + misses;
  return total === 0 ? null : hits / total;
}

/** Close to an entry's JSON length, without serialising its value again (its size is known). */
function footprint(entry: MemoryEntry): number {
  return (
    entry.size +
    Buffer.byteLength(entry.namespace) +
    Buffer.byteLength(entry.key) +
    (entry.tags.length > 0 ? Buffer.byteLength(JSON.stringify(entry.tags)) : 2) +
    (Object.keys(entry.metadata).length > 0 ? Buffer.byteLength(JSON.stringify(entry.metadata)) : 2) +
    ENTRY_ENVELOPE_BYTES
  );
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
