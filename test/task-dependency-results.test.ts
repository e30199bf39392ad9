import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../src/domain/errors.js';
import type { JsonValue } from '../src/domain/json.js';
import { eventually, tempColony, tempDir, type TempColony } from './support/temp-colony.js';

/**
 * Values travel through a DAG: each executor receives what its dependencies produced, keyed by their
 * names (ids where a name is missing or shared), whether the dependency completed in this process or
 * in another one on the same database.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(dir?: string): Promise<TempColony> {
  const t = await tempColony({}, dir ? { dir } : {});
  cleanups.push(t.cleanup);
  return t;
}

describe('dependency results', () => {
  it('a 200-step chain adds 1 to its predecessor output at each step: the value travels through the engine', async () => {
    const { colony } = await open();
    colony.registerExecutor({
      type: 'add',
      execute: async ({ dependencies }) => {
        const values = Object.values(dependencies);
        return values.length === 0 ? 1 : (values[0] as number) + 1;
      },
    });
    const steps = Array.from({ length: 200 }, (_, i) => ({ type: 'add', name: `s${i}`, dependencies: i === 0 ? [] : [`s${i - 1}`] }));
    const tasks = await colony.tasks.submit(steps);
    await colony.start();
    const done = await colony.tasks.waitFor(tasks.map((t) => t.id));
    expect(done.map((t) => t.result)).toEqual(steps.map((_, i) => i + 1));
  });

  it('keys results by name, by id where a dependency has no name or shares it; a fan-in gets every branch', async () => {
    const { colony } = await open();
    const seen = new Map<string, Readonly<Record<string, JsonValue>>>();
    colony.registerExecutor({
      type: 'emit',
      execute: async ({ task }) => task.input,
    });
    colony.registerExecutor({
      type: 'join',
      execute: async ({ task, dependencies }) => {
        seen.set(task.name ?? task.id, dependencies);
        return Object.keys(dependencies).length;
      },
    });
    const branches = Array.from({ length: 50 }, (_, i) => ({ type: 'emit', name: `b${i}`, input: { value: i } }));
    const [a, unnamed, dup1] = await colony.tasks.submit([
      { type: 'emit', name: 'a', input: 'from a' },
      { type: 'emit', input: ['from', 'unnamed'] },
      { type: 'emit', name: 'dup', input: 1 },
    ]);
    // Names are unique within one submission, not across them.
    const [dup2] = await colony.tasks.submit([{ type: 'emit', name: 'dup', input: 2 }]);
    const submitted = await colony.tasks.submit([
      ...branches,
      { type: 'join', name: 'fan-in', dependencies: branches.map((b) => b.name) },
      { type: 'join', name: 'mixed', dependencies: [a?.id, unnamed?.id, dup1?.id, dup2?.id] as string[] },
      { type: 'join', name: 'none' },
    ]);
    await colony.start();
    await colony.tasks.waitFor(submitted.map((t) => t.id));

    expect(seen.get('fan-in')).toEqual(Object.fromEntries(branches.map((b, i) => [b.name, { value: i }])));
    expect(seen.get('mixed')).toEqual({ a: 'from a', [unnamed?.id as string]: ['from', 'unnamed'], [dup1?.id as string]: 1, [dup2?.id as string]: 2 });
    expect(seen.get('none')).toEqual({});
  });

  it('a dependency completed by another process on the same database is read from the store', async () => {
    const dir = tempDir('colony-dep-results-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const producer = await open(dir);
    const consumer = await open(dir);
    producer.colony.registerExecutor({ type: 'produce', execute: async () => ({ answer: 42 }) });
    let received: Readonly<Record<string, JsonValue>> | undefined;
    consumer.colony.registerExecutor({
      type: 'consume',
      execute: async ({ dependencies }) => {
        received = dependencies;
        return null;
      },
    });
    // Submitted by the consumer (it knows both types only as names: the producer runs `produce`).
    producer.colony.registerExecutor({ type: 'consume', execute: async () => 'the wrong process' });
    consumer.colony.registerExecutor({ type: 'produce', execute: async () => 'the wrong process' });
    const [p, c] = await consumer.colony.tasks.submit([
      { type: 'produce', name: 'p' },
      { type: 'consume', name: 'c', dependencies: ['p'] },
    ]);
    await producer.colony.start({ scope: { taskIds: [p?.id as string] } });
    await producer.colony.tasks.waitFor([p?.id as string]);
    await consumer.colony.start({ scope: { taskIds: [c?.id as string] } });
    const [done] = await consumer.colony.tasks.waitFor([c?.id as string]);
    expect(done?.status).toBe('completed');
    expect(received).toEqual({ p: { answer: 42 } });
  });

  it('reads a dependency completed elsewhere once per process, however many dependents it has', async () => {
    const dir = tempDir('colony-dep-results-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const producer = await open(dir);
    // One attempt at a time, so that each dependent's read comes after the one before it.
    const consumer = await tempColony({ tasks: { concurrency: 1 } }, { dir });
    cleanups.push(consumer.cleanup);
    producer.colony.registerExecutor({ type: 'produce', execute: async () => 7 });
    producer.colony.registerExecutor({ type: 'consume', execute: async () => 'the wrong process' });
    const received: JsonValue[] = [];
    consumer.colony.registerExecutor({
      type: 'consume',
      execute: async ({ dependencies }) => {
        received.push(dependencies.gate ?? null);
        return null;
      },
    });
    const [gate, ...dependents] = await producer.colony.tasks.submit([
      { type: 'produce', name: 'gate' },
      ...Array.from({ length: 20 }, (_, i) => ({ type: 'consume', name: `c${i}`, dependencies: ['gate'] })),
    ]);
    await producer.colony.start({ scope: { taskIds: [gate?.id as string] } });
    await producer.colony.tasks.waitFor([gate?.id as string]);
    // The producer promotes the dependents it does not run after the gate's commit: wait for that, so
    // that the consumer finds them queued (not pending, which it would check and promote itself, with
    // reads of its own that are not dependency results).
    await eventually(async () => (await producer.colony.tasks.list({ ids: dependents.map((t) => t.id) })).every((t) => t.status === 'queued'));
    const tasks = consumer.colony.store.tasks;
    const list = tasks.list.bind(tasks);
    let reads = 0;
    tasks.list = async (query) => {
      if (query.ids) reads += 1;
      return list(query);
    };
    await consumer.colony.start({ scope: { taskIds: dependents.map((t) => t.id) } });
    await consumer.colony.tasks.waitFor(dependents.map((t) => t.id));
    expect(received).toEqual(dependents.map(() => 7));
    expect(reads).toBe(1);
  });

  it('a read of the dependencies that meets a store restart is tried again, not counted as a failed attempt', async () => {
    const dir = tempDir('colony-dep-results-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const producer = await open(dir);
    const consumer = await open(dir);
    producer.colony.registerExecutor({ type: 'produce', execute: async () => 'made elsewhere' });
    producer.colony.registerExecutor({ type: 'consume', execute: async () => 'the wrong process' });
    let received: Readonly<Record<string, JsonValue>> | undefined;
    consumer.colony.registerExecutor({
      type: 'consume',
      execute: async ({ dependencies }) => {
        received = dependencies;
        return null;
      },
    });
    const [p, c] = await producer.colony.tasks.submit([
      { type: 'produce', name: 'p' },
      { type: 'consume', name: 'c', dependencies: ['p'] },
    ]);
    await producer.colony.start({ scope: { taskIds: [p?.id as string] } });
    await producer.colony.tasks.waitFor([p?.id as string]);
    // The consumer's store does not answer the first two reads by id (the database restarting).
    const tasks = consumer.colony.store.tasks;
    const list = tasks.list.bind(tasks);
    let refused = 0;
    tasks.list = async (query) => {
      if (query.ids && refused < 2) {
        refused += 1;
        throw new StoreUnavailableError('list tasks: the database is unavailable (the database system is shutting down)');
      }
      return list(query);
    };
    await consumer.colony.start({ scope: { taskIds: [c?.id as string] } });
    const [done] = await consumer.colony.tasks.waitFor([c?.id as string]);
    expect(refused).toBe(2);
    expect(done?.status).toBe('completed');
    expect(done?.attempts).toBe(1);
    expect(received).toEqual({ p: 'made elsewhere' });
    const failed = await consumer.colony.events.list({ types: ['task.failed'] });
    expect(failed.filter((e) => (e.data as { taskId?: string }).taskId === c?.id)).toEqual([]);
  });
});
