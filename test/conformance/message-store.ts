import { beforeEach, describe, expect, it } from 'vitest';
import { T } from '../support/task-fixtures.js';
import type { Store } from '../../src/ports/store.js';
import { useMigratedStore } from './use-migrated-store.js';
import { task, expectColonyError } from './store-fixtures.js';

/**
 * The MessageStore port's conformance suite (agent-to-agent messages): every Store adapter runs it. `create` returns a
 * fresh, empty, not yet migrated store (the whole Store: cases insert the rows other aggregates hold)
 * and a `cleanup` for after it is closed. Creation order is id order (Colony's ids are time-sorted).
 */
export function runMessageStoreConformance(name: string, create: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`MessageStore conformance: ${name}`, () => {
    const current = useMigratedStore(create);
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    describe('agent messages', () => {
      it('delivers messages to the addressee, oldest first, and marks them read', async () => {
        await store.tasks.insert([task('tsk_1')]);
        const a = await store.messages.send({ fromAgent: 'agt_a', toAgent: 'agt_b', taskId: 'tsk_1', body: 'first — ü', createdAt: T });
        const b = await store.messages.send({ fromAgent: 'agt_c', toAgent: 'agt_b', taskId: null, body: 'second', createdAt: T + 1 });
        await store.messages.send({ fromAgent: 'agt_b', toAgent: 'agt_a', taskId: null, body: 'to a', createdAt: T + 2 });
        expect(a).toEqual({ id: a.id, fromAgent: 'agt_a', toAgent: 'agt_b', taskId: 'tsk_1', body: 'first — ü', createdAt: T, readAt: null });
        expect(b.id).toBeGreaterThan(a.id);

        // Peeking does not mark anything read.
        expect(await store.messages.readInbox('agt_b', { limit: 10 })).toEqual([a, b]);
        expect(await store.messages.readInbox('agt_b', { limit: 1 })).toEqual([a]);

        const read = await store.messages.readInbox('agt_b', { limit: 1, markRead: true, readAt: T + 5 });
        expect(read).toEqual([{ ...a, readAt: T + 5 }]);
        expect(await store.messages.readInbox('agt_b', { limit: 10, markRead: true, readAt: T + 6 })).toEqual([{ ...b, readAt: T + 6 }]);
        expect(await store.messages.readInbox('agt_b', { limit: 10, markRead: true, readAt: T + 7 })).toEqual([]);
        expect((await store.messages.readInbox('agt_a', { limit: 10 })).map((m) => m.body)).toEqual(['to a']);
        expect(await store.messages.readInbox('agt_nobody', { limit: 10 })).toEqual([]);
      });

      it('hands each message to one of two concurrent readers', async () => {
        for (let i = 0; i < 6; i++) await store.messages.send({ fromAgent: 'agt_a', toAgent: 'agt_b', taskId: null, body: `m${i}`, createdAt: T + i });
        const [x, y] = await Promise.all([
          store.messages.readInbox('agt_b', { limit: 4, markRead: true, readAt: T + 10 }),
          store.messages.readInbox('agt_b', { limit: 4, markRead: true, readAt: T + 11 }),
        ]);
        const bodies = [...(x ?? []), ...(y ?? [])].map((m) => m.body).sort();
        expect(bodies).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
      });

      it('refuses a message naming an unknown task', async () => {
        const error = await store.messages.send({ fromAgent: 'agt_a', toAgent: 'agt_b', taskId: 'tsk_ghost', body: 'x', createdAt: T }).catch((e: unknown) => e);
        expectColonyError(error, ['conflict', 'validation', 'storage']);
        expect(await store.messages.readInbox('agt_b', { limit: 10 })).toEqual([]);
      });
    });
  });
}
