import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresChangeNotifier } from '../src/adapters/notify/postgres-change-notifier.js';
import { PostgresStore } from '../src/adapters/storage/postgres/postgres-store.js';
import { SCHEMA_CHANNELS_QUERY } from '../src/adapters/storage/postgres/schema-channels.js';
import { createLogger } from '../src/kernel/logger.js';
import { until } from './conformance/cache.js';
import { runChangeNotifierConformance } from './conformance/change-notifier.js';
import { useTestDatabase } from './support/postgres.js';

/**
 * The ChangeNotifier on PostgreSQL LISTEN/NOTIFY, on a database of this file's own: the port's
 * conformance, the event log's appends as `events` hints, and reconnection after the notifier's
 * backend is terminated.
 */

const place = useTestDatabase();
const silent = createLogger('silent');
/** Hang guards, never timing assertions. */
const WAIT_MS = 30_000;

runChangeNotifierConformance('PostgreSQL LISTEN/NOTIFY', async () => {
  const { url } = await place.database();
  return { open: async () => new PostgresChangeNotifier({ url, logger: silent }), cleanup: async () => undefined };
});

describe('PostgresChangeNotifier', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function notifier(at?: string): Promise<PostgresChangeNotifier> {
    const url = at ?? (await place.database()).url;
    // A short backoff: the test waits for the reconnection, whatever it takes.
    const instance = new PostgresChangeNotifier({ url, logger: silent, reconnectBaseMs: 20, reconnectMaxMs: 500 });
    cleanups.push(() => instance.close());
    return instance;
  }

  async function terminate(pid: number): Promise<void> {
    const { url } = await place.database();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ ok: boolean }>('select pg_terminate_backend($1) as ok', [pid]);
      expect(rows[0]?.ok).toBe(true);
    } finally {
      await admin.end();
    }
  }

  it('reconnects after its backend is terminated, wakes its listeners, and delivers again', async () => {
    const listener = await notifier();
    const sender = await notifier();
    let heard = 0;
    listener.listen('tasks', () => heard++);
    expect(await listener.ready(WAIT_MS)).toBe(true);
    expect(await sender.ready(WAIT_MS)).toBe(true);
    const pid = listener.backendPid as number;
    expect(pid).toBeGreaterThan(0);

    const before = heard;
    await terminate(pid);
    // Listening again calls the listener: hints sent while it was away were missed.
    await until(() => heard > before && listener.backendPid !== null, WAIT_MS, 'the reconnection');
    expect(listener.backendPid).not.toBe(pid);
    expect(await listener.ready(WAIT_MS)).toBe(true);

    const after = heard;
    sender.notify('tasks');
    await until(() => heard > after, WAIT_MS, 'a hint after the reconnection');
  });

  it('keeps what it could not send while its connection was gone, and sends it once back', async () => {
    const listener = await notifier();
    const sender = await notifier();
    let heard = 0;
    listener.listen('tasks', () => heard++);
    expect(await listener.ready(WAIT_MS)).toBe(true);
    expect(await sender.ready(WAIT_MS)).toBe(true);
    const pid = sender.backendPid as number;
    await terminate(pid);
    // The sender may or may not have noticed yet: either way the hint goes out, now or after reconnecting.
    const before = heard;
    sender.notify('tasks');
    await until(() => heard > before, WAIT_MS, 'the hint sent across the reconnection');
    await until(() => sender.backendPid !== null && sender.backendPid !== pid, WAIT_MS, 'the sender to reconnect');
  });

  it("hears the event log's appends as `events` hints, from any process's store of its schema, and not another schema's", async () => {
    const schema = await place.freshSchema();
    cleanups.push(() => schema.drop());
    const other = await place.freshSchema();
    cleanups.push(() => other.drop());
    const store = new PostgresStore({ url: schema.url, poolSize: 2 });
    cleanups.push(() => store.close());
    await store.migrate();
    const listener = await notifier(schema.url);
    let events = 0;
    let tasks = 0;
    listener.listen('events', () => events++);
    listener.listen('tasks', () => tasks++);
    expect(await listener.ready(WAIT_MS)).toBe(true);
    // The other schema's channels, LISTENed by a plain client: it counts what PostgreSQL delivers there
    // (a notifier also wakes its listeners after each (re)connection, which is no hint from anyone).
    const elsewhere = new pg.Client({ connectionString: other.url });
    await elsewhere.connect();
    cleanups.push(() => elsewhere.end());
    const { rows } = await elsewhere.query<{ tasks: string; events: string }>(SCHEMA_CHANNELS_QUERY);
    const otherChannels = rows[0] as { tasks: string; events: string };
    let otherHints = 0;
    elsewhere.on('notification', () => otherHints++);
    await elsewhere.query(`listen ${otherChannels.tasks}; listen ${otherChannels.events}`);
    const before = { events, tasks, otherHints };
    await store.events.append([{ type: 'task.queued', source: 'test', data: { taskId: 't', name: null }, correlationId: null, timestamp: 1 }]);
    await until(() => events > before.events, WAIT_MS, 'the events hint of the append');
    expect(tasks).toBe(before.tasks);

    // A tasks hint from a third notifier of the schema reaches the listener; neither reached the other schema.
    const sender = await notifier(schema.url);
    sender.notify('tasks');
    await until(() => tasks > before.tasks, WAIT_MS, 'the tasks hint of the schema');
    // Both hints were delivered to this schema's listener after the other schema's channels were
    // LISTENed on: had the channels been shared, the other schema would have heard them as well.
    await elsewhere.query('select 1'); // notifications sent before this round trip have arrived
    expect(otherHints).toBe(before.otherHints);
  });

  it('opens no connection until it is used', async () => {
    const idle = await notifier();
    expect(idle.backendPid).toBeNull();
    expect(idle.crossProcess).toBe(true);
  });
});
