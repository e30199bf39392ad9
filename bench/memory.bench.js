// Memory benchmarks: write throughput (one at a time, 1,000 in flight, and batched: storeMany), point reads from L1, L2
// (Redis, when one answers) and L3, keyword search over a large corpus, vector search over 384-dim
// vectors from the local embedder, and the process memory L1 costs per entry.
//
// Sizes: MEMORY_BENCH_ENTRIES (keyword corpus, default 1,000,000), MEMORY_BENCH_VECTORS (default
// 100,000), MEMORY_BENCH_WRITES (batched writes, default 100,000). REDIS_URL (default
// redis://127.0.0.1:6379) for the L2 rows; they are skipped when it does not answer.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SqliteStore } from '../dist/adapters/storage/sqlite/sqlite-store.js';
import { RedisCache } from '../dist/adapters/cache/redis/redis-cache.js';
import { createLogger } from '../dist/kernel/logger.js';
import { LocalEmbedder } from '../dist/adapters/embedders/local-embedder.js';
import { MemoryManager } from '../dist/memory/memory-manager.js';
import { nowMs, report, summarize, withTempColony } from './harness.js';
import { seededRandom } from '../dist/testing/seeded-random.js';

const ENTRIES = intEnv('MEMORY_BENCH_ENTRIES', 1_000_000);
const VECTORS = intEnv('MEMORY_BENCH_VECTORS', 100_000);
const WRITES = intEnv('MEMORY_BENCH_WRITES', 100_000);
const SINGLE_WRITES = 5_000;
const IN_FLIGHT = 1_000;
/** Entries per storeMany / putMany call in the batched rows (the size `colony memory import` uses). */
const BATCH = 1_000;
const BUILD_IN_FLIGHT = 2_000;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = createLogger('silent');
/** No background GC in benchmarks; no L2 health timer. */
const TUNING = { gcIntervalMs: 0, l2HealthCheckMs: 0 };

const THIS_FILE = fileURLToPath(import.meta.url);

function intEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const progress = (text) => process.stderr.write(`  memory bench: ${text}\n`);

// ---- a deterministic corpus: pseudo-words with a Zipf distribution, like words in text ----

const VOCABULARY = 50_000;
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'ta', 'vo', 'zi', 'pe', 'so', 'du', 'fa', 'gi', 'ho', 'ju', 'be'];
function word(rank) {
  let n = rank;
  let w = '';
  do {
    w += SYLLABLES[n % SYLLABLES.length];
    n = Math.floor(n / SYLLABLES.length);
  } while (n > 0);
  return w;
}
const WORDS = Array.from({ length: VOCABULARY }, (_, r) => word(r));
// Zipf (s = 1): cumulative weights for sampling a rank.
const CUMULATIVE = (() => {
  const c = new Float64Array(VOCABULARY);
  let sum = 0;
  for (let r = 0; r < VOCABULARY; r++) c[r] = sum += 1 / (r + 1);
  for (let r = 0; r < VOCABULARY; r++) c[r] /= sum;
  return c;
})();

function zipfRank(random) {
  const x = random();
  let lo = 0;
  let hi = VOCABULARY - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (CUMULATIVE[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sentence(random, words) {
  const out = [];
  for (let i = 0; i < words; i++) out.push(WORDS[zipfRank(random)]);
  return out.join(' ');
}

/** Entry i's value: a small JSON object with a dozen words of text, as an agent's note might be. */
function valueFor(i, random) {
  return { n: i, note: sentence(random, 12), source: `task-${i % 997}` };
}

/** A query of two content words: Zipf-drawn, skipping the 100 most frequent (the corpus's "stop words"). */
function queryText(random) {
  const pick = () => {
    for (;;) {
      const r = zipfRank(random);
      if (r >= 100) return WORDS[r];
    }
  };
  return `${pick()} ${pick()}`;
}

// ---- plumbing ----

async function openStore(dir, name) {
  const store = new SqliteStore({ path: join(dir, `${name}.db`), busyTimeoutMs: 10_000 });
  await store.migrate();
  return store;
}

/** Runs `write(i)` for i in [0, n) with at most `window` in flight; resolves when all are done. */
function pipeline(n, window, write, onProgress) {
  return new Promise((resolve, reject) => {
    let next = 0;
    let done = 0;
    let failed = false;
    const pump = () => {
      while (!failed && next < n && next - done < window) {
        const i = next++;
        write(i).then(
          () => {
            done++;
            if (onProgress) onProgress(done);
            if (done === n) resolve();
            else pump();
          },
          (error) => {
            failed = true;
            reject(error);
          },
        );
      }
    };
    if (n === 0) resolve();
    else pump();
  });
}

/** Times `fn` once per item; returns the summary in µs. */
async function timeEach(items, fn) {
  const samples = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const t0 = process.hrtime.bigint();
    await fn(items[i]);
    samples[i] = Number(process.hrtime.bigint() - t0) / 1e3;
  }
  return summarize(samples);
}

async function redisCache(prefix) {
  const cache = new RedisCache({ url: REDIS_URL, keyPrefix: prefix, logger });
  if (await cache.ready(2_000)) return cache;
  await cache.close();
  return null;
}

function memoryNow() {
  globalThis.gc();
  globalThis.gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

// ---- the benchmarks ----

/** Writes one at a time and 1,000 in flight; reads from L1, L2 and L3; footprint of L1. */
async function writesAndReads(dir) {
  const rows = [];
  const store = await openStore(dir, 'writes');
  const manager = new MemoryManager({ store: store.memory, logger, tuning: TUNING });
  const random = seededRandom(1);
  try {
    for (let i = 0; i < 200; i++) await manager.store('warmup', `w${i}`, valueFor(i, random));
    let t0 = nowMs();
    for (let i = 0; i < SINGLE_WRITES; i++) await manager.store('bench', `single-${i}`, valueFor(i, random));
    const single = SINGLE_WRITES / ((nowMs() - t0) / 1000);
    rows.push({
      name: 'memory write, one at a time',
      value: single,
      unit: 'writes/s',
      target: '',
      detail: `${fmt(SINGLE_WRITES)} sequential awaited stores (each committed: one transaction per write); L1 + SQLite L3, no embedder`,
    });

    const values = Array.from({ length: WRITES }, (_, i) => valueFor(i, random));
    t0 = nowMs();
    await pipeline(WRITES, IN_FLIGHT, (i) => manager.store('bench', `k${i}`, values[i]));
    const batchedMs = nowMs() - t0;
    rows.push({
      name: 'memory write, 1,000 in flight',
      value: WRITES / (batchedMs / 1000),
      unit: 'writes/s',
      target: '',
      detail: `${fmt(WRITES)} stores, ${fmt(batchedMs)} ms; group commit; L1 + SQLite L3 (content-addressed blob, FTS5 row, savepoint each), no embedder`,
    });

    // Batched: storeMany of BATCH entries a call (one transaction each), awaited one after another.
    t0 = nowMs();
    for (let i = 0; i < WRITES; i += BATCH) {
      await manager.storeMany(values.slice(i, i + BATCH).map((value, j) => ({ namespace: 'batched', key: `k${i + j}`, value })));
    }
    const storeManyMs = nowMs() - t0;
    // The same through the store alone (L3's putMany), to tell the manager's share from the store's.
    const at = Date.now();
    t0 = nowMs();
    for (let i = 0; i < WRITES; i += BATCH) {
      await store.memory.putMany(values.slice(i, i + BATCH).map((value, j) => ({ namespace: 'batched-l3', key: `k${i + j}`, value, tags: [], metadata: {}, expiresAt: null, at })));
    }
    const putManyMs = nowMs() - t0;
    rows.push({
      name: `memory write, batched (${fmt(BATCH)} per storeMany)`,
      value: WRITES / (storeManyMs / 1000),
      unit: 'writes/s',
      target: '100,000 batched',
      detail: `${fmt(WRITES)} new entries, ${fmt(WRITES / BATCH)} sequential storeMany calls, ${fmt(storeManyMs)} ms; one transaction per call (no savepoint per entry); L1 + SQLite L3, no embedder`,
    });
    rows.push({
      name: `memory write, batched, L3 alone (${fmt(BATCH)} per putMany)`,
      value: WRITES / (putManyMs / 1000),
      unit: 'writes/s',
      target: '',
      detail: `the same entries through SqliteMemoryStore.putMany: ${fmt(putManyMs)} ms (validation, hashing, blob, FTS5 row and entry row per entry)`,
    });

    // L1: keys just written are cached.
    const keys = Array.from({ length: 100_000 }, (_, i) => `k${(i * 7919) % WRITES}`);
    for (let i = 0; i < 10_000; i++) await manager.retrieve('bench', keys[i]); // warm-up
    const l1 = await timeEach(keys, (key) => manager.retrieve('bench', key));
    if ((await manager.stats()).l1.hits < keys.length) throw new Error('L1 bench: reads missed L1');
    rows.push({ name: 'memory get from L1 (p50)', value: l1.p50, unit: 'µs', target: '< 20 µs', detail: `${fmt(keys.length)} point gets of cached keys, each timed` });
    rows.push({ name: 'memory get from L1 (p99)', value: l1.p99, unit: 'µs', target: '', detail: `mean ${l1.mean.toFixed(2)} µs` });

    // L3: a new manager (empty L1) on the same file; each key read once.
    const cold = new MemoryManager({ store: store.memory, logger, tuning: TUNING });
    const coldKeys = Array.from({ length: 20_000 }, (_, i) => `k${(i * 104_729) % WRITES}`);
    const unique = [...new Set(coldKeys)];
    const l3 = await timeEach(unique, (key) => cold.retrieve('bench', key));
    const coldStats = await cold.stats();
    await cold.close();
    if (coldStats.l3.hits !== unique.length) throw new Error(`L3 bench: expected ${unique.length} L3 hits, got ${coldStats.l3.hits}`);
    rows.push({ name: 'memory get from L3 (p50)', value: l3.p50, unit: 'µs', target: '', detail: `${fmt(unique.length)} distinct keys, L1 empty, no L2: SQLite read + decode + L1 back-fill` });
    rows.push({ name: 'memory get from L3 (p99)', value: l3.p99, unit: 'µs', target: '', detail: `mean ${l3.mean.toFixed(1)} µs; ${fmt(coldStats.entries)} entries in the file` });

    rows.push(...(await viaRedis(store, values)));
    rows.push(...footprintInChild(join(dir, 'writes.db')));
  } finally {
    await manager.close();
    await store.close();
  }
  return rows;
}

/** With Redis as L2: batched writes, then reads that miss L1 and hit L2. Skipped without Redis. */
async function viaRedis(store, values) {
  const prefix = `colony:bench:${randomUUID()}:`;
  const writerCache = await redisCache(prefix);
  if (!writerCache) {
    progress(`no Redis at ${REDIS_URL}: L2 rows skipped`);
    return [{ name: 'memory (L2 rows)', value: 'skipped', unit: '', target: '', detail: `no Redis answering at ${REDIS_URL}` }];
  }
  const readerCache = await redisCache(prefix);
  const writer = new MemoryManager({ store: store.memory, cache: writerCache, logger, tuning: TUNING });
  const reader = new MemoryManager({ store: store.memory, cache: readerCache, logger, tuning: TUNING });
  const n = Math.min(20_000, values.length);
  try {
    const t0 = nowMs();
    await pipeline(n, IN_FLIGHT, (i) => writer.store('l2', `k${i}`, values[i]));
    const ms = nowMs() - t0;
    // The reader's L1 is empty; the writer put every entry in L2.
    const keys = Array.from({ length: n }, (_, i) => `k${i}`);
    const l2 = await timeEach(keys, (key) => reader.retrieve('l2', key));
    const stats = await reader.stats();
    if (stats.l2.hits !== n) throw new Error(`L2 bench: expected ${n} L2 hits, got ${stats.l2.hits} (L3 hits ${stats.l3.hits})`);
    return [
      { name: 'memory write with Redis L2, 1,000 in flight', value: n / (ms / 1000), unit: 'writes/s', target: '', detail: `${fmt(n)} stores: L3 commit, then Redis SET + invalidation PUBLISH each` },
      { name: 'memory get from L2 Redis (p50)', value: l2.p50, unit: 'µs', target: '', detail: `${fmt(n)} keys another manager wrote; L1 empty; loopback Redis` },
      { name: 'memory get from L2 Redis (p99)', value: l2.p99, unit: 'µs', target: '', detail: `mean ${l2.mean.toFixed(1)} µs` },
    ];
  } finally {
    await writer.close();
    await reader.close();
    // Drop what the benchmark put in Redis.
    for (let i = 0; i < n; i += 500) await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, j) => writerCache.delete(`l2/k${i + j}`)));
    await writerCache.close();
    await readerCache.close();
  }
}

/**
 * Process memory before and after reading N entries into a fresh manager's L1, in a child process
 * of its own: in this one, memory freed by the other benchmarks would be reused and hide the growth.
 */
function footprintInChild(dbPath) {
  const child = spawnSync(process.execPath, ['--expose-gc', THIS_FILE, 'footprint', dbPath], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.status !== 0) throw new Error(`footprint child exited with ${child.status}`);
  return JSON.parse(child.stdout);
}

async function footprint(dbPath) {
  const store = new SqliteStore({ path: dbPath, busyTimeoutMs: 10_000 });
  try {
    return await footprintOf(store);
  } finally {
    await store.close();
  }
}

async function footprintOf(store) {
  const n = Math.min(100_000, WRITES);
  const manager = new MemoryManager({ store: store.memory, logger, tuning: { ...TUNING, accessFlushMs: 60_000, accessFlushBatch: 1_000_000 } });
  const keys = Array.from({ length: n }, (_, i) => `k${i}`);
  // Warm the code paths and SQLite's page cache on other keys first, so the delta is the cache's.
  for (let i = 0; i < 2_000; i++) await manager.retrieve('bench', `single-${i}`);
  const entriesBefore = (await manager.stats()).l1.entries;
  const before = memoryNow();
  for (const key of keys) await manager.retrieve('bench', key);
  // The access recorder holds one pending record per read until it flushes: flush, so only L1 remains.
  await manager.flushAccess();
  const after = memoryNow();
  const stats = await manager.stats();
  await manager.close();
  const heap = after.heapUsed - before.heapUsed;
  const rss = after.rss - before.rss;
  const loaded = stats.l1.entries - entriesBefore;
  if (loaded !== n) throw new Error(`footprint bench: ${loaded} of ${n} entries in L1`);
  return [
    {
      name: 'memory footprint: heap per L1 entry',
      value: heap / loaded,
      unit: 'bytes',
      target: '',
      detail: `heap ${mb(before.heapUsed)} → ${mb(after.heapUsed)} MiB after reading ${fmt(loaded)} entries into a fresh L1, in a process of its own (values ~${Math.round(stats.logicalBytes / stats.entries)} B of JSON); L1 accounts ${fmt(stats.l1.bytes / stats.l1.entries)} B/entry against its bound`,
    },
    { name: 'memory footprint: RSS growth', value: rss / 2 ** 20, unit: 'MiB', target: '', detail: `RSS ${mb(before.rss)} → ${mb(after.rss)} MiB for ${fmt(loaded)} L1 entries (L1 bound ${mb(stats.l1.maxBytes)} MiB)` },
  ];
}

function mb(bytes) {
  return (bytes / 2 ** 20).toFixed(1);
}

/** Keyword search (FTS5 BM25) over ENTRIES entries. */
async function keywordSearch(dir) {
  const store = await openStore(dir, 'keyword');
  const random = seededRandom(2);
  try {
    progress(`building the keyword corpus: ${fmt(ENTRIES)} entries (set MEMORY_BENCH_ENTRIES to change)`);
    const memory = store.memory;
    const at = Date.now();
    let last = nowMs();
    const t0 = last;
    await pipeline(
      ENTRIES,
      BUILD_IN_FLIGHT,
      (i) => memory.put({ namespace: `ns${i % 10}`, key: `entry-${i}`, value: valueFor(i, random), tags: [], metadata: {}, expiresAt: null, at }),
      (done) => {
        if (done % 100_000 === 0) {
          const t = nowMs();
          progress(`  ${fmt(done)} entries (${fmt(100_000 / ((t - last) / 1000))} /s)`);
          last = t;
        }
      },
    );
    const buildMs = nowMs() - t0;
    const manager = new MemoryManager({ store: memory, logger, tuning: TUNING });
    try {
      const queries = Array.from({ length: 300 }, () => queryText(random));
      for (let i = 0; i < 20; i++) await manager.search(queries[i], { mode: 'keyword', limit: 10 });
      let hits = 0;
      const all = await timeEach(queries, async (q) => {
        hits += (await manager.search(q, { mode: 'keyword', limit: 10 })).hits.length;
      });
      const scoped = await timeEach(queries.slice(0, 100), (q) => manager.search(q, { mode: 'keyword', limit: 10, namespace: 'ns3' }));
      const detail = `${fmt(ENTRIES)} entries of ~12 Zipf-distributed words (50k vocabulary); 2-word queries, top 10; corpus built through SqliteMemoryStore.put (2,000 in flight) in ${(buildMs / 1000).toFixed(0)} s, ${fmt(ENTRIES / (buildMs / 1000))} entries/s`;
      return [
        { name: `keyword search, ${fmt(ENTRIES)} entries (p50)`, value: all.p50 / 1000, unit: 'ms', target: '', detail },
        { name: `keyword search, ${fmt(ENTRIES)} entries (p99)`, value: all.p99 / 1000, unit: 'ms', target: '', detail: `mean ${(all.mean / 1000).toFixed(2)} ms; ${(hits / queries.length).toFixed(1)} hits per query on average` },
        { name: 'keyword search, one namespace of 10 (p50 / p99)', value: `${(scoped.p50 / 1000).toFixed(2)} / ${(scoped.p99 / 1000).toFixed(2)}`, unit: 'ms', target: '', detail: 'the same queries with a namespace filter (BM25 still ranks every match first)' },
      ];
    } finally {
      await manager.close();
    }
  } finally {
    await store.close();
    rmSync(join(dir, 'keyword.db'), { force: true });
    rmSync(join(dir, 'keyword.db-wal'), { force: true });
    rmSync(join(dir, 'keyword.db-shm'), { force: true });
  }
}

/** Vector search (sqlite-vec, cosine) over VECTORS entries embedded by the local embedder. */
async function vectorSearch(dir) {
  const store = await openStore(dir, 'vectors');
  const random = seededRandom(3);
  try {
    progress(`building the vector corpus: ${fmt(VECTORS)} entries, local embedder (set MEMORY_BENCH_VECTORS to change)`);
    const at = Date.now();
    const values = Array.from({ length: VECTORS }, (_, i) => valueFor(i, random));
    await pipeline(VECTORS, BUILD_IN_FLIGHT, (i) => store.memory.put({ namespace: 'vec', key: `doc-${i}`, value: values[i], tags: [], metadata: {}, expiresAt: null, at }));
    // The vectors come from the local embedder, written with setEmbedding (as the embedding worker
    // does, without its listUnembedded scans, which grow with the number of entries already embedded).
    const embedder = new LocalEmbedder();
    const t0 = nowMs();
    const texts = values.map((v) => `${v.note}\n${v.source}`);
    const vectors = [];
    for (let i = 0; i < VECTORS; i += 1_000) vectors.push(...(await embedder.embed(texts.slice(i, i + 1_000))));
    const embedOnlyMs = nowMs() - t0;
    await pipeline(VECTORS, BUILD_IN_FLIGHT, (i) => store.memory.setEmbedding('vec', `doc-${i}`, 1, embedder.model, vectors[i]));
    const embedMs = nowMs() - t0;
    // Background embedding would find nothing left to do; a long delay keeps it off anyway.
    const manager = new MemoryManager({ store: store.memory, embedder, logger, tuning: { ...TUNING, embedDelayMs: 3_600_000 } });
    try {
      const stats = await manager.stats();
      if (stats.embeddings !== VECTORS) throw new Error(`vector bench: ${stats.embeddings} of ${VECTORS} vectors stored`);
      const queries = Array.from({ length: 100 }, () => sentence(random, 4));
      for (let i = 0; i < 5; i++) await manager.search(queries[i], { mode: 'semantic', limit: 10 });
      const semantic = await timeEach(queries, (q) => manager.search(q, { mode: 'semantic', limit: 10 }));
      const hybrid = await timeEach(queries.slice(0, 50), (q) => manager.search(q, { mode: 'hybrid', limit: 10 }));
      const detail = `${fmt(VECTORS)} vectors of 384 dims from the local (lexical, hashing) embedder, sqlite-vec brute-force KNN, top 10, query embedding included`;
      return [
        { name: `vector search, ${fmt(VECTORS)} × 384 (p50)`, value: semantic.p50 / 1000, unit: 'ms', target: '', detail },
        { name: `vector search, ${fmt(VECTORS)} × 384 (p99)`, value: semantic.p99 / 1000, unit: 'ms', target: '', detail: `mean ${(semantic.mean / 1000).toFixed(1)} ms` },
        { name: `hybrid search, ${fmt(VECTORS)} entries (p50 / p99)`, value: `${(hybrid.p50 / 1000).toFixed(1)} / ${(hybrid.p99 / 1000).toFixed(1)}`, unit: 'ms', target: '', detail: 'BM25 + KNN (30 candidates each), fused by reciprocal rank' },
        {
          name: 'local embedder + setEmbedding',
          value: VECTORS / (embedMs / 1000),
          unit: 'vectors/s',
          target: '',
          detail: `${fmt(VECTORS)} vectors in ${(embedMs / 1000).toFixed(1)} s, of which embedding ${(embedOnlyMs / 1000).toFixed(1)} s (${fmt(VECTORS / (embedOnlyMs / 1000))} texts/s); the rest is sqlite-vec inserts, 2,000 in flight`,
        },
      ];
    } finally {
      await manager.close();
    }
  } finally {
    await store.close();
  }
}

/** The same store, as createColony wires it: memory.stored events persisted, local embedder in the background. */
async function asWired() {
  const n = Math.min(10_000, WRITES);
  return withTempColony({ memory: { gcIntervalMs: 0 } }, async (colony) => {
    const memory = await colony.memory();
    const random = seededRandom(4);
    const values = Array.from({ length: n }, (_, i) => valueFor(i, random));
    const t0 = nowMs();
    await pipeline(n, IN_FLIGHT, (i) => memory.store('wired', `k${i}`, values[i]));
    const writeMs = nowMs() - t0;
    await memory.flushEmbeddings();
    await colony.events.flush();
    const allMs = nowMs() - t0;
    return [
      {
        name: 'memory write via createColony, 1,000 in flight',
        value: n / (writeMs / 1000),
        unit: 'writes/s',
        target: '',
        detail: `${fmt(n)} stores with memory.stored events persisted and the local embedder running behind; ${fmt(n / (allMs / 1000))} /s counting until the embedding worker has embedded every entry`,
      },
    ];
  });
}

export async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'colony-bench-memory-'));
  const rows = [];
  try {
    progress(`sizes: ${fmt(WRITES)} batched writes, ${fmt(ENTRIES)} keyword entries, ${fmt(VECTORS)} vectors`);
    rows.push(...(await writesAndReads(dir)));
    rows.push(...(await asWired()));
    rows.push(...(await vectorSearch(dir)));
    rows.push(...(await keywordSearch(dir)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report('memory', rows);
  return rows;
}

// `node bench/memory.bench.js footprint <db>`: the footprint measurement, in a process of its own.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === 'footprint') {
  process.stdout.write(JSON.stringify(await footprint(process.argv[3])));
}
