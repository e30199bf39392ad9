import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisCache } from '../src/adapters/cache/redis/redis-cache.js';
import { reconnectDelay } from '../src/adapters/cache/redis/redis-connection.js';
import { createLogger, type Logger } from '../src/kernel/logger.js';
import { TestRedisServer, runCacheConformance, until } from './conformance/cache.js';

const REDIS_URL = process.env.COLONY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const silent = createLogger('silent');

/** Deletes every key under `prefix` on the shared server. */
async function deletePrefix(admin: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
}

let admin: Redis;
beforeAll(() => {
  admin = new Redis(REDIS_URL);
});
afterAll(async () => {
  await admin.quit();
});

runCacheConformance('RedisCache', async () => {
  const keyPrefix = `test:cache:${randomUUID()}:`;
  return {
    async open() {
      const cache = new RedisCache({ url: REDIS_URL, keyPrefix, logger: silent });
      expect(await cache.ready(10_000)).toBe(true);
      return cache;
    },
    cleanup: () => deletePrefix(admin, keyPrefix),
  };
});

/** A pino logger whose lines land in an array (level, msg). */
function capturingLogger(): { logger: Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}
const WARN = 40;
const INFO = 30;

describe('RedisCache on the shared Redis', () => {
  const caches: RedisCache[] = [];
  const prefixes: string[] = [];
  const open = async (keyPrefix: string): Promise<RedisCache> => {
    prefixes.push(keyPrefix);
    const cache = new RedisCache({ url: REDIS_URL, keyPrefix, logger: silent });
    caches.push(cache);
    expect(await cache.ready(10_000)).toBe(true);
    return cache;
  };

  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.close();
    for (const prefix of prefixes.splice(0)) await deletePrefix(admin, prefix);
  });

  it('keeps keys under its prefix with a millisecond TTL', async () => {
    const prefix = `test:cache:${randomUUID()}:`;
    const cache = await open(prefix);
    await cache.set('a', Buffer.from('1'), 30_000);
    await cache.set('b', Buffer.from('2'), null);
    expect(await admin.get(`${prefix}a`)).toBe('1');
    const pttl = await admin.pttl(`${prefix}a`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(30_000);
    expect(await admin.pttl(`${prefix}b`)).toBe(-1);
  });

  it('isolates two prefixes: keys and invalidations', async () => {
    const one = await open(`test:cache:${randomUUID()}:`);
    const two = await open(`test:cache:${randomUUID()}:`);
    const twoPeer = await open(prefixes[1] as string);
    await one.set('k', Buffer.from('one'), 60_000);
    expect(await two.get('k')).toBeUndefined();

    const heardByTwo: string[] = [];
    two.onInvalidation((key) => heardByTwo.push(key));
    await one.publishInvalidation('from-one');
    await twoPeer.publishInvalidation('from-two-peer');
    await until(() => heardByTwo.length >= 1);
    // Pub/sub keeps order per subscriber: had one's message reached `two`, it would have come first.
    expect(heardByTwo).toEqual(['from-two-peer']);
  });

  it('an instance does not hear its own invalidations', async () => {
    const prefix = `test:cache:${randomUUID()}:`;
    const a = await open(prefix);
    const b = await open(prefix);
    const heardByA: string[] = [];
    const heardByB: string[] = [];
    a.onInvalidation((key) => heardByA.push(key));
    b.onInvalidation((key) => heardByB.push(key));
    await a.publishInvalidation('k1');
    await until(() => heardByB.length >= 1);
    await b.publishInvalidation('k2');
    await until(() => heardByA.length >= 1);
    expect(heardByA).toEqual(['k2']);
    expect(heardByB).toEqual(['k1']);
  });

  it('describes itself without credentials', async () => {
    const cache = new RedisCache({ url: 'redis://user:s3cret@127.0.0.1:1/2', keyPrefix: 'x:', logger: silent, reconnectMaxMs: 1000 });
    caches.push(cache);
    expect(cache.description).toContain('127.0.0.1:1/2');
    expect(cache.description).not.toContain('s3cret');
    expect(cache.healthy).toBe(false);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('reconnect backoff grows exponentially up to its cap', () => {
    expect(reconnectDelay(1, 50, 2000)).toBeLessThanOrEqual(50);
    expect(reconnectDelay(1, 50, 2000)).toBeGreaterThanOrEqual(40);
    expect(reconnectDelay(4, 50, 2000)).toBeGreaterThanOrEqual(320);
    expect(reconnectDelay(4, 50, 2000)).toBeLessThanOrEqual(400);
    for (let attempt = 10; attempt < 1000; attempt += 97) {
      expect(reconnectDelay(attempt, 50, 2000)).toBeLessThanOrEqual(2000);
      expect(reconnectDelay(attempt, 50, 2000)).toBeGreaterThanOrEqual(1600);
    }
  });
});

describe('RedisCache when Redis goes away (a private redis-server)', () => {
  let server: TestRedisServer;
  const caches: RedisCache[] = [];

  beforeAll(async () => {
    server = await TestRedisServer.start();
  });
  afterAll(async () => {
    for (const cache of caches) await cache.close();
    await server.stop();
  });

  it('misses without throwing while Redis is down, logs once per outage, and heals on restart', async () => {
    const { logger, lines } = capturingLogger();
    const cache = new RedisCache({ url: server.url, keyPrefix: 'down:', logger, reconnectBaseMs: 20, reconnectMaxMs: 200 });
    const peer = new RedisCache({ url: server.url, keyPrefix: 'down:', logger: silent, reconnectBaseMs: 20, reconnectMaxMs: 200 });
    caches.push(cache, peer);
    expect(await cache.ready(10_000)).toBe(true);
    expect(await peer.ready(10_000)).toBe(true);
    await cache.set('k', Buffer.from('v'), 60_000);
    expect((await cache.get('k'))?.toString()).toBe('v');

    await server.stop();
    await until(() => !cache.healthy, 10_000, 'healthy to turn false');
    for (let i = 0; i < 20; i++) {
      expect(await cache.get('k')).toBeUndefined();
      await expect(cache.set('k2', Buffer.from('x'), 1000)).resolves.toBeUndefined();
      await expect(cache.delete('k')).resolves.toBeUndefined();
      await expect(cache.publishInvalidation('k')).resolves.toBeUndefined();
    }
    // Let several reconnect attempts fail: still one warning for this outage.
    await until(() => lines.length > 0);
    const before = Date.now();
    await until(() => Date.now() - before > 500);
    expect(lines.filter((l) => l.level === WARN)).toHaveLength(1);
    expect(lines.filter((l) => l.level === WARN)[0]?.msg).toMatch(/unreachable/);

    await server.start();
    await until(() => cache.healthy && peer.healthy, 15_000, 'healthy to come back');
    expect(lines.filter((l) => l.level === INFO && /reachable again/.test(l.msg))).toHaveLength(1);
    // The server restarted empty (no persistence): a miss, then it works again.
    expect(await cache.get('k')).toBeUndefined();
    await cache.set('k', Buffer.from('again'), 60_000);
    expect((await peer.get('k'))?.toString()).toBe('again');

    // Subscriptions came back after the reconnect.
    const heard: string[] = [];
    peer.onInvalidation((key) => heard.push(key));
    await until(async () => {
      await cache.publishInvalidation('after-restart');
      return heard.length > 0;
    });
    expect(heard[0]).toBe('after-restart');

    // A second outage is logged once more.
    await server.stop();
    await until(() => !cache.healthy, 10_000, 'healthy to turn false again');
    await until(() => lines.filter((l) => l.level === WARN).length === 2, 5_000, 'a second warning');
    await server.start();
    await until(() => cache.healthy, 15_000, 'healthy to come back again');
  });

  it('a hung Redis (clients paused) reads as a miss after the command timeout instead of blocking', async () => {
    const cache = new RedisCache({ url: server.url, keyPrefix: 'hung:', logger: silent, commandTimeoutMs: 100 });
    caches.push(cache);
    expect(await cache.ready(10_000)).toBe(true);
    await cache.set('k', Buffer.from('v'), 60_000);
    const control = new Redis(server.url);
    try {
      await control.call('CLIENT', 'PAUSE', '1500', 'ALL');
      // Resolves (as a miss) while the server is still paused: the value is there, but unreachable.
      expect(await cache.get('k')).toBeUndefined();
      await expect(cache.set('k', Buffer.from('w'), 60_000)).resolves.toBeUndefined();
      expect(cache.healthy).toBe(true); // a slow reply is not an outage
      // When the pause ends, the same connection serves again.
      await until(async () => (await cache.get('k')) !== undefined, 10_000, 'the pause to end');
      expect((await cache.get('k'))?.toString()).toMatch(/^[vw]$/);
    } finally {
      await control.quit();
    }
  });
});
