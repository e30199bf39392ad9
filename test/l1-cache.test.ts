import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { L1Cache, jsonBytes } from '../src/memory/l1-cache.js';
import { L1_ENTRY_OVERHEAD_BYTES, MEMORY_DEFAULTS } from '../src/memory/memory-defaults.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('L1Cache', () => {
  it('returns what was set and counts hits and misses', () => {
    const cache = new L1Cache<{ a: number }>({ maxBytes: 10_000, defaultTtlMs: null });
    expect(cache.get('x')).toBeUndefined();
    cache.set('x', { a: 1 });
    expect(cache.get('x')).toEqual({ a: 1 });
    expect(cache.get('x')).toEqual({ a: 1 });
    const stats = cache.stats();
    expect(stats.hits).toBe(2);
    expect(stats.misses).toBe(1);
    expect(stats.entries).toBe(1);
  });

  it('charges each entry its JSON byte length plus the overhead constant', () => {
    const cache = new L1Cache<unknown>({ maxBytes: 1_000_000, defaultTtlMs: null });
    const value = { text: 'héllo wörld', n: [1, 2, 3] };
    cache.set('k', value);
    expect(cache.stats().bytes).toBe(Buffer.byteLength(JSON.stringify(value)) + L1_ENTRY_OVERHEAD_BYTES);
    cache.set('k', 'short');
    expect(cache.stats().bytes).toBe(jsonBytes('short') + L1_ENTRY_OVERHEAD_BYTES);
    cache.delete('k');
    expect(cache.stats()).toMatchObject({ bytes: 0, entries: 0 });
  });

  it('evicts the least recently used entries when the byte bound is exceeded', () => {
    const value = 'x'.repeat(98); // JSON: 100 bytes
    const entryBytes = 100 + L1_ENTRY_OVERHEAD_BYTES;
    const cache = new L1Cache<string>({ maxBytes: entryBytes * 3, defaultTtlMs: null });
    cache.set('a', value);
    cache.set('b', value);
    cache.set('c', value);
    expect(cache.get('a')).toBe(value); // a is now most recent; b is least
    cache.set('d', value);
    expect(cache.has('b')).toBe(false);
    expect(cache.has('a')).toBe(true);
    expect(cache.has('c')).toBe(true);
    expect(cache.has('d')).toBe(true);
    expect(cache.stats()).toMatchObject({ evictions: 1, entries: 3, bytes: entryBytes * 3 });
  });

  it('evicts as many entries as one large entry needs', () => {
    const small = 'x'.repeat(8); // 10 bytes of JSON
    const cache = new L1Cache<string>({ maxBytes: 5 * (10 + 10), defaultTtlMs: null, entryOverheadBytes: 10 });
    for (const k of ['a', 'b', 'c', 'd', 'e']) cache.set(k, small);
    cache.set('big', 'y'.repeat(58)); // 60 + 10 = 70 bytes: needs 4 small ones gone (100 - 80 + 70 = 90)
    expect(cache.stats().entries).toBe(2);
    expect(cache.has('e')).toBe(true);
    expect(cache.has('big')).toBe(true);
    expect(cache.stats().evictions).toBe(4);
  });

  it('does not cache an entry larger than the whole bound, and drops its older value', () => {
    const cache = new L1Cache<string>({ maxBytes: 300, defaultTtlMs: null, entryOverheadBytes: 0 });
    expect(cache.set('k', 'small')).toBe(true);
    expect(cache.set('k', 'z'.repeat(400))).toBe(false);
    expect(cache.get('k')).toBeUndefined();
    expect(cache.stats()).toMatchObject({ bytes: 0, entries: 0, evictions: 0 });
  });

  it('expires entries after their TTL (default, per entry, or absolute)', () => {
    const c = clock();
    const cache = new L1Cache<number>({ maxBytes: 10_000, defaultTtlMs: 1_000, now: c.now });
    cache.set('default', 1);
    cache.set('short', 2, { ttlMs: 100 });
    cache.set('forever', 3, { ttlMs: null });
    cache.set('absolute', 4, { expiresAt: c.now() + 500 });
    cache.set('capped', 5, { ttlMs: 10_000, expiresAt: c.now() + 200 });
    c.advance(150);
    expect(cache.get('short')).toBeUndefined();
    expect(cache.get('capped')).toBe(5);
    c.advance(100);
    expect(cache.get('capped')).toBeUndefined();
    expect(cache.get('absolute')).toBe(4);
    c.advance(300);
    expect(cache.get('absolute')).toBeUndefined();
    expect(cache.get('default')).toBe(1);
    c.advance(500);
    expect(cache.get('default')).toBeUndefined();
    expect(cache.get('forever')).toBe(3);
    expect(cache.stats().expirations).toBe(4);
  });

  it('refuses an entry that is already expired', () => {
    const c = clock();
    const cache = new L1Cache<number>({ maxBytes: 10_000, defaultTtlMs: 1_000, now: c.now });
    expect(cache.set('past', 1, { expiresAt: c.now() - 1 })).toBe(false);
    expect(cache.has('past')).toBe(false);
  });

  it('prune removes every expired entry and frees their bytes', () => {
    const c = clock();
    const cache = new L1Cache<string>({ maxBytes: 1_000_000, defaultTtlMs: null, now: c.now });
    for (let i = 0; i < 50; i++) cache.set(`t${i}`, 'v', { ttlMs: 10 });
    for (let i = 0; i < 20; i++) cache.set(`p${i}`, 'v');
    c.advance(11);
    expect(cache.prune()).toBe(50);
    expect(cache.stats()).toMatchObject({ entries: 20, bytes: 20 * (jsonBytes('v') + L1_ENTRY_OVERHEAD_BYTES), expirations: 50 });
  });

  it('expires on the real clock too', async () => {
    const cache = new L1Cache<string>({ maxBytes: 10_000, defaultTtlMs: 30 });
    cache.set('k', 'v');
    expect(cache.get('k')).toBe('v');
    await sleep(60);
    expect(cache.get('k')).toBeUndefined();
  });

  it('deletes by prefix and clears', () => {
    const cache = new L1Cache<number>({ maxBytes: 10_000, defaultTtlMs: null });
    cache.set('ns1\u0000a', 1);
    cache.set('ns1\u0000b', 2);
    cache.set('ns2\u0000a', 3);
    expect(cache.deletePrefix('ns1\u0000')).toBe(2);
    expect(cache.get('ns2\u0000a')).toBe(3);
    cache.clear();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('stays within its bound under many random operations', () => {
    const maxBytes = 5_000;
    const cache = new L1Cache<string>({ maxBytes, defaultTtlMs: null, entryOverheadBytes: 16 });
    const model = new Map<string, string>();
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 5_000; i++) {
      const key = `k${rand(200)}`;
      const op = rand(3);
      if (op === 0) {
        const value = 'v'.repeat(rand(300));
        cache.set(key, value);
        model.set(key, value);
      } else if (op === 1) {
        const got = cache.get(key);
        // A cache may forget, but never returns something other than the last value set.
        if (got !== undefined) expect(got).toBe(model.get(key));
      } else {
        cache.delete(key);
        model.delete(key);
      }
      expect(cache.stats().bytes).toBeLessThanOrEqual(maxBytes);
    }
    let total = 0;
    for (const key of model.keys()) {
      if (cache.has(key)) total += jsonBytes(model.get(key)) + 16;
    }
    expect(cache.stats().bytes).toBe(total);
  });

  it('rejects a bad configuration', () => {
    expect(() => new L1Cache({ maxBytes: Number.NaN, defaultTtlMs: null })).toThrow(/maxBytes/);
    expect(() => new L1Cache({ maxBytes: 10, defaultTtlMs: -5 })).toThrow(/defaultTtlMs/);
  });

  it('defaults match the seed (5 min, 100 MB)', () => {
    expect(MEMORY_DEFAULTS.l1TtlMs).toBe(5 * 60 * 1000);
    expect(MEMORY_DEFAULTS.l1MaxBytes).toBe(100 * 1024 * 1024);
    expect(MEMORY_DEFAULTS.l2TtlMs).toBe(60 * 60 * 1000);
  });
});
