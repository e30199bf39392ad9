import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../src/app/config.js';
import type { StoredEvent } from '../src/domain/events.js';
import type { TaskExecutor } from '../src/tasks/task-executor.js';
import { SlotHolders } from '../src/tasks/slot-holders.js';
import { TaskSlots, type LimitChange } from '../src/tasks/task-slots.js';
import { tempColony, type TempColony } from './support/temp-colony.js';

/**
 * Limits that hold work back are chosen from what they protect (shell tasks hold OS processes; an
 * agent run waits on I/O), and one that holds ready work back says so: `limit.reached` /
 * `limit.cleared` events and `limitsReached()` (what `colony status` and the status API show).
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function open(config: Parameters<typeof tempColony>[0] = {}): Promise<TempColony> {
  const t = await tempColony(config);
  cleanups.push(t.cleanup);
  return t;
}

/** A promise with its resolver, to hold executors until the test lets them go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition not met');
}

const executor = (type: string, concurrency?: number): TaskExecutor => ({ type, execute: async () => null, ...(concurrency === undefined ? {} : { concurrency }) });

describe('TaskSlots', () => {
  it('claims a limited type on its own, first, with its room, and only while it may have work', () => {
    const changes: LimitChange[] = [];
    const executors = new Map([
      ['shell', executor('shell', 2)],
      ['agent', executor('agent')],
      ['custom', executor('custom')],
    ]);
    const slots = new TaskSlots({ total: 10, executors, onLimit: (c) => changes.push(c) });
    const types = [...executors.keys()];
    // No wake-up yet: the limited type is not claimed.
    expect(slots.plan(new Map(), types).groups).toEqual([{ types: ['agent', 'custom'], limit: 10, limitedType: null }]);
    slots.wake();
    expect(slots.plan(new Map([['shell', 1], ['agent', 3]]), types).groups).toEqual([
      { types: ['shell'], limit: 1, limitedType: 'shell' },
      { types: ['agent', 'custom'], limit: 6, limitedType: null },
    ]);
    // A short claim of shell tasks: none left; not claimed again until the next wake-up.
    slots.claimed({ types: ['shell'], limit: 1, limitedType: 'shell' }, 0);
    expect(slots.plan(new Map(), types).groups.map((g) => g.limitedType)).toEqual([null]);
    // A wake-up naming other types leaves the limited type alone; one naming it claims it again.
    slots.hint(['agent', 'custom']);
    expect(slots.plan(new Map(), types).groups.map((g) => g.limitedType)).toEqual([null]);
    slots.hint(['shell']);
    expect(slots.plan(new Map(), types).groups.map((g) => g.limitedType)).toEqual(['shell', null]);
    // Every slot taken: nothing to claim.
    slots.wake();
    expect(slots.plan(new Map([['agent', 10]]), types)).toEqual({ free: 0, groups: [] });
    expect(changes).toEqual([]);
  });

  it('reports a limit once when it holds work back (slots full after a full claim), once when a claim comes back short', () => {
    const changes: LimitChange[] = [];
    const executors = new Map([
      ['shell', { ...executor('shell', 1), concurrencyKey: 'tasks.shellConcurrency' }],
      ['agent', executor('agent')],
    ]);
    const slots = new TaskSlots({ total: 3, executors, onLimit: (c) => changes.push(c) });
    const types = [...executors.keys()];
    slots.wake();
    // Full without a backlog: nothing is held back.
    slots.plan(new Map([['agent', 3]]), types);
    expect(changes).toEqual([]);
    slots.claimed({ types: ['agent'], limit: 2, limitedType: null }, 2);
    slots.claimed({ types: ['shell'], limit: 1, limitedType: 'shell' }, 1);
    slots.plan(new Map([['agent', 2], ['shell', 1]]), types);
    slots.plan(new Map([['agent', 2], ['shell', 1]]), types);
    expect(changes).toEqual([
      { limit: 'tasks.concurrency', value: 3, reached: true },
      { limit: 'tasks.shellConcurrency', value: 1, reached: true },
    ]);
    // A slot frees and the backlog takes it again: still held back, no new report.
    slots.claimed({ types: ['agent'], limit: 1, limitedType: null }, 1);
    slots.plan(new Map([['agent', 2], ['shell', 1]]), types);
    expect(changes).toHaveLength(2);
    slots.claimed({ types: ['agent'], limit: 1, limitedType: null }, 0);
    slots.claimed({ types: ['shell'], limit: 1, limitedType: 'shell' }, 0);
    expect(changes.slice(2)).toEqual([
      { limit: 'tasks.concurrency', value: 3, reached: false },
      { limit: 'tasks.shellConcurrency', value: 1, reached: false },
    ]);
  });
});

describe('SlotHolders', () => {
  it('counts each task once per type while it holds its slot, and a second release changes nothing', () => {
    const holders = new SlotHolders();
    holders.hold('t1', 'shell');
    holders.hold('t1', 'shell');
    holders.hold('t2', 'shell');
    holders.hold('t3', 'agent');
    expect(holders.total).toBe(3);
    expect([...holders.byType]).toEqual([
      ['shell', 2],
      ['agent', 1],
    ]);
    holders.release('t3');
    holders.release('t3');
    holders.release('unknown');
    expect(holders.total).toBe(2);
    expect([...holders.byType]).toEqual([['shell', 2]]);
    holders.release('t1');
    holders.release('t2');
    expect(holders.total).toBe(0);
    expect(holders.byType.size).toBe(0);
  });
});

describe('defaults', () => {
  it('run a thousand I/O-bound attempts at once, and shell tasks by the CPU count', () => {
    const config = defaultConfig('/tmp/project');
    expect(config.tasks.concurrency).toBe(1_000);
    expect(config.tasks.shellConcurrency).toBe(Math.max(2, availableParallelism() * 2));
  });
});

describe('limits in a colony', () => {
  it('tasks.concurrency holding work back is an event and shows in limitsReached(), until the backlog is gone', async () => {
    const { colony } = await open({ tasks: { concurrency: 2 } });
    const release = gate();
    let running = 0;
    let most = 0;
    colony.registerExecutor({
      type: 'hold',
      execute: async () => {
        most = Math.max(most, ++running);
        await release.promise;
        running--;
        return null;
      },
    });
    const seen: StoredEvent[] = [];
    colony.events.subscribe({ types: ['limit.*'] }, (event) => {
      seen.push(event as unknown as StoredEvent);
    });
    const tasks = await colony.tasks.submit(Array.from({ length: 6 }, (_, i) => ({ type: 'hold', name: `h${i}` })));
    await colony.start();
    await until(async () => (await colony.limitsReached()).length > 0);
    const [held] = await colony.limitsReached();
    expect(held).toMatchObject({ limit: 'tasks.concurrency', value: 2, provider: null, runner: { id: colony.runners.id, pid: process.pid } });
    expect(running).toBe(2);

    release.open();
    const done = await colony.tasks.waitFor(tasks.map((t) => t.id));
    expect(done.every((t) => t.status === 'completed')).toBe(true);
    expect(most).toBe(2);
    await until(() => seen.some((e) => e.type === 'limit.cleared'));
    expect(seen.map((e) => [e.type, (e.data as { limit: string }).limit])).toEqual([
      ['limit.reached', 'tasks.concurrency'],
      ['limit.cleared', 'tasks.concurrency'],
    ]);
    expect(await colony.limitsReached()).toEqual([]);
  });

  it('tasks.shellConcurrency bounds shell tasks alone: other tasks keep running beside them', async () => {
    const { colony } = await open({ tasks: { concurrency: 50, shellConcurrency: 1 }, sandbox: { mode: 'off' } });
    colony.registerExecutor({ type: 'quick', execute: async () => 'done' });
    const shells = await colony.tasks.submit(Array.from({ length: 4 }, (_, i) => ({ type: 'shell', name: `s${i}`, input: { command: 'echo hi' } })));
    const quick = await colony.tasks.submit(Array.from({ length: 20 }, (_, i) => ({ type: 'quick', name: `q${i}` })));
    await colony.start();
    const done = await colony.tasks.waitFor([...shells, ...quick].map((t) => t.id));
    expect(done.every((t) => t.status === 'completed')).toBe(true);

    // In the log's order, never two shell attempts at once.
    const shellIds = new Set(shells.map((t) => t.id));
    const log = await colony.events.list({ types: ['task.started', 'task.completed', 'task.failed'] });
    let inFlight = 0;
    let most = 0;
    for (const event of log) {
      const data = event.data as { taskId?: string };
      if (!data.taskId || !shellIds.has(data.taskId)) continue;
      inFlight += event.type === 'task.started' ? 1 : -1;
      most = Math.max(most, inFlight);
    }
    expect(most).toBe(1);
    const limits = async () =>
      (await colony.events.list({ types: ['limit.reached', 'limit.cleared'] })).map((e) => [e.type, (e.data as { limit: string }).limit]);
    expect(await limits()).toContainEqual(['limit.reached', 'tasks.shellConcurrency']);
    // Cleared by the claim after the last shell task, which finds none left.
    await until(async () => (await limits()).at(-1)?.[0] === 'limit.cleared');
    expect((await limits()).filter(([, limit]) => limit === 'tasks.shellConcurrency').at(-1)).toEqual(['limit.cleared', 'tasks.shellConcurrency']);
  });
});
