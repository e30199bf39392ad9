import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, startApi, type TestApi } from './support/api-server.js';
import { eventually } from './support/temp-colony.js';

/** The memory endpoint tree (GET/POST /memory, GET/PUT/DELETE /memory/:key) through real HTTP. */
describe('REST API: memory', () => {
  let api: TestApi;
  const enc = encodeURIComponent;
  /** Keys that need encoding in a URL: slashes, query and fragment marks, percent, spaces, non-ASCII, dots. */
  const AWKWARD_KEYS = ['notes/2024/q1 plan', 'a?b=c&d#frag', '100% sure', 'ключ 🔑', '../../etc/passwd', 'plus+and,comma;semi'];

  beforeAll(async () => {
    api = await startApi();
  });

  afterAll(async () => {
    await api.close();
  });

  const memory = () => api.colony.memory();

  describe('POST /memory and GET /memory/:key', () => {
    it('stores any JSON and reads it back at its location, publishing memory.stored', async () => {
      const value = { list: [1, 'two', null, { deep: true }], n: 1.5 };
      const r = await api.request('POST', '/api/v2/memory', { body: { key: 'config', value, tags: ['a', 'b'], metadata: { by: 'test' } } });
      expect(r.status, r.text).toBe(201);
      expect(r.json).toMatchObject({ namespace: 'default', key: 'config', value, version: 1, tags: ['a', 'b'], metadata: { by: 'test' }, expiresAt: null });
      expect(r.headers.get('location')).toBe('/api/v2/memory/config?namespace=default');

      const got = await api.request('GET', r.headers.get('location') as string);
      expect(got.status).toBe(200);
      expect(got.json).toMatchObject({ key: 'config', value, version: 1 });

      await api.colony.events.flush();
      const events = await api.request('GET', '/api/v2/events?types=memory.stored');
      expect(events.json.items.map((e: { data: unknown }) => e.data)).toContainEqual({ namespace: 'default', key: 'config', version: 1 });
    });

    it.each(AWKWARD_KEYS)('a key that needs URL encoding round-trips: %s', async (key) => {
      const stored = await api.request('POST', '/api/v2/memory', { body: { namespace: 'enc', key, value: `value of ${key}` } });
      expect(stored.status, stored.text).toBe(201);
      expect(stored.json.key).toBe(key);
      const got = await api.request('GET', `/api/v2/memory/${enc(key)}?namespace=enc`);
      expect(got.status, got.text).toBe(200);
      expect(got.json).toMatchObject({ namespace: 'enc', key, value: `value of ${key}` });
      // The location header is a working URL for it too.
      expect((await api.request('GET', stored.headers.get('location') as string)).json.key).toBe(key);
      await expect((await memory()).retrieve('enc', key)).resolves.toMatchObject({ key });
    });

    it('keeps namespaces apart, and a key missing from one is a 404 problem', async () => {
      await api.request('POST', '/api/v2/memory', { body: { namespace: 'proj-a', key: 'shared-name', value: 'A' } });
      await api.request('POST', '/api/v2/memory', { body: { namespace: 'proj-b', key: 'shared-name', value: 'B' } });
      expect((await api.request('GET', '/api/v2/memory/shared-name?namespace=proj-a')).json.value).toBe('A');
      expect((await api.request('GET', '/api/v2/memory/shared-name?namespace=proj-b')).json.value).toBe('B');
      const missing = await api.request('GET', '/api/v2/memory/shared-name');
      expectProblem(missing, 404, 'not_found');
      expect(missing.json.detail).toContain('default/shared-name');
    });

    it('a stale expectedVersion is a 409 and writes nothing', async () => {
      const first = await api.request('POST', '/api/v2/memory', { body: { key: 'counter', value: 1, expectedVersion: null } });
      expect(first.status).toBe(201);
      const second = await api.request('POST', '/api/v2/memory', { body: { key: 'counter', value: 2, expectedVersion: 1 } });
      expect(second.status).toBe(201);
      expect(second.json.version).toBe(2);

      expectProblem(await api.request('POST', '/api/v2/memory', { body: { key: 'counter', value: 99, expectedVersion: 1 } }), 409, 'conflict');
      expectProblem(await api.request('POST', '/api/v2/memory', { body: { key: 'counter', value: 99, expectedVersion: null } }), 409, 'conflict');
      expect((await api.request('GET', '/api/v2/memory/counter')).json).toMatchObject({ value: 2, version: 2 });
    });

    it('takes a ttl in milliseconds or as a duration, and an expired entry is gone', async () => {
      const before = Date.now();
      const hour = await api.request('POST', '/api/v2/memory', { body: { key: 'ttl-string', value: 'x', ttl: '1h' } });
      expect(hour.json.expiresAt).toBeGreaterThanOrEqual(before + 3_600_000);
      expect(hour.json.expiresAt).toBeLessThan(Date.now() + 3_600_000 + 1_000);
      const ms = await api.request('POST', '/api/v2/memory', { body: { key: 'ttl-ms', value: 'x', ttl: 1_500 } });
      expect(ms.json.expiresAt - ms.json.updatedAt).toBe(1_500);

      await api.request('POST', '/api/v2/memory', { body: { key: 'short-lived', value: 'x', ttl: 30 } });
      await eventually(async () => (await api.request('GET', '/api/v2/memory/short-lived')).status === 404);
    });

    it('refuses a value over the memory limit with 400 when the body limit lets it through', async () => {
      const big = await startApi({ server: { bodyLimitBytes: 4 * 1024 * 1024 } });
      try {
        const r = await big.request('POST', '/api/v2/memory', { body: { key: 'huge', value: 'x'.repeat(1024 * 1024 + 10) } });
        expectProblem(r, 400, 'validation');
        expect(r.json.detail).toMatch(/value is \d+ bytes of JSON, over the limit/);
        expectProblem(await big.request('GET', '/api/v2/memory/huge'), 404);
      } finally {
        await big.close();
      }
    });

    it('answers a key over 512 characters with 400, not a missing route', async () => {
      const r = await api.request('GET', `/api/v2/memory/${enc('é'.repeat(513))}`);
      expectProblem(r, 400, 'validation');
      expect(r.json.detail).toMatch(/over the limit of 512/);
      // And the longest key that is allowed, in multi-byte characters, works through the URL.
      const longest = '🔑'.repeat(512);
      expect((await api.request('POST', '/api/v2/memory', { body: { key: longest, value: 1 } })).status).toBe(201);
      expect((await api.request('GET', `/api/v2/memory/${enc(longest)}`)).json.key).toBe(longest);
    });
  });

  describe('POST /memory/batch', () => {
    it('stores many entries in one call, in order, each readable and announced', async () => {
      const r = await api.request('POST', '/api/v2/memory/batch', {
        body: {
          entries: [
            { key: 'batch/a', value: { n: 1 }, tags: ['bulk'] },
            { namespace: 'batch-ns', key: 'batch/b', value: 'two', ttl: '1h', metadata: { by: 'test' } },
            { key: 'batch/a', value: { n: 3 } },
          ],
        },
      });
      expect(r.status, r.text).toBe(201);
      expect(r.json.items.map((e: { namespace: string; key: string; version: number }) => [e.namespace, e.key, e.version])).toEqual([
        ['default', 'batch/a', 1],
        ['batch-ns', 'batch/b', 1],
        ['default', 'batch/a', 2],
      ]);
      expect(r.json.items[1].expiresAt - r.json.items[1].updatedAt).toBe(3_600_000);
      expect((await api.request('GET', `/api/v2/memory/${enc('batch/a')}`)).json).toMatchObject({ value: { n: 3 }, version: 2 });
      expect((await api.request('GET', `/api/v2/memory/${enc('batch/b')}?namespace=batch-ns`)).json.metadata).toEqual({ by: 'test' });
      await api.colony.events.flush();
      const events = await api.request('GET', '/api/v2/events?types=memory.stored');
      expect(events.json.items.map((e: { data: unknown }) => e.data)).toContainEqual({ namespace: 'batch-ns', key: 'batch/b', version: 1 });
    });

    it('refuses a batch with a bad entry with 400 naming it, and writes none of it', async () => {
      for (const bad of [{ key: '', value: 1 }, { key: 'k', value: 1, expectedVersion: 1 }, { key: 'k' }, { key: 'k', value: 1, ttl: -1 }]) {
        const r = await api.request('POST', '/api/v2/memory/batch', { body: { entries: [{ key: 'batch-bad/first', value: 1 }, bad] } });
        expectProblem(r, 400, 'validation');
        expect(r.text).toMatch(/entries\.1|entries\[1\]/);
      }
      expectProblem(await api.request('POST', '/api/v2/memory/batch', { body: { entries: 'nope' } }), 400, 'validation');
      expectProblem(await api.request('GET', `/api/v2/memory/${enc('batch-bad/first')}`), 404);
    });
  });

  describe('PUT /memory/:key', () => {
    it('creates (201), then replaces (200) with a new version, keeping optimistic concurrency', async () => {
      const key = 'doc/readme.md';
      const created = await api.request('PUT', `/api/v2/memory/${enc(key)}?namespace=docs`, { body: { value: { v: 1 }, tags: ['doc'] } });
      expect(created.status, created.text).toBe(201);
      expect(created.json).toMatchObject({ namespace: 'docs', key, version: 1, tags: ['doc'] });

      const updated = await api.request('PUT', `/api/v2/memory/${enc(key)}`, { body: { namespace: 'docs', value: { v: 2 }, expectedVersion: 1 } });
      expect(updated.status, updated.text).toBe(200);
      expect(updated.json).toMatchObject({ version: 2, value: { v: 2 }, tags: [] });

      expectProblem(await api.request('PUT', `/api/v2/memory/${enc(key)}?namespace=docs`, { body: { value: 'stale', expectedVersion: 1 } }), 409, 'conflict');
      const clash = await api.request('PUT', `/api/v2/memory/${enc(key)}?namespace=docs`, { body: { namespace: 'other', value: 'x' } });
      expectProblem(clash, 400, 'validation');
      expect(clash.json.detail).toMatch(/namespace/);
      expect((await api.request('GET', `/api/v2/memory/${enc(key)}?namespace=docs`)).json).toMatchObject({ version: 2, value: { v: 2 } });
      expectProblem(await api.request('GET', `/api/v2/memory/${enc(key)}?namespace=other`), 404);
    });
  });

  describe('DELETE /memory/:key', () => {
    it('deletes (204, publishing memory.deleted), then 404; a stale expectedVersion is a 409', async () => {
      const key = 'to/delete?';
      await api.request('POST', '/api/v2/memory', { body: { namespace: 'del', key, value: 1 } });
      await api.request('PUT', `/api/v2/memory/${enc(key)}?namespace=del`, { body: { value: 2 } });

      expectProblem(await api.request('DELETE', `/api/v2/memory/${enc(key)}?namespace=del&expectedVersion=1`), 409, 'conflict');
      expect((await api.request('GET', `/api/v2/memory/${enc(key)}?namespace=del`)).status).toBe(200);

      const r = await api.request('DELETE', `/api/v2/memory/${enc(key)}?namespace=del&expectedVersion=2`);
      expect(r.status, r.text).toBe(204);
      expect(r.text).toBe('');
      expectProblem(await api.request('GET', `/api/v2/memory/${enc(key)}?namespace=del`), 404);
      expectProblem(await api.request('DELETE', `/api/v2/memory/${enc(key)}?namespace=del`), 404, 'not_found');

      await api.colony.events.flush();
      const events = await api.request('GET', '/api/v2/events?types=memory.deleted');
      expect(events.json.items.map((e: { data: unknown }) => e.data)).toContainEqual({ namespace: 'del', key });
    });
  });

  describe('GET /memory: listing', () => {
    beforeAll(async () => {
      for (let i = 0; i < 5; i++) {
        await api.request('POST', '/api/v2/memory', { body: { namespace: 'list', key: `item/${i}`, value: i, tags: i % 2 === 0 ? ['even'] : ['odd'] } });
      }
      await api.request('POST', '/api/v2/memory', { body: { namespace: 'list', key: 'other', value: 'x', tags: ['even', 'special'] } });
    });

    it('filters by namespace, key prefix and tags, paginated with a total', async () => {
      const all = await api.request('GET', '/api/v2/memory?namespace=list');
      expect(all.status).toBe(200);
      expect(all.json.total).toBe(6);
      expect(all.headers.get('x-total-count')).toBe('6');
      expect(all.json.items.map((e: { key: string }) => e.key)).toEqual(['item/0', 'item/1', 'item/2', 'item/3', 'item/4', 'other']);

      const page = await api.request('GET', `/api/v2/memory?namespace=list&prefix=${enc('item/')}&limit=2&offset=1`);
      expect(page.json).toMatchObject({ total: 5, limit: 2, offset: 1 });
      expect(page.json.items.map((e: { key: string }) => e.key)).toEqual(['item/1', 'item/2']);

      const even = await api.request('GET', '/api/v2/memory?namespace=list&tags=even');
      expect(even.json.items.map((e: { key: string }) => e.key)).toEqual(['item/0', 'item/2', 'item/4', 'other']);
      const both = await api.request('GET', '/api/v2/memory?namespace=list&tags=even,special');
      expect(both.json.items.map((e: { key: string }) => e.key)).toEqual(['other']);

      // Without a namespace: every namespace.
      const everywhere = await api.request('GET', '/api/v2/memory?limit=1000');
      expect(new Set(everywhere.json.items.map((e: { namespace: string }) => e.namespace))).toEqual(new Set(['default', 'enc', 'proj-a', 'proj-b', 'batch-ns', 'docs', 'list']));
    });
  });

  describe('GET /memory?q=: search', () => {
    beforeAll(async () => {
      await api.request('POST', '/api/v2/memory', { body: { namespace: 'kb', key: 'deploy', value: 'Deploy the service with the blue green strategy on Fridays' } });
      await api.request('POST', '/api/v2/memory', { body: { namespace: 'kb', key: 'lunch', value: 'The cafeteria serves soup and sandwiches' } });
      await api.request('POST', '/api/v2/memory', { body: { namespace: 'kb2', key: 'deploy-2', value: 'Another note on how to deploy the service' } });
      await (await memory()).flushEmbeddings();
    });

    it('keyword search ranks with scores and names no embedder', async () => {
      const r = await api.request('GET', '/api/v2/memory?namespace=kb&q=deploy%20strategy&mode=keyword');
      expect(r.status, r.text).toBe(200);
      expect(r.json).toMatchObject({ query: 'deploy strategy', mode: 'keyword', embedder: null, limit: 50, offset: 0 });
      expect(r.json.items[0]).toMatchObject({ entry: { key: 'deploy' }, matchedBy: ['keyword'], score: expect.any(Number) });
      expect(r.json.items.map((h: { entry: { key: string } }) => h.entry.key)).not.toContain('lunch');
    });

    it('hybrid by default, labelling the local embedder as lexical', async () => {
      const r = await api.request('GET', '/api/v2/memory?q=deploy%20service');
      expect(r.status, r.text).toBe(200);
      expect(r.json.mode).toBe('hybrid');
      expect(r.json.embedder).toMatchObject({ kind: 'local', local: true, label: expect.stringContaining('local lexical embedder') });
      const keys = r.json.items.map((h: { entry: { key: string } }) => h.entry.key);
      expect(keys.slice(0, 2).sort()).toEqual(['deploy', 'deploy-2']);
      const scores = r.json.items.map((h: { score: number }) => h.score);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    });

    it('vector is semantic search; tags, limit and offset apply', async () => {
      const r = await api.request('GET', '/api/v2/memory?q=deploy%20service&mode=vector&namespace=kb2');
      expect(r.json.mode).toBe('semantic');
      expect(r.json.items.map((h: { entry: { key: string } }) => h.entry.key)).toEqual(['deploy-2']);
      expect(r.json.items[0].matchedBy).toEqual(['semantic']);

      const all = await api.request('GET', '/api/v2/memory?q=deploy%20service&mode=keyword');
      const second = await api.request('GET', '/api/v2/memory?q=deploy%20service&mode=keyword&limit=1&offset=1');
      expect(second.json.items).toHaveLength(1);
      expect(second.json.items[0].entry.key).toBe(all.json.items[1].entry.key);

      const tagged = await api.request('GET', '/api/v2/memory?q=deploy&mode=keyword&tags=nonexistent');
      expect(tagged.json.items).toEqual([]);
    });
  });
});
