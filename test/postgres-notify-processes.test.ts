import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createServer } from '../src/api/create-server.js';
import { createColony, type Colony } from '../src/app/colony.js';
import { startColonyProcess } from './support/colony-process.js';
import { useTestDatabase } from './support/postgres.js';
import { eventually, tempDir } from './support/temp-colony.js';

/**
 * Team mode wakes by notification, not by polling: real Colony processes (test/fixtures/colony-process.mjs,
 * on the built code) and a colony in this process share a PostgreSQL schema, with every poll set ten
 * minutes apart, so only a notification can make anything happen within the tests' (generous) waits.
 */

const place = useTestDatabase();
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Far beyond any wait of these tests: a poll this slow never fires during one. */
const NEVER_MS = 10 * 60_000;

async function schemaUrl(): Promise<string> {
  const schema = await place.freshSchema();
  cleanups.push(() => schema.drop());
  return schema.url;
}

/** A colony in this process on `url` that submits and reads; it runs nothing (it is not started). */
async function colonyOn(url: string): Promise<Colony> {
  const dir = tempDir('colony-pg-notify-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const colony = await createColony({ projectDir: dir, env: {}, config: { database: { url, poolSize: 4 }, log: { level: 'silent' }, tasks: { pollIntervalMs: NEVER_MS } } });
  cleanups.push(() => colony.close({ drainTimeoutMs: 0 }));
  colony.registerExecutor({ type: 'noop', execute: async ({ task }) => task.id });
  return colony;
}

/** A worker process on `url` whose task poll (and reconciliation) is ten minutes apart. */
async function workerOn(url: string): Promise<void> {
  const dir = tempDir('colony-pg-notify-proc-');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const worker = await startColonyProcess(cleanups, dir, url, { tasks: { pollIntervalMs: NEVER_MS } });
  cleanups.push(() => {
    if (worker.exitCode !== null) throw new Error(`the worker process exited early (${worker.exitCode})`);
  });
}

async function completed(colony: Colony, ids: readonly string[]): Promise<void> {
  await eventually(async () => {
    const tasks = await Promise.all(ids.map((id) => colony.tasks.get(id)));
    return tasks.every((t) => t.status === 'completed') || undefined;
  });
}

describe('notified task wake-ups on PostgreSQL', () => {
  it('a task submitted by a colony that runs nothing is run by a worker process, woken by notification', async () => {
    const url = await schemaUrl();
    await workerOn(url);
    const colony = await colonyOn(url);
    const [first] = await colony.tasks.submit([{ type: 'noop', name: 'first' }]);
    await completed(colony, [first!.id]);
    // Now certainly listening: a later batch is woken for too, not found by a poll.
    const batch = await colony.tasks.submit(Array.from({ length: 50 }, (_, i) => ({ type: 'noop', name: `t${i}` })));
    await completed(colony, batch.map((t) => t.id));
    const runners = new Set((await Promise.all([first!, ...batch].map((t) => colony.tasks.get(t.id)))).map((t) => t.runnerId));
    expect(runners.size).toBe(1);
  });
});

interface StreamEvent {
  id: number;
  type: string;
  data: { taskId: string };
}

describe('notified event streams on PostgreSQL', () => {
  it("a WebSocket client of this process's API receives another process's events, in order, once each", async () => {
    const url = await schemaUrl();
    const colony = await colonyOn(url);
    const server = await createServer(colony, { host: '127.0.0.1', port: 0, eventStream: { pollMs: NEVER_MS } });
    cleanups.push(() => server.close());
    const address = await server.listen();
    await workerOn(url);

    const received: StreamEvent[] = [];
    const ws = new WebSocket(`${address.events}?types=task.started,task.completed`);
    cleanups.push(() => ws.terminate());
    let subscribed = false;
    ws.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; event?: StreamEvent };
      if (message.type === 'subscribed') subscribed = true;
      if (message.type === 'event' && message.event) received.push(message.event);
    });
    await eventually(() => subscribed);

    const tasks = await colony.tasks.submit(Array.from({ length: 20 }, (_, i) => ({ type: 'noop', name: `t${i}` })));
    await completed(colony, tasks.map((t) => t.id));
    // Both events of every task, which only the worker process writes.
    await eventually(() => received.length >= 2 * tasks.length || undefined);

    const ids = received.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    const stored = await colony.events.list({ types: ['task.started', 'task.completed'], limit: 1_000 });
    expect(ids).toEqual(stored.map((e) => e.id));
    for (const task of tasks) {
      expect(received.filter((e) => e.data.taskId === task.id).map((e) => e.type)).toEqual(['task.started', 'task.completed']);
    }
  });
});
