import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { sql, type Kysely } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgres } from '../src/adapters/storage/postgres/postgres-connection.js';
import { isConnectionError, mapPostgresError } from '../src/adapters/storage/postgres/postgres-errors.js';
import { PostgresStore } from '../src/adapters/storage/postgres/postgres-store.js';
import { LATEST_MIGRATION } from '../src/adapters/storage/sql/migration-latest.js';
import { createColony, type Colony } from '../src/app/colony.js';
import { checkStoreHealth } from '../src/app/store-health.js';
import { isStoreUnavailable, isTransientStorageError, StoreUnavailableError } from '../src/domain/errors.js';
import type { StoredEvent } from '../src/domain/events.js';
import type { TaskRecord } from '../src/domain/task.js';
import { retryStoreWrite } from '../src/kernel/store-retry.js';
import { useTestDatabase } from './support/postgres.js';
import { rejectionOf } from './support/rejection.js';
import { FAST, eventually, tempDir } from './support/temp-colony.js';

/**
 * What a database restart does to each write, one at a time, on the shared test PostgreSQL (a fresh
 * schema per test): connection errors classified as the store being unavailable; an outcome whose
 * write fails, or commits with its answer lost, recorded exactly once; a claim that commits unheard
 * recovered; an event batch that cannot be written kept, not dropped. The faults are injected at the
 * store's edge (the real adapter does the work; only its answer is lost), since a real restart hits
 * each of these windows only by chance (test/postgres-restart.test.ts does the real thing).
 */

const place = useTestDatabase();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const cut = () => new StoreUnavailableError('simulated: the connection was cut (57P01 terminating connection due to administrator command)');

async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function schemaUrl(): Promise<string> {
  const schema = await place.freshSchema();
  cleanups.push(() => schema.drop());
  return schema.url;
}

/** A colony on a PostgresStore of the test's own, whose methods the test may wrap before the engine runs. */
async function colonyOn(store: PostgresStore): Promise<Colony> {
  const dir = tempDir('colony-pg-faults-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const colony = await createColony({ projectDir: dir, env: {}, store, config: FAST });
  cleanups.push(async () => {
    await colony.close({ drainTimeoutMs: 0 });
    await store.close();
  });
  colony.registerExecutor({ type: 'echo', execute: async ({ task }) => task.id });
  return colony;
}

async function settledTasks(colony: Colony, count: number): Promise<TaskRecord[]> {
  return eventually(async () => {
    const tasks = await colony.store.tasks.list({ limit: 1_000 });
    return tasks.length === count && tasks.every((t) => t.status === 'completed') ? tasks : undefined;
  });
}

/**
 * task.completed events per task id, once each of `tasks` has one: an outcome whose answer was lost
 * is published when its retry finds it written, which may be after its dependents have run.
 */
async function completions(colony: Colony, tasks: readonly TaskRecord[]): Promise<Map<string, number>> {
  return eventually(async () => {
    await colony.events.flush();
    const counts = new Map<string, number>();
    for (const event of await colony.events.list({ types: ['task.completed'], limit: 1_000 })) {
      const id = (event.data as { taskId: string }).taskId;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    return tasks.every((t) => counts.has(t.id)) ? counts : undefined;
  });
}

describe('PostgreSQL errors of an outage', () => {
  it('classifies a terminated session, a refused connection and a pool timeout as the store unavailable; others by SQLSTATE', async () => {
    const url = await schemaUrl();
    const victim = openPostgres({ url, poolSize: 1 });
    const admin = openPostgres({ url, poolSize: 1 });
    try {
      const client = await victim.pool.connect();
      const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const running = client.query('select pg_sleep(30)').catch((error: unknown) => error);
      await eventually(async () => (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where pid = ${pid} and state = 'active'`.execute(admin.db as Kysely<unknown>)).rows[0]!.n === 1);
      await sql`select pg_terminate_backend(${pid})`.execute(admin.db as Kysely<unknown>);
      const terminated = await running;
      client.release(true);
      expect((terminated as { code?: string }).code).toBe('57P01');
      expect(isConnectionError(terminated)).toBe(true);
      expect(isStoreUnavailable(mapPostgresError(terminated, 'query'))).toBe(true);
    } finally {
      await victim.close();
      await admin.close();
    }

    const nowhere = openPostgres({ url: `postgres://root@127.0.0.1:${await closedPort()}/test`, poolSize: 1, connectionTimeoutMs: 1_000 });
    try {
      const refused = mapPostgresError(await rejectionOf(sql`select 1`.execute(nowhere.db)), 'query');
      expect(refused).toBeInstanceOf(StoreUnavailableError);
      expect(refused).toMatchObject({ code: 'storage', retryable: true, details: { unavailable: true } });
    } finally {
      await nowhere.close();
    }

    for (const code of ['57P01', '57P02', '57P03', '08006', '08001', '53300']) expect(isStoreUnavailable(mapPostgresError(Object.assign(new Error(code), { code }), 'q'))).toBe(true);
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE']) expect(isStoreUnavailable(mapPostgresError(Object.assign(new Error(code), { code }), 'q'))).toBe(true);
    expect(isStoreUnavailable(mapPostgresError(new Error('timeout exceeded when trying to connect'), 'q'))).toBe(true);
    expect(isStoreUnavailable(mapPostgresError(new Error('Connection terminated unexpectedly'), 'q'))).toBe(true);
    // A statement the server refused: retryable or not, but the server is there.
    const serialization = mapPostgresError(Object.assign(new Error('could not serialize'), { code: '40001' }), 'q');
    expect([isTransientStorageError(serialization), isStoreUnavailable(serialization)]).toEqual([true, false]);
    expect(mapPostgresError(Object.assign(new Error('duplicate'), { code: '23505' }), 'q').code).toBe('conflict');
    expect(isTransientStorageError(mapPostgresError(Object.assign(new Error('syntax'), { code: '42601' }), 'q'))).toBe(false);
  });

  it("reports a store that does not answer as unavailable in the colony's health", async () => {
    const store = new PostgresStore({ url: `postgres://root@127.0.0.1:${await closedPort()}/test`, poolSize: 1, connectionTimeoutMs: 1_000 });
    try {
      const health = await checkStoreHealth(store, LATEST_MIGRATION);
      expect(health).toMatchObject({ ok: false, reason: 'unavailable', schemaVersion: null });
      expect(health.error).toMatch(/unavailable/);
    } finally {
      await store.close();
    }
  });

  it('retries a store write while the store is unavailable, never one it refused', async () => {
    let tries = 0;
    const policy = { baseDelayMs: 1, maxDelayMs: 2, windowMs: 60_000 };
    expect(
      await retryStoreWrite(
        async (attempt) => {
          tries = attempt;
          if (attempt < 3) throw cut();
          return 'written';
        },
        { policy },
      ),
    ).toBe('written');
    expect(tries).toBe(3);
    const refused = new Error('a bug, not an outage');
    expect(
      await rejectionOf(
        retryStoreWrite(async (attempt) => {
          tries = attempt;
          throw refused;
        }, { policy }),
      ),
    ).toBe(refused);
    expect(tries).toBe(1);
    // Past the window, the last error goes to the caller (crash recovery takes over from there).
    expect(await rejectionOf(retryStoreWrite(async () => Promise.reject(cut()), { policy: { ...policy, windowMs: 0 } }))).toBeInstanceOf(StoreUnavailableError);
  });
});

describe('the engine through lost store answers', () => {
  it('records an outcome exactly once when its write failed, or committed with its answer lost', async () => {
    const store = new PostgresStore({ url: await schemaUrl(), poolSize: 4 });
    const colony = await colonyOn(store);
    const submitted = await colony.tasks.submit([
      { type: 'echo', name: 'a' },
      { type: 'echo', name: 'unheard', dependencies: ['a'] },
      { type: 'echo', name: 'after-unheard', dependencies: ['unheard'] },
      { type: 'echo', name: 'refused' },
      { type: 'echo', name: 'after-refused', dependencies: ['refused'] },
    ]);
    const idOf = (name: string) => submitted.find((t) => t.name === name)!.id;
    const faults = { unheard: 1, refused: 2 };
    // Completions (with the dependents they promote) go out as updateMany, or update alone.
    const completing = (next: TaskRecord): keyof typeof faults | undefined =>
      next.status !== 'completed' ? undefined : next.id === idOf('unheard') ? 'unheard' : next.id === idOf('refused') ? 'refused' : undefined;
    const updateMany = store.tasks.updateMany.bind(store.tasks);
    store.tasks.updateMany = async (changes) => {
      const which = changes[0] && completing(changes[0].next);
      if (which && faults[which] > 0) {
        faults[which]--;
        // `unheard`: the write commits and the answer is lost; `refused`: it never reaches the database.
        if (which === 'unheard') await updateMany(changes);
        throw cut();
      }
      return updateMany(changes);
    };
    const update = store.tasks.update.bind(store.tasks);
    store.tasks.update = async (next, expected) => {
      const which = completing(next);
      if (which && faults[which] > 0) {
        faults[which]--;
        if (which === 'unheard') await update(next, expected);
        throw cut();
      }
      return update(next, expected);
    };

    await colony.start();
    const tasks = await settledTasks(colony, submitted.length);
    expect(faults).toEqual({ unheard: 0, refused: 0 });
    // Each ran once, and the record shows one completion each; their dependents ran after them.
    expect(tasks.map((t) => [t.name, t.attempts, t.result === t.id])).toEqual(expect.arrayContaining(submitted.map((t) => [t.name, 1, true])));
    const counts = await completions(colony, submitted);
    expect(submitted.map((t) => counts.get(t.id))).toEqual(submitted.map(() => 1));
    const byName = new Map(tasks.map((t) => [t.name, t]));
    expect(byName.get('after-unheard')!.startedAt!).toBeGreaterThanOrEqual(byName.get('unheard')!.completedAt!);
    expect(byName.get('after-refused')!.startedAt!).toBeGreaterThanOrEqual(byName.get('refused')!.completedAt!);
  });

  it('recovers tasks whose claim committed with its answer lost: they run here after all, once each in the record', async () => {
    const store = new PostgresStore({ url: await schemaUrl(), poolSize: 4 });
    const colony = await colonyOn(store);
    const submitted = await colony.tasks.submit(Array.from({ length: 6 }, (_, i) => ({ type: 'echo', name: `t${i}` })));
    let lost: TaskRecord[] = [];
    const claimReady = store.tasks.claimReady.bind(store.tasks);
    store.tasks.claimReady = async (query) => {
      const claimed = await claimReady(query);
      if (lost.length === 0 && claimed.length > 0) {
        lost = claimed;
        throw cut();
      }
      return claimed;
    };

    await colony.start();
    const tasks = await settledTasks(colony, submitted.length);
    expect(lost.length).toBeGreaterThan(0);
    // The stranded claims were recovered by this very runner, as a dead runner's tasks would be.
    await colony.events.flush();
    const recovered = await colony.events.list({ types: ['task.recovered'], limit: 100 });
    expect(new Set(recovered.map((e) => (e.data as { taskId: string }).taskId))).toEqual(new Set(lost.map((t) => t.id)));
    expect(recovered.every((e) => (e.data as { deadRunnerId: string }).deadRunnerId === colony.runners.id)).toBe(true);
    expect(tasks.every((t) => t.result === t.id)).toBe(true);
    const counts = await completions(colony, submitted);
    expect(submitted.map((t) => counts.get(t.id))).toEqual(submitted.map(() => 1));
  });

  it('keeps an event batch that cannot be written while the store is unavailable, in order', async () => {
    const store = new PostgresStore({ url: await schemaUrl(), poolSize: 4 });
    const colony = await colonyOn(store);
    let refusals = 2;
    const append = store.events.append.bind(store.events);
    store.events.append = async (events) => {
      if (refusals > 0) {
        refusals--;
        throw cut();
      }
      return append(events);
    };
    const delivered: StoredEvent[] = [];
    colony.events.subscribe({ types: ['task.created'] }, (event) => {
      delivered.push(event);
    });
    const submitted = await colony.tasks.submit([{ type: 'echo', name: 'first' }]);
    const more = await colony.tasks.submit([{ type: 'echo', name: 'second' }]);
    await colony.events.flush();
    expect(refusals).toBe(0);
    const logged = await colony.events.list({ types: ['task.created'], limit: 10 });
    expect(logged.map((e) => (e.data as { taskId: string }).taskId)).toEqual([...submitted, ...more].map((t) => t.id));
    // Subscribers got them once persisted, with their ids, in publication order.
    expect(delivered.map((e) => e.id)).toEqual(logged.map((e) => e.id));
  });
});
