/**
 * Defaults of Colony's memory tiers, in one place (the seed's Multi-Tier Memory Architecture:
 * L1 in-process 5 min / 100 MB, L2 Redis 1 h / 1 GB, L3 SQLite unlimited). The composition root
 * may override the sizes and TTLs; the cadences are internal.
 */
export const MEMORY_DEFAULTS = {
  /** L1 (in-process LRU): how long an entry stays cached, at most. */
  l1TtlMs: 5 * 60_000,
  /**
   * An L1 entry not checked against the store for this long is checked (one index lookup on its
   * version) before it is served, so a write by another process whose invalidation never came is
   * seen within this window. 0: every L1 hit is checked (never stale, about the cost of an L3 read).
   */
  l1RevalidateMs: 1_000,
  /** L1 bound in bytes (entry JSON length plus L1_ENTRY_OVERHEAD_BYTES each). */
  l1MaxBytes: 100 * 1024 * 1024,

  /** L2 (Redis): how long an entry stays cached, at most. */
  l2TtlMs: 60 * 60_000,
  /**
   * L2 bound: the seed's 1 GB. Redis enforces it, not Colony: run the L2 Redis with
   * `maxmemory 1gb` and `maxmemory-policy allkeys-lru` (or volatile-lru when it is shared with BullMQ).
   */
  l2MaxBytes: 1024 * 1024 * 1024,
  /** Values whose encoded JSON is larger than this are gzip-compressed in L2 (the seed's "> 1 KB"). */
  l2CompressAboveBytes: 1024,

  /** How often the background GC removes expired entries from L3 (and L1). */
  gcIntervalMs: 60_000,
  /** Expired entries removed per GC batch (GC loops batches until none are left). */
  gcBatchSize: 1_000,

  /** Reads are recorded in L3 (access count, accessed-at) in batches at most this often. */
  accessFlushMs: 1_000,
  /** A pending access batch this large is flushed at once. */
  accessFlushBatch: 1_000,

  /** After a write, entries are embedded in the background after this delay (coalescing a burst). */
  embedDelayMs: 50,
  /** Texts sent to the embedder per call. */
  embedBatchSize: 64,

  /** Default number of search results. */
  searchLimit: 10,
  /** Upper bound on search results a caller may ask for. */
  searchMaxLimit: 1_000,
  /** Candidates fetched from each ranking before hybrid fusion, as a multiple of the limit. */
  hybridCandidateFactor: 3,

  /**
   * After this process writes or back-fills a key in L2, an invalidation of the same key arriving
   * from another process within this window means the two raced: the key is then dropped from L2
   * (deletes are always safe; a set may have landed out of order).
   */
  l2RaceWindowMs: 5_000,
  /**
   * How often the manager looks at L2's health (a property read): when L2 comes back it drops L1,
   * whose invalidations may have been missed, and replays the deletes remembered meanwhile.
   */
  l2HealthCheckMs: 1_000,
  /**
   * A write that finds L2 still connecting (a one-shot command writes right after it starts) waits
   * this long for the connection, once per process, so that its invalidation is published before
   * the write returns. After that, a down L2 never delays a write.
   */
  l2ConnectWaitMs: 2_000,
  /** Keys remembered while L2 is down, to be deleted from L2 when it comes back (writes it missed). */
  l2PendingDeletesMax: 10_000,
} as const;

/** Bookkeeping bytes charged to each L1 entry on top of its JSON length (Map slot, key, object headers). */
export const L1_ENTRY_OVERHEAD_BYTES = 200;

/** Redis connection defaults of the L2 adapter: a down Redis must never block a caller. */
export const REDIS_CACHE_DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  keyPrefix: 'colony:cache:',
  /** A command without a reply after this long fails (and reads as a miss). */
  commandTimeoutMs: 250,
  connectTimeoutMs: 1_000,
  /** Reconnect backoff: exponential from the base, capped, with up to 20 % jitter. */
  reconnectBaseMs: 50,
  reconnectMaxMs: 2_000,
} as const;
