import type { TaskStore } from '../../src/ports/task-store.js';
import { beforeEach, describe, expect, it } from 'vitest';
import { emptyUsage, type SwarmRecord } from '../../src/domain/swarm.js';
import { useMigratedStore } from './use-migrated-store.js';
import type { SwarmStore } from '../../src/ports/swarm-store.js';
import type { EventLog } from '../../src/ports/event-log.js';
import { taskRecord } from '../support/task-fixtures.js';

export function swarmRecord(id: string, patch: Partial<SwarmRecord> = {}): SwarmRecord {
  return {
    id,
    name: `swarm ${id}`,
    objective: 'build something',
    topology: 'centralized',
    status: 'planning',
    config: {
      roster: [{ type: 'coder', count: 2 }],
      autoRoster: false,
      workers: 2,
      pools: null,
      limits: { maxAgents: 5, concurrency: 2, maxTokens: null, maxCostUsd: 1.5, deadline: null },
      provider: null,
      model: null,
      review: true,
      maxRevisions: 1,
      planSource: 'llm',
    },
    plan: null,
    progress: 0,
    result: null,
    error: null,
    usage: emptyUsage(),
    leaderAgentId: null,
    agentIds: [],
    runnerId: null,
    createdAt: 1_000,
    updatedAt: 1_000,
    startedAt: null,
    finishedAt: null,
    ...patch,
  };
}

/**
 * What the suite needs of a store: the port, `migrate` and `close` (a whole Store has them all). The
 * task methods serve one test, of the tasks of a swarm, which runs only with `{ tasks: true }` (the default).
 */
export type SwarmStoreHost = { swarms: SwarmStore; migrate(): Promise<void>; close(): Promise<void> } & { tasks?: Partial<Pick<TaskStore, 'insert' | 'list' | 'countByStatus'>>; events?: Pick<EventLog, 'list'> };

/** The SwarmStore port's conformance suite (Store.swarms); `create` gives a fresh, unmigrated store. */
export function runSwarmStoreConformance(
  name: string,
  create: () => Promise<{ store: SwarmStoreHost; cleanup: () => Promise<void> }>,
  options: { tasks?: boolean; events?: boolean } = {},
): void {
  describe(`SwarmStore conformance: ${name}`, () => {
    // useMigratedStore calls only migrate and close.
    const current = useMigratedStore(create);
    // Each test's own store (see useMigratedStore).
    let store: SwarmStoreHost;
    beforeEach(() => {
      store = current();
    });

    it('round-trips a swarm with its plan, result, usage and roster', async () => {
      const swarm = swarmRecord('swm_01', {
        plan: { summary: 's', tasks: [{ id: 'a', title: 'A', prompt: 'p', dependsOn: [], agentType: 'coder', affinity: 'eu' }], domains: [{ name: 'd', objective: 'o' }] },
        result: { summary: 'done', partial: false, tasks: [{ planTaskId: 'a', title: 'A', taskId: null, status: 'done', result: { x: [1, 'two', null] } }] },
        usage: { inputTokens: 10, outputTokens: 5, costUsd: null, calls: 2 },
        agentIds: ['agt_1', 'agt_2'],
        leaderAgentId: 'agt_1',
        runnerId: 'run_1',
        startedAt: 1_001,
        error: { code: 'x', message: 'y' },
      });
      await store.swarms.insert(swarm);
      expect(await store.swarms.get('swm_01')).toEqual(swarm);
      expect(await store.swarms.get('swm_missing')).toBeUndefined();
    });

    it('updates only when status and updatedAt still match (compare-and-set)', async () => {
      const swarm = swarmRecord('swm_01');
      await store.swarms.insert(swarm);
      const running = { ...swarm, status: 'running' as const, progress: 0.5, updatedAt: 2_000 };
      expect(await store.swarms.update(running, { status: 'planning', updatedAt: 1_000 })).toBe(true);
      expect(await store.swarms.update({ ...swarm, status: 'paused', updatedAt: 3_000 }, { status: 'planning', updatedAt: 1_000 })).toBe(false);
      expect(await store.swarms.update({ ...running, status: 'paused', updatedAt: 3_000 }, { status: 'running', updatedAt: 1_999 })).toBe(false);
      expect(await store.swarms.get('swm_01')).toEqual(running);
    });

    it.runIf(options.events ?? true)('writes the events of an update with it, and none when the update does not apply', async () => {
      const events = store.events;
      if (!events?.list) throw new Error('{ events: true } needs events.list');
      const swarm = swarmRecord('swm_01');
      await store.swarms.insert(swarm);
      const finished = (status: string) => ({ type: 'swarm.finished', source: 'swarm', data: { swarmId: 'swm_01', status }, correlationId: 'swm_01', timestamp: 2_000 });
      const done = { ...swarm, status: 'completed' as const, updatedAt: 2_000, finishedAt: 2_000 };
      expect(await store.swarms.update(done, { status: 'planning', updatedAt: 1_000 }, [finished('completed')])).toBe(true);
      // A stale expectation: neither the swarm nor the log changes.
      expect(await store.swarms.update({ ...done, status: 'failed', updatedAt: 3_000 }, { status: 'planning', updatedAt: 1_000 }, [finished('failed')])).toBe(false);
      expect((await store.swarms.get('swm_01'))?.status).toBe('completed');
      const logged = await events.list({ correlationId: 'swm_01' });
      expect(logged.map((e) => [e.type, (e.data as { status: string }).status])).toEqual([['swarm.finished', 'completed']]);
    });

    it('lists newest first with status and topology filters, counts, and finds ids by prefix', async () => {
      await store.swarms.insert(swarmRecord('swm_01', { createdAt: 1, status: 'completed' }));
      await store.swarms.insert(swarmRecord('swm_02', { createdAt: 2, topology: 'mesh' }));
      await store.swarms.insert(swarmRecord('swm_03', { createdAt: 3, status: 'running', topology: 'mesh' }));
      expect((await store.swarms.list({})).map((s) => s.id)).toEqual(['swm_03', 'swm_02', 'swm_01']);
      expect((await store.swarms.list({ status: ['planning', 'running'] })).map((s) => s.id)).toEqual(['swm_03', 'swm_02']);
      expect((await store.swarms.list({ topology: 'mesh', limit: 1, offset: 1 })).map((s) => s.id)).toEqual(['swm_02']);
      expect((await store.swarms.list({ status: [] })).length).toBe(0);
      expect(await store.swarms.count({ topology: 'mesh' })).toBe(2);
      expect(await store.swarms.findIdsByPrefix('swm_0', 10)).toEqual(['swm_01', 'swm_02', 'swm_03']);
    });

    it.runIf(options.tasks ?? true)('keeps a swarm\'s tasks findable by swarm id', async () => {
      const tasks = store.tasks;
      if (!tasks?.insert || !tasks.list || !tasks.countByStatus) throw new Error('{ tasks: true } needs tasks.insert, tasks.list and tasks.countByStatus');
      await store.swarms.insert(swarmRecord('swm_01'));
      await tasks.insert([taskRecord('tsk_01', { swarmId: 'swm_01', name: 'a' }), taskRecord('tsk_02')]);
      expect((await tasks.list({ swarmId: 'swm_01' })).map((t) => t.id)).toEqual(['tsk_01']);
      expect((await tasks.countByStatus({ swarmId: 'swm_01' })).pending).toBe(1);
    });
  });
}
