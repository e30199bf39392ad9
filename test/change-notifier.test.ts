import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalChangeNotifier } from '../src/adapters/notify/local-change-notifier.js';
import { RedisChangeNotifier } from '../src/adapters/notify/redis-change-notifier.js';
import { createLogger } from '../src/kernel/logger.js';
import { TestRedisServer, until } from './conformance/cache.js';
import { runChangeNotifierConformance } from './conformance/change-notifier.js';

/**
 * The ChangeNotifier adapters other than PostgreSQL's (test/postgres-notify.test.ts): within one
 * process, and Redis pub/sub (the shared server, a channel prefix per test; a private redis-server for
 * the restart).
 */

const REDIS_URL = process.env.COLONY_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const silent = createLogger('silent');

runChangeNotifierConformance('in process (LocalChangeNotifier)', async () => {
  const peers = new Set<LocalChangeNotifier>();
  return { open: async () => new LocalChangeNotifier({ peers }), cleanup: async () => undefined };
});

runChangeNotifierConformance('Redis pub/sub', async () => {
  const channelPrefix = `colony-test:${randomUUID()}:`;
  return { open: async () => new RedisChangeNotifier({ url: REDIS_URL, channelPrefix, logger: silent }), cleanup: async () => undefined };
});

describe('LocalChangeNotifier', () => {
  it('alone (the SQLite colony) never crosses processes, and hears nothing of its own', async () => {
    const notifier = new LocalChangeNotifier();
    let heard = 0;
    notifier.listen('tasks', () => heard++);
    notifier.notify('tasks');
    await new Promise((resolve) => setImmediate(resolve));
    expect(notifier.crossProcess).toBe(false);
    expect(heard).toBe(0);
    await notifier.close();
  });
});

describe('RedisChangeNotifier across a Redis restart', () => {
  const opened: RedisChangeNotifier[] = [];
  let server: TestRedisServer | undefined;
  afterAll(async () => {
    for (const notifier of opened) await notifier.close();
    await server?.stop();
  });

  it('wakes its listeners when it is back (hints meanwhile were missed), and delivers again', async () => {
    server = await TestRedisServer.start();
    const open = () => {
      const notifier = new RedisChangeNotifier({ url: server!.url, channelPrefix: 'colony:', logger: silent, reconnectBaseMs: 20, reconnectMaxMs: 200 });
      opened.push(notifier);
      return notifier;
    };
    const listener = open();
    const sender = open();
    let heard = 0;
    listener.listen('tasks', () => heard++);
    expect(await listener.ready(30_000)).toBe(true);
    expect(await sender.ready(30_000)).toBe(true);

    await server.stop();
    const beforeRestart = heard;
    await server.start();
    // Listening again after the outage calls the listener: what was sent meanwhile is unknown.
    await until(() => heard > beforeRestart, 30_000, 'the wake after the restart');
    expect(await listener.ready(30_000)).toBe(true);
    expect(await sender.ready(30_000)).toBe(true);
    const before = heard;
    sender.notify('tasks');
    await until(() => heard > before, 30_000, 'a hint after the restart');
  });
});
