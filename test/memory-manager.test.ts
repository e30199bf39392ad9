import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisCache } from '../src/adapters/cache/redis/redis-cache.js';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import { LocalEventBus } from '../src/kernel/local-event-bus.js';
import type { EventBus } from '../src/ports/event-bus.js';
import { createLogger } from '../src/kernel/logger.js';
import { ConfigError, ConflictError, ValidationError } from '../src/domain/errors.js';
import type { ColonyEvent } from '../src/domain/events.js';
import type { JsonValue } from '../src/domain/json.js';
import { LOCAL_EMBEDDER_MODEL, LocalEmbedder } from '../src/adapters/embedders/local-embedder.js';
import { MemoryManager, cacheKeyOf, type MemoryTuning } from '../src/memory/memory-manager.js';
import { ReadGuard } from '../src/memory/read-guard.js';
import { MAX_MEMORY_KEY_LENGTH, MAX_MEMORY_TAGS, MAX_MEMORY_VALUE_BYTES, type MemoryEntry } from '../src/ports/memory-store.js';
import { TestRedisServer, until } from './conformance/cache.js';
import { tempDir } from './support/temp-colony.js';

const REDIS_URL = process.env.COLONY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const logger = createLogger('silent');

/** Fast cadences for tests; the GC timer is off unless a test turns it on. */
const FAST: Partial<MemoryTuning> = { gcIntervalMs: 0, embedDelayMs: 5, accessFlushMs: 20, l2HealthCheckMs: 50 };

interface ManagerOptions {
  /** A Redis URL for L2; null: no L2. Default: the shared Redis. */
  redisUrl?: string | null;
  /** L2 key prefix; default: this test's prefix (so that managers share L2). */
  prefix?: string;
  /** Open a new SqliteStore on the test's file (as another process would) instead of sharing one. */
  ownStore?: boolean;
  embedder?: boolean;
  tuning?: Partial<MemoryTuning>;
  /** The manager's clock; default Date.now. TTL tests move a manual clock instead of sleeping. */
  now?: () => number;
}

/** A clock that moves only when told, so that expiry never depends on how fast the machine is. */
class ManualClock {
  private at: number;
  constructor(at = Date.now()) {
    this.at = at;
  }
  readonly now = (): number => this.at;
  advance(ms: number): void {
    this.at += ms;
  }
}

/** One test's world: a SQLite file, a Redis key prefix, and whatever managers the test opens. */
class World {
  readonly dir = tempDir('colony-memory-');
  readonly dbPath = join(this.dir, 'colony.db');
  readonly prefix = `test:mem:${randomUUID()}:`;
  readonly events: EventBus;
  readonly seen: ColonyEvent[] = [];
  private readonly stores: SqliteStore[] = [];
  private readonly caches: RedisCache[] = [];
  private readonly managers: MemoryManager[] = [];
  private readonly prefixes = new Set<string>();
  private mainStore: SqliteStore | null = null;

  constructor() {
    this.events = new LocalEventBus({ logger, bufferSize: 10_000 });
    this.events.subscribe({ types: ['memory.*'] }, (event) => {
      this.seen.push(event);
    });
  }

  async store(): Promise<SqliteStore> {
    if (!this.mainStore) this.mainStore = await this.openStore();
    return this.mainStore;
  }

  async openStore(): Promise<SqliteStore> {
    const store = new SqliteStore({ path: this.dbPath, busyTimeoutMs: 5_000 });
    await store.migrate();
    this.stores.push(store);
    return store;
  }

  async cache(url: string, prefix: string, tuning: Partial<{ commandTimeoutMs: number }> = {}): Promise<RedisCache> {
    this.prefixes.add(prefix);
    const cache = new RedisCache({ url, keyPrefix: prefix, logger, reconnectBaseMs: 20, reconnectMaxMs: 200, ...tuning });
    this.caches.push(cache);
    expect(await cache.ready(10_000)).toBe(true);
    return cache;
  }

  async manager(options: ManagerOptions = {}): Promise<{ memory: MemoryManager; cache: RedisCache | undefined; store: SqliteStore }> {
    const store = options.ownStore ? await this.openStore() : await this.store();
    const redisUrl = options.redisUrl === undefined ? REDIS_URL : options.redisUrl;
    const cache = redisUrl === null ? undefined : await this.cache(redisUrl, options.prefix ?? this.prefix);
    const memory = new MemoryManager({
      store: store.memory,
      cache,
      embedder: options.embedder === false ? undefined : new LocalEmbedder(),
      events: this.events,
      logger,
      tuning: { ...FAST, ...options.tuning },
      ...(options.now ? { now: options.now } : {}),
    });
    this.managers.push(memory);
    return { memory, cache, store };
  }

  async eventsOf(type: string): Promise<ColonyEvent[]> {
    await this.events.flush();
    return this.seen.filter((e) => e.type === type);
  }

  async close(): Promise<void> {
    for (const m of this.managers) await m.close();
    for (const c of this.caches) await c.close();
    for (const s of this.stores) await s.close();
    const admin = new Redis(REDIS_URL);
    try {
      for (const prefix of this.prefixes) {
        if (!prefix.startsWith('test:mem:')) continue;
        let cursor = '0';
        do {
          const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await admin.del(...keys);
        } while (cursor !== '0');
      }
    } finally {
      await admin.quit();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(async () => {
  await world.close();
});

describe('MemoryManager tiers', () => {
  it('hits L1 after a write, L2 from a second manager, L3 from a manager with an empty L2', async () => {
    const { memory: first } = await world.manager();
    const stored = await first.store('proj', 'design', { text: 'use redis as L2' }, { tags: ['arch'] });
    expect(stored.version).toBe(1);

    expect((await first.retrieve('proj', 'design'))?.value).toEqual({ text: 'use redis as L2' });
    let stats = await first.stats();
    expect(stats.l1).toMatchObject({ hits: 1, misses: 0 });
    expect(stats.l2).toMatchObject({ hits: 0, misses: 0 });
    expect(stats.l3).toMatchObject({ hits: 0, misses: 0 });

    // Another process: its own SQLite connection and L1, the same Redis.
    const { memory: second } = await world.manager({ ownStore: true });
    expect((await second.retrieve('proj', 'design'))?.value).toEqual({ text: 'use redis as L2' });
    stats = await second.stats();
    expect(stats.l1).toMatchObject({ hits: 0, misses: 1 });
    expect(stats.l2).toMatchObject({ hits: 1, misses: 0 });
    expect(stats.l3).toMatchObject({ hits: 0, misses: 0 });
    await second.retrieve('proj', 'design');
    expect((await second.stats()).l1).toMatchObject({ hits: 1, misses: 1 });

    // A manager whose L2 is empty (another prefix) reads L3, then serves from L1 and fills its L2.
    const otherPrefix = `test:mem:${randomUUID()}:`;
    const { memory: third } = await world.manager({ ownStore: true, prefix: otherPrefix });
    const fromL3 = await third.retrieve('proj', 'design');
    expect(fromL3).toMatchObject({ namespace: 'proj', key: 'design', version: 1, tags: ['arch'], value: { text: 'use redis as L2' } });
    await third.retrieve('proj', 'design');
    stats = await third.stats();
    expect(stats.l3).toMatchObject({ hits: 1, misses: 0 });
    expect(stats.l2).toMatchObject({ hits: 0, misses: 1 });
    expect(stats.l1).toMatchObject({ hits: 1, misses: 1 });
    const { memory: fourth } = await world.manager({ ownStore: true, prefix: otherPrefix });
    await fourth.retrieve('proj', 'design');
    expect((await fourth.stats()).l2.hits).toBe(1);
  });

  it('a missing key misses every tier', async () => {
    const { memory } = await world.manager();
    expect(await memory.retrieve('proj', 'nothing')).toBeUndefined();
    const stats = await memory.stats();
    expect(stats.l1).toMatchObject({ hits: 0, misses: 1 });
    expect(stats.l2).toMatchObject({ hits: 0, misses: 1 });
    expect(stats.l3).toMatchObject({ hits: 0, misses: 1 });
  });

  it('works on L1 and L3 alone, without a cache', async () => {
    const { memory } = await world.manager({ redisUrl: null });
    await memory.store('solo', 'k', [1, 2, 3]);
    expect((await memory.retrieve('solo', 'k'))?.value).toEqual([1, 2, 3]);
    const stats = await memory.stats();
    expect(stats.redisHealthy).toBeNull();
    expect(stats.l2.configured).toBe(false);
    expect(stats.l1.hits).toBe(1);
  });

  it('stores entries in L2 under the prefix, with a TTL capped at the L2 TTL', async () => {
    const { memory } = await world.manager({ tuning: { l2TtlMs: 60_000 } });
    await memory.store('proj', 'forever', 'x');
    await memory.store('proj', 'short', 'y', { ttlMs: 5_000 });
    const admin = new Redis(REDIS_URL);
    try {
      const forever = await admin.pttl(`${world.prefix}${cacheKeyOf('proj', 'forever')}`);
      const short = await admin.pttl(`${world.prefix}${cacheKeyOf('proj', 'short')}`);
      expect(forever).toBeGreaterThan(5_000);
      expect(forever).toBeLessThanOrEqual(60_000);
      expect(short).toBeGreaterThan(0);
      expect(short).toBeLessThanOrEqual(5_000);
    } finally {
      await admin.quit();
    }
  });

  it('compresses large entries in L2 and reads them back intact', async () => {
    const { memory: writer } = await world.manager();
    const big = { text: 'all work and no play makes jack a dull boy '.repeat(2_000), n: 42 };
    await writer.store('proj', 'big', big);
    const admin = new Redis(REDIS_URL);
    try {
      const raw = await admin.getBuffer(`${world.prefix}${cacheKeyOf('proj', 'big')}`);
      expect(raw).not.toBeNull();
      expect((raw as Buffer).length).toBeLessThan(JSON.stringify(big).length / 10);
    } finally {
      await admin.quit();
    }
    const { memory: reader } = await world.manager({ ownStore: true });
    expect((await reader.retrieve('proj', 'big'))?.value).toEqual(big);
    expect((await reader.stats()).l2.hits).toBe(1);
  });

  it('hands out frozen entries and never freezes what the caller passed', async () => {
    const { memory } = await world.manager();
    const value = { list: [1, 2], nested: { a: 'b' } };
    const stored = await memory.store('proj', 'frozen', value);
    expect(Object.isFrozen(value)).toBe(false);
    value.list.push(3); // the caller's object is theirs
    const got = (await memory.retrieve('proj', 'frozen')) as MemoryEntry;
    expect(got.value).toEqual({ list: [1, 2], nested: { a: 'b' } });
    expect(Object.isFrozen(got)).toBe(true);
    expect(Object.isFrozen(stored.value)).toBe(true);
    expect(() => {
      ((got.value as { list: number[] }).list as number[]).push(9);
    }).toThrow(TypeError);
    expect((await memory.retrieve('proj', 'frozen'))?.value).toEqual({ list: [1, 2], nested: { a: 'b' } });
  });

  it('records reads in L3 in batches', async () => {
    const { memory } = await world.manager();
    await memory.store('proj', 'read-me', 'v');
    for (let i = 0; i < 5; i++) await memory.retrieve('proj', 'read-me');
    await memory.flushAccess();
    const [entry] = await memory.list({ namespace: 'proj' });
    expect(entry?.accessCount).toBe(5);
    expect(entry?.accessedAt).toBeGreaterThanOrEqual(entry?.updatedAt ?? Infinity);
    // And on its own, after the flush interval.
    await memory.retrieve('proj', 'read-me');
    await until(async () => (await memory.list({ namespace: 'proj' }))[0]?.accessCount === 6, 5_000, 'the access batch');
  });
});

describe('MemoryManager across processes', () => {
  it('a write in one manager invalidates the L1 copy of another', async () => {
    const { memory: a } = await world.manager();
    await a.store('team', 'plan', 'v1');
    // b starts after that write, so no invalidation of it can arrive late and empty b's L1.
    const { memory: b } = await world.manager({ ownStore: true });
    expect((await b.retrieve('team', 'plan'))?.value).toBe('v1');
    expect((await b.retrieve('team', 'plan'))?.value).toBe('v1'); // now from b's L1
    expect((await b.stats()).l1.hits).toBe(1);

    await a.store('team', 'plan', 'v2');
    // Without the invalidation, b would serve v1 from its L1 for five minutes.
    await until(async () => (await b.retrieve('team', 'plan'))?.value === 'v2', 5_000, 'b to see v2');
    expect((await b.retrieve('team', 'plan'))?.version).toBe(2);

    await a.delete('team', 'plan');
    await until(async () => (await b.retrieve('team', 'plan')) === undefined, 5_000, 'b to see the delete');
  });

  it('without Redis, an L1 copy is checked against the store once its revalidation window has passed', async () => {
    const clock = new ManualClock();
    const { memory: writer } = await world.manager({ redisUrl: null });
    await writer.store('team', 'plan', 'v1');
    const { memory: reader } = await world.manager({ ownStore: true, redisUrl: null, now: clock.now, tuning: { l1RevalidateMs: 1_000, l1TtlMs: 600_000 } });
    expect((await reader.retrieve('team', 'plan'))?.value).toBe('v1');

    await writer.store('team', 'plan', 'v2');
    // Within the window the L1 copy is served unchecked (the documented bound on staleness) ...
    expect((await reader.retrieve('team', 'plan'))?.value).toBe('v1');
    expect((await reader.stats()).l1.hits).toBe(1);
    // ... after it, one lookup finds a newer version, and the entry is read again.
    clock.advance(1_000);
    expect(await reader.retrieve('team', 'plan')).toMatchObject({ value: 'v2', version: 2 });
    await writer.delete('team', 'plan');
    clock.advance(1_000);
    expect(await reader.retrieve('team', 'plan')).toBeUndefined();
    // A delete and a re-create starts again at version 1: its new updatedAt tells it apart.
    const writerClock = new ManualClock();
    const { memory: later } = await world.manager({ ownStore: true, redisUrl: null, now: writerClock.now });
    await later.store('team', 'plan', 'v3');
    expect(await reader.retrieve('team', 'plan')).toMatchObject({ value: 'v3', version: 1 });
    await later.delete('team', 'plan');
    writerClock.advance(1);
    await later.store('team', 'plan', 'v4');
    clock.advance(1_000);
    expect(await reader.retrieve('team', 'plan')).toMatchObject({ value: 'v4', version: 1 });
  });

  it('with l1RevalidateMs 0, every L1 hit is checked: another process\'s write is never hidden', async () => {
    const { memory: writer } = await world.manager({ redisUrl: null });
    const { memory: reader } = await world.manager({ ownStore: true, redisUrl: null, tuning: { l1RevalidateMs: 0, l1TtlMs: 600_000 } });
    for (let i = 1; i <= 5; i++) {
      await writer.store('team', 'plan', `v${i}`);
      expect((await reader.retrieve('team', 'plan'))?.value).toBe(`v${i}`);
      expect((await reader.retrieve('team', 'plan'))?.value).toBe(`v${i}`); // an L1 hit, checked
    }
    expect((await reader.stats()).l1.hits).toBeGreaterThanOrEqual(5);
  });

  it('an L2 copy older than the store is not served, and is replaced in L2', async () => {
    const { memory: a } = await world.manager();
    await a.store('stale', 'k', 'old'); // in L2
    // A writer that cannot reach Redis (a CLI that exited first, a partition) leaves L2 behind.
    const { memory: offline } = await world.manager({ ownStore: true, redisUrl: null });
    await offline.store('stale', 'k', 'new');
    const { memory: b } = await world.manager({ ownStore: true });
    expect((await b.retrieve('stale', 'k'))?.value).toBe('new');
    const { memory: c } = await world.manager({ ownStore: true });
    expect((await c.retrieve('stale', 'k'))?.value).toBe('new');
    expect((await c.stats()).l2.hits).toBe(1); // b put the current version back in L2
  });

  it('a back-fill raced by another process write is dropped from L2', async () => {
    const { memory: a } = await world.manager();
    const { memory: b } = await world.manager({ ownStore: true });
    const { memory: c } = await world.manager({ ownStore: true, redisUrl: null });
    await c.store('race', 'k', 'old'); // written without L2: L2 does not have it
    expect((await a.retrieve('race', 'k'))?.value).toBe('old'); // a back-fills L2 with it
    const admin = new Redis(REDIS_URL);
    try {
      const l2Key = `${world.prefix}${cacheKeyOf('race', 'k')}`;
      expect(await admin.exists(l2Key)).toBe(1);
      // b writes right after: a hears b's invalidation for a key it has just set, and drops it from
      // L2 (a's set could have landed after b's). The next reader refills from L3.
      await b.store('race', 'k', 'new');
      await until(async () => (await admin.exists(l2Key)) === 0, 5_000, 'a to drop the raced key');
      expect((await a.retrieve('race', 'k'))?.value).toBe('new');
    } finally {
      await admin.quit();
    }
  });
});

describe('MemoryManager when Redis goes away (a private redis-server)', () => {
  let server: TestRedisServer;
  beforeAll(async () => {
    server = await TestRedisServer.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  it('keeps storing and retrieving on L1 and L3 while Redis is down; L2 comes back after a restart', async () => {
    const { memory, cache } = await world.manager({ redisUrl: server.url });
    await memory.store('ops', 'before', 'b');
    expect((await memory.stats()).redisHealthy).toBe(true);

    await server.stop();
    await until(() => !cache?.healthy, 10_000, 'the cache to notice');
    const written = await memory.store('ops', 'during', { n: 1 }, { tags: ['outage'] });
    expect(written.version).toBe(1);
    expect((await memory.retrieve('ops', 'during'))?.value).toEqual({ n: 1 });
    expect((await memory.retrieve('ops', 'before'))?.value).toBe('b');
    expect(await memory.delete('ops', 'before')).toBe(true);
    expect(await memory.retrieve('ops', 'before')).toBeUndefined();
    const down = await memory.stats();
    expect(down.redisHealthy).toBe(false);
    expect(down.l2.healthy).toBe(false);
    expect(down.entries).toBe(1);

    // A manager started while Redis is down works too.
    const { memory: late } = await world.manager({ ownStore: true, redisUrl: null });
    expect((await late.retrieve('ops', 'during'))?.value).toEqual({ n: 1 });

    await server.start();
    await until(() => cache?.healthy === true, 15_000, 'the cache to reconnect');
    await memory.store('ops', 'after', 'a');
    await until(async () => (await memory.stats()).redisHealthy === true, 5_000, 'stats to say healthy');
    const { memory: peer } = await world.manager({ ownStore: true, redisUrl: server.url });
    expect((await peer.retrieve('ops', 'after'))?.value).toBe('a');
    expect((await peer.stats()).l2.hits).toBe(1);
  });

  it('deletes from L2 what it wrote while cut off from Redis, once it is back', async () => {
    // `cut` is cut off from Redis by a proxy while Redis itself stays up (and keeps the old value);
    // `peer` talks to Redis directly.
    const proxy = await TcpProxy.start(server.port);
    try {
      const { memory: cut, cache: cutCache } = await world.manager({ redisUrl: `redis://127.0.0.1:${proxy.port}` });
      const { memory: peer } = await world.manager({ ownStore: true, redisUrl: server.url });
      await cut.store('ops', 'cfg', 'v1');
      expect((await peer.retrieve('ops', 'cfg'))?.value).toBe('v1');
      const heard: string[] = [];
      cutCache?.onInvalidation((key) => heard.push(key));
      await peer.store('ops', 'theirs', 'p1');
      // Once peer's invalidation has reached `cut` (it would drop the copy), read it into cut's L1.
      await until(() => heard.includes(cacheKeyOf('ops', 'theirs')));
      expect((await cut.retrieve('ops', 'theirs'))?.value).toBe('p1');
      expect((await cut.stats()).l1.entries).toBe(2);

      await proxy.cut();
      await until(() => !cutCache?.healthy, 10_000, 'the cut cache to notice');
      await cut.store('ops', 'cfg', 'v2');
      expect((await cut.retrieve('ops', 'cfg'))?.value).toBe('v2');
      expect((await cut.stats()).l2.pendingDeletes).toBe(1);
      await peer.store('ops', 'theirs', 'p2'); // its invalidation cannot reach `cut`
      expect((await cut.retrieve('ops', 'theirs'))?.value).toBe('p1'); // L1, until Redis is back

      await proxy.restore();
      // Back: `cut` deletes the key from L2 and publishes its invalidation, so `peer` drops its copy.
      await until(async () => (await peer.retrieve('ops', 'cfg'))?.value === 'v2', 15_000, 'peer to see v2');
      expect((await cut.stats()).l2.pendingDeletes).toBe(0);
      // And `cut` dropped its L1 when Redis came back: invalidations were missed meanwhile.
      expect((await cut.retrieve('ops', 'theirs'))?.value).toBe('p2');
    } finally {
      await proxy.close();
    }
  });
});

describe('MemoryManager TTL and GC', () => {
  it('an entry is gone after its TTL, in every tier', async () => {
    const clock = new ManualClock();
    const { memory: a } = await world.manager({ now: clock.now });
    const { memory: b } = await world.manager({ ownStore: true, now: clock.now });
    await a.store('tmp', 'short', 'soon gone', { ttlMs: 30_000 });
    await a.store('tmp', 'long', 'stays', { ttlMs: 600_000 });
    expect((await a.retrieve('tmp', 'short'))?.value).toBe('soon gone'); // L1
    expect((await b.retrieve('tmp', 'short'))?.value).toBe('soon gone'); // L2
    clock.advance(30_001);
    // Redis still holds the entry (its own clock has not reached the TTL): the manager's clock decides.
    expect(await a.retrieve('tmp', 'short')).toBeUndefined();
    expect(await b.retrieve('tmp', 'short')).toBeUndefined();
    expect((await a.retrieve('tmp', 'long'))?.value).toBe('stays');
    expect((await a.list({ namespace: 'tmp' })).map((e) => e.key)).toEqual(['long']);
  });

  it('gc removes expired entries and publishes memory.expired', async () => {
    const clock = new ManualClock();
    const { memory } = await world.manager({ tuning: { gcBatchSize: 2 }, now: clock.now });
    for (let i = 0; i < 5; i++) await memory.store('tmp', `t${i}`, i, { ttlMs: 50 });
    await memory.store('tmp', 'keep', 'k');
    expect((await memory.stats()).expired).toBe(0);
    clock.advance(51);
    expect((await memory.stats()).expired).toBe(5);
    expect(await memory.gc()).toEqual({ removed: 5 });
    const stats = await memory.stats();
    expect(stats.expired).toBe(0);
    expect(stats.entries).toBe(1);
    const expired = await world.eventsOf('memory.expired');
    expect(expired.map((e) => e.data)).toEqual([{ count: 5 }]);
    expect(await memory.gc()).toEqual({ removed: 0 });
    expect(await world.eventsOf('memory.expired')).toHaveLength(1);
  });

  it('the background GC timer collects on its own', async () => {
    const clock = new ManualClock();
    const { memory } = await world.manager({ tuning: { gcIntervalMs: 20 }, now: clock.now });
    await memory.store('tmp', 'a', 1, { ttlMs: 30 });
    await memory.store('tmp', 'b', 2, { ttlMs: 30 });
    // Nothing has expired yet, however often the timer has run meanwhile; then both expire at once.
    expect((await memory.stats()).entries).toBe(2);
    clock.advance(31);
    await until(async () => (await world.eventsOf('memory.expired')).length > 0, 10_000, 'the GC timer');
    expect((await memory.stats()).expired).toBe(0);
    expect((await world.eventsOf('memory.expired')).map((e) => e.data)).toEqual([{ count: 2 }]);
  });
});

describe('MemoryManager versions', () => {
  it('concurrent writers with the same expectedVersion: exactly one wins', async () => {
    const { memory: a } = await world.manager();
    const { memory: b } = await world.manager({ ownStore: true });
    await a.store('team', 'counter', 0);
    const attempts = Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).store('team', 'counter', i + 1, { expectedVersion: 1 }));
    const results = await Promise.allSettled(attempts);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(11);
    for (const r of lost) expect(r.reason).toBeInstanceOf(ConflictError);
    const winner = (won[0] as PromiseFulfilledResult<MemoryEntry>).value;
    expect(winner.version).toBe(2);
    await until(async () => (await b.retrieve('team', 'counter'))?.value === winner.value, 5_000, 'b to agree');
    expect((await a.retrieve('team', 'counter'))?.value).toBe(winner.value);
  });

  it('expectedVersion null creates only once', async () => {
    const { memory } = await world.manager();
    const results = await Promise.allSettled([1, 2, 3].map((n) => memory.store('team', 'fresh', n, { expectedVersion: null })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof ConflictError)).toHaveLength(2);
  });

  it('a stale expectedVersion changes nothing, in any tier', async () => {
    const { memory } = await world.manager();
    await memory.store('team', 'doc', 'one');
    await memory.store('team', 'doc', 'two');
    await expect(memory.store('team', 'doc', 'stale', { expectedVersion: 1 })).rejects.toBeInstanceOf(ConflictError);
    await expect(memory.delete('team', 'doc', { expectedVersion: 1 })).rejects.toBeInstanceOf(ConflictError);
    expect(await memory.retrieve('team', 'doc')).toMatchObject({ value: 'two', version: 2 });
    expect(await memory.delete('team', 'doc', { expectedVersion: 2 })).toBe(true);
    expect(await memory.delete('team', 'doc')).toBe(false);
  });
});

describe('MemoryManager events', () => {
  it('publishes memory.stored and memory.deleted with small payloads', async () => {
    const { memory } = await world.manager();
    await memory.store('ev', 'k', { big: 'x'.repeat(1_000) });
    await memory.store('ev', 'k', 'again');
    await memory.delete('ev', 'k');
    await memory.delete('ev', 'k'); // did not exist: no event
    expect((await world.eventsOf('memory.stored')).map((e) => e.data)).toEqual([
      { namespace: 'ev', key: 'k', version: 1 },
      { namespace: 'ev', key: 'k', version: 2 },
    ]);
    expect((await world.eventsOf('memory.deleted')).map((e) => e.data)).toEqual([{ namespace: 'ev', key: 'k' }]);
  });
});

describe('MemoryManager storeMany', () => {
  it('writes a batch in one call: L3, L1 and L2 of this process, searchable, embedded, one event per entry', async () => {
    const { memory } = await world.manager();
    const written = await memory.storeMany([
      { namespace: 'bulk', key: 'a', value: { note: 'first quokka note' }, tags: ['t'] },
      { namespace: 'bulk', key: 'b', value: 'second quokka note', ttlMs: 60_000, metadata: { by: 'test' } },
      { namespace: 'other', key: 'a', value: 3 },
    ]);
    expect(written.map((e) => [e.namespace, e.key, e.version])).toEqual([
      ['bulk', 'a', 1],
      ['bulk', 'b', 1],
      ['other', 'a', 1],
    ]);
    expect(Object.isFrozen(written[0])).toBe(true);
    expect(written[1]?.expiresAt).toBe((written[1]?.updatedAt ?? 0) + 60_000);
    expect(await memory.retrieve('bulk', 'b')).toEqual(written[1]);
    expect((await memory.stats()).l1).toMatchObject({ hits: 1, misses: 0 });
    // Another process reads them from L2.
    const { memory: other } = await world.manager({ ownStore: true });
    expect((await other.retrieve('bulk', 'a'))?.value).toEqual({ note: 'first quokka note' });
    expect((await other.stats()).l2.hits).toBe(1);
    expect((await memory.search('quokka', { mode: 'keyword' })).hits.map((h) => h.entry.key).sort()).toEqual(['a', 'b']);
    await memory.flushEmbeddings();
    expect((await memory.stats()).embeddings).toBe(3);
    expect((await world.eventsOf('memory.stored')).map((e) => e.data)).toEqual([
      { namespace: 'bulk', key: 'a', version: 1 },
      { namespace: 'bulk', key: 'b', version: 1 },
      { namespace: 'other', key: 'a', version: 1 },
    ]);
  });

  it("invalidates other processes' L1 copies of every key it writes", async () => {
    const { memory: a } = await world.manager();
    await a.storeMany(Array.from({ length: 20 }, (_, i) => ({ namespace: 'team', key: `k${i}`, value: 'v1' })));
    const { memory: b } = await world.manager({ ownStore: true });
    for (let i = 0; i < 20; i++) await b.retrieve('team', `k${i}`);
    for (let i = 0; i < 20; i++) expect((await b.retrieve('team', `k${i}`))?.value).toBe('v1'); // from b's L1
    await a.storeMany(Array.from({ length: 20 }, (_, i) => ({ namespace: 'team', key: `k${i}`, value: 'v2' })));
    // Without the invalidations, b would serve v1 from its L1 for five minutes.
    await until(
      async () => {
        for (let i = 0; i < 20; i++) if ((await b.retrieve('team', `k${i}`))?.value !== 'v2') return false;
        return true;
      },
      5_000,
      'b to see v2 of every key',
    );
  });

  it('a key given twice: the last value wins in every tier, versions count up in order', async () => {
    const { memory } = await world.manager();
    await memory.store('dup', 'k', 'before');
    const written = await memory.storeMany([
      { namespace: 'dup', key: 'k', value: 'one' },
      { namespace: 'dup', key: 'k', value: 'two' },
    ]);
    expect(written.map((e) => [e.version, e.value])).toEqual([
      [2, 'one'],
      [3, 'two'],
    ]);
    expect(await memory.retrieve('dup', 'k')).toMatchObject({ version: 3, value: 'two' });
    const { memory: other } = await world.manager({ ownStore: true });
    expect(await other.retrieve('dup', 'k')).toMatchObject({ version: 3, value: 'two' });
  });

  it('refuses a batch with a bad entry, naming it, and writes nothing anywhere', async () => {
    const { memory } = await world.manager();
    await memory.store('ns', 'kept', 'original');
    const good = (key: string) => ({ namespace: 'ns', key, value: 'new' });
    const cases: [Record<string, unknown>, string][] = [
      [{ namespace: 'ns', key: '', value: 1 }, 'key'],
      [{ namespace: 'NS', key: 'k', value: 1 }, 'namespace'],
      [{ namespace: 'ns', key: 'k', value: 'x'.repeat(MAX_MEMORY_VALUE_BYTES) }, 'value'],
      [{ namespace: 'ns', key: 'k', value: 1, ttlMs: -5 }, 'ttlMs'],
      [{ namespace: 'ns', key: 'k', value: 1, expectedVersion: 1 }, 'expectedVersion'],
      [{ namespace: 'ns', key: 'k' }, 'value'],
    ];
    for (const [bad, field] of cases) {
      const error = await memory.storeMany([good('kept'), good('a'), bad as never]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toMatch(/^entries\[2\]: /);
      expect((error as ValidationError).details).toMatchObject({ index: 2, field });
    }
    const notArray = await memory.storeMany({} as never).catch((e: unknown) => e);
    expect(notArray).toBeInstanceOf(ValidationError);
    expect(await memory.count()).toBe(1);
    expect(await memory.retrieve('ns', 'kept')).toMatchObject({ value: 'original', version: 1 });
    expect(await world.eventsOf('memory.stored')).toHaveLength(1);
    expect(await memory.storeMany([])).toEqual([]);
  });
});

describe('MemoryManager export and import', () => {
  async function fill(memory: MemoryManager): Promise<void> {
    await memory.store('alpha', 'plain', 'just text');
    await memory.store('alpha', 'nested', { a: [1, 2, { b: null }], ünï: 'cödé ✓', f: 1.5, t: true }, { tags: ['x', 'y'], metadata: { source: 'test', n: 1 } });
    await memory.store('alpha', 'ttl', 42, { ttlMs: 3_600_000 });
    await memory.store('beta', 'key with spaces/and:colons', [null, false, 'line\nbreak'], { tags: ['only-beta'] });
    await memory.store('beta', 'big', { text: 'lorem ipsum '.repeat(500) });
  }

  async function exportAll(memory: MemoryManager, filter = {}): Promise<string> {
    let text = '';
    await memory.exportJsonl((chunk) => {
      text += chunk;
    }, filter);
    return text;
  }

  it('round-trips every entry: value, tags, metadata, expiry and size exactly', async () => {
    const { memory: source } = await world.manager();
    await fill(source);
    const exported = await exportAll(source);
    const lines = exported.trimEnd().split('\n');
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      expect(Object.keys(JSON.parse(line) as object).sort()).toEqual(
        ['accessCount', 'accessedAt', 'createdAt', 'expiresAt', 'key', 'metadata', 'namespace', 'size', 'tags', 'updatedAt', 'value', 'version'].sort(),
      );
    }

    const other = new World();
    try {
      const { memory: target } = await other.manager();
      // Through a real stream, in awkward chunks (splitting multi-byte characters).
      const bytes = Buffer.from(exported, 'utf8');
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
      const result = await target.importJsonl(Readable.from(chunks), { mode: 'skip' });
      expect(result).toEqual({ entries: 5, imported: 5, skipped: 0, expired: 0 });

      const before = await source.list();
      const after = await target.list();
      // Entries written once and never read: the port restores every field of them.
      expect(after).toEqual(before);
      // And exporting the copy gives the same text.
      expect(await exportAll(target)).toBe(exported);
      // They are searchable and cached like any write.
      expect((await target.retrieve('alpha', 'nested'))?.value).toEqual(before.find((e) => e.key === 'nested')?.value);
      expect((await target.search('lorem', { mode: 'keyword' })).hits[0]?.entry.key).toBe('big');
    } finally {
      await other.close();
    }
  });

  it('a rewritten, read entry comes back identical: version, dates and access count included', async () => {
    const { memory: source } = await world.manager();
    await source.store('alpha', 'doc', 'first');
    await sleep(5);
    await source.store('alpha', 'doc', { final: true }, { tags: ['t'], metadata: { m: 1 } });
    await source.retrieve('alpha', 'doc');
    await source.flushAccess();
    const [original] = await source.list();
    expect(original).toMatchObject({ version: 2, accessCount: 1 });
    expect((original as MemoryEntry).createdAt).toBeLessThan((original as MemoryEntry).updatedAt);
    let exported = '';
    await source.exportJsonl((chunk) => {
      exported += chunk;
    });

    const other = new World();
    try {
      const { memory: target } = await other.manager();
      await target.importJsonl(exported, { mode: 'overwrite' });
      const [copy] = await target.list();
      expect(copy).toEqual(original);
      // An optimistic writer holding the exported version can go on from the copy.
      expect((await target.store('alpha', 'doc', 'next', { expectedVersion: 2 })).version).toBe(3);
    } finally {
      await other.close();
    }
  });

  it('exports a filtered subset to a stream', async () => {
    const { memory } = await world.manager();
    await fill(memory);
    const stream = new PassThrough();
    const collected: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => collected.push(chunk));
    expect(await memory.exportJsonl(stream, { namespace: 'beta' })).toEqual({ entries: 2 });
    expect(await memory.exportJsonl(stream, { namespace: 'alpha', tags: ['x'] })).toEqual({ entries: 1 });
    stream.end();
    await once(stream, 'end');
    const keys = Buffer.concat(collected).toString().trimEnd().split('\n').map((l) => (JSON.parse(l) as { key: string }).key);
    expect(keys).toEqual(['big', 'key with spaces/and:colons', 'nested']);
  });

  it('skip keeps existing entries; overwrite replaces them', async () => {
    const { memory } = await world.manager();
    await memory.store('alpha', 'plain', 'original');
    const text = [
      JSON.stringify({ namespace: 'alpha', key: 'plain', value: 'imported' }),
      JSON.stringify({ namespace: 'alpha', key: 'new', value: 'n', tags: ['t'] }),
      JSON.stringify({ namespace: 'alpha', key: 'old', value: 'o', expiresAt: 1 }),
    ].join('\n');
    expect(await memory.importJsonl(text, { mode: 'skip' })).toEqual({ entries: 3, imported: 1, skipped: 1, expired: 0 + 1 });
    expect((await memory.retrieve('alpha', 'plain'))?.value).toBe('original');
    expect(await memory.importJsonl(text, { mode: 'overwrite' })).toEqual({ entries: 3, imported: 2, skipped: 0, expired: 1 });
    expect(await memory.retrieve('alpha', 'plain')).toMatchObject({ value: 'imported', version: 2 });
    expect(await memory.retrieve('alpha', 'old')).toBeUndefined();
  });

  it('imports in batches of 1,000 entries a transaction, skipping and counting across batches', async () => {
    const store = await world.store();
    const batches: number[] = [];
    // The store, with its batch writes counted (a single write would not be).
    const counting = new Proxy(store.memory, {
      get(target, property, receiver) {
        if (property === 'restoreMany') {
          return (entries: MemoryEntry[], mode: 'skip' | 'overwrite', now: number) => {
            batches.push(entries.length);
            return target.restoreMany(entries, mode, now);
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const memory = new MemoryManager({ store: counting, events: world.events, logger, tuning: FAST });
    try {
      await memory.store('imp', 'k1500', 'already here');
      const text = Array.from({ length: 2_500 }, (_, i) => JSON.stringify({ namespace: 'imp', key: `k${i}`, value: `imported ${i}` })).join('\n');
      expect(await memory.importJsonl(text, { mode: 'skip' })).toEqual({ entries: 2_500, imported: 2_499, skipped: 1, expired: 0 });
      expect(batches).toEqual([1_000, 1_000, 500]);
      expect(await memory.count({ namespace: 'imp' })).toBe(2_500);
      expect((await memory.retrieve('imp', 'k1500'))?.value).toBe('already here');
      expect((await memory.retrieve('imp', 'k2499'))?.value).toBe('imported 2499');
      expect((await memory.search('imported', { mode: 'keyword', limit: 5 })).hits).toHaveLength(5);
      expect(await world.eventsOf('memory.stored')).toHaveLength(2_500);
    } finally {
      await memory.close();
    }
  });

  it('refuses the whole import when a line is malformed, naming the line, and writes nothing', async () => {
    const { memory } = await world.manager();
    const good = (key: string) => JSON.stringify({ namespace: 'imp', key, value: key });
    const cases: [string, RegExp][] = [
      [[good('a'), good('b'), '{"namespace":"imp","key":"c","value":', good('d')].join('\n'), /line 3: not valid JSON/],
      [[good('a'), '', JSON.stringify({ namespace: 'Bad NS', key: 'x', value: 1 })].join('\n'), /line 3: .*namespace/],
      [[good('a'), JSON.stringify({ namespace: 'imp', key: 'x' })].join('\r\n'), /line 2: value is missing/],
      [[good('a'), JSON.stringify({ namespace: 'imp', key: 'x', value: 1, ttl: 5 })].join('\n'), /line 2: unknown field ttl/],
      [[good('a'), good('a')].join('\n'), /line 2: imp\/a already appears on line 1/],
      [[good('a'), JSON.stringify({ namespace: 'imp', key: 'x', value: 1, version: 0 })].join('\n'), /line 2: version/],
      [[good('a'), JSON.stringify({ namespace: 'imp', key: 'x', value: 1, tags: 'nope' })].join('\n'), /line 2: tags/],
      [[good('a'), JSON.stringify({ namespace: 'imp', key: 'x', value: 'abc', size: 99 })].join('\n'), /line 2: size/],
      [[good('a'), '[1,2]'].join('\n'), /line 2: not a JSON object/],
    ];
    for (const [text, message] of cases) {
      const error = await memory.importJsonl(text, { mode: 'overwrite' }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toMatch(message);
      expect((error as ValidationError).message).toMatch(/nothing was written/);
    }
    const many = [good('a'), 'x', 'y', good('b'), 'z'].join('\n');
    const error = (await memory.importJsonl(many, { mode: 'skip' }).catch((e: unknown) => e)) as ValidationError;
    expect(error.message).toMatch(/line 2: .* \(and 2 more bad lines\)/);
    expect((error.details.problems as { line: number }[]).map((p) => p.line)).toEqual([2, 3, 5]);

    expect(await memory.count()).toBe(0);
    expect(await world.eventsOf('memory.stored')).toHaveLength(0);
    await expect(memory.importJsonl(good('a'), { mode: 'merge' as 'skip' })).rejects.toThrow(/import mode/);
  });
});

describe('MemoryManager validation', () => {
  it('refuses bad input with a ValidationError naming the problem, and writes nothing', async () => {
    const { memory } = await world.manager();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const deep = (levels: number): JsonValue => (levels === 0 ? 'bottom' : [deep(levels - 1)]);
    const cases: [() => Promise<unknown>, RegExp][] = [
      [() => memory.store('Bad NS', 'k', 1), /namespace/],
      [() => memory.store('', 'k', 1), /namespace/],
      [() => memory.store('ns/slash', 'k', 1), /namespace/],
      [() => memory.store('ns', '', 1), /key must not be empty/],
      [() => memory.store('ns', 'a\u0000b', 1), /key must not contain control characters/],
      [() => memory.store('ns', 'k'.repeat(MAX_MEMORY_KEY_LENGTH + 1), 1), /key is 513 characters long/],
      [() => memory.store('ns', 'k', 1, { ttlMs: -1 }), /ttlMs must be a positive number/],
      [() => memory.store('ns', 'k', 1, { ttlMs: Number.NaN }), /ttlMs must be a positive number.*NaN/],
      [() => memory.store('ns', 'k', 1, { ttlMs: 0 }), /ttlMs/],
      [() => memory.store('ns', 'k', 1, { ttlMs: Infinity }), /ttlMs/],
      [() => memory.store('ns', 'k', 'x'.repeat(MAX_MEMORY_VALUE_BYTES)), /value is \d+ bytes of JSON, over the limit/],
      [() => memory.store('ns', 'k', undefined as unknown as JsonValue), /value is required/],
      [() => memory.store('ns', 'k', { n: Number.NaN }), /value\.n is NaN/],
      [() => memory.store('ns', 'k', { d: new Date() } as unknown as JsonValue), /value\.d is a Date/],
      [() => memory.store('ns', 'k', { f: () => 1 } as unknown as JsonValue), /value\.f is a function/],
      [() => memory.store('ns', 'k', cyclic as JsonValue), /^value\.self refers to an object that contains it \(a cycle\)/],
      [() => memory.store('ns', 'k', deep(300)), /^value is nested more than 256 levels deep$/],
      [() => memory.store('ns', 'k', 1, { tags: 'a' as unknown as string[] }), /tags must be an array/],
      [() => memory.store('ns', 'k', 1, { tags: ['ok', 3 as unknown as string] }), /tags\[1\] must be a non-empty string/],
      [() => memory.store('ns', 'k', 1, { tags: [''] }), /tags\[0\]/],
      [() => memory.store('ns', 'k', 1, { tags: Array.from({ length: MAX_MEMORY_TAGS + 1 }, (_, i) => `t${i}`) }), /over the limit of 64/],
      [() => memory.store('ns', 'k', 1, { metadata: [] as unknown as Record<string, JsonValue> }), /metadata must be a JSON object/],
      [() => memory.store('ns', 'k', 1, { expectedVersion: 0 }), /expectedVersion/],
      [() => memory.store('ns', 'k', 1, { expectedVersion: 1.5 }), /expectedVersion/],
      [() => memory.retrieve('ns', ''), /key/],
      [() => memory.delete('NS', 'k'), /namespace/],
      [() => memory.search('q', { limit: 0 }), /limit must be an integer from 1/],
      [() => memory.search('q', { mode: 'fuzzy' as 'keyword' }), /search mode/],
      [() => memory.search('q', { namespaces: ['ok', 'NOT OK'] }), /namespaces/],
      [() => memory.list({ limit: -1 }), /limit/],
    ];
    for (const [call, message] of cases) {
      const error = await call().then(
        () => null,
        (e: unknown) => e,
      );
      expect(error, String(message)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toMatch(message);
    }
    expect(await memory.count()).toBe(0);
    expect(await world.eventsOf('memory.stored')).toHaveLength(0);
    expect((await memory.stats()).l1.entries).toBe(0);
  });

  it('accepts a value right at the size limit', async () => {
    const { memory } = await world.manager({ redisUrl: null, embedder: false });
    const value = 'x'.repeat(MAX_MEMORY_VALUE_BYTES - 2); // plus two quotes
    expect((await memory.store('ns', 'edge', value)).size).toBe(MAX_MEMORY_VALUE_BYTES);
  });
});

describe('MemoryManager search', () => {
  async function seed(memory: MemoryManager): Promise<void> {
    await memory.store('kb', 'redis', 'Redis is the shared cache between worker processes', { tags: ['infra'] });
    await memory.store('kb', 'sqlite', 'SQLite in WAL mode is the durable store on a laptop', { tags: ['infra', 'storage'] });
    await memory.store('kb', 'consensus', 'Agents vote on results with a quorum', { tags: ['swarm'] });
    await memory.store('notes', 'cache-tip', 'Keep the cache TTL short for hot keys');
    await memory.store('notes', 'lunch', 'Sandwiches arrive at noon');
  }

  it('keyword search ranks by BM25 and uses no embedder', async () => {
    const { memory } = await world.manager();
    await seed(memory);
    const result = await memory.search('shared cache', { mode: 'keyword' });
    expect(result.embedder).toBeNull();
    expect(result.mode).toBe('keyword');
    expect(result.hits[0]?.entry.key).toBe('redis');
    expect(result.hits.map((h) => h.entry.key)).toContain('cache-tip');
    expect(result.hits.every((h) => h.matchedBy.join() === 'keyword')).toBe(true);
    expect(result.hits.map((h) => h.entry.key)).not.toContain('lunch');
  });

  it('semantic search uses the local embedder and says so', async () => {
    const { memory } = await world.manager();
    await seed(memory);
    await memory.flushEmbeddings();
    const result = await memory.search('the vote of agents with a quorum', { mode: 'semantic', limit: 3 });
    expect(result.embedder).toEqual({ model: LOCAL_EMBEDDER_MODEL, dimensions: 384, kind: 'local', local: true });
    expect(result.hits).toHaveLength(3);
    expect(result.hits[0]?.entry.key).toBe('consensus');
    expect(result.hits[0]?.matchedBy).toEqual(['semantic']);
    const scores = result.hits.map((h) => h.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('embeds new entries in the background: semantic search finds them shortly', async () => {
    const { memory } = await world.manager();
    await memory.store('kb', 'fresh', 'penguins waddle across antarctic ice');
    await until(async () => (await memory.search('antarctic penguins', { mode: 'semantic' })).hits[0]?.entry.key === 'fresh', 5_000, 'the background embedding');
    // A rewrite with another value is embedded again (the old vector is dropped with the old value).
    await memory.store('kb', 'fresh', 'volcanoes erupt lava');
    await until(async () => (await memory.search('volcanoes lava', { mode: 'semantic' })).hits[0]?.entry.key === 'fresh', 5_000, 're-embedding');
    expect((await memory.stats()).embeddings).toBe(1);
  });

  it('hybrid search fuses keyword and semantic rankings', async () => {
    const { memory } = await world.manager();
    await seed(memory);
    await memory.flushEmbeddings();
    const result = await memory.search('cache', { mode: 'hybrid', limit: 4 });
    expect(result.mode).toBe('hybrid');
    expect(result.embedder?.local).toBe(true);
    expect(result.hits.length).toBeGreaterThan(0);
    expect(result.hits.length).toBeLessThanOrEqual(4);
    const top = result.hits[0];
    expect(['redis', 'cache-tip']).toContain(top?.entry.key);
    expect(top?.matchedBy).toEqual(['keyword', 'semantic']);
    // Fused scores: reciprocal ranks, highest first.
    const scores = result.hits.map((h) => h.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    expect(scores[0]).toBeLessThanOrEqual(2 / 61);
  });

  it('filters by namespace, namespaces and tags in every mode', async () => {
    const { memory } = await world.manager();
    await seed(memory);
    await memory.flushEmbeddings();
    for (const mode of ['keyword', 'semantic', 'hybrid'] as const) {
      const inNotes = await memory.search('cache', { mode, namespace: 'notes' });
      expect(inNotes.hits.map((h) => h.entry.namespace).every((ns) => ns === 'notes'), mode).toBe(true);
      expect(inNotes.hits.map((h) => h.entry.key), mode).toContain('cache-tip');
      const tagged = await memory.search('store cache laptop', { mode, tags: ['storage'] });
      expect(tagged.hits.map((h) => h.entry.key), mode).toEqual(['sqlite']);
      const several = await memory.search('cache', { mode, namespaces: ['kb', 'other'] });
      expect(several.hits.every((h) => h.entry.namespace === 'kb'), mode).toBe(true);
    }
  });

  it('semantic search without an embedder is a configuration error', async () => {
    const { memory } = await world.manager({ embedder: false });
    await memory.store('kb', 'k', 'text');
    await expect(memory.search('text', { mode: 'semantic' })).rejects.toBeInstanceOf(ConfigError);
    expect((await memory.search('text', { mode: 'keyword' })).hits).toHaveLength(1);
  });
});

describe('MemoryManager stats', () => {
  it('reports entries, stored vs logical bytes and hit rates per tier', async () => {
    const { memory } = await world.manager();
    const text = 'a very compressible sentence, repeated. '.repeat(1_000);
    await memory.store('st', 'one', text);
    await memory.store('st', 'two', text); // the same value: stored once
    await memory.store('st', 'small', 1);
    for (let i = 0; i < 3; i++) await memory.retrieve('st', 'one');
    await memory.retrieve('st', 'missing');

    const stats = await memory.stats();
    expect(stats.entries).toBe(3);
    expect(stats.namespaces).toEqual([{ namespace: 'st', entries: 3 }]);
    expect(stats.logicalBytes).toBe(2 * Buffer.byteLength(JSON.stringify(text)) + 1);
    expect(stats.storedBytes).toBeLessThan(stats.logicalBytes / 10);
    expect(stats.storageRatio).toBeCloseTo(stats.storedBytes / stats.logicalBytes);
    expect(stats.l1).toMatchObject({ hits: 3, misses: 1, hitRate: 0.75, entries: 3 });
    expect(stats.l1.bytes).toBeGreaterThan(stats.logicalBytes);
    expect(stats.l2).toMatchObject({ configured: true, healthy: true, hits: 0, misses: 1, hitRate: 0 });
    expect(stats.l3).toMatchObject({ hits: 0, misses: 1, hitRate: 0 });
    expect(stats.redisHealthy).toBe(true);
    expect(stats.embedder?.model).toBe(LOCAL_EMBEDDER_MODEL);
  });

  it('hit rates are null before any lookup, and L1 stays within its byte bound', async () => {
    const { memory } = await world.manager({ tuning: { l1MaxBytes: 20_000 } });
    let stats = await memory.stats();
    expect(stats.l1.hitRate).toBeNull();
    expect(stats.l2.hitRate).toBeNull();
    expect(stats.l3.hitRate).toBeNull();
    for (let i = 0; i < 50; i++) await memory.store('st', `k${i}`, 'v'.repeat(1_000));
    stats = await memory.stats();
    expect(stats.l1.bytes).toBeLessThanOrEqual(20_000);
    expect(stats.l1.evictions).toBeGreaterThan(0);
    // Evicted from L1, still in L2 and L3.
    expect((await memory.retrieve('st', 'k0'))?.value).toBe('v'.repeat(1_000));
    expect((await memory.stats()).l2.hits).toBe(1);
  });
});

describe('ReadGuard', () => {
  it('marks reads in flight stale on a write, and only those', () => {
    const guard = new ReadGuard();
    const first = guard.begin('k');
    const overlapping = guard.begin('k');
    const other = guard.begin('other');
    guard.invalidate('k');
    const after = guard.begin('k');
    expect(first.stale).toBe(true);
    expect(overlapping.stale).toBe(true);
    expect(after.stale).toBe(false);
    expect(other.stale).toBe(false);
    guard.end('k', first);
    guard.end('k', overlapping);
    guard.end('k', after);
    guard.end('other', other);
    expect(guard.size).toBe(0);
  });
});

/** A TCP proxy that can cut every connection and refuse new ones, then come back on the same port. */
class TcpProxy {
  readonly port: number;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly target: number;

  private constructor(port: number, target: number) {
    this.port = port;
    this.target = target;
  }

  static async start(target: number): Promise<TcpProxy> {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const proxy = new TcpProxy(port, target);
    await proxy.restore();
    return proxy;
  }

  async restore(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async close(): Promise<void> {
    await this.cut();
  }
}
