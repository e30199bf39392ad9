import { afterEach, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../src/domain/task.js';
import type { TaskExecutor } from '../src/tasks/task-executor.js';
import { delay, eventually, tempColony, type TempColony } from './support/temp-colony.js';

/**
 * A dependent that a completion here makes ready is taken by this runner in the completion's own
 * write (pending to running) when a slot is free and no queued work waits for one; otherwise it is
 * queued for a claim, which takes work in priority order. Real colonies on real SQLite files.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
});

async function colonyWith(config: Parameters<typeof tempColony>[0], options?: Parameters<typeof tempColony>[1]): Promise<TempColony> {
  const t = await tempColony(config, options);
  cleanups.push(t.cleanup);
  return t;
}

/** Records the order tasks start in; a task named in `gates` waits until that gate is opened. */
function recorder(gates: string[] = []) {
  const started: string[] = [];
  const opens = new Map<string, () => void>();
  const waits = new Map(gates.map((name) => [name, new Promise<void>((resolve) => opens.set(name, resolve))]));
  const executor: TaskExecutor = {
    type: 'note',
    async execute({ task }) {
      started.push(task.name ?? task.id);
      await waits.get(task.name ?? '');
      return task.name;
    },
  };
  return { started, executor, open: (name: string) => opens.get(name)?.() };
}

/** A started colony running "gate" (held until opened) with "after" depending on it; returns once "gate" has started. */
async function gatedPair(t: TempColony): Promise<{ r: ReturnType<typeof recorder>; gate: TaskRecord; after: TaskRecord }> {
  const r = recorder(['gate']);
  t.colony.registerExecutor(r.executor);
  await t.colony.start();
  const [gate, after] = await t.colony.tasks.submit([
    { type: 'note', name: 'gate' },
    { type: 'note', name: 'after', dependencies: ['gate'] },
  ]);
  await eventually(() => r.started.includes('gate'));
  return { r, gate: gate as TaskRecord, after: after as TaskRecord };
}

/** The ids the store's claim statement hands out, as the colony's queue calls it. */
function claimsOf(t: TempColony): string[] {
  const claimed: string[] = [];
  const tasks = t.colony.store.tasks;
  const claimReady = tasks.claimReady.bind(tasks);
  tasks.claimReady = async (query) => {
    const taken = await claimReady(query);
    claimed.push(...taken.map((task) => task.id));
    return taken;
  };
  return claimed;
}

describe('dependents handed on by the completion that makes them ready', () => {
  it('a chain runs step after step without a claim: each step starts in its predecessor’s write, and its events still say queued, then started', async () => {
    const t = await colonyWith({ tasks: { concurrency: 4 } });
    const r = recorder();
    t.colony.registerExecutor(r.executor);
    const claimed = claimsOf(t);
    const tasks = await t.colony.tasks.submit([
      { type: 'note', name: 'a' },
      { type: 'note', name: 'b', dependencies: ['a'] },
      { type: 'note', name: 'c', dependencies: ['b'] },
    ]);
    await t.colony.start();
    const done = await t.colony.tasks.waitFor(tasks.map((task) => task.id));
    expect(r.started).toEqual(['a', 'b', 'c']);
    expect(done.map((task) => [task.status, task.attempts, task.result])).toEqual([
      ['completed', 1, 'a'],
      ['completed', 1, 'b'],
      ['completed', 1, 'c'],
    ]);
    // Only the root went through the claim statement.
    expect(claimed).toEqual([tasks[0]!.id]);
    const runnerIds = new Set(done.map((task) => task.runnerId));
    expect(runnerIds.size).toBe(1);
    await t.colony.events.flush();
    for (const task of tasks.slice(1)) {
      const stored = await t.colony.store.events.list({ correlationId: task.id });
      expect(stored.map((e) => e.type)).toEqual(['task.created', 'task.queued', 'task.started', 'task.completed']);
      // The queued event names the runner that took it: no other runner is woken for it.
      expect(stored[1]?.data).toEqual({ taskId: task.id, name: task.name, takenBy: [...runnerIds][0] });
    }
  });

  it('a fan-out takes no more slots than are free: the rest are queued and claimed as slots free', async () => {
    const t = await colonyWith({ tasks: { concurrency: 3 } });
    let running = 0;
    let peak = 0;
    t.colony.registerExecutor({
      type: 'work',
      async execute({ task }) {
        running++;
        peak = Math.max(peak, running);
        await delay(task.name === 'root' ? 1 : 10);
        running--;
        return null;
      },
    });
    const claimed = claimsOf(t);
    const tasks = await t.colony.tasks.submit([
      { type: 'work', name: 'root' },
      ...Array.from({ length: 12 }, (_, i) => ({ type: 'work', name: `leaf${i}`, dependencies: ['root'] })),
    ]);
    await t.colony.start();
    const done = await t.colony.tasks.waitFor(tasks.map((task) => task.id));
    expect(done.every((task) => task.status === 'completed' && task.attempts === 1)).toBe(true);
    expect(peak).toBe(3);
    // The root's completion took three leaves (its own slot and the two idle ones); claims took the other nine.
    expect(claimed).toHaveLength(1 + 9);
  });

  it('queued work waiting for a slot goes first: the completion leaves its dependent to the claim, which takes the higher priority', async () => {
    const t = await colonyWith({ tasks: { concurrency: 2 } });
    const r = recorder(['a', 'c']);
    t.colony.registerExecutor(r.executor);
    await t.colony.start();
    // The root's completion takes a and c: both slots are held with no claim since.
    const tasks = await t.colony.tasks.submit([
      { type: 'note', name: 'root' },
      { type: 'note', name: 'a', dependencies: ['root'] },
      { type: 'note', name: 'c', dependencies: ['root'] },
      { type: 'note', name: 'b', dependencies: ['a'] },
    ]);
    await eventually(() => r.started.includes('a') && r.started.includes('c'));
    const [urgent] = await t.colony.tasks.submit([{ type: 'note', name: 'urgent', priority: 'critical' }]);
    await eventually(async () => (await t.colony.tasks.get(urgent!.id)).status === 'queued');
    r.open('a');
    await eventually(() => r.started.includes('b'));
    r.open('c');
    await t.colony.tasks.waitFor([...tasks, urgent!].map((task) => task.id));
    expect(r.started.slice(3)).toEqual(['urgent', 'b']);
  });

  it('a dependent revised by another process after this one read it runs as revised, once', async () => {
    const first = await colonyWith({ tasks: { concurrency: 2 } });
    const second = await colonyWith({}, { dir: first.dir });
    const { r, gate, after } = await gatedPair(first);
    // The first colony holds its copy of "after" from before this revision.
    const revised: TaskRecord = await second.colony.tasks.revise(after.id, { priority: 'critical' });
    expect(revised.priority).toBe(100);
    r.open('gate');
    const [, ran] = await first.colony.tasks.waitFor([gate.id, after.id]);
    expect(ran).toMatchObject({ status: 'completed', attempts: 1, priority: 100 });
    expect(r.started).toEqual(['gate', 'after']);
  });

  it('a completion while the engine drains takes nothing: its dependent is left queued for the next runner, no attempt counted', async () => {
    const t = await colonyWith({ tasks: { concurrency: 2 } });
    const { r, gate, after } = await gatedPair(t);
    const stopping = t.colony.stop({ drainTimeoutMs: 30_000 });
    r.open('gate');
    expect(await stopping).toEqual({ drained: true });
    expect(r.started).toEqual(['gate']);
    expect(await t.colony.tasks.get(gate.id)).toMatchObject({ status: 'completed' });
    expect(await t.colony.tasks.get(after.id)).toMatchObject({ status: 'queued', attempts: 0, runnerId: null });
  });
});
