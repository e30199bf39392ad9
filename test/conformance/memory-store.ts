import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ColonyError, ConflictError } from '../../src/domain/errors.js';
import type { JsonValue } from '../../src/domain/json.js';
import { MAX_MEMORY_BATCH_ENTRIES, MAX_MEMORY_VALUE_BYTES, type MemoryEntry, type MemoryStore, type MemoryWrite } from '../../src/ports/memory-store.js';

/**
 * The MemoryStore port's conformance suite: every MemoryStore adapter runs it.
 *
 * `create` returns a fresh, empty, ready store (schema in place) and a `cleanup` that closes and
 * disposes of it. Times are fixed epoch milliseconds around T; nothing here reads the wall clock.
 */
export function runMemoryStoreConformance(
  name: string,
  create: () => Promise<{ store: MemoryStore; cleanup: () => Promise<void> }>,
): void {
  describe(`MemoryStore conformance: ${name}`, () => {
    let store: MemoryStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await create());
    });

    afterEach(async () => {
      await cleanup();
    });

    const put = (overrides: Partial<MemoryWrite> = {}, expectedVersion?: number | null) =>
      store.put(write(overrides), expectedVersion);

    describe('entries', () => {
      it('round-trips every field, and get returns exactly what put returned', async () => {
        const value: JsonValue = {
          text: 'décision: use JWT — ünïcödé 🐝',
          list: [1, 2.5, -3e-7, true, false, null, 'x'],
          nested: { deep: { deeper: [{ a: 1 }, []] }, empty: {} },
          big: 9007199254740991,
        };
        const written = await put({ namespace: 'swarm.a', key: 'auth/decision', value, tags: ['auth', 'decision'], metadata: { agent: 'agt_1', n: 2 } });
        expect(written).toEqual({
          namespace: 'swarm.a',
          key: 'auth/decision',
          value,
          version: 1,
          tags: ['auth', 'decision'],
          metadata: { agent: 'agt_1', n: 2 },
          expiresAt: null,
          createdAt: T,
          updatedAt: T,
          accessedAt: T,
          accessCount: 0,
          size: Buffer.byteLength(JSON.stringify(value)),
        });
        expect(await store.get('swarm.a', 'auth/decision', T + 1)).toEqual(written);
      });

      it('stores every kind of JSON value, top-level scalars included', async () => {
        const values: JsonValue[] = ['plain', '', 0, -1.5, true, false, null, [], {}, [[[]]], { 'key with spaces': 'v', '': 1 }];
        for (const [i, value] of values.entries()) await put({ key: `k${i}`, value });
        for (const [i, value] of values.entries()) expect((await store.get('default', `k${i}`, T))?.value).toEqual(value);
      });

      it('tells namespaces apart and reports missing entries as undefined', async () => {
        await put({ namespace: 'a', key: 'k', value: 'in a' });
        await put({ namespace: 'b', key: 'k', value: 'in b' });
        expect((await store.get('a', 'k', T))?.value).toBe('in a');
        expect((await store.get('b', 'k', T))?.value).toBe('in b');
        expect(await store.get('c', 'k', T)).toBeUndefined();
        expect(await store.get('a', 'other', T)).toBeUndefined();
      });

      it('deletes, and says whether there was anything to delete', async () => {
        await put({ key: 'k' });
        expect(await store.delete('default', 'k')).toBe(true);
        expect(await store.get('default', 'k', T)).toBeUndefined();
        expect(await store.delete('default', 'k')).toBe(false);
      });
    });

    describe('versions', () => {
      it('starts at 1 and counts every write; keeps createdAt and access statistics', async () => {
        await put({ key: 'k', value: 1 });
        await store.recordAccess([{ namespace: 'default', key: 'k', at: T + 5 }]);
        const second = await put({ key: 'k', value: 2, at: T + 10 });
        expect(second).toMatchObject({ version: 2, value: 2, createdAt: T, updatedAt: T + 10, accessCount: 1, accessedAt: T + 5 });
        const third = await put({ key: 'k', value: 2, tags: ['now-tagged'], at: T + 20 });
        expect(third.version).toBe(3);
        expect(await store.get('default', 'k', T + 20)).toEqual(third);
      });

      it('writes with a matching expectedVersion and refuses a stale one with the versions in the error', async () => {
        await put({ key: 'k', value: 'one' });
        await put({ key: 'k', value: 'two' }, 1);
        const error = await put({ key: 'k', value: 'three' }, 1).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).details).toEqual({ namespace: 'default', key: 'k', expected: 1, actual: 2 });
        expect(await store.get('default', 'k', T)).toMatchObject({ value: 'two', version: 2 });
      });

      it('expectedVersion null means "must not exist"', async () => {
        expect((await put({ key: 'k', value: 'first' }, null)).version).toBe(1);
        const error = await put({ key: 'k', value: 'second' }, null).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConflictError).details).toEqual({ namespace: 'default', key: 'k', expected: null, actual: 1 });
        const missing = await put({ key: 'other' }, 3).catch((e: unknown) => e);
        expect((missing as ConflictError).details).toEqual({ namespace: 'default', key: 'other', expected: 3, actual: null });
        expect(await store.get('default', 'other', T)).toBeUndefined();
        expect((await store.get('default', 'k', T))?.value).toBe('first');
      });

      it('lets exactly one of many concurrent writers win a version', async () => {
        await put({ key: 'k', value: 'base' });
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => put({ key: 'k', value: `writer ${i}`, at: T + i }, 1)),
        );
        const won = outcomes.filter((o) => o.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(ConflictError);
        const winner = (won[0] as PromiseFulfilledResult<{ value: JsonValue; version: number }>).value;
        expect(winner.version).toBe(2);
        expect((await store.get('default', 'k', T + 10))?.value).toEqual(winner.value);
      });

      it('lets exactly one of many concurrent creators create', async () => {
        const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => put({ key: 'new', value: i }, null)));
        expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
        expect(await store.count({ now: T })).toBe(1);
      });

      it('stamp names the stored version without reading the value, and tells a re-created entry apart', async () => {
        expect(await store.stamp('default', 'k')).toBeUndefined();
        const first = await put({ key: 'k', value: 'one', at: T });
        expect(await store.stamp('default', 'k')).toEqual({ version: first.version, updatedAt: first.updatedAt });
        const second = await put({ key: 'k', value: 'two', at: T + 5 });
        expect(await store.stamp('default', 'k')).toEqual({ version: 2, updatedAt: second.updatedAt });
        // Reads are not writes: recording an access leaves the stamp alone.
        await store.recordAccess([{ namespace: 'default', key: 'k', at: T + 6 }]);
        expect(await store.stamp('default', 'k')).toEqual({ version: 2, updatedAt: T + 5 });
        expect(await store.delete('default', 'k')).toBe(true);
        expect(await store.stamp('default', 'k')).toBeUndefined();
        const again = await put({ key: 'k', value: 'three', at: T + 9 });
        expect(again.version).toBe(1);
        expect(await store.stamp('default', 'k')).toEqual({ version: 1, updatedAt: T + 9 });
        expect(await store.stamp('other', 'k')).toBeUndefined();
      });

      it('restore writes an exported entry exactly: version, dates and access count', async () => {
        const exported = {
          namespace: 'default',
          key: 'restored',
          value: { kept: ['exactly'] },
          version: 7,
          tags: ['imported'],
          metadata: { source: 'export' },
          expiresAt: null,
          createdAt: T - 1_000,
          updatedAt: T - 500,
          accessedAt: T - 100,
          accessCount: 42,
          size: JSON.stringify({ kept: ['exactly'] }).length,
        };
        expect(await store.restore(exported, 'skip', T)).toEqual(exported);
        expect(await store.get('default', 'restored', T)).toEqual(exported);
        // Over a live entry: skip leaves it; overwrite goes above the current version.
        expect(await store.restore({ ...exported, value: 'other', version: 1 }, 'skip', T)).toBeNull();
        expect((await store.get('default', 'restored', T))?.value).toEqual({ kept: ['exactly'] });
        const over = await store.restore({ ...exported, value: 'other', version: 3 }, 'overwrite', T);
        expect(over).toMatchObject({ value: 'other', version: 8 });
        // Searchable like any write.
        expect((await store.searchText('other', { now: T, limit: 5 })).map((h) => h.entry.key)).toContain('restored');
        await expect(store.restore({ ...exported, key: 'bad', version: 0 }, 'skip', T)).rejects.toThrow(/version/);
      });

      it('deletes only the expected version', async () => {
        await put({ key: 'k' });
        await put({ key: 'k' });
        const error = await store.delete('default', 'k', 1).catch((e: unknown) => e);
        expect((error as ConflictError).details).toEqual({ namespace: 'default', key: 'k', expected: 1, actual: 2 });
        expect(await store.get('default', 'k', T)).toBeDefined();
        expect(await store.delete('default', 'k', 2)).toBe(true);
        expect(await store.get('default', 'k', T)).toBeUndefined();
      });
    });

    describe('expiry', () => {
      it('hides expired entries from every read and search before any collection', async () => {
        await put({ key: 'short', value: 'ephemeral note about caching', tags: ['t'], expiresAt: T + 100 });
        await put({ key: 'long', value: 'durable note about caching', tags: ['t'] });
        await store.setEmbedding('default', 'short', 1, 'm4', vec(1, 0, 0, 0));
        await store.setEmbedding('default', 'long', 1, 'm4', vec(0.9, 0.1, 0, 0));

        expect(await store.get('default', 'short', T + 99)).toBeDefined();
        expect(await store.get('default', 'short', T + 100)).toBeUndefined();
        const at = T + 100;
        expect((await store.list({ now: at })).map((e) => e.key)).toEqual(['long']);
        expect(await store.count({ now: at })).toBe(1);
        expect(await store.count({ now: T })).toBe(2);
        expect((await store.searchText('caching', { now: at, limit: 10 })).map((h) => h.entry.key)).toEqual(['long']);
        expect((await store.searchVector(vec(1, 0, 0, 0), 'm4', { now: at, limit: 10 })).map((h) => h.entry.key)).toEqual(['long']);
        expect((await store.searchVector(vec(1, 0, 0, 0), 'm4', { now: T, limit: 10 })).map((h) => h.entry.key)).toEqual(['short', 'long']);
        expect(await store.stats(at)).toMatchObject({ entries: 1, expired: 1 });
      });

      it('treats an expired entry as absent when writing: a create succeeds and starts again at version 1', async () => {
        await put({ key: 'k', value: 'old', expiresAt: T + 10 });
        await put({ key: 'k', value: 'old', expiresAt: T + 10 });
        const fresh = await put({ key: 'k', value: 'new', at: T + 10 }, null);
        expect(fresh).toMatchObject({ version: 1, value: 'new', createdAt: T + 10, accessCount: 0, expiresAt: null });
        expect(await store.get('default', 'k', T + 1_000)).toEqual(fresh);
      });

      it('deleteExpired removes up to the limit, with their blobs, keyword rows and embeddings', async () => {
        for (let i = 0; i < 5; i++) await put({ key: `gone${i}`, value: `expiring value number ${i}`, expiresAt: T + 10 + i });
        await put({ key: 'stays', value: 'permanent value' });
        for (let i = 0; i < 5; i++) await store.setEmbedding('default', `gone${i}`, 1, 'm4', vec(1, i, 0, 0));
        await store.setEmbedding('default', 'stays', 1, 'm4', vec(0, 0, 1, 0));
        const permanentBytes = Buffer.byteLength(JSON.stringify('permanent value'));

        expect(await store.deleteExpired(T + 5, 10)).toBe(0);
        expect(await store.deleteExpired(T + 100, 3)).toBe(3);
        expect(await store.stats(T + 100)).toMatchObject({ entries: 1, expired: 2, embeddings: 3 });
        expect(await store.deleteExpired(T + 100, 10)).toBe(2);
        const stats = await store.stats(T + 100);
        expect(stats).toMatchObject({ entries: 1, expired: 0, embeddings: 1, storedBytes: permanentBytes, logicalBytes: permanentBytes });
        // Gone for good: not even a search "in the past", when they were alive, finds them.
        expect((await store.searchText('expiring value', { now: T, limit: 10 })).map((h) => h.entry.key)).toEqual(['stays']);
        expect((await store.searchVector(vec(1, 0, 0, 0), 'm4', { now: T, limit: 10 })).map((h) => h.entry.key)).toEqual(['stays']);
        expect(await store.listUnembedded('m4', 10)).toEqual([]);
      });
    });

    describe('listing', () => {
      beforeEach(async () => {
        await put({ namespace: 'alpha', key: 'task/1', tags: ['a', 'b'] });
        await put({ namespace: 'alpha', key: 'task/2', tags: ['a'] });
        await put({ namespace: 'alpha', key: 'tasks', tags: ['b'] });
        await put({ namespace: 'alpha', key: 'note', tags: ['a', 'b', 'c'] });
        await put({ namespace: 'beta', key: 'task/3', tags: ['a', 'b'] });
        await put({ namespace: 'alpha', key: 'task/é', tags: [] });
        await put({ namespace: 'alpha', key: 'task/🐝', tags: [] });
      });

      const keys = async (query: Parameters<MemoryStore['list']>[0]) => (await store.list(query)).map((e) => `${e.namespace}/${e.key}`);

      it('orders by namespace then key, and filters by namespace', async () => {
        expect(await keys({ now: T })).toEqual([
          'alpha/note',
          'alpha/task/1',
          'alpha/task/2',
          'alpha/task/é',
          'alpha/task/🐝',
          'alpha/tasks',
          'beta/task/3',
        ]);
        expect(await keys({ namespace: 'beta', now: T })).toEqual(['beta/task/3']);
        expect(await keys({ namespace: 'gamma', now: T })).toEqual([]);
      });

      it('filters by key prefix, non-ASCII included', async () => {
        expect(await keys({ namespace: 'alpha', keyPrefix: 'task/', now: T })).toEqual(['alpha/task/1', 'alpha/task/2', 'alpha/task/é', 'alpha/task/🐝']);
        expect(await keys({ keyPrefix: 'task/', now: T })).toContain('beta/task/3');
        expect(await keys({ namespace: 'alpha', keyPrefix: 'task/🐝', now: T })).toEqual(['alpha/task/🐝']);
        expect(await keys({ namespace: 'alpha', keyPrefix: 'zzz', now: T })).toEqual([]);
        expect(await store.count({ namespace: 'alpha', keyPrefix: 'task', now: T })).toBe(5);
      });

      it('filters by tags: entries having every tag', async () => {
        expect(await keys({ tags: ['a', 'b'], now: T })).toEqual(['alpha/note', 'alpha/task/1', 'beta/task/3']);
        expect(await keys({ namespace: 'alpha', tags: ['b'], now: T })).toEqual(['alpha/note', 'alpha/task/1', 'alpha/tasks']);
        expect(await keys({ tags: ['c', 'a'], now: T })).toEqual(['alpha/note']);
        expect(await keys({ tags: ['missing'], now: T })).toEqual([]);
        expect(await store.count({ tags: ['a'], now: T })).toBe(4);
      });

      it('pages with limit and offset without gaps or repeats', async () => {
        const all = await keys({ now: T });
        const pages: string[] = [];
        for (let offset = 0; offset < all.length; offset += 3) pages.push(...(await keys({ now: T, limit: 3, offset })));
        expect(pages).toEqual(all);
        expect(await keys({ now: T, limit: 0 })).toEqual([]);
        expect(await keys({ now: T, offset: 100 })).toEqual([]);
      });
    });

    describe('access statistics', () => {
      it('adds up hits and keeps the latest access time; unknown keys are ignored', async () => {
        await put({ key: 'a' });
        await put({ key: 'b' });
        await store.recordAccess([
          { namespace: 'default', key: 'a', at: T + 5 },
          { namespace: 'default', key: 'a', at: T + 3 },
          { namespace: 'default', key: 'b', at: T + 1 },
          { namespace: 'default', key: 'missing', at: T + 9 },
        ]);
        await store.recordAccess([{ namespace: 'default', key: 'a', at: T + 4 }]);
        await store.recordAccess([]);
        expect(await store.get('default', 'a', T)).toMatchObject({ accessCount: 3, accessedAt: T + 5, version: 1 });
        expect(await store.get('default', 'b', T)).toMatchObject({ accessCount: 1, accessedAt: T + 1 });
        expect(await store.get('default', 'missing', T)).toBeUndefined();
      });
    });

    describe('keyword search', () => {
      beforeEach(async () => {
        await put({ namespace: 'docs', key: 'redis-cache', value: { title: 'Redis cache', body: 'Caching hot keys in Redis with a TTL' }, tags: ['infra'] });
        await put({ namespace: 'docs', key: 'sqlite-wal', value: { title: 'SQLite WAL', body: 'Write-ahead logging lets readers run during writes' }, tags: ['storage'] });
        await put({ namespace: 'docs', key: 'jwt', value: 'Authentication with JWT tokens, refreshed before expiry', tags: ['auth', 'security'] });
        await put({ namespace: 'notes', key: 'cache-miss', value: 'A cache miss falls through to SQLite', tags: ['infra', 'storage'] });
        await put({ namespace: 'other', key: 'cache', value: 'cache cache cache', tags: ['infra'] });
      });

      const found = async (query: string, filter: Partial<Parameters<MemoryStore['searchText']>[1]> = {}) =>
        (await store.searchText(query, { now: T, limit: 10, ...filter })).map((h) => `${h.entry.namespace}/${h.entry.key}`);

      it('ranks entries matching more and rarer words first, with scores best first', async () => {
        const hits = await store.searchText('redis caching', { now: T, limit: 10 });
        expect(`${hits[0]?.entry.namespace}/${hits[0]?.entry.key}`).toBe('docs/redis-cache');
        for (let i = 1; i < hits.length; i++) expect((hits[i - 1] as { score: number }).score).toBeGreaterThanOrEqual((hits[i] as { score: number }).score);
        expect(await found('write-ahead readers')).toEqual(['docs/sqlite-wal']);
      });

      it('searches keys and tags too, with stemming', async () => {
        expect(await found('jwt')).toEqual(['docs/jwt']);
        expect(await found('security')).toEqual(['docs/jwt']);
        expect(await found('authenticate')).toEqual(['docs/jwt']);
        expect(await found('caches', { namespace: 'notes' })).toEqual(['notes/cache-miss']);
      });

      it('filters by namespace, namespaces and tags', async () => {
        expect(await found('cache', { namespace: 'docs' })).toEqual(['docs/redis-cache']);
        expect((await found('cache', { namespaces: ['notes', 'other'] })).sort()).toEqual(['notes/cache-miss', 'other/cache']);
        expect(await found('cache', { namespaces: [] })).toEqual([]);
        expect(await found('cache', { namespace: 'other', namespaces: ['docs'] })).toEqual(['other/cache']);
        expect(await found('cache sqlite', { tags: ['infra', 'storage'] })).toEqual(['notes/cache-miss']);
        expect((await found('cache', { limit: 2 })).length).toBe(2);
      });

      it('treats the query as plain words: operators and punctuation are inert; no words finds nothing', async () => {
        expect(await found('"jwt" AND (tokens OR NEAR(')).toContain('docs/jwt');
        expect(await found('*:-^')).toEqual([]);
        expect(await found('')).toEqual([]);
        expect(await found('nothing-matches-this')).toEqual([]);
      });

      it('follows overwrites and deletes', async () => {
        await put({ namespace: 'docs', key: 'jwt', value: 'Sessions in signed cookies', tags: ['auth'] });
        expect(await found('jwt tokens')).toEqual(['docs/jwt']); // Still by its key.
        expect(await found('tokens')).toEqual([]);
        expect(await found('cookies')).toEqual(['docs/jwt']);
        expect(await found('security')).toEqual([]);
        await store.delete('docs', 'jwt');
        expect(await found('cookies jwt')).toEqual([]);
      });
    });

    describe('vector search', () => {
      beforeEach(async () => {
        await put({ namespace: 'a', key: 'east', tags: ['x'] });
        await put({ namespace: 'a', key: 'north', tags: ['x', 'y'] });
        await put({ namespace: 'b', key: 'north-east', tags: ['y'] });
        await put({ namespace: 'b', key: 'west', tags: [] });
        await store.setEmbedding('a', 'east', 1, 'm4', vec(1, 0, 0, 0));
        await store.setEmbedding('a', 'north', 1, 'm4', vec(0, 1, 0, 0));
        await store.setEmbedding('b', 'north-east', 1, 'm4', vec(1, 1, 0, 0));
        await store.setEmbedding('b', 'west', 1, 'm4', vec(-1, 0, 0, 0));
      });

      const nearest = async (v: Float32Array, filter: Partial<Parameters<MemoryStore['searchVector']>[2]> = {}, model = 'm4') =>
        (await store.searchVector(v, model, { now: T, limit: 10, ...filter })).map((h) => h.entry.key);

      it('returns nearest first by cosine, with similarity scores', async () => {
        const hits = await store.searchVector(vec(2, 0.2, 0, 0), 'm4', { now: T, limit: 10 });
        expect(hits.map((h) => h.entry.key)).toEqual(['east', 'north-east', 'north', 'west']);
        expect(hits[0]?.score).toBeCloseTo(2 / Math.sqrt(4.04), 5);
        expect(hits[3]?.score).toBeCloseTo(-2 / Math.sqrt(4.04), 5);
        expect(hits[0]?.entry).toEqual(await store.get('a', 'east', T));
        expect(await nearest(vec(0, 1, 0, 0), { limit: 2 })).toEqual(['north', 'north-east']);
      });

      it('filters by namespace, namespaces and tags', async () => {
        expect(await nearest(vec(1, 0, 0, 0), { namespace: 'b' })).toEqual(['north-east', 'west']);
        expect(await nearest(vec(1, 0, 0, 0), { namespaces: ['a'] })).toEqual(['east', 'north']);
        expect(await nearest(vec(1, 0, 0, 0), { namespaces: [] })).toEqual([]);
        expect(await nearest(vec(1, 0, 0, 0), { tags: ['y'] })).toEqual(['north-east', 'north']);
        expect(await nearest(vec(1, 0, 0, 0), { tags: ['x', 'y'] })).toEqual(['north']);
      });

      it('finds the requested number of hits even when a filter rejects most near neighbours', async () => {
        // 300 close neighbours without the tag, then three far ones with it (far0 the least far).
        await Promise.all(Array.from({ length: 300 }, (_, i) => put({ namespace: 'c', key: `near${i}`, tags: ['common'] })));
        await Promise.all(Array.from({ length: 300 }, (_, i) => store.setEmbedding('c', `near${i}`, 1, 'm4', vec(1, 0.001 * i, 0, 0))));
        for (let i = 0; i < 3; i++) {
          await put({ namespace: 'c', key: `far${i}`, tags: ['rare'] });
          await store.setEmbedding('c', `far${i}`, 1, 'm4', vec(0.1 * (3 - i), 0, 1, 0));
        }
        expect(await nearest(vec(1, 0, 0, 0), { namespace: 'c', tags: ['rare'], limit: 3 })).toEqual(['far0', 'far1', 'far2']);
      });

      it('keeps models apart and refuses a query of the wrong length for a model', async () => {
        await put({ namespace: 'a', key: 'other-model' });
        await store.setEmbedding('a', 'other-model', 1, 'other-4', vec(1, 0, 0, 0));
        expect(await nearest(vec(1, 0, 0, 0), {}, 'other-4')).toEqual(['other-model']);
        expect(await nearest(vec(1, 0, 0, 0))).not.toContain('other-model');
        expect(await nearest(vec(1, 0, 0, 0), {}, 'never-used')).toEqual([]);
        const error = await store.searchVector(new Float32Array([1, 0, 0]), 'm4', { now: T, limit: 5 }).catch((e: unknown) => e);
        expect((error as ColonyError).code).toBe('validation');
        const wrongSet = await store.setEmbedding('a', 'east', 1, 'm4', new Float32Array(8).fill(1)).catch((e: unknown) => e);
        expect((wrongSet as ColonyError).code).toBe('validation');
      });

      it('refuses vectors that cannot be compared', async () => {
        for (const bad of [new Float32Array(0), new Float32Array(4), new Float32Array([1, Number.NaN, 0, 0])]) {
          const error = await store.searchVector(bad, 'm4', { now: T, limit: 5 }).catch((e: unknown) => e);
          expect((error as ColonyError).code).toBe('validation');
          const set = await store.setEmbedding('a', 'east', 1, 'm4', bad).catch((e: unknown) => e);
          expect((set as ColonyError).code).toBe('validation');
        }
        expect(await nearest(vec(1, 0, 0, 0), { limit: 1 })).toEqual(['east']);
      });
    });

    describe('embeddings bookkeeping', () => {
      it('lists entries without an embedding for a model, with their text, until embedded', async () => {
        await put({ key: 'k1', value: { title: 'Deploy', steps: ['build', { run: 'ship it' }], n: 3 }, at: T });
        await put({ key: 'k2', value: 42, at: T + 1 });
        expect(await store.listUnembedded('m4', 10)).toEqual([
          { namespace: 'default', key: 'k1', version: 1, text: 'Deploy\nbuild\nship it' },
          { namespace: 'default', key: 'k2', version: 1, text: 'k2' },
        ]);
        expect(await store.listUnembedded('m4', 1)).toHaveLength(1);
        await store.setEmbedding('default', 'k1', 1, 'm4', vec(1, 0, 0, 0));
        expect((await store.listUnembedded('m4', 10)).map((u) => u.key)).toEqual(['k2']);
        expect((await store.listUnembedded('another-model', 10)).map((u) => u.key)).toEqual(['k1', 'k2']);
        expect((await store.stats(T)).embeddings).toBe(1);
      });

      it('drops an embedding when the value changes, keeps it when only tags or metadata change', async () => {
        await put({ key: 'k', value: 'original' });
        await store.setEmbedding('default', 'k', 1, 'm4', vec(1, 0, 0, 0));
        await put({ key: 'k', value: 'original', tags: ['retagged'], metadata: { m: 1 } });
        expect(await store.listUnembedded('m4', 10)).toEqual([]);
        expect((await store.searchVector(vec(1, 0, 0, 0), 'm4', { now: T, limit: 5 }))[0]?.entry.version).toBe(2);

        await put({ key: 'k', value: 'changed' });
        expect(await store.listUnembedded('m4', 10)).toEqual([{ namespace: 'default', key: 'k', version: 3, text: 'changed' }]);
        expect(await store.searchVector(vec(1, 0, 0, 0), 'm4', { now: T, limit: 5 })).toEqual([]);
        expect((await store.stats(T)).embeddings).toBe(0);
      });

      it('ignores an embedding of a version that is no longer current, or of a missing entry', async () => {
        await put({ key: 'k', value: 'v1' });
        await put({ key: 'k', value: 'v2' });
        await store.setEmbedding('default', 'k', 1, 'm4', vec(1, 0, 0, 0));
        await store.setEmbedding('default', 'missing', 1, 'm4', vec(1, 0, 0, 0));
        expect((await store.stats(T)).embeddings).toBe(0);
        expect(await store.searchVector(vec(1, 0, 0, 0), 'm4', { now: T, limit: 5 })).toEqual([]);
        await store.setEmbedding('default', 'k', 2, 'm4', vec(1, 0, 0, 0));
        await store.setEmbedding('default', 'k', 2, 'm4', vec(0, 1, 0, 0)); // Replaces, not adds.
        expect((await store.stats(T)).embeddings).toBe(1);
        expect((await store.searchVector(vec(0, 1, 0, 0), 'm4', { now: T, limit: 5 }))[0]?.score).toBeCloseTo(1, 5);
      });
    });

    describe('storage', () => {
      it('reports entries, expired, bytes, namespaces and embeddings', async () => {
        await put({ namespace: 'b', key: 'k1', value: 'abc' });
        await put({ namespace: 'a', key: 'k2', value: 'defg' });
        await put({ namespace: 'a', key: 'k3', value: 'hijkl', expiresAt: T + 1 });
        await store.setEmbedding('a', 'k2', 1, 'm4', vec(1, 0, 0, 0));
        const bytes = ['abc', 'defg', 'hijkl'].reduce((n, s) => n + Buffer.byteLength(JSON.stringify(s)), 0);
        expect(await store.stats(T + 1)).toEqual({
          entries: 2,
          expired: 1,
          storedBytes: bytes,
          logicalBytes: bytes,
          namespaces: [
            { namespace: 'a', entries: 1 },
            { namespace: 'b', entries: 1 },
          ],
          embeddings: 1,
        });
      });

      it('stores identical values once, and deleting one key keeps the other intact', async () => {
        const value = { report: 'the same findings', items: ['a', 'b', 'c'] };
        const size = Buffer.byteLength(JSON.stringify(value));
        await put({ key: 'first', value });
        await put({ namespace: 'elsewhere', key: 'second', value });
        expect(await store.stats(T)).toMatchObject({ entries: 2, storedBytes: size, logicalBytes: 2 * size });
        expect(await store.delete('default', 'first')).toBe(true);
        expect(await store.get('elsewhere', 'second', T)).toMatchObject({ value, version: 1 });
        expect(await store.stats(T)).toMatchObject({ entries: 1, storedBytes: size, logicalBytes: size });
        expect(await store.delete('elsewhere', 'second')).toBe(true);
        expect(await store.stats(T)).toMatchObject({ entries: 0, storedBytes: 0, logicalBytes: 0 });
      });

      it('releases the old value on overwrite and shares a value that reappears', async () => {
        await put({ key: 'k', value: 'version one' });
        await put({ key: 'k', value: 'version two' });
        const two = Buffer.byteLength(JSON.stringify('version two'));
        expect(await store.stats(T)).toMatchObject({ storedBytes: two, logicalBytes: two });
        await put({ key: 'j', value: 'version two' });
        await put({ key: 'k', value: 'version three' });
        expect((await store.get('default', 'j', T))?.value).toBe('version two');
        const three = Buffer.byteLength(JSON.stringify('version three'));
        expect(await store.stats(T)).toMatchObject({ storedBytes: two + three, logicalBytes: two + three });
      });

      it('compresses large values transparently: a 50 KB value round-trips exactly and takes less room', async () => {
        const value = largeValue(50_000);
        const size = Buffer.byteLength(JSON.stringify(value));
        expect(size).toBeGreaterThanOrEqual(50_000);
        const written = await put({ key: 'large', value });
        expect(written.size).toBe(size);
        const read = await store.get('default', 'large', T);
        expect(read?.value).toEqual(value);
        expect(JSON.stringify(read?.value)).toBe(JSON.stringify(value));
        const stats = await store.stats(T);
        expect(stats.logicalBytes).toBe(size);
        expect(stats.storedBytes).toBeLessThan(size / 2);
        expect((await store.searchText('paragraph', { now: T, limit: 1 }))[0]?.entry.value).toEqual(value);
      });
    });

    describe('batches (putMany, restoreMany)', () => {
      const keywordKeys = async (query: string, now = T) => (await store.searchText(query, { now, limit: 50 })).map((h) => `${h.entry.namespace}/${h.entry.key}`).sort();

      it('writes a batch as that many puts: entries, versions, fields, keyword index, storage', async () => {
        const writes = Array.from({ length: 50 }, (_, i) =>
          write({ namespace: i % 2 ? 'odd' : 'even', key: `k${i}`, value: { text: `batched note number${i} zebra` }, tags: [`t${i % 3}`], metadata: { i } }),
        );
        const written = await store.putMany(writes);
        expect(written).toHaveLength(50);
        for (const [i, entry] of written.entries()) {
          expect(entry).toMatchObject({ key: `k${i}`, version: 1, createdAt: T, updatedAt: T, accessCount: 0, metadata: { i }, tags: [`t${i % 3}`] });
          expect(await store.get(entry.namespace, entry.key, T)).toEqual(entry);
        }
        expect(await store.count({ now: T })).toBe(50);
        expect(await store.count({ namespace: 'odd', now: T })).toBe(25);
        expect(await keywordKeys('zebra')).toHaveLength(50);
        expect(await keywordKeys('number7')).toEqual(['odd/k7']);
        expect(await store.list({ tags: ['t1'], now: T })).toHaveLength(17);
        const bytes = written.reduce((n, e) => n + e.size, 0);
        expect(await store.stats(T)).toMatchObject({ entries: 50, storedBytes: bytes, logicalBytes: bytes });
        expect((await store.listUnembedded('m4', 100)).map((u) => u.key).sort()).toEqual(writes.map((w) => w.key).sort());
        expect(await store.putMany([])).toEqual([]);
      });

      it('over existing entries: next versions, history kept, old values released, keyword rows replaced', async () => {
        await put({ key: 'a', value: 'alpha original words' });
        await put({ key: 'b', value: 'beta original words' });
        await store.recordAccess([{ namespace: 'default', key: 'a', at: T + 3 }]);
        const written = await store.putMany([
          write({ key: 'a', value: 'alpha replaced', at: T + 10 }),
          write({ key: 'b', value: 'beta original words', tags: ['retagged'], at: T + 10 }),
          write({ key: 'c', value: 'gamma new', at: T + 10 }),
        ]);
        expect(written.map((e) => e.version)).toEqual([2, 2, 1]);
        expect(written[0]).toMatchObject({ createdAt: T, updatedAt: T + 10, accessCount: 1, accessedAt: T + 3 });
        expect(await keywordKeys('original')).toEqual(['default/b']);
        expect(await keywordKeys('replaced')).toEqual(['default/a']);
        expect(await keywordKeys('retagged')).toEqual(['default/b']);
        const bytes = ['alpha replaced', 'beta original words', 'gamma new'].reduce((n, v) => n + Buffer.byteLength(JSON.stringify(v)), 0);
        expect(await store.stats(T + 10)).toMatchObject({ entries: 3, storedBytes: bytes, logicalBytes: bytes });
      });

      it('an address given twice: the last write wins, versions count up in order, one keyword row', async () => {
        await put({ key: 'dup', value: 'stored before' });
        const written = await store.putMany([
          write({ key: 'dup', value: 'first of batch walrus', at: T + 1 }),
          write({ key: 'other', value: 'unrelated', at: T + 1 }),
          write({ key: 'dup', value: 'second of batch narwhal', tags: ['last'], at: T + 2 }),
          write({ key: 'fresh', value: 'one', at: T + 1 }),
          write({ key: 'fresh', value: 'two', at: T + 2 }),
        ]);
        expect(written.map((e) => [e.key, e.version, e.value])).toEqual([
          ['dup', 2, 'first of batch walrus'],
          ['other', 1, 'unrelated'],
          ['dup', 3, 'second of batch narwhal'],
          ['fresh', 1, 'one'],
          ['fresh', 2, 'two'],
        ]);
        expect(await store.get('default', 'dup', T + 2)).toEqual(written[2]);
        expect(await store.get('default', 'fresh', T + 2)).toEqual(written[4]);
        expect(await store.stamp('default', 'dup')).toEqual({ version: 3, updatedAt: T + 2 });
        expect(await keywordKeys('walrus')).toEqual([]);
        expect(await keywordKeys('narwhal')).toEqual(['default/dup']);
        expect(await keywordKeys('batch')).toEqual(['default/dup']);
        // Only the values that ended up stored take room.
        const bytes = ['second of batch narwhal', 'unrelated', 'two'].reduce((n, v) => n + Buffer.byteLength(JSON.stringify(v)), 0);
        expect(await store.stats(T + 2)).toMatchObject({ entries: 3, storedBytes: bytes, logicalBytes: bytes });
      });

      it('keeps reference counts right across batches, overwrites and deletes', async () => {
        const shared = { report: 'one value under many keys' };
        const size = Buffer.byteLength(JSON.stringify(shared));
        await store.putMany(Array.from({ length: 20 }, (_, i) => write({ key: `s${i}`, value: shared })));
        expect(await store.stats(T)).toMatchObject({ entries: 20, storedBytes: size, logicalBytes: 20 * size });
        // Half move to another value, in one batch with a write that moves one back.
        await store.putMany([
          ...Array.from({ length: 10 }, (_, i) => write({ key: `s${i}`, value: 'moved' })),
          write({ key: 's0', value: shared }),
        ]);
        const moved = Buffer.byteLength(JSON.stringify('moved'));
        expect(await store.stats(T)).toMatchObject({ entries: 20, storedBytes: size + moved, logicalBytes: 11 * size + 9 * moved });
        for (let i = 10; i < 20; i++) expect(await store.delete('default', `s${i}`)).toBe(true);
        expect(await store.delete('default', 's0')).toBe(true);
        expect(await store.stats(T)).toMatchObject({ entries: 9, storedBytes: moved, logicalBytes: 9 * moved });
        for (let i = 1; i < 10; i++) expect(await store.delete('default', `s${i}`)).toBe(true);
        expect(await store.stats(T)).toMatchObject({ entries: 0, storedBytes: 0, logicalBytes: 0 });
        // A value whose blob went is stored again when a batch brings it back.
        await store.putMany([write({ key: 'back', value: shared })]);
        expect((await store.get('default', 'back', T))?.value).toEqual(shared);
      });

      it('applies expiry as single writes do: hidden once expired, and an expired entry counts as absent', async () => {
        await put({ key: 'old', value: 'expiring', expiresAt: T + 5 });
        await put({ key: 'old', value: 'expiring', expiresAt: T + 5 });
        const [renewed, short] = await store.putMany([
          write({ key: 'old', value: 'expiring', at: T + 10 }),
          write({ key: 'short', value: 'short lived', expiresAt: T + 20, at: T + 10 }),
        ]);
        expect(renewed).toMatchObject({ version: 1, createdAt: T + 10, expiresAt: null });
        expect(short?.expiresAt).toBe(T + 20);
        expect(await store.get('default', 'short', T + 19)).toBeDefined();
        expect(await store.get('default', 'short', T + 20)).toBeUndefined();
        expect(await store.deleteExpired(T + 20, 10)).toBe(1);
      });

      it('keeps embeddings of entries whose value a batch left alone, drops the others', async () => {
        await put({ key: 'same', value: 'unchanged value' });
        await put({ key: 'changed', value: 'to be changed' });
        await store.setEmbedding('default', 'same', 1, 'm4', vec(1, 0, 0, 0));
        await store.setEmbedding('default', 'changed', 1, 'm4', vec(0, 1, 0, 0));
        await store.putMany([
          write({ key: 'same', value: 'unchanged value', tags: ['new-tag'] }),
          write({ key: 'changed', value: 'something else' }),
        ]);
        expect((await store.searchVector(vec(1, 0, 0, 0), 'm4', { now: T, limit: 5 })).map((h) => [h.entry.key, h.entry.version])).toEqual([['same', 2]]);
        expect(await store.listUnembedded('m4', 10)).toEqual([{ namespace: 'default', key: 'changed', version: 2, text: 'something else' }]);
      });

      it('refuses a batch with a bad entry, naming its index and field, and writes none of it', async () => {
        await put({ key: 'existing', value: 'before' });
        const cases: [Partial<MemoryWrite>, string][] = [
          [{ key: '' }, 'key'],
          [{ namespace: 'Upper' }, 'namespace'],
          [{ value: { n: Number.NaN } }, 'value.n'],
          [{ tags: [''] }, 'tags'],
          [{ expiresAt: Number.NaN }, 'expiresAt'],
        ];
        for (const [bad, field] of cases) {
          const error = await store
            .putMany([write({ key: 'existing', value: 'after' }), write({ key: 'new1' }), write({ key: 'new2', ...bad }), write({ key: 'new3' })])
            .catch((e: unknown) => e);
          expect(error).toBeInstanceOf(ColonyError);
          expect((error as ColonyError).code).toBe('validation');
          expect((error as ColonyError).message).toMatch(/entries\[2\]/);
          expect((error as ColonyError).details).toMatchObject({ index: 2, field });
        }
        expect(await store.count({ now: T })).toBe(1);
        expect(await store.get('default', 'existing', T)).toMatchObject({ value: 'before', version: 1 });
        const bytes = Buffer.byteLength(JSON.stringify('before'));
        expect(await store.stats(T)).toMatchObject({ storedBytes: bytes, logicalBytes: bytes });
        expect(await keywordKeys('after')).toEqual([]);

        const tooMany = Array.from({ length: MAX_MEMORY_BATCH_ENTRIES + 1 }, (_, i) => write({ key: `k${i}` }));
        const error = await store.putMany(tooMany).catch((e: unknown) => e);
        expect((error as ColonyError).code).toBe('validation');
        expect((error as ColonyError).message).toContain(String(MAX_MEMORY_BATCH_ENTRIES));
        expect(await store.count({ now: T })).toBe(1);
        const notArray = await store.putMany('nope' as unknown as MemoryWrite[]).catch((e: unknown) => e);
        expect((notArray as ColonyError).code).toBe('validation');
      });

      it('takes turns with single writes of the same entries: every write gets its own version', async () => {
        await put({ key: 'contended', value: 0 });
        const outcomes = await Promise.all([
          store.putMany([write({ key: 'contended', value: 'batch a' }), write({ key: 'x', value: 1 })]),
          put({ key: 'contended', value: 'single' }),
          store.putMany([write({ key: 'contended', value: 'batch b' })]),
        ]);
        const versions = [outcomes[0][0]?.version, outcomes[1].version, outcomes[2][0]?.version].sort();
        expect(versions).toEqual([2, 3, 4]);
        expect((await store.get('default', 'contended', T))?.version).toBe(4);
      });

      it('restoreMany restores exported entries in one batch: skip leaves live ones, overwrite goes above', async () => {
        const exported = (key: string, version: number, value: JsonValue): MemoryEntry => ({
          namespace: 'default',
          key,
          value,
          version,
          tags: ['imported'],
          metadata: {},
          expiresAt: null,
          createdAt: T - 100,
          updatedAt: T - 50,
          accessedAt: T - 10,
          accessCount: 4,
          size: Buffer.byteLength(JSON.stringify(value)),
        });
        await put({ key: 'live', value: 'here already' });
        const skipped = await store.restoreMany([exported('live', 5, 'imported over'), exported('new', 7, 'brand new')], 'skip', T);
        expect(skipped).toEqual([null, exported('new', 7, 'brand new')]);
        expect((await store.get('default', 'live', T))?.value).toBe('here already');
        const over = await store.restoreMany([exported('live', 1, 'imported over'), exported('new', 3, 'again')], 'overwrite', T);
        expect(over.map((e) => e?.version)).toEqual([2, 8]);
        expect(await keywordKeys('imported')).toEqual(['default/live', 'default/new']);
        const bad = await store.restoreMany([exported('ok', 1, 'x'), { ...exported('bad', 0, 'y') }], 'skip', T).catch((e: unknown) => e);
        expect((bad as ColonyError).details).toMatchObject({ index: 1, field: 'version' });
        expect(await store.get('default', 'ok', T)).toBeUndefined();
      });
    });

    describe('bad input', () => {
      const cases: [string, Partial<MemoryWrite>][] = [
        ['a namespace with capitals', { namespace: 'Swarm' }],
        ['an empty namespace', { namespace: '' }],
        ['a namespace starting with punctuation', { namespace: '.hidden' }],
        ['a namespace over 64 characters', { namespace: 'n'.repeat(65) }],
        ['an empty key', { key: '' }],
        ['a key over 512 characters', { key: 'k'.repeat(513) }],
        ['a key with a control character', { key: 'line\nbreak' }],
        ['a value over 1 MiB', { value: 'x'.repeat(MAX_MEMORY_VALUE_BYTES) }],
        ['a non-finite number', { value: { n: Number.NaN } }],
        ['undefined', { value: undefined as unknown as JsonValue }],
        ['an undefined property', { value: { a: undefined } as unknown as JsonValue }],
        ['a Date', { value: new Date(T) as unknown as JsonValue }],
        ['a function', { value: (() => 1) as unknown as JsonValue }],
        ['an empty tag', { tags: [''] }],
        ['a non-string tag', { tags: [1 as unknown as string] }],
        ['metadata that is an array', { metadata: [] as unknown as Record<string, JsonValue> }],
        ['a non-finite expiry', { expiresAt: Number.POSITIVE_INFINITY }],
      ];
      for (const [what, overrides] of cases) {
        it(`refuses ${what} with a validation error and writes nothing`, async () => {
          const error = await put({ key: 'k', ...overrides }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(ColonyError);
          expect((error as ColonyError).code).toBe('validation');
          expect((error as ColonyError).message).toMatch(/memory/);
          expect(await store.stats(T)).toMatchObject({ entries: 0, expired: 0, storedBytes: 0 });
        });
      }

      it('refuses a value just over the limit with its size in the message; accepts one at the limit', async () => {
        const atLimit = 'x'.repeat(MAX_MEMORY_VALUE_BYTES - 2); // Two bytes of quotes.
        expect((await put({ key: 'max', value: atLimit })).size).toBe(MAX_MEMORY_VALUE_BYTES);
        const error = await put({ key: 'over', value: `${atLimit}y` }).catch((e: unknown) => e);
        expect((error as ColonyError).message).toContain(String(MAX_MEMORY_VALUE_BYTES + 1));
        expect(await store.get('default', 'over', T)).toBeUndefined();
      });

      it('refuses a cyclic value', async () => {
        const cyclic: Record<string, unknown> = { a: 1 };
        cyclic.self = cyclic;
        const error = await put({ value: cyclic as JsonValue }).catch((e: unknown) => e);
        expect((error as ColonyError).code).toBe('validation');
      });

      it('refuses bad addresses on reads and deletes too, and a bad expectedVersion', async () => {
        for (const attempt of [
          () => store.get('BAD', 'k', T),
          () => store.get('ok', '', T),
          () => store.delete('ok', 'bad\u0007key'),
          () => store.list({ namespace: 'no spaces', now: T }),
          () => store.searchText('x', { namespace: 'UPPER', now: T, limit: 5 }),
          () => store.setEmbedding('BAD', 'k', 1, 'm', vec(1, 0, 0, 0)),
          () => put({ key: 'k' }, 0),
          () => store.recordAccess([{ namespace: 'ok', key: '', at: T }]),
        ]) {
          const error = await attempt().catch((e: unknown) => e);
          expect((error as ColonyError).code).toBe('validation');
        }
        expect((await store.stats(T)).entries).toBe(0);
      });
    });
  });
}

export const T = 1_750_000_000_000;

export function write(overrides: Partial<MemoryWrite> = {}): MemoryWrite {
  return {
    namespace: 'default',
    key: 'key',
    value: { note: 'a value' },
    tags: [],
    metadata: {},
    expiresAt: null,
    at: T,
    ...overrides,
  };
}

export function vec(...components: number[]): Float32Array {
  return new Float32Array(components);
}

/** A JSON value of at least `bytes` bytes that reads like real data (compressible, not trivially so). */
export function largeValue(bytes: number): JsonValue {
  const words = ['agent', 'swarm', 'paragraph', 'memory', 'vector', 'result', 'consensus', 'task', 'review', 'deploy'];
  const items: JsonValue[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const text = Array.from({ length: 12 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' ');
    const item = { id: i, text: `${text} #${i}`, score: (i % 97) / 97, ok: i % 3 === 0, tags: [words[i % words.length] as string] };
    items.push(item);
    size += JSON.stringify(item).length + 1;
  }
  return { kind: 'report', items };
}
