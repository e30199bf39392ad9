import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createColony, type Colony } from '../src/app/colony.js';
import type { ColonyEvent } from '../src/domain/events.js';
import { createLogger } from '../src/kernel/logger.js';
import { LocalEventBus } from '../src/kernel/local-event-bus.js';
import type { NewEvent } from '../src/ports/store.js';
import { PostgresStore } from '../src/adapters/storage/postgres/postgres-store.js';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import type { TaskRecord } from '../src/domain/task.js';
import type { Store } from '../src/ports/store.js';
import { createTestDatabase } from './support/postgres.js';
import { eventually, FAST, tempDir } from './support/temp-colony.js';

/**
 * A task's completion and its `task.completed` event are written in one transaction (the event bus's
 * outbox), carrying the task's earlier events not yet in the log: a process killed right after the
 * commit leaves neither a completed task without its event nor the task's events out of order. The
 * kill is played by a bus whose own event batches never reach the log.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const STORES: [string, () => Promise<Store>][] = [
  [
    'SQLite',
    async () => {
      const dir = tempDir('colony-outbox-');
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      return new SqliteStore({ path: join(dir, 'colony.db'), busyTimeoutMs: 5_000 });
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const database = await createTestDatabase();
      cleanups.push(() => database.drop());
      return new PostgresStore({ url: database.url, poolSize: 4 });
    },
  ],
];

async function colonyOn(store: Store): Promise<Colony> {
  const dir = tempDir('colony-outbox-project-');
  const colony = await createColony({ projectDir: dir, env: {}, store, config: FAST });
  cleanups.push(async () => {
    await colony.close({ drainTimeoutMs: 0 });
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  colony.registerExecutor({ type: 'echo', execute: async ({ task }) => task.id });
  return colony;
}

for (const [name, open] of STORES) {
  describe(`task completion events on ${name}`, () => {
    it('updateMany writes a change\'s events with it, and none when a change is stale', async () => {
      const store = await open();
      const colony = await colonyOn(store);
      const [a, b] = await colony.tasks.submit([
        { type: 'echo', name: 'a', dependencies: [] },
        { type: 'echo', name: 'b', dependencies: ['a'] },
      ]);
      const event = (taskId: string) => ({ type: 'task.completed', source: 'test', data: { taskId }, correlationId: taskId, timestamp: 1 });
      const next = (task: TaskRecord): TaskRecord => ({ ...task, status: 'cancelled', updatedAt: task.updatedAt + 1 });
      // b is stale (it is pending, not queued): nothing is written, a's event neither.
      const stale = await store.tasks.updateMany([
        { next: next(a!), expected: { status: a!.status, attempts: 0 }, events: [event(a!.id)] },
        { next: next(b!), expected: { status: 'queued', attempts: 0 }, events: [event(b!.id)] },
      ]);
      expect(stale).toBe(false);
      const logged = async () => (await store.events.list({ types: ['task.completed'], limit: 10 })).map((e) => (e.data as { taskId: string }).taskId);
      expect(await logged()).toEqual([]);
      // One change alone (the batched path on PostgreSQL), then two together.
      expect(await store.tasks.updateMany([{ next: next(a!), expected: { status: a!.status, attempts: 0 }, events: [event(a!.id)] }])).toBe(true);
      expect(await store.tasks.updateMany([{ next: next(b!), expected: { status: b!.status, attempts: 0 }, events: [event(b!.id), event(b!.id)] }])).toBe(true);
      expect(await logged()).toEqual([a!.id, b!.id, b!.id]);
      expect((await store.tasks.get(a!.id))?.status).toBe('cancelled');
    });

    it('logs every completion although the bus\'s own batches never land', async () => {
      const store = await open();
      const colony = await colonyOn(store);
      const specs = Array.from({ length: 40 }, (_, i) => ({ type: 'echo', name: `t${i}`, dependencies: i >= 10 ? [`t${i - 10}`] : [] }));
      const submitted = await colony.tasks.submit(specs);
      await colony.events.flush();
      // From now on what the bus persists itself is lost, as it is when its process is killed.
      const append = store.events.append.bind(store.events);
      let dropped = 0;
      store.events.append = async (events) => {
        dropped += events.length;
        return events.map(() => 0);
      };
      await colony.start();
      await eventually(async () => (await store.tasks.list({ limit: 100 })).every((t) => t.status === 'completed'));
      store.events.append = append;
      const log = await store.events.list({ limit: 1_000 });
      for (const task of submitted) {
        const mine = log.filter((e) => (e.data as { taskId?: string }).taskId === task.id);
        const types = mine.map((e) => e.type);
        // Its creation (logged before the bus lost its batches), and its completion, once, last.
        expect(types[0], task.name ?? '').toBe('task.created');
        expect(types.filter((t) => t === 'task.completed'), task.name ?? '').toHaveLength(1);
        expect(types.at(-1)).toBe('task.completed');
      }
      expect(dropped).toBeGreaterThan(0);
    });


    it("keeps each task's events in order in the log: created, started, completed", async () => {
      const store = await open();
      const colony = await colonyOn(store);
      const submitted = await colony.tasks.submit(Array.from({ length: 60 }, (_, i) => ({ type: 'echo', name: `t${i}`, dependencies: i >= 20 ? [`t${i - 20}`] : [] })));
      await colony.start();
      await eventually(async () => (await store.tasks.list({ limit: 100 })).every((t) => t.status === 'completed'));
      await colony.events.flush();
      const log = await store.events.list({ limit: 1_000 });
      for (const task of submitted) {
        const types = log.filter((e) => (e.data as { taskId?: string }).taskId === task.id && e.type !== 'task.queued').map((e) => e.type);
        expect(types, task.name ?? '').toEqual(['task.created', 'task.started', 'task.completed']);
      }
    });
  });
}

describe('the event bus outbox', () => {
  it('takes a task\'s queued events out (no write), delivers written ones without persisting them, restores the rest', async () => {
    const persisted: NewEvent[] = [];
    let clock = 1_000;
    const bus = new LocalEventBus({
      persist: async (batch) => {
        persisted.push(...batch);
        return batch.map((_, i) => persisted.length - batch.length + i + 1);
      },
      logger: createLogger('silent'),
      bufferSize: 100,
      now: () => clock++,
    });
    const seen: ColonyEvent[] = [];
    bus.subscribe({}, (event) => {
      seen.push(event);
    });
    bus.publish('task.started', { taskId: 'tsk_a', name: null, type: 'echo', attempt: 1, agentId: null, runnerId: 'run_1' }, { source: 'test' });
    bus.publish('task.started', { taskId: 'tsk_b', name: null, type: 'echo', attempt: 1, agentId: null, runnerId: 'run_1' }, { source: 'test' });
    // Nothing written yet: a's event is taken at once, b's stays.
    const taken = bus.outbox.take('tsk_a');
    expect(Array.isArray(taken) && taken.map((e) => e.data)).toEqual([expect.objectContaining({ taskId: 'tsk_a' })]);
    expect(bus.outbox.take('tsk_c')).toEqual([]);
    await bus.flush();
    expect(persisted.map((e) => (e.data as { taskId: string }).taskId)).toEqual(['tsk_b']);
    // Written with a change: delivered, in order, and not persisted again.
    const report = { id: 0, type: 'task.completed', source: 'test', correlationId: null, timestamp: clock++, data: { taskId: 'tsk_a', name: null, attempt: 1, durationMs: 1 } } as ColonyEvent;
    bus.outbox.delivered([...(taken as ColonyEvent[]), report]);
    await bus.flush();
    expect(persisted).toHaveLength(1);
    expect(seen.map((e) => [e.type, (e.data as { taskId: string }).taskId])).toEqual([
      ['task.started', 'tsk_b'],
      ['task.started', 'tsk_a'],
      ['task.completed', 'tsk_a'],
    ]);
    // A take whose write did not happen: restored, persisted as published.
    bus.publish('task.started', { taskId: 'tsk_d', name: null, type: 'echo', attempt: 1, agentId: null, runnerId: 'run_1' }, { source: 'test' });
    const again = bus.outbox.take('tsk_d') as ColonyEvent[];
    bus.outbox.restore(again);
    await bus.flush();
    expect(persisted.map((e) => (e.data as { taskId: string }).taskId)).toEqual(['tsk_b', 'tsk_d']);
  });

  it('waits for a task\'s events being written rather than take them', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const persisted: string[] = [];
    const bus = new LocalEventBus({
      persist: async (batch) => {
        await gate;
        persisted.push(...batch.map((e) => (e.data as { taskId: string }).taskId));
        return batch.map(() => 1);
      },
      logger: createLogger('silent'),
      bufferSize: 100,
    });
    bus.publish('task.started', { taskId: 'tsk_a', name: null, type: 'echo', attempt: 1, agentId: null, runnerId: 'run_1' }, { source: 'test' });
    await new Promise((resolve) => setImmediate(resolve));
    // Its batch is being written: the take waits for it, and then has nothing to carry.
    const taking = bus.outbox.take('tsk_a');
    expect(taking).toBeInstanceOf(Promise);
    release();
    expect(await taking).toEqual([]);
    expect(persisted).toEqual(['tsk_a']);
  });
});
