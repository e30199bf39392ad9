import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { MemoryStatus } from '../src/app/memory-status.js';
import { startApi } from './support/api-server.js';
import { removeTempProjects, runCli, runJson, tempProject } from './support/cli.js';
import { TestRedisServer } from './conformance/cache.js';
import { eventually, tempColony } from './support/temp-colony.js';

/**
 * Redis down: memory configured with a Redis (`memory.redisUrl`) that does not answer works on L1 and
 * the database, and says so in `colony status` and GET /api/v2/system/status. "Down" is a URL on a
 * closed port, or a private redis-server of the test's own stopped mid-way; the shared Redis at
 * 127.0.0.1:6379 is never touched.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => removeTempProjects());

/** A port of 127.0.0.1 that nothing listens on (free a moment ago, and nobody here binds it). */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('memory with its Redis down', () => {
  it('works on L1 and the database, and its status says it is degraded', async () => {
    const redisUrl = `redis://127.0.0.1:${await closedPort()}`;
    const { colony, cleanup } = await tempColony({ memory: { redisUrl } });
    cleanups.push(cleanup);
    const memory = await colony.memory();
    await memory.store('notes', 'k', { v: 1 }, { tags: ['t'] });
    expect((await memory.retrieve('notes', 'k'))?.value).toEqual({ v: 1 });
    await memory.store('notes', 'k', { v: 2 });
    expect((await memory.retrieve('notes', 'k'))?.value).toEqual({ v: 2 });
    expect((await memory.search('notes', { namespace: 'notes' })).hits.length).toBeGreaterThanOrEqual(0);

    const status = await colony.memoryStatus();
    expect(status).toMatchObject({ tiers: ['L1', 'L3'], degraded: true, redis: { healthy: false } });
    expect(status.redis?.description).toContain(`127.0.0.1:${new URL(redisUrl).port}`);
    expect(status.summary).toMatch(/DEGRADED.*L1 and the database/);
  });

  it('is labelled degraded while its Redis is down and healthy again once it is back', async () => {
    const redis = await TestRedisServer.start();
    cleanups.push(() => redis.stop());
    const { colony, cleanup } = await tempColony({ memory: { redisUrl: redis.url } });
    cleanups.push(cleanup);
    const memory = await colony.memory();
    await eventually(async () => ((await colony.memoryStatus()).degraded ? undefined : true));
    expect(await colony.memoryStatus()).toMatchObject({ tiers: ['L1', 'L2', 'L3'], degraded: false, redis: { healthy: true } });

    await redis.stop();
    await eventually(async () => ((await colony.memoryStatus()).degraded ? true : undefined));
    // Writes and reads go on without it.
    await memory.store('notes', 'during', 'outage');
    expect((await memory.retrieve('notes', 'during'))?.value).toBe('outage');

    await redis.start();
    const back = await eventually(async () => {
      const status = await colony.memoryStatus();
      return status.degraded ? undefined : status;
    });
    expect(back.tiers).toEqual(['L1', 'L2', 'L3']);
    expect((await memory.retrieve('notes', 'during'))?.value).toBe('outage');
  });

  it('GET /api/v2/system/status reports memory degraded, and /ready stays ready (the database answers)', async () => {
    const redisUrl = `redis://127.0.0.1:${await closedPort()}`;
    const api = await startApi({ memory: { redisUrl } });
    cleanups.push(() => api.close());
    const status = await api.request('GET', '/api/v2/system/status');
    expect(status.status).toBe(200);
    expect(status.json.memory as MemoryStatus).toMatchObject({ tiers: ['L1', 'L3'], degraded: true, redis: { healthy: false } });
    expect((await api.request('GET', '/ready')).status).toBe(200);
    expect((await api.request('GET', '/health')).status).toBe(200);
  });

  it('colony status says so, in text and --json; without a Redis configured it says that instead', async () => {
    const project = tempProject();
    // A database to report on.
    const { cleanup } = await tempColony({}, { dir: project.dir });
    await cleanup();
    const redisUrl = `redis://127.0.0.1:${await closedPort()}`;

    const down = await runJson<{ memory: MemoryStatus }>(['--json', 'status'], { cwd: project.dir, env: { COLONY_REDIS_URL: redisUrl } });
    expect(down.code).toBe(0);
    expect(down.data.memory).toMatchObject({ tiers: ['L1', 'L3'], degraded: true, redis: { healthy: false } });
    const text = await runCli(['status'], { cwd: project.dir, env: { COLONY_REDIS_URL: redisUrl } });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/memory +DEGRADED: redis 127\.0\.0\.1:\d+ does not answer; memory runs on L1 and the database/);

    const none = await runJson<{ memory: MemoryStatus }>(['--json', 'status'], { cwd: project.dir });
    expect(none.data.memory).toMatchObject({ tiers: ['L1', 'L3'], degraded: false, redis: null });
  });
});
