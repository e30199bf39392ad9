import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import { LocalEventBus } from '../src/kernel/local-event-bus.js';
import type { EventBus, EventFilter, EventHandler } from '../src/ports/event-bus.js';
import { createLogger } from '../src/kernel/logger.js';
import type { ColonyEvent, ColonyEventMap, ColonyEventType } from '../src/domain/events.js';

const logger = createLogger('silent');
const T = 1_750_000_000_000;

/** Resolves once `predicate` holds, polling on macrotasks; fails the test after `turns` tries. */
async function until(predicate: () => boolean, turns = 2_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (predicate()) return;
    await new Promise((done) => setTimeout(done, 1));
  }
  throw new Error('condition not reached');
}

function created(taskId: string): ColonyEventMap['task.created'] {
  return { taskId, name: null, type: 'noop', priority: 50, workflowId: null, dependencies: [], status: 'queued' };
}

describe('EventBus', () => {
  let dir: string;
  let store: SqliteStore;
  let bus: EventBus;

  function newBus(bufferSize = 100): EventBus {
    let clock = T;
    return new LocalEventBus({ persist: (batch) => store.events.append(batch), logger, bufferSize, now: () => clock++ });
  }

  function collect(filter: EventFilter, target = bus): ColonyEvent[] {
    const seen: ColonyEvent[] = [];
    target.subscribe(filter, (event) => {
      seen.push(event);
    });
    return seen;
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'colony-bus-'));
    store = new SqliteStore({ path: join(dir, 'colony.db'), busyTimeoutMs: 5_000 });
    await store.migrate();
    bus = newBus();
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers a typed event with the id the store assigned and its correlation id', async () => {
    const seen = collect({});
    bus.publish('task.created', created('tsk_1'), { source: 'task-engine', correlationId: 'wf_1' });
    expect(seen).toEqual([]); // publish never delivers synchronously
    await bus.flush();

    expect(seen).toHaveLength(1);
    const event = seen[0] as ColonyEvent<'task.created'>;
    expect(event.type).toBe('task.created');
    expect(event.source).toBe('task-engine');
    expect(event.correlationId).toBe('wf_1');
    expect(event.timestamp).toBe(T);
    expect(event.data).toEqual(created('tsk_1'));
    expect(event.id).toBeGreaterThan(0);

    const [stored] = await store.events.list({});
    expect(stored).toEqual({ id: event.id, type: 'task.created', source: 'task-engine', data: created('tsk_1'), correlationId: 'wf_1', timestamp: T });
  });

  it('defaults the correlation id to null', async () => {
    const seen = collect({});
    bus.publish('colony.started', { runnerId: 'run_1', pid: 1 }, { source: 'colony' });
    await bus.flush();
    expect(seen[0]?.correlationId).toBeNull();
    expect((await store.events.list({}))[0]?.correlationId).toBeNull();
  });

  it('persists events in publish order and delivers them in that order', async () => {
    const seen = collect({});
    for (let i = 0; i < 50; i++) bus.publish('task.created', created(`tsk_${i}`), { source: 'test', correlationId: 'wf' });
    await bus.flush();
    // A second batch, published after the first was persisted.
    for (let i = 50; i < 60; i++) bus.publish('task.queued', { taskId: `tsk_${i}`, name: null }, { source: 'test', correlationId: 'wf' });
    await bus.flush();

    const stored = await store.events.list({ correlationId: 'wf' });
    expect(stored.map((e) => (e.data as { taskId: string }).taskId)).toEqual(Array.from({ length: 60 }, (_, i) => `tsk_${i}`));
    expect(seen.map((e) => e.id)).toEqual(stored.map((e) => e.id));
    const ids = seen.map((e) => e.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(new Set(ids).size).toBe(60);
  });

  it('filters by exact type, by prefix, by correlation id and by source', async () => {
    const exact = collect({ types: ['task.created'] });
    const prefix = collect({ types: ['task.*'] });
    const several = collect({ types: ['agent.spawned', 'workflow.*'] });
    const byCorrelation = collect({ correlationId: 'wf_a' });
    const bySource = collect({ source: 'agent-manager' });
    const combined = collect({ types: ['task.*'], correlationId: 'wf_b', source: 'scheduler' });
    const everything = collect({ types: [] });

    bus.publish('task.created', created('tsk_1'), { source: 'task-engine', correlationId: 'wf_a' });
    bus.publish('task.started', { taskId: 'tsk_1', name: null, type: 'noop', attempt: 1, agentId: null, runnerId: 'r' }, { source: 'scheduler', correlationId: 'wf_b' });
    bus.publish('agent.spawned', { agentId: 'agt_1', name: 'a', type: 'coder', capabilities: [] }, { source: 'agent-manager', correlationId: 'agt_1' });
    bus.publish('workflow.started', { workflowId: 'wf_a', name: 'w', tasks: 1, resumed: false }, { source: 'workflow', correlationId: 'wf_a' });
    bus.publish('task.completed', { taskId: 'tsk_1', name: null, attempt: 1, durationMs: 3 }, { source: 'task-engine', correlationId: 'wf_b' });
    await bus.flush();

    const types = (list: ColonyEvent[]) => list.map((e) => e.type);
    expect(types(exact)).toEqual(['task.created']);
    expect(types(prefix)).toEqual(['task.created', 'task.started', 'task.completed']);
    expect(types(several)).toEqual(['agent.spawned', 'workflow.started']);
    expect(types(byCorrelation)).toEqual(['task.created', 'workflow.started']);
    expect(types(bySource)).toEqual(['agent.spawned']);
    expect(types(combined)).toEqual(['task.started']);
    expect(types(everything)).toHaveLength(5);
  });

  it('does not treat a prefix as matching a longer word', async () => {
    const agentOnly = collect({ types: ['agent.*'] });
    bus.publish('agent.spawned', { agentId: 'a', name: 'a', type: 't', capabilities: [] }, { source: 's' });
    // An unknown type at runtime (events read back from other versions): `agent.*` must not match `agents.x`.
    bus.publish('agents.other' as 'agent.spawned', { agentId: 'b', name: 'b', type: 't', capabilities: [] }, { source: 's' });
    await bus.flush();
    expect(agentOnly.map((e) => e.type)).toEqual(['agent.spawned']);
  });

  it('is not held up by a subscriber that never finishes, which drops its oldest events past its buffer', async () => {
    const small = newBus(3);
    const stuckSeen: ColonyEvent[] = [];
    const stuck = small.subscribe({}, (event) => {
      stuckSeen.push(event);
      return new Promise<void>(() => undefined); // never resolves
    });
    const fast = collect({}, small);

    // One event per turn, so that the fast subscriber is never more than its buffer behind.
    for (let i = 0; i < 20; i++) {
      small.publish('task.queued', { taskId: `tsk_${i}`, name: null }, { source: 'test' });
      await until(() => fast.length === i + 1);
    }
    // The fast subscriber got everything although the stuck one has held its first event forever.
    expect(fast.map((e) => (e.data as { taskId: string }).taskId)).toEqual(Array.from({ length: 20 }, (_, i) => `tsk_${i}`));
    expect(stuckSeen).toHaveLength(1);
    // The stuck one holds 3 (its buffer) waiting; the 16 older ones were dropped and counted.
    expect(stuck.dropped).toBe(20 - 1 - 3);

    // Everything was persisted regardless.
    expect(await store.events.list({ types: ['task.queued'] })).toHaveLength(20);
    stuck.unsubscribe();
    await small.flush(); // with the stuck subscriber gone, flush completes
  });

  it('keeps the newest events for a slow subscriber and drops the oldest', async () => {
    const small = newBus(3);
    const slowSeen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((done) => {
      release = done;
    });
    const slow = small.subscribe({}, async (event) => {
      slowSeen.push((event.data as { taskId: string }).taskId);
      await gate;
    });
    for (let i = 0; i < 10; i++) small.publish('task.queued', { taskId: `tsk_${i}`, name: null }, { source: 'test' });
    await until(() => slowSeen.length === 1);
    release();
    await small.flush();
    // It saw one event it was handling plus the three newest; the rest were dropped.
    expect(slowSeen.length + slow.dropped).toBe(10);
    expect(slowSeen.slice(-3)).toEqual(['tsk_7', 'tsk_8', 'tsk_9']);
    expect(slow.dropped).toBeGreaterThan(0);
  });

  it('keeps delivering to others, and to the thrower, when a handler throws or rejects', async () => {
    let thrown = 0;
    const thrower: EventHandler = () => {
      thrown++;
      throw new Error('boom');
    };
    let rejected = 0;
    const rejecter: EventHandler = async () => {
      rejected++;
      throw new Error('async boom');
    };
    bus.subscribe({}, thrower);
    bus.subscribe({}, rejecter);
    const good = collect({});
    for (let i = 0; i < 5; i++) bus.publish('task.queued', { taskId: `tsk_${i}`, name: null }, { source: 'test' });
    await bus.flush();
    expect(good).toHaveLength(5);
    expect(thrown).toBe(5);
    expect(rejected).toBe(5);
  });

  it('stops delivery after unsubscribe', async () => {
    const seen: ColonyEvent[] = [];
    const sub = bus.subscribe({}, (event) => {
      seen.push(event);
    });
    bus.publish('task.queued', { taskId: 'tsk_1', name: null }, { source: 'test' });
    await bus.flush();
    sub.unsubscribe();
    bus.publish('task.queued', { taskId: 'tsk_2', name: null }, { source: 'test' });
    await bus.flush();
    expect(seen.map((e) => (e.data as { taskId: string }).taskId)).toEqual(['tsk_1']);
    sub.unsubscribe(); // twice is harmless
  });

  it('stops delivering queued events once unsubscribed mid-way', async () => {
    const seen: string[] = [];
    const sub = bus.subscribe({}, async (event) => {
      seen.push((event.data as { taskId: string }).taskId);
      if (seen.length === 2) sub.unsubscribe();
      await new Promise((done) => setTimeout(done, 1));
    });
    for (let i = 0; i < 10; i++) bus.publish('task.queued', { taskId: `tsk_${i}`, name: null }, { source: 'test' });
    await bus.flush();
    await new Promise((done) => setTimeout(done, 20));
    expect(seen).toEqual(['tsk_0', 'tsk_1']);
  });

  it('flush waits for persistence and for subscribers to finish handling', async () => {
    const handled: number[] = [];
    bus.subscribe({}, async (event) => {
      await new Promise((done) => setTimeout(done, 2));
      handled.push(event.id);
    });
    for (let i = 0; i < 5; i++) bus.publish('task.queued', { taskId: `tsk_${i}`, name: null }, { source: 'test' });
    expect(await store.events.list({})).toHaveLength(0); // nothing persisted yet: publish does not wait
    await bus.flush();
    expect(await store.events.list({})).toHaveLength(5);
    expect(handled).toHaveLength(5);
    expect(handled.every((id) => id > 0)).toBe(true);
    await bus.flush(); // nothing pending: resolves at once
  });

  it('still delivers live events when persistence fails', async () => {
    const failing = new LocalEventBus({ persist: () => Promise.reject(new Error('disk gone')), logger, bufferSize: 10 });
    const seen = collect({}, failing);
    failing.publish('task.queued', { taskId: 'tsk_1', name: null }, { source: 'test' });
    await failing.flush();
    expect(seen.map((e) => e.type)).toEqual(['task.queued']);

    // And a later batch, after the failure, is persisted normally again.
    const recovering = new LocalEventBus({
      persist: (() => {
        let calls = 0;
        return (batch) => (++calls === 1 ? Promise.reject(new Error('once')) : store.events.append(batch));
      })(),
      logger,
      bufferSize: 10,
    });
    const later = collect({}, recovering);
    recovering.publish('task.queued', { taskId: 'tsk_a', name: null }, { source: 'test' });
    await recovering.flush();
    recovering.publish('task.queued', { taskId: 'tsk_b', name: null }, { source: 'test' });
    await recovering.flush();
    expect(later).toHaveLength(2);
    expect(later[1]?.id).toBeGreaterThan(0);
    expect((await store.events.list({})).map((e) => (e.data as { taskId: string }).taskId)).toEqual(['tsk_b']);
  });

  it('numbers events locally when nothing persists them', async () => {
    const local = new LocalEventBus({ logger, bufferSize: 10 });
    const seen = collect({}, local);
    local.publish('task.queued', { taskId: 'a', name: null }, { source: 'test' });
    local.publish('task.queued', { taskId: 'b', name: null }, { source: 'test' });
    await local.flush();
    expect(seen.map((e) => e.id)).toEqual([1, 2]);
  });

  it('gives a subscriber that filters by types those types\' data, with no casts', async () => {
    const terminated: string[] = [];
    const finished: string[] = [];
    const tasks: ColonyEventType[] = [];
    const everything: ColonyEventType[] = [];

    // Exact types: the event is the union of those types, and `event.data` narrows with `event.type`.
    const sub = bus.subscribe({ types: ['agent.terminated'] }, (event) => event.data.agentId);
    bus.subscribe({ types: ['agent.terminated'] }, (event) => {
      expectTypeOf(event).toEqualTypeOf<ColonyEvent<'agent.terminated'>>();
      expectTypeOf(event.data).toEqualTypeOf<ColonyEventMap['agent.terminated']>();
      terminated.push(event.data.agentId);
    });
    bus.subscribe({ types: ['task.completed', 'task.failed'] }, (event) => {
      expectTypeOf(event.type).toEqualTypeOf<'task.completed' | 'task.failed'>();
      if (event.type === 'task.failed') {
        expectTypeOf(event.data).toEqualTypeOf<ColonyEventMap['task.failed']>();
        finished.push(`${event.data.taskId} failed, retry: ${event.data.willRetry}`);
      } else {
        expectTypeOf(event.data).toEqualTypeOf<ColonyEventMap['task.completed']>();
        finished.push(`${event.data.taskId} in ${event.data.durationMs} ms`);
      }
    });
    // A prefix: the union of the events it selects. No types, or types known only at run time: every event.
    bus.subscribe({ types: ['task.*'] }, (event) => {
      expectTypeOf(event).toEqualTypeOf<ColonyEvent<Extract<ColonyEventType, `task.${string}`>>>();
      tasks.push(event.type);
    });
    bus.subscribe({ correlationId: 'wf_1' }, (event) => {
      expectTypeOf(event).toEqualTypeOf<ColonyEvent>();
      everything.push(event.type);
    });
    const types: string[] = ['agent.terminated'];
    bus.subscribe({ types }, (event) => expectTypeOf(event).toEqualTypeOf<ColonyEvent>());
    // @ts-expect-error agent.terminated's data has no taskId
    bus.subscribe({ types: ['agent.terminated'] }, (event) => event.data.taskId);
    // @ts-expect-error task.* holds no agent event
    bus.subscribe({ types: ['task.*'] }, (event) => event.type === 'agent.terminated');

    const meta = { source: 'test', correlationId: 'wf_1' };
    bus.publish('agent.terminated', { agentId: 'agt_1', reason: 'done' }, meta);
    bus.publish('task.completed', { taskId: 'tsk_1', name: null, attempt: 1, durationMs: 12 }, meta);
    bus.publish('task.failed', { taskId: 'tsk_2', name: null, attempt: 1, error: { message: 'no', code: 'x', attempt: 1 }, willRetry: true, retryInMs: 5 }, meta);
    bus.publish('task.queued', { taskId: 'tsk_3', name: null }, meta);
    await bus.flush();
    expect(terminated).toEqual(['agt_1']);
    expect(finished).toEqual(['tsk_1 in 12 ms', 'tsk_2 failed, retry: true']);
    expect(tasks).toEqual(['task.completed', 'task.failed', 'task.queued']);
    expect(everything).toEqual(['agent.terminated', 'task.completed', 'task.failed', 'task.queued']);
    expect(sub.dropped).toBe(0);
  });
});
