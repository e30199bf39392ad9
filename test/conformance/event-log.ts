import { beforeEach, describe, expect, it } from 'vitest';
import { T } from '../support/task-fixtures.js';
import type { Store } from '../../src/ports/store.js';
import { useMigratedStore } from './use-migrated-store.js';
import { event } from './store-fixtures.js';

/**
 * The EventLog port's conformance suite (the event log: append, filtered reads, a cursor that never skips): every Store adapter runs it. `create` returns a
 * fresh, empty, not yet migrated store (the whole Store: cases insert the rows other aggregates hold)
 * and a `cleanup` for after it is closed. Creation order is id order (Colony's ids are time-sorted).
 */
export function runEventLogConformance(name: string, create: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`EventLog conformance: ${name}`, () => {
    const current = useMigratedStore(create);
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    describe('events', () => {
      it('appends events in order with increasing ids', async () => {
        const first = await store.events.append([event('task.created', { n: 1 }), event('task.queued', { n: 2 })]);
        const second = await store.events.append([event('task.started', { n: 3 })]);
        const all = [...first, ...second];
        expect(all).toHaveLength(3);
        for (let i = 1; i < all.length; i++) expect(all[i] as number).toBeGreaterThan(all[i - 1] as number);
        expect(await store.events.append([])).toEqual([]);

        const stored = await store.events.list({});
        expect(stored.map((e) => e.id)).toEqual(all);
        expect(stored[0]).toEqual({ id: all[0], type: 'task.created', source: 'test', data: { n: 1 }, correlationId: 'c1', timestamp: T });
      });

      it('keeps ids increasing across concurrent appends', async () => {
        const batches = await Promise.all(Array.from({ length: 20 }, (_, i) => store.events.append([event('task.created', { i }), event('task.queued', { i })])));
        const flat = batches.flat();
        expect(new Set(flat).size).toBe(40);
        for (const batch of batches) expect(batch[1] as number).toBeGreaterThan(batch[0] as number);
        const stored = await store.events.list({});
        expect(stored.map((e) => e.id)).toEqual([...flat].sort((a, b) => a - b));
      });

      it('lists events with afterId, types, correlationId, source, limit and newestFirst', async () => {
        const ids1 = await store.events.append([
          event('task.created', { n: 1 }, { correlationId: 'wf_a', source: 'task-engine' }),
          event('task.started', { n: 2 }, { correlationId: 'wf_a', source: 'scheduler' }),
          event('agent.spawned', { n: 3 }, { correlationId: null, source: 'agent-manager' }),
          event('task.completed', { n: 4 }, { correlationId: 'wf_b', source: 'scheduler' }),
          event('task.created', { n: 5 }, { correlationId: 'wf_b', source: 'task-engine' }),
        ]);
        const n = (list: { data: unknown }[]) => list.map((e) => (e.data as { n: number }).n);
        expect(n(await store.events.list({ afterId: ids1[1] }))).toEqual([3, 4, 5]);
        expect(n(await store.events.list({ types: ['task.created'] }))).toEqual([1, 5]);
        expect(n(await store.events.list({ types: ['task.created', 'agent.spawned'] }))).toEqual([1, 3, 5]);
        expect(n(await store.events.list({ types: [] }))).toEqual([1, 2, 3, 4, 5]);
        expect(n(await store.events.list({ correlationId: 'wf_b' }))).toEqual([4, 5]);
        expect(n(await store.events.list({ source: 'scheduler' }))).toEqual([2, 4]);
        expect(n(await store.events.list({ limit: 2 }))).toEqual([1, 2]);
        expect(n(await store.events.list({ newestFirst: true }))).toEqual([5, 4, 3, 2, 1]);
        expect(n(await store.events.list({ newestFirst: true, limit: 2 }))).toEqual([5, 4]);
        // Paging back through a newest-first read.
        expect(n(await store.events.list({ newestFirst: true, beforeId: ids1[3], limit: 2 }))).toEqual([3, 2]);
        expect(n(await store.events.list({ beforeId: ids1[2], afterId: ids1[0] }))).toEqual([2]);
        expect(n(await store.events.list({ newestFirst: true, beforeId: ids1[4], correlationId: 'wf_b' }))).toEqual([4]);
        expect(n(await store.events.list({ afterId: ids1[0], types: ['task.created', 'task.started'], source: 'task-engine' }))).toEqual([5]);
        expect((await store.events.list({ types: ['agent.spawned'] }))[0]?.correlationId).toBeNull();
      });

      it('a reader paging by afterId while appends commit gets every event once, in id order (reads return settled events only)', async () => {
        const seen: number[] = [];
        let cursor = 0;
        const readPage = async () => {
          const page = await store.events.list({ afterId: cursor, limit: 3 });
          for (const e of page) seen.push(e.id);
          cursor = page.at(-1)?.id ?? cursor;
          return page.length;
        };
        let appending = true;
        const appends = Promise.all(Array.from({ length: 30 }, (_, i) => store.events.append([event('task.created', { i }), event('task.queued', { i })]))).finally(() => {
          appending = false;
        });
        for (let reads = 0; appending && reads < 10_000; reads++) {
          await readPage();
          // A turn of the event loop between reads, for writes that commit on the next one.
          await new Promise((resolve) => setImmediate(resolve));
        }
        const ids = (await appends).flat();
        while ((await readPage()) > 0);
        expect(seen).toEqual([...ids].sort((a, b) => a - b));
      });

      it('the newest event read is a place to follow the log from: afterId it gives only later appends', async () => {
        await store.events.append([event('task.created', { n: 1 }), event('task.queued', { n: 2 })]);
        const [head] = await store.events.list({ newestFirst: true, limit: 1 });
        expect(await store.events.list({ afterId: head?.id })).toEqual([]);
        const [later] = await store.events.append([event('task.started', { n: 3 })]);
        expect((await store.events.list({ afterId: head?.id })).map((e) => e.id)).toEqual([later]);
      });
    });
  });
}
