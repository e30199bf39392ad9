import { beforeEach, describe, expect, it } from 'vitest';
import type { AgentRecord } from '../../src/domain/agent.js';
import { T } from '../support/task-fixtures.js';
import type { Store } from '../../src/ports/store.js';
import { useMigratedStore } from './use-migrated-store.js';
import { task, agent, ids, expectColonyError } from './store-fixtures.js';

/**
 * The AgentStore port's conformance suite (agents: guarded insert, patch, slots and health): every Store adapter runs it. `create` returns a
 * fresh, empty, not yet migrated store (the whole Store: cases insert the rows other aggregates hold)
 * and a `cleanup` for after it is closed. Creation order is id order (Colony's ids are time-sorted).
 */
export function runAgentStoreConformance(name: string, create: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`AgentStore conformance: ${name}`, () => {
    const current = useMigratedStore(create);
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    describe('agents', () => {
      it('inserts and gets an agent with every field', async () => {
        const a = agent('agt_1', {
          capabilities: ['code', 'review'],
          config: { model: 'sonnet', temperature: 0.5, nested: { list: [1, 2] } },
          currentTasks: ['tsk_1', 'tsk_2'],
          status: 'busy',
          health: 'degraded',
          maxConcurrency: 3,
        });
        await store.agents.insert(a);
        expect(await store.agents.get('agt_1')).toEqual(a);
        expect(await store.agents.get('agt_nope')).toBeUndefined();
        expectColonyError(await store.agents.insert(agent('agt_1')).catch((e: unknown) => e), ['conflict', 'validation']);
      });

      it('patches status and health compare-and-set on the status, and never once terminated', async () => {
        await store.agents.insert(agent('agt_1'));
        const paused = await store.agents.patch('agt_1', { status: 'paused', health: 'degraded' }, { status: 'idle' }, T + 5);
        expect(paused).toMatchObject({ status: 'paused', health: 'degraded', updatedAt: T + 5 });
        expect(await store.agents.get('agt_1')).toEqual(paused);
        // The stored status moved on: a patch made from the older copy changes nothing.
        expect(await store.agents.patch('agt_1', { status: 'terminated' }, { status: 'idle' }, T + 6)).toBeUndefined();
        expect((await store.agents.get('agt_1'))?.status).toBe('paused');

        const terminated = await store.agents.patch('agt_1', { status: 'terminated', terminatedAt: T + 10 }, { status: 'paused' }, T + 10);
        expect(terminated).toMatchObject({ status: 'terminated', terminatedAt: T + 10 });
        expect(await store.agents.patch('agt_1', { status: 'idle', terminatedAt: null }, { status: 'terminated' }, T + 20)).toBeUndefined();
        expect(await store.agents.get('agt_1')).toEqual(terminated);
        expect(await store.agents.patch('agt_unknown', { status: 'paused' }, { status: 'idle' }, T)).toBeUndefined();
      });

      it('resuming an agent that holds tasks makes it busy, not idle', async () => {
        await store.agents.insert(agent('agt_1', { maxConcurrency: 2 }));
        await store.agents.claimSlot('agt_1', 'tsk_1', T + 1);
        await store.agents.patch('agt_1', { status: 'paused' }, { status: 'busy' }, T + 2);
        expect(await store.agents.patch('agt_1', { status: 'idle' }, { status: 'paused' }, T + 3)).toMatchObject({ status: 'busy', currentTasks: ['tsk_1'] });
      });

      it('claims slots up to the agent\'s concurrency, once per task, and only from an idle or busy, not unhealthy agent', async () => {
        await store.agents.insert(agent('agt_1', { maxConcurrency: 2 }));
        expect(await store.agents.claimSlot('agt_1', 'tsk_1', T + 1)).toMatchObject({ status: 'busy', currentTasks: ['tsk_1'], updatedAt: T + 1 });
        expect(await store.agents.claimSlot('agt_1', 'tsk_1', T + 2)).toBeUndefined();
        expect(await store.agents.claimSlot('agt_1', 'tsk_2', T + 3)).toMatchObject({ currentTasks: ['tsk_1', 'tsk_2'] });
        expect(await store.agents.claimSlot('agt_1', 'tsk_3', T + 4)).toBeUndefined();
        expect((await store.agents.get('agt_1'))?.currentTasks).toEqual(['tsk_1', 'tsk_2']);

        await store.agents.insert(agent('agt_paused', { status: 'paused' }));
        await store.agents.insert(agent('agt_sick', { health: 'unhealthy' }));
        expect(await store.agents.claimSlot('agt_paused', 'tsk_1', T)).toBeUndefined();
        expect(await store.agents.claimSlot('agt_sick', 'tsk_1', T)).toBeUndefined();
        expect(await store.agents.claimSlot('agt_unknown', 'tsk_1', T)).toBeUndefined();
      });

      it('concurrent claims of the last slot: exactly one wins and no slot is lost', async () => {
        await store.agents.insert(agent('agt_1', { maxConcurrency: 1 }));
        const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => store.agents.claimSlot('agt_1', `tsk_${i}`, T + i)));
        const winners = claims.filter((c) => c !== undefined);
        expect(winners).toHaveLength(1);
        expect((await store.agents.get('agt_1'))?.currentTasks).toEqual(winners[0]?.currentTasks);
      });

      describe('assigning an agent to a claimed task', () => {
        const running = (id: string, attempts = 1) => task(id, { status: 'running', attempts, maxAttempts: 3, runnerId: 'run_1', startedAt: T });

        it('takes a slot of the first candidate with one free and records that agent on the task, in one write', async () => {
          await store.agents.insert(agent('agt_full', { status: 'busy', currentTasks: ['tsk_other'] }));
          await store.agents.insert(agent('agt_paused', { status: 'paused' }));
          await store.agents.insert(agent('agt_sick', { health: 'unhealthy' }));
          await store.agents.insert(agent('agt_free'));
          await store.agents.insert(agent('agt_next'));
          await store.tasks.insert([task('tsk_other', { status: 'running', attempts: 1 }), running('tsk_1')]);
          const result = await store.tasks.assignAgent({ taskId: 'tsk_1', attempts: 1, agentIds: ['agt_full', 'agt_paused', 'agt_sick', 'agt_free', 'agt_next'], now: T + 9 });
          if (!('agent' in result)) throw new Error(`refused: ${result.refused}`);
          expect(result.agent).toMatchObject({ id: 'agt_free', status: 'busy', currentTasks: ['tsk_1'] });
          expect(result.task).toEqual({ ...running('tsk_1'), assignedAgent: 'agt_free', updatedAt: T + 9 });
          expect(await store.tasks.get('tsk_1')).toEqual(result.task);
          expect(await store.agents.get('agt_free')).toEqual(result.agent);
          expect((await store.agents.get('agt_next'))?.currentTasks).toEqual([]);
        });

        it('writes nothing when no candidate has a free slot, or the task is no longer that running attempt', async () => {
          await store.agents.insert(agent('agt_full', { status: 'busy', currentTasks: ['tsk_other'] }));
          await store.agents.insert(agent('agt_free'));
          await store.tasks.insert([task('tsk_other', { status: 'running', attempts: 1 }), running('tsk_1'), task('tsk_done', { status: 'completed', attempts: 1 })]);
          const before = await store.tasks.get('tsk_1');
          expect(await store.tasks.assignAgent({ taskId: 'tsk_1', attempts: 1, agentIds: ['agt_full'], now: T + 9 })).toEqual({ refused: 'no_free_agent' });
          expect(await store.tasks.assignAgent({ taskId: 'tsk_1', attempts: 1, agentIds: [], now: T + 9 })).toEqual({ refused: 'no_free_agent' });
          expect(await store.tasks.assignAgent({ taskId: 'tsk_1', attempts: 2, agentIds: ['agt_free'], now: T + 9 })).toEqual({ refused: 'task_changed' });
          expect(await store.tasks.assignAgent({ taskId: 'tsk_done', attempts: 1, agentIds: ['agt_free'], now: T + 9 })).toEqual({ refused: 'task_changed' });
          expect(await store.tasks.assignAgent({ taskId: 'tsk_unknown', attempts: 1, agentIds: ['agt_free'], now: T + 9 })).toEqual({ refused: 'task_changed' });
          expect(await store.tasks.get('tsk_1')).toEqual(before);
          expect((await store.agents.get('agt_free'))?.currentTasks).toEqual([]);
        });

        it('concurrent assignments over the same candidates: each task gets its own agent while slots last', async () => {
          await store.agents.insert(agent('agt_a'));
          await store.agents.insert(agent('agt_b', { maxConcurrency: 2 }));
          const ids = ['tsk_1', 'tsk_2', 'tsk_3', 'tsk_4', 'tsk_5'];
          await store.tasks.insert(ids.map((id) => running(id)));
          const results = await Promise.all(ids.map((taskId, i) => store.tasks.assignAgent({ taskId, attempts: 1, agentIds: ['agt_a', 'agt_b'], now: T + i })));
          const assigned = results.filter((r) => 'agent' in r);
          expect(assigned).toHaveLength(3);
          expect(results.filter((r) => !('agent' in r))).toEqual([{ refused: 'no_free_agent' }, { refused: 'no_free_agent' }]);
          const a = (await store.agents.get('agt_a')) as AgentRecord;
          const b = (await store.agents.get('agt_b')) as AgentRecord;
          expect(a.currentTasks).toHaveLength(1);
          expect(b.currentTasks).toHaveLength(2);
          for (const id of [...a.currentTasks, ...b.currentTasks]) expect((await store.tasks.get(id))?.assignedAgent).toBe(a.currentTasks.includes(id) ? 'agt_a' : 'agt_b');
        });
      });

      it('releases a slot with its outcome: the failure streak and health live in the store', async () => {
        const thresholds = { degraded: 2, unhealthy: 3 };
        await store.agents.insert(agent('agt_1', { maxConcurrency: 2 }));
        const fail = async (task: string) => {
          await store.agents.claimSlot('agt_1', task, T);
          return store.agents.releaseSlot('agt_1', task, 'failure', thresholds, T + 1);
        };
        expect(await fail('a')).toEqual({ agent: expect.objectContaining({ status: 'idle', health: 'healthy', currentTasks: [] }), previous: { status: 'busy', health: 'healthy' } });
        expect((await fail('b'))?.agent.health).toBe('degraded');
        // A lost process is nobody's failure; releasing a task the agent does not hold changes nothing.
        await store.agents.claimSlot('agt_1', 'c', T);
        await store.agents.claimSlot('agt_1', 'd', T);
        expect(await store.agents.releaseSlot('agt_1', 'c', 'lost', thresholds, T + 2)).toMatchObject({ agent: { status: 'busy', health: 'degraded', currentTasks: ['d'] } });
        expect(await store.agents.releaseSlot('agt_1', 'c', 'failure', thresholds, T + 3)).toBeUndefined();
        expect(await store.agents.releaseSlot('agt_1', 'd', 'lost', thresholds, T + 3)).toMatchObject({ agent: { status: 'idle', health: 'degraded' } });
        expect((await fail('e'))?.agent.health).toBe('unhealthy');
        expect(await store.agents.claimSlot('agt_1', 'f', T)).toBeUndefined();
        // Resuming clears the mark and the streak.
        await store.agents.patch('agt_1', { status: 'idle', health: 'healthy', resetFailures: true }, { status: 'idle' }, T + 4);
        expect((await fail('g'))?.agent.health).toBe('healthy');
        await store.agents.claimSlot('agt_1', 'h', T);
        expect(await store.agents.releaseSlot('agt_1', 'h', 'success', thresholds, T + 5)).toMatchObject({ agent: { health: 'healthy', status: 'idle' } });
      });

      it('inserts within a pool bound checked in the same statement', async () => {
        expect(await store.agents.insert(agent('agt_1'), { maxActive: 2 })).toBe(true);
        expect(await store.agents.insert(agent('agt_2'), { maxActive: 2 })).toBe(true);
        expect(await store.agents.insert(agent('agt_3'), { maxActive: 2 })).toBe(false);
        await store.agents.patch('agt_1', { status: 'terminated', terminatedAt: T }, { status: 'idle' }, T);
        const racing = await Promise.all([store.agents.insert(agent('agt_4'), { maxActive: 2 }), store.agents.insert(agent('agt_5'), { maxActive: 2 })]);
        expect(racing.filter(Boolean)).toHaveLength(1);
        expect(await store.agents.count({ excludeTerminated: true })).toBe(2);
      });

      it('lists agents with filters and pages, and counts them', async () => {
        await store.agents.insert(agent('agt_1', { type: 'coder', status: 'idle' }));
        await store.agents.insert(agent('agt_2', { type: 'coder', status: 'busy', currentTasks: ['t'] }));
        await store.agents.insert(agent('agt_3', { type: 'reviewer', status: 'paused' }));
        await store.agents.insert(agent('agt_4', { type: 'coder', status: 'terminated', terminatedAt: T }));
        await store.agents.insert(agent('agt_5', { type: 'tester', status: 'error' }));

        expect(ids(await store.agents.list({}))).toEqual(['agt_1', 'agt_2', 'agt_3', 'agt_4', 'agt_5']);
        expect(ids(await store.agents.list({ status: 'idle' }))).toEqual(['agt_1']);
        expect(ids(await store.agents.list({ status: ['idle', 'busy'] }))).toEqual(['agt_1', 'agt_2']);
        expect(ids(await store.agents.list({ type: 'coder' }))).toEqual(['agt_1', 'agt_2', 'agt_4']);
        expect(ids(await store.agents.list({ type: 'coder', excludeTerminated: true }))).toEqual(['agt_1', 'agt_2']);
        expect(ids(await store.agents.list({ excludeTerminated: true }))).toEqual(['agt_1', 'agt_2', 'agt_3', 'agt_5']);
        expect(ids(await store.agents.list({ limit: 2, offset: 1 }))).toEqual(['agt_2', 'agt_3']);
        expect(ids(await store.agents.list({ offset: 3 }))).toEqual(['agt_4', 'agt_5']);

        expect(await store.agents.count({})).toBe(5);
        expect(await store.agents.count({ excludeTerminated: true })).toBe(4);
        expect(await store.agents.count({ excludeTerminated: false })).toBe(5);
      });

      it('lists the agents with a free slot, as claimSlot judges them, narrowed to ids or a type', async () => {
        await store.agents.insert(agent('agt_1', { type: 'coder' }));
        await store.agents.insert(agent('agt_2', { type: 'coder', status: 'busy', currentTasks: ['t'] }));
        await store.agents.insert(agent('agt_3', { type: 'coder', status: 'busy', currentTasks: ['t'], maxConcurrency: 2 }));
        await store.agents.insert(agent('agt_4', { type: 'reviewer', capabilities: ['review'], config: { swarmId: 'swm_1' } }));
        await store.agents.insert(agent('agt_5', { type: 'coder', status: 'paused' }));
        await store.agents.insert(agent('agt_6', { type: 'coder', health: 'unhealthy' }));
        await store.agents.insert(agent('agt_7', { type: 'coder', health: 'degraded' }));
        await store.agents.insert(agent('agt_8', { type: 'coder', status: 'terminated', terminatedAt: T }));

        const free = await store.agents.listFree({});
        expect(ids(free)).toEqual(['agt_1', 'agt_3', 'agt_4', 'agt_7']);
        expect(free[1]).toEqual(await store.agents.get('agt_3'));
        expect(ids(await store.agents.listFree({ type: 'coder' }))).toEqual(['agt_1', 'agt_3', 'agt_7']);
        expect(ids(await store.agents.listFree({ ids: ['agt_7', 'agt_2', 'agt_4', 'agt_nope'] }))).toEqual(['agt_4', 'agt_7']);
        expect(ids(await store.agents.listFree({ ids: ['agt_4', 'agt_7'], type: 'coder' }))).toEqual(['agt_7']);
        expect(await store.agents.listFree({ ids: [] })).toEqual([]);

        // A slot taken or given back shows at once.
        await store.agents.claimSlot('agt_3', 'u', T + 1);
        await store.agents.releaseSlot('agt_2', 't', 'success', { degraded: 3, unhealthy: 5 }, T + 2);
        expect(ids(await store.agents.listFree({ type: 'coder' }))).toEqual(['agt_1', 'agt_2', 'agt_7']);
      });

      it('finds agent ids by prefix', async () => {
        for (const id of ['agt_aa1', 'agt_aa2', 'agt_ab1']) await store.agents.insert(agent(id));
        expect(await store.agents.findIdsByPrefix('agt_aa', 10)).toEqual(['agt_aa1', 'agt_aa2']);
        expect(await store.agents.findIdsByPrefix('agt_a', 2)).toEqual(['agt_aa1', 'agt_aa2']);
        expect(await store.agents.findIdsByPrefix('agt_ab1', 10)).toEqual(['agt_ab1']);
        expect(await store.agents.findIdsByPrefix('agt_b', 10)).toEqual([]);
      });
    });
  });
}
