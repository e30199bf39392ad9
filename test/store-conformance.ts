import { beforeEach, describe, expect, it } from 'vitest';
import type { AgentRecord } from '../src/domain/agent.js';
import { ColonyError } from '../src/domain/errors.js';
import { TASK_STATUSES, type TaskRecord } from '../src/domain/task.js';
import type { WorkflowRecord } from '../src/domain/workflow.js';
import type { JsonValue } from '../src/domain/json.js';
import type { MetricSample, NewAgentTurn, NewEvent, RunnerRecord, Store } from '../src/ports/store.js';
import { useMigratedStore } from './support/conformance-store.js';
import { T, taskRecord } from './support/task-fixtures.js';

/**
 * The Store port's conformance suite: every Store adapter runs it (SQLite now, PostgreSQL later).
 *
 * `create` returns a fresh, empty, not yet migrated store and a `cleanup` that disposes of it after
 * the store has been closed; the suite migrates it itself. Tests that need an id order rely on the
 * port's rule that "creation order" is id order (Colony's ids are time-sorted ULIDs).
 */
export function runStoreConformance(
  name: string,
  create: () => Promise<{ store: Store; cleanup: () => Promise<void> }>,
): void {
  describe(`Store conformance: ${name}`, () => {
    const current = useMigratedStore(create);
    // Each test's own store (see useMigratedStore).
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    describe('migrations', () => {
      it('is idempotent and reports a schema version', async () => {
        await store.migrate();
        await store.migrate();
        const version = await store.schemaVersion();
        expect(version).not.toBeNull();
        expect(typeof version).toBe('string');
        // The store still works after migrating again.
        await store.insertTasks([task('tsk_a')]);
        expect(await store.getTask('tsk_a')).toBeDefined();
      });
    });

    describe('tasks', () => {
      it('round-trips every field of a task and its dependencies', async () => {
        await store.insertWorkflow(workflow('wf_1'));
        await store.insertAgent(agent('agt_1'));
        const parent = task('tsk_parent', { status: 'completed', result: { ok: true }, completedAt: T + 5 });
        const full: TaskRecord = {
          id: 'tsk_full',
          name: 'build-step',
          type: 'shell',
          description: 'runs the build — with ünïcödé',
          status: 'failed',
          priority: 75,
          input: { command: 'make', args: ['-j', 4], nested: { flag: true, none: null, pi: 3.25 } },
          dependencies: ['tsk_parent', 'tsk_other'],
          parentId: 'tsk_parent',
          workflowId: 'wf_1',
          swarmId: null,
          requirements: { capabilities: ['code', 'test'], agentType: 'coder' },
          assignedAgent: 'agt_1',
          timeoutMs: 12_345,
          maxRetries: 3,
          maxAttempts: 4,
          attempts: 2,
          result: [1, 'two', { three: 3 }],
          error: { code: 'execution', message: 'exit code 2', attempt: 2 },
          runnerId: 'run_1',
          notBefore: T + 9_000,
          createdAt: T + 1,
          updatedAt: T + 2,
          startedAt: T + 3,
          completedAt: T + 4,
        };
        // Children listed before their parent: the adapter orders the batch itself.
        await store.insertTasks([full, parent, task('tsk_other')]);

        expect(await store.getTask('tsk_full')).toEqual(full);
        expect(await store.getTask('tsk_parent')).toEqual(parent);
        expect((await store.listDependents('tsk_parent')).sort()).toEqual(['tsk_full']);
        expect(await store.listDependents('tsk_other')).toEqual(['tsk_full']);
      });

      it('round-trips null JSON values and scalar inputs', async () => {
        const scalars = [
          task('tsk_1', { input: null }),
          task('tsk_2', { input: 'just a string', result: 0 }),
          task('tsk_3', { input: 42, result: false }),
          task('tsk_4', { input: [], result: {}, requirements: {} }),
        ];
        await store.insertTasks(scalars);
        for (const t of scalars) expect(await store.getTask(t.id)).toEqual(t);
      });

      it('inserts nothing from a batch holding a duplicate id', async () => {
        await store.insertTasks([task('tsk_existing')]);
        const error = await store.insertTasks([task('tsk_new1'), task('tsk_existing', { description: 'again' })]).catch((e: unknown) => e);
        expectColonyError(error, ['conflict', 'validation']);
        expect(await store.getTask('tsk_new1')).toBeUndefined();
        expect((await store.getTask('tsk_existing'))?.description).toBe('task tsk_existing');

        const dupInBatch = await store.insertTasks([task('tsk_dup'), task('tsk_dup')]).catch((e: unknown) => e);
        expectColonyError(dupInBatch, ['conflict', 'validation']);
        expect(await store.getTask('tsk_dup')).toBeUndefined();
        expect(await store.countTasks({})).toBe(1);
      });

      it('inserts nothing from a batch with a dependency on a missing task', async () => {
        const error = await store
          .insertTasks([task('tsk_a'), task('tsk_b', { dependencies: ['tsk_a'] }), task('tsk_c', { dependencies: ['tsk_missing'] })])
          .catch((e: unknown) => e);
        expectColonyError(error, ['conflict', 'validation']);
        expect(await store.countTasks({})).toBe(0);
        expect(await store.listDependents('tsk_a')).toEqual([]);

        const badParent = await store.insertTasks([task('tsk_d'), task('tsk_e', { parentId: 'tsk_nobody' })]).catch((e: unknown) => e);
        expectColonyError(badParent, ['conflict', 'validation']);
        expect(await store.countTasks({})).toBe(0);

        // A failed batch does not poison the next one.
        await store.insertTasks([task('tsk_a'), task('tsk_b', { dependencies: ['tsk_a'] })]);
        expect(await store.listDependents('tsk_a')).toEqual(['tsk_b']);
      });

      it('does not fail writes that are concurrent with a failing batch', async () => {
        await store.insertTasks([task('tsk_existing')]);
        const [bad, good] = await Promise.allSettled([
          store.insertTasks([task('tsk_x'), task('tsk_existing')]),
          store.insertTasks([task('tsk_y')]),
        ]);
        expect(bad.status).toBe('rejected');
        expect(good.status).toBe('fulfilled');
        expect(await store.getTask('tsk_x')).toBeUndefined();
        expect(await store.getTask('tsk_y')).toBeDefined();
      });

      it('updates a task only when status and attempts match (compare-and-set)', async () => {
        await store.insertAgent(agent('agt_1'));
        const original = task('tsk_1', { status: 'queued', attempts: 0 });
        await store.insertTasks([original]);

        const running: TaskRecord = {
          ...original,
          status: 'running',
          attempts: 1,
          priority: 90,
          assignedAgent: 'agt_1',
          runnerId: 'run_a',
          maxAttempts: 5,
          notBefore: T + 100,
          updatedAt: T + 10,
          startedAt: T + 10,
        };
        expect(await store.updateTask(running, { status: 'queued', attempts: 0 })).toBe(true);
        expect(await store.getTask('tsk_1')).toEqual(running);

        // Stale status: nothing written.
        const staleStatus: TaskRecord = { ...running, status: 'completed', result: 'late', completedAt: T + 20 };
        expect(await store.updateTask(staleStatus, { status: 'queued', attempts: 1 })).toBe(false);
        // Stale attempts: nothing written.
        const staleAttempts: TaskRecord = { ...running, status: 'failed', error: { code: 'x', message: 'y', attempt: 1 } };
        expect(await store.updateTask(staleAttempts, { status: 'running', attempts: 0 })).toBe(false);
        expect(await store.getTask('tsk_1')).toEqual(running);

        const completed: TaskRecord = { ...running, status: 'completed', result: { out: 'done' }, runnerId: null, completedAt: T + 30, updatedAt: T + 30 };
        expect(await store.updateTask(completed, { status: 'running', attempts: 1 })).toBe(true);
        expect(await store.getTask('tsk_1')).toEqual(completed);
      });

      it('returns false for an update of an unknown task', async () => {
        expect(await store.updateTask(task('tsk_ghost', { status: 'running' }), { status: 'pending', attempts: 0 })).toBe(false);
        expect(await store.getTask('tsk_ghost')).toBeUndefined();
      });

      it('lets exactly one of two concurrent updates with the same expectation win', async () => {
        const original = task('tsk_1', { status: 'queued' });
        await store.insertTasks([original]);
        const claims = ['run_a', 'run_b'].map((runnerId) =>
          store.updateTask({ ...original, status: 'running', attempts: 1, runnerId }, { status: 'queued', attempts: 0 }),
        );
        const outcomes = await Promise.all(claims);
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        const winner = outcomes[0] ? 'run_a' : 'run_b';
        const stored = await store.getTask('tsk_1');
        expect(stored?.runnerId).toBe(winner);
        expect(stored?.attempts).toBe(1);
      });

      it('returns undefined for an unknown task', async () => {
        expect(await store.getTask('tsk_nope')).toBeUndefined();
      });

      it('finds task ids by prefix, in id order, up to the limit', async () => {
        await store.insertTasks([task('tsk_abc1'), task('tsk_abc2'), task('tsk_abd1'), task('tsk_abc3'), task('other_abc')]);
        expect(await store.findTaskIdsByPrefix('tsk_abc', 10)).toEqual(['tsk_abc1', 'tsk_abc2', 'tsk_abc3']);
        expect(await store.findTaskIdsByPrefix('tsk_abc', 2)).toEqual(['tsk_abc1', 'tsk_abc2']);
        expect(await store.findTaskIdsByPrefix('tsk_ab', 10)).toEqual(['tsk_abc1', 'tsk_abc2', 'tsk_abc3', 'tsk_abd1']);
        expect(await store.findTaskIdsByPrefix('tsk_abd1', 10)).toEqual(['tsk_abd1']);
        expect(await store.findTaskIdsByPrefix('tsk_zzz', 10)).toEqual([]);
      });

      describe('listing and counting', () => {
        beforeEach(async () => {
          await store.insertWorkflow(workflow('wf_1'));
          await store.insertWorkflow(workflow('wf_2'));
          await store.insertAgent(agent('agt_1'));
          await store.insertTasks([
            task('tsk_01', { status: 'pending', type: 'shell', priority: 10, workflowId: 'wf_1' }),
            task('tsk_02', { status: 'queued', type: 'shell', priority: 90, workflowId: 'wf_1', parentId: 'tsk_01' }),
            task('tsk_03', { status: 'running', type: 'llm', priority: 50, workflowId: 'wf_2', parentId: 'tsk_01', assignedAgent: 'agt_1' }),
            task('tsk_04', { status: 'completed', type: 'llm', priority: 90, workflowId: 'wf_2' }),
            task('tsk_05', { status: 'failed', type: 'shell', priority: 30 }),
            task('tsk_06', { status: 'pending', type: 'noop', priority: 70 }),
          ]);
        });

        it('filters by a single status and by a list of statuses', async () => {
          expect(ids(await store.listTasks({ status: 'pending' }))).toEqual(['tsk_01', 'tsk_06']);
          expect(ids(await store.listTasks({ status: ['queued', 'running', 'failed'] }))).toEqual(['tsk_02', 'tsk_03', 'tsk_05']);
          expect(ids(await store.listTasks({ status: 'cancelled' }))).toEqual([]);
        });

        it('filters by type, workflow, parent and assigned agent, and combines filters', async () => {
          expect(ids(await store.listTasks({ type: 'llm' }))).toEqual(['tsk_03', 'tsk_04']);
          expect(ids(await store.listTasks({ workflowId: 'wf_1' }))).toEqual(['tsk_01', 'tsk_02']);
          expect(ids(await store.listTasks({ parentId: 'tsk_01' }))).toEqual(['tsk_02', 'tsk_03']);
          expect(ids(await store.listTasks({ assignedAgent: 'agt_1' }))).toEqual(['tsk_03']);
          expect(ids(await store.listTasks({ type: 'shell', status: ['pending', 'failed'] }))).toEqual(['tsk_01', 'tsk_05']);
          expect(ids(await store.listTasks({ workflowId: 'wf_2', status: 'completed' }))).toEqual(['tsk_04']);
        });

        it('orders by creation, newest first, or priority (highest first, ties by creation)', async () => {
          expect(ids(await store.listTasks({}))).toEqual(['tsk_01', 'tsk_02', 'tsk_03', 'tsk_04', 'tsk_05', 'tsk_06']);
          expect(ids(await store.listTasks({ order: 'created' }))).toEqual(['tsk_01', 'tsk_02', 'tsk_03', 'tsk_04', 'tsk_05', 'tsk_06']);
          expect(ids(await store.listTasks({ order: 'created_desc' }))).toEqual(['tsk_06', 'tsk_05', 'tsk_04', 'tsk_03', 'tsk_02', 'tsk_01']);
          expect(ids(await store.listTasks({ order: 'priority' }))).toEqual(['tsk_02', 'tsk_04', 'tsk_06', 'tsk_03', 'tsk_05', 'tsk_01']);
        });

        it('pages with limit and offset', async () => {
          expect(ids(await store.listTasks({ limit: 2 }))).toEqual(['tsk_01', 'tsk_02']);
          expect(ids(await store.listTasks({ limit: 2, offset: 2 }))).toEqual(['tsk_03', 'tsk_04']);
          expect(ids(await store.listTasks({ limit: 10, offset: 5 }))).toEqual(['tsk_06']);
          expect(ids(await store.listTasks({ limit: 10, offset: 6 }))).toEqual([]);
          expect(ids(await store.listTasks({ offset: 4 }))).toEqual(['tsk_05', 'tsk_06']);
          expect(ids(await store.listTasks({ order: 'priority', limit: 2, offset: 1 }))).toEqual(['tsk_04', 'tsk_06']);
          expect(ids(await store.listTasks({ status: 'pending', order: 'created_desc', limit: 1 }))).toEqual(['tsk_06']);
        });

        it('counts tasks with the same filters', async () => {
          expect(await store.countTasks({})).toBe(6);
          expect(await store.countTasks({ status: 'pending' })).toBe(2);
          expect(await store.countTasks({ status: ['pending', 'queued'] })).toBe(3);
          expect(await store.countTasks({ type: 'shell' })).toBe(3);
          expect(await store.countTasks({ workflowId: 'wf_2' })).toBe(2);
          expect(await store.countTasks({ parentId: 'tsk_01' })).toBe(2);
          expect(await store.countTasks({ type: 'nothing' })).toBe(0);
        });

        it('counts tasks by status with every status present', async () => {
          expect(await store.countTasksByStatus()).toEqual({ pending: 2, queued: 1, running: 1, completed: 1, failed: 1, cancelled: 0 });
          expect(await store.countTasksByStatus({ workflowId: 'wf_1' })).toEqual({
            pending: 1,
            queued: 1,
            running: 0,
            completed: 0,
            failed: 0,
            cancelled: 0,
          });
          const none = await store.countTasksByStatus({ workflowId: 'wf_none' });
          expect(Object.keys(none).sort()).toEqual([...TASK_STATUSES].sort());
          expect(Object.values(none).every((n) => n === 0)).toBe(true);
        });
      });

      it('counts zero of every status in an empty store', async () => {
        expect(await store.countTasksByStatus()).toEqual({ pending: 0, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 });
      });

      it('lists dependents of a task', async () => {
        await store.insertTasks([
          task('tsk_a'),
          task('tsk_b', { dependencies: ['tsk_a'] }),
          task('tsk_c', { dependencies: ['tsk_a', 'tsk_b'] }),
          task('tsk_d', { dependencies: ['tsk_b'] }),
        ]);
        expect((await store.listDependents('tsk_a')).sort()).toEqual(['tsk_b', 'tsk_c']);
        expect((await store.listDependents('tsk_b')).sort()).toEqual(['tsk_c', 'tsk_d']);
        expect(await store.listDependents('tsk_d')).toEqual([]);
        expect(await store.listDependents('tsk_unknown')).toEqual([]);
      });

      it('lists promotable and blocked pending tasks', async () => {
        await store.insertWorkflow(workflow('wf_1'));
        await store.insertTasks([
          task('tsk_done', { status: 'completed' }),
          task('tsk_wait', { status: 'running' }),
          task('tsk_fail', { status: 'failed' }),
          task('tsk_gone', { status: 'cancelled' }),
          task('tsk_p1', { dependencies: ['tsk_done'], workflowId: 'wf_1' }), // promotable
          task('tsk_p2', {}), // promotable: no dependencies
          task('tsk_p3', { dependencies: ['tsk_done', 'tsk_wait'] }), // waiting
          task('tsk_p4', { dependencies: ['tsk_done', 'tsk_fail'] }), // blocked
          task('tsk_p5', { dependencies: ['tsk_gone'], workflowId: 'wf_1' }), // blocked
          task('tsk_p6', { dependencies: ['tsk_wait', 'tsk_fail'] }), // blocked
          task('tsk_q1', { status: 'queued', dependencies: ['tsk_done'] }), // not pending
          task('tsk_q2', { status: 'queued', dependencies: ['tsk_fail'] }), // not pending
        ]);
        expect(ids(await store.listPromotableTasks({ limit: 100 }))).toEqual(['tsk_p1', 'tsk_p2']);
        expect(ids(await store.listPromotableTasks({ limit: 1 }))).toHaveLength(1);
        expect(ids(await store.listPromotableTasks({ workflowId: 'wf_1', limit: 100 }))).toEqual(['tsk_p1']);
        expect(ids(await store.listBlockedTasks({ limit: 100 }))).toEqual(['tsk_p4', 'tsk_p5', 'tsk_p6']);
        expect(ids(await store.listBlockedTasks({ limit: 2 }))).toHaveLength(2);
        expect(ids(await store.listBlockedTasks({ workflowId: 'wf_1', limit: 100 }))).toEqual(['tsk_p5']);

        // Completing the dependency promotes the waiting task.
        const wait = (await store.getTask('tsk_wait')) as TaskRecord;
        expect(await store.updateTask({ ...wait, status: 'completed' }, { status: 'running', attempts: 0 })).toBe(true);
        expect(ids(await store.listPromotableTasks({ limit: 100 }))).toEqual(['tsk_p1', 'tsk_p2', 'tsk_p3']);
      });
    });

    describe('workflows', () => {
      it('inserts, gets, finds by hash and status, updates status and lists', async () => {
        const a = workflow('wf_01', { definitionHash: 'h1', source: '/tmp/a.yaml' });
        const b = workflow('wf_02', { definitionHash: 'h1', status: 'completed', completedAt: T + 50 });
        const c = workflow('wf_03', { definitionHash: 'h2' });
        await store.insertWorkflow(a);
        await store.insertWorkflow(b);
        await store.insertWorkflow(c);

        expect(await store.getWorkflow('wf_01')).toEqual(a);
        expect(await store.getWorkflow('wf_nope')).toBeUndefined();
        expect(await store.findWorkflow({ definitionHash: 'h1', status: 'running' })).toEqual(a);
        expect(await store.findWorkflow({ definitionHash: 'h1', status: 'completed' })).toEqual(b);
        expect(await store.findWorkflow({ definitionHash: 'h1', status: 'failed' })).toBeUndefined();
        expect(await store.findWorkflow({ definitionHash: 'h9' })).toBeUndefined();
        expect((await store.findWorkflow({ definitionHash: 'h1' }))?.definitionHash).toBe('h1');

        await store.updateWorkflowStatus('wf_01', 'failed', T + 100);
        const failed = await store.getWorkflow('wf_01');
        expect(failed).toMatchObject({ status: 'failed', updatedAt: T + 100, completedAt: T + 100 });
        expect(await store.findWorkflow({ definitionHash: 'h1', status: 'running' })).toBeUndefined();

        // Resuming puts it back to running and clears completion.
        await store.updateWorkflowStatus('wf_01', 'running', T + 200);
        expect(await store.getWorkflow('wf_01')).toMatchObject({ status: 'running', updatedAt: T + 200, completedAt: null });

        expect(ids(await store.listWorkflows({ limit: 10 })).sort()).toEqual(['wf_01', 'wf_02', 'wf_03']);
        expect(ids(await store.listWorkflows({ status: 'running', limit: 10 })).sort()).toEqual(['wf_01', 'wf_03']);
        expect(ids(await store.listWorkflows({ status: 'completed', limit: 10 }))).toEqual(['wf_02']);
        expect(await store.listWorkflows({ limit: 2 })).toHaveLength(2);
      });

      it('refuses a duplicate workflow id', async () => {
        await store.insertWorkflow(workflow('wf_1'));
        expectColonyError(await store.insertWorkflow(workflow('wf_1', { name: 'other' })).catch((e: unknown) => e), ['conflict', 'validation']);
        expect((await store.getWorkflow('wf_1'))?.name).toBe('workflow wf_1');
      });
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
        await store.insertAgent(a);
        expect(await store.getAgent('agt_1')).toEqual(a);
        expect(await store.getAgent('agt_nope')).toBeUndefined();
        expectColonyError(await store.insertAgent(agent('agt_1')).catch((e: unknown) => e), ['conflict', 'validation']);
      });

      it('patches status and health compare-and-set on the status, and never once terminated', async () => {
        await store.insertAgent(agent('agt_1'));
        const paused = await store.patchAgent('agt_1', { status: 'paused', health: 'degraded' }, { status: 'idle' }, T + 5);
        expect(paused).toMatchObject({ status: 'paused', health: 'degraded', updatedAt: T + 5 });
        expect(await store.getAgent('agt_1')).toEqual(paused);
        // The stored status moved on: a patch made from the older copy changes nothing.
        expect(await store.patchAgent('agt_1', { status: 'terminated' }, { status: 'idle' }, T + 6)).toBeUndefined();
        expect((await store.getAgent('agt_1'))?.status).toBe('paused');

        const terminated = await store.patchAgent('agt_1', { status: 'terminated', terminatedAt: T + 10 }, { status: 'paused' }, T + 10);
        expect(terminated).toMatchObject({ status: 'terminated', terminatedAt: T + 10 });
        expect(await store.patchAgent('agt_1', { status: 'idle', terminatedAt: null }, { status: 'terminated' }, T + 20)).toBeUndefined();
        expect(await store.getAgent('agt_1')).toEqual(terminated);
        expect(await store.patchAgent('agt_unknown', { status: 'paused' }, { status: 'idle' }, T)).toBeUndefined();
      });

      it('resuming an agent that holds tasks makes it busy, not idle', async () => {
        await store.insertAgent(agent('agt_1', { maxConcurrency: 2 }));
        await store.claimAgentSlot('agt_1', 'tsk_1', T + 1);
        await store.patchAgent('agt_1', { status: 'paused' }, { status: 'busy' }, T + 2);
        expect(await store.patchAgent('agt_1', { status: 'idle' }, { status: 'paused' }, T + 3)).toMatchObject({ status: 'busy', currentTasks: ['tsk_1'] });
      });

      it('claims slots up to the agent\'s concurrency, once per task, and only from an idle or busy, not unhealthy agent', async () => {
        await store.insertAgent(agent('agt_1', { maxConcurrency: 2 }));
        expect(await store.claimAgentSlot('agt_1', 'tsk_1', T + 1)).toMatchObject({ status: 'busy', currentTasks: ['tsk_1'], updatedAt: T + 1 });
        expect(await store.claimAgentSlot('agt_1', 'tsk_1', T + 2)).toBeUndefined();
        expect(await store.claimAgentSlot('agt_1', 'tsk_2', T + 3)).toMatchObject({ currentTasks: ['tsk_1', 'tsk_2'] });
        expect(await store.claimAgentSlot('agt_1', 'tsk_3', T + 4)).toBeUndefined();
        expect((await store.getAgent('agt_1'))?.currentTasks).toEqual(['tsk_1', 'tsk_2']);

        await store.insertAgent(agent('agt_paused', { status: 'paused' }));
        await store.insertAgent(agent('agt_sick', { health: 'unhealthy' }));
        expect(await store.claimAgentSlot('agt_paused', 'tsk_1', T)).toBeUndefined();
        expect(await store.claimAgentSlot('agt_sick', 'tsk_1', T)).toBeUndefined();
        expect(await store.claimAgentSlot('agt_unknown', 'tsk_1', T)).toBeUndefined();
      });

      it('concurrent claims of the last slot: exactly one wins and no slot is lost', async () => {
        await store.insertAgent(agent('agt_1', { maxConcurrency: 1 }));
        const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => store.claimAgentSlot('agt_1', `tsk_${i}`, T + i)));
        const winners = claims.filter((c) => c !== undefined);
        expect(winners).toHaveLength(1);
        expect((await store.getAgent('agt_1'))?.currentTasks).toEqual(winners[0]?.currentTasks);
      });

      it('releases a slot with its outcome: the failure streak and health live in the store', async () => {
        const thresholds = { degraded: 2, unhealthy: 3 };
        await store.insertAgent(agent('agt_1', { maxConcurrency: 2 }));
        const fail = async (task: string) => {
          await store.claimAgentSlot('agt_1', task, T);
          return store.releaseAgentSlot('agt_1', task, 'failure', thresholds, T + 1);
        };
        expect(await fail('a')).toEqual({ agent: expect.objectContaining({ status: 'idle', health: 'healthy', currentTasks: [] }), previous: { status: 'busy', health: 'healthy' } });
        expect((await fail('b'))?.agent.health).toBe('degraded');
        // A lost process is nobody's failure; releasing a task the agent does not hold changes nothing.
        await store.claimAgentSlot('agt_1', 'c', T);
        await store.claimAgentSlot('agt_1', 'd', T);
        expect(await store.releaseAgentSlot('agt_1', 'c', 'lost', thresholds, T + 2)).toMatchObject({ agent: { status: 'busy', health: 'degraded', currentTasks: ['d'] } });
        expect(await store.releaseAgentSlot('agt_1', 'c', 'failure', thresholds, T + 3)).toBeUndefined();
        expect(await store.releaseAgentSlot('agt_1', 'd', 'lost', thresholds, T + 3)).toMatchObject({ agent: { status: 'idle', health: 'degraded' } });
        expect((await fail('e'))?.agent.health).toBe('unhealthy');
        expect(await store.claimAgentSlot('agt_1', 'f', T)).toBeUndefined();
        // Resuming clears the mark and the streak.
        await store.patchAgent('agt_1', { status: 'idle', health: 'healthy', resetFailures: true }, { status: 'idle' }, T + 4);
        expect((await fail('g'))?.agent.health).toBe('healthy');
        await store.claimAgentSlot('agt_1', 'h', T);
        expect(await store.releaseAgentSlot('agt_1', 'h', 'success', thresholds, T + 5)).toMatchObject({ agent: { health: 'healthy', status: 'idle' } });
      });

      it('inserts within a pool bound checked in the same statement', async () => {
        expect(await store.insertAgent(agent('agt_1'), { maxActive: 2 })).toBe(true);
        expect(await store.insertAgent(agent('agt_2'), { maxActive: 2 })).toBe(true);
        expect(await store.insertAgent(agent('agt_3'), { maxActive: 2 })).toBe(false);
        await store.patchAgent('agt_1', { status: 'terminated', terminatedAt: T }, { status: 'idle' }, T);
        const racing = await Promise.all([store.insertAgent(agent('agt_4'), { maxActive: 2 }), store.insertAgent(agent('agt_5'), { maxActive: 2 })]);
        expect(racing.filter(Boolean)).toHaveLength(1);
        expect(await store.countAgents({ excludeTerminated: true })).toBe(2);
      });

      it('lists agents with filters and pages, and counts them', async () => {
        await store.insertAgent(agent('agt_1', { type: 'coder', status: 'idle' }));
        await store.insertAgent(agent('agt_2', { type: 'coder', status: 'busy', currentTasks: ['t'] }));
        await store.insertAgent(agent('agt_3', { type: 'reviewer', status: 'paused' }));
        await store.insertAgent(agent('agt_4', { type: 'coder', status: 'terminated', terminatedAt: T }));
        await store.insertAgent(agent('agt_5', { type: 'tester', status: 'error' }));

        expect(ids(await store.listAgents({}))).toEqual(['agt_1', 'agt_2', 'agt_3', 'agt_4', 'agt_5']);
        expect(ids(await store.listAgents({ status: 'idle' }))).toEqual(['agt_1']);
        expect(ids(await store.listAgents({ status: ['idle', 'busy'] }))).toEqual(['agt_1', 'agt_2']);
        expect(ids(await store.listAgents({ type: 'coder' }))).toEqual(['agt_1', 'agt_2', 'agt_4']);
        expect(ids(await store.listAgents({ type: 'coder', excludeTerminated: true }))).toEqual(['agt_1', 'agt_2']);
        expect(ids(await store.listAgents({ excludeTerminated: true }))).toEqual(['agt_1', 'agt_2', 'agt_3', 'agt_5']);
        expect(ids(await store.listAgents({ limit: 2, offset: 1 }))).toEqual(['agt_2', 'agt_3']);
        expect(ids(await store.listAgents({ offset: 3 }))).toEqual(['agt_4', 'agt_5']);

        expect(await store.countAgents({})).toBe(5);
        expect(await store.countAgents({ excludeTerminated: true })).toBe(4);
        expect(await store.countAgents({ excludeTerminated: false })).toBe(5);
      });

      it('finds agent ids by prefix', async () => {
        for (const id of ['agt_aa1', 'agt_aa2', 'agt_ab1']) await store.insertAgent(agent(id));
        expect(await store.findAgentIdsByPrefix('agt_aa', 10)).toEqual(['agt_aa1', 'agt_aa2']);
        expect(await store.findAgentIdsByPrefix('agt_a', 2)).toEqual(['agt_aa1', 'agt_aa2']);
        expect(await store.findAgentIdsByPrefix('agt_ab1', 10)).toEqual(['agt_ab1']);
        expect(await store.findAgentIdsByPrefix('agt_b', 10)).toEqual([]);
      });
    });

    describe('events', () => {
      it('appends events in order with increasing ids', async () => {
        const first = await store.appendEvents([event('task.created', { n: 1 }), event('task.queued', { n: 2 })]);
        const second = await store.appendEvents([event('task.started', { n: 3 })]);
        const all = [...first, ...second];
        expect(all).toHaveLength(3);
        for (let i = 1; i < all.length; i++) expect(all[i] as number).toBeGreaterThan(all[i - 1] as number);
        expect(await store.appendEvents([])).toEqual([]);

        const stored = await store.listEvents({});
        expect(stored.map((e) => e.id)).toEqual(all);
        expect(stored[0]).toEqual({ id: all[0], type: 'task.created', source: 'test', data: { n: 1 }, correlationId: 'c1', timestamp: T });
      });

      it('keeps ids increasing across concurrent appends', async () => {
        const batches = await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendEvents([event('task.created', { i }), event('task.queued', { i })])));
        const flat = batches.flat();
        expect(new Set(flat).size).toBe(40);
        for (const batch of batches) expect(batch[1] as number).toBeGreaterThan(batch[0] as number);
        const stored = await store.listEvents({});
        expect(stored.map((e) => e.id)).toEqual([...flat].sort((a, b) => a - b));
      });

      it('lists events with afterId, types, correlationId, source, limit and newestFirst', async () => {
        const ids1 = await store.appendEvents([
          event('task.created', { n: 1 }, { correlationId: 'wf_a', source: 'task-engine' }),
          event('task.started', { n: 2 }, { correlationId: 'wf_a', source: 'scheduler' }),
          event('agent.spawned', { n: 3 }, { correlationId: null, source: 'agent-manager' }),
          event('task.completed', { n: 4 }, { correlationId: 'wf_b', source: 'scheduler' }),
          event('task.created', { n: 5 }, { correlationId: 'wf_b', source: 'task-engine' }),
        ]);
        const n = (list: { data: unknown }[]) => list.map((e) => (e.data as { n: number }).n);
        expect(n(await store.listEvents({ afterId: ids1[1] }))).toEqual([3, 4, 5]);
        expect(n(await store.listEvents({ types: ['task.created'] }))).toEqual([1, 5]);
        expect(n(await store.listEvents({ types: ['task.created', 'agent.spawned'] }))).toEqual([1, 3, 5]);
        expect(n(await store.listEvents({ types: [] }))).toEqual([1, 2, 3, 4, 5]);
        expect(n(await store.listEvents({ correlationId: 'wf_b' }))).toEqual([4, 5]);
        expect(n(await store.listEvents({ source: 'scheduler' }))).toEqual([2, 4]);
        expect(n(await store.listEvents({ limit: 2 }))).toEqual([1, 2]);
        expect(n(await store.listEvents({ newestFirst: true }))).toEqual([5, 4, 3, 2, 1]);
        expect(n(await store.listEvents({ newestFirst: true, limit: 2 }))).toEqual([5, 4]);
        expect(n(await store.listEvents({ afterId: ids1[0], types: ['task.created', 'task.started'], source: 'task-engine' }))).toEqual([5]);
        expect((await store.listEvents({ types: ['agent.spawned'] }))[0]?.correlationId).toBeNull();
      });
    });

    describe('metrics', () => {
      it('records and lists metrics with filters', async () => {
        await store.recordMetrics([
          metric('agent', 'agt_1', 'task.completed', 100, T, { taskId: 'tsk_1' }),
          metric('agent', 'agt_2', 'task.failed', 1, T + 10),
          metric('task', 'tsk_1', 'duration', 250.5, T + 20, { nested: { ok: true } }),
          metric('agent', 'agt_1', 'task.completed', 300, T + 30),
        ]);
        expect(await store.listMetrics({})).toHaveLength(4);
        expect(await store.listMetrics({ entityType: 'task' })).toEqual([metric('task', 'tsk_1', 'duration', 250.5, T + 20, { nested: { ok: true } })]);
        expect((await store.listMetrics({ entityId: 'agt_1' })).map((m) => m.value)).toEqual([100, 300]);
        expect((await store.listMetrics({ name: 'task.failed' })).map((m) => m.entityId)).toEqual(['agt_2']);
        expect((await store.listMetrics({ since: T + 10 })).map((m) => m.timestamp)).toEqual([T + 10, T + 20, T + 30]);
        expect((await store.listMetrics({ entityType: 'agent', limit: 2 })).map((m) => m.entityId)).toEqual(['agt_1', 'agt_2']);
        expect((await store.listMetrics({ entityType: 'agent', entityId: 'agt_1', name: 'task.completed', since: T + 1 })).map((m) => m.value)).toEqual([300]);
        expect((await store.listMetrics({ entityId: 'agt_1' }))[0]).toEqual(metric('agent', 'agt_1', 'task.completed', 100, T, { taskId: 'tsk_1' }));
      });

      it('aggregates agent track records from task outcomes', async () => {
        await store.recordMetrics([
          metric('agent', 'agt_1', 'task.completed', 100, T),
          metric('agent', 'agt_1', 'task.completed', 200, T),
          metric('agent', 'agt_1', 'task.completed', 600, T),
          metric('agent', 'agt_1', 'task.failed', 1, T),
          metric('agent', 'agt_2', 'task.failed', 1, T),
          metric('agent', 'agt_2', 'task.failed', 1, T),
          // Not outcomes, or not of an agent: ignored.
          metric('agent', 'agt_1', 'tokens', 5_000, T),
          metric('task', 'agt_1', 'task.completed', 9_999, T),
          metric('agent', 'agt_3', 'task.completed', 50, T),
        ]);
        const records = await store.agentTrackRecords(['agt_1', 'agt_2', 'agt_4']);
        expect(records.get('agt_1')).toEqual({ tasksCompleted: 3, tasksFailed: 1, meanDurationMs: 300 });
        expect(records.get('agt_2')).toEqual({ tasksCompleted: 0, tasksFailed: 2, meanDurationMs: null });
        expect(records.has('agt_3')).toBe(false); // not asked for
        const none = records.get('agt_4');
        expect(none === undefined || (none.tasksCompleted === 0 && none.tasksFailed === 0 && none.meanDurationMs === null)).toBe(true);
        expect((await store.agentTrackRecords([])).size).toBe(0);
      });
    });

    describe('agent transcripts', () => {
      it('appends turns and lists them in order, per task and per attempt', async () => {
        await store.insertTasks([task('tsk_1'), task('tsk_2')]);
        const first = await store.appendTurns([
          turn('tsk_1', 1, 0, 'system', [{ type: 'text', text: 'You are a coder.' }]),
          turn('tsk_1', 1, 0, 'user', [{ type: 'text', text: 'Fix the bug — ünïcödé' }]),
          turn('tsk_1', 1, 1, 'assistant', [
            { type: 'text', text: 'Reading it.' },
            { type: 'tool_use', id: 'tu_1', name: 'read_file', input: { path: 'a.ts', nested: [1, null, { x: true }] } },
          ], { usage: { inputTokens: 120, outputTokens: 30 }, model: 'claude-sonnet-4-5', provider: 'anthropic' }),
          turn('tsk_1', 1, 1, 'tool', [{ type: 'tool_result', toolUseId: 'tu_1', content: 'no such file', isError: true }]),
        ]);
        const second = await store.appendTurns([turn('tsk_1', 2, 0, 'user', [{ type: 'text', text: 'again' }]), turn('tsk_2', 1, 0, 'user', [{ type: 'text', text: 'other' }])]);
        expect(first).toHaveLength(4);
        const all = [...first, ...second];
        for (let i = 1; i < all.length; i++) expect(all[i] as number).toBeGreaterThan(all[i - 1] as number);
        expect(await store.appendTurns([])).toEqual([]);

        const listed = await store.listTurns({ taskId: 'tsk_1' });
        expect(listed.map((t) => t.id)).toEqual([...first, second[0]]);
        expect(listed[2]).toEqual({
          id: first[2],
          ...turn('tsk_1', 1, 1, 'assistant', [
            { type: 'text', text: 'Reading it.' },
            { type: 'tool_use', id: 'tu_1', name: 'read_file', input: { path: 'a.ts', nested: [1, null, { x: true }] } },
          ], { usage: { inputTokens: 120, outputTokens: 30 }, model: 'claude-sonnet-4-5', provider: 'anthropic' }),
        });
        expect(listed[3]?.content).toEqual([{ type: 'tool_result', toolUseId: 'tu_1', content: 'no such file', isError: true }]);
        expect(listed[0]?.usage).toBeNull();
        expect((await store.listTurns({ taskId: 'tsk_1', attempt: 1 })).map((t) => t.role)).toEqual(['system', 'user', 'assistant', 'tool']);
        expect((await store.listTurns({ taskId: 'tsk_1', attempt: 2 })).map((t) => t.id)).toEqual([second[0]]);
        expect(await store.listTurns({ taskId: 'tsk_1', attempt: 3 })).toEqual([]);
        expect(await store.listTurns({ taskId: 'tsk_unknown' })).toEqual([]);
      });

      it('refuses turns of an unknown task, writing none of the batch', async () => {
        await store.insertTasks([task('tsk_1')]);
        const error = await store
          .appendTurns([turn('tsk_1', 1, 0, 'user', [{ type: 'text', text: 'ok' }]), turn('tsk_ghost', 1, 0, 'user', [{ type: 'text', text: 'no' }])])
          .catch((e: unknown) => e);
        expectColonyError(error, ['conflict', 'validation', 'storage']);
        expect(await store.listTurns({ taskId: 'tsk_1' })).toEqual([]);
      });
    });

    describe('file journals', () => {
      it('saves, replaces, reads and deletes a task journal', async () => {
        await store.insertTasks([task('tsk_1'), task('tsk_2')]);
        expect(await store.getJournal('tsk_1')).toBeUndefined();
        const journal = { version: 1, entries: [{ kind: 'absent', path: '/w/new.txt', createdDirectories: [] }] };
        await store.saveJournal('tsk_1', journal, T);
        expect(await store.getJournal('tsk_1')).toEqual(journal);
        const bigger = { version: 1, entries: [...journal.entries, { kind: 'file', path: '/w/a.txt', bytes: 2, mode: 420, content: 'aGk=' }] };
        await store.saveJournal('tsk_1', bigger, T + 1);
        expect(await store.getJournal('tsk_1')).toEqual(bigger);
        expect(await store.getJournal('tsk_2')).toBeUndefined();

        await store.deleteJournal('tsk_1');
        expect(await store.getJournal('tsk_1')).toBeUndefined();
        await store.deleteJournal('tsk_1'); // no error when there is none
      });

      it('refuses a journal of an unknown task', async () => {
        const error = await store.saveJournal('tsk_ghost', { version: 1, entries: [] }, T).catch((e: unknown) => e);
        expectColonyError(error, ['conflict', 'validation', 'storage']);
        expect(await store.getJournal('tsk_ghost')).toBeUndefined();
      });
    });

    describe('agent messages', () => {
      it('delivers messages to the addressee, oldest first, and marks them read', async () => {
        await store.insertTasks([task('tsk_1')]);
        const a = await store.sendMessage({ fromAgent: 'agt_a', toAgent: 'agt_b', taskId: 'tsk_1', body: 'first — ü', createdAt: T });
        const b = await store.sendMessage({ fromAgent: 'agt_c', toAgent: 'agt_b', taskId: null, body: 'second', createdAt: T + 1 });
        await store.sendMessage({ fromAgent: 'agt_b', toAgent: 'agt_a', taskId: null, body: 'to a', createdAt: T + 2 });
        expect(a).toEqual({ id: a.id, fromAgent: 'agt_a', toAgent: 'agt_b', taskId: 'tsk_1', body: 'first — ü', createdAt: T, readAt: null });
        expect(b.id).toBeGreaterThan(a.id);

        // Peeking does not mark anything read.
        expect(await store.readInbox('agt_b', { limit: 10 })).toEqual([a, b]);
        expect(await store.readInbox('agt_b', { limit: 1 })).toEqual([a]);

        const read = await store.readInbox('agt_b', { limit: 1, markRead: true, readAt: T + 5 });
        expect(read).toEqual([{ ...a, readAt: T + 5 }]);
        expect(await store.readInbox('agt_b', { limit: 10, markRead: true, readAt: T + 6 })).toEqual([{ ...b, readAt: T + 6 }]);
        expect(await store.readInbox('agt_b', { limit: 10, markRead: true, readAt: T + 7 })).toEqual([]);
        expect((await store.readInbox('agt_a', { limit: 10 })).map((m) => m.body)).toEqual(['to a']);
        expect(await store.readInbox('agt_nobody', { limit: 10 })).toEqual([]);
      });

      it('hands each message to one of two concurrent readers', async () => {
        for (let i = 0; i < 6; i++) await store.sendMessage({ fromAgent: 'agt_a', toAgent: 'agt_b', taskId: null, body: `m${i}`, createdAt: T + i });
        const [x, y] = await Promise.all([
          store.readInbox('agt_b', { limit: 4, markRead: true, readAt: T + 10 }),
          store.readInbox('agt_b', { limit: 4, markRead: true, readAt: T + 11 }),
        ]);
        const bodies = [...(x ?? []), ...(y ?? [])].map((m) => m.body).sort();
        expect(bodies).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
      });

      it('refuses a message naming an unknown task', async () => {
        const error = await store.sendMessage({ fromAgent: 'agt_a', toAgent: 'agt_b', taskId: 'tsk_ghost', body: 'x', createdAt: T }).catch((e: unknown) => e);
        expectColonyError(error, ['conflict', 'validation', 'storage']);
        expect(await store.readInbox('agt_b', { limit: 10 })).toEqual([]);
      });
    });

    describe('runners', () => {
      it('upserts (updating the heartbeat), lists and deletes runners', async () => {
        const a = runner('run_a', { startedAt: T, heartbeatAt: T });
        const b = runner('run_b', { startedAt: T + 1, heartbeatAt: T + 1, kind: 'worker' });
        await store.upsertRunner(a);
        await store.upsertRunner(b);
        expect(await store.listRunners()).toEqual([a, b]);

        await store.upsertRunner({ ...a, heartbeatAt: T + 5_000 });
        const listed = await store.listRunners();
        expect(listed).toHaveLength(2);
        expect(listed.find((r) => r.id === 'run_a')).toEqual({ ...a, heartbeatAt: T + 5_000 });

        await store.deleteRunner('run_a');
        expect(await store.listRunners()).toEqual([b]);
        await store.deleteRunner('run_unknown'); // no error
        expect(await store.listRunners()).toEqual([b]);
      });

      it('lists running tasks held by runners and the runners holding tasks', async () => {
        await store.insertTasks([
          task('tsk_1', { status: 'running', runnerId: 'run_a', attempts: 1 }),
          task('tsk_2', { status: 'running', runnerId: 'run_b', attempts: 1 }),
          task('tsk_3', { status: 'running', runnerId: 'run_a', attempts: 1 }),
          task('tsk_4', { status: 'completed', runnerId: 'run_c', attempts: 1 }),
          task('tsk_5', { status: 'queued', runnerId: null }),
        ]);
        expect(ids(await store.listTasksHeldBy(['run_a']))).toEqual(['tsk_1', 'tsk_3']);
        expect(ids(await store.listTasksHeldBy(['run_a', 'run_b']))).toEqual(['tsk_1', 'tsk_2', 'tsk_3']);
        expect(await store.listTasksHeldBy(['run_c'])).toEqual([]);
        expect(await store.listTasksHeldBy([])).toEqual([]);
        expect((await store.listRunnerIdsHoldingTasks()).sort()).toEqual(['run_a', 'run_b']);

        const t2 = (await store.getTask('tsk_2')) as TaskRecord;
        await store.updateTask({ ...t2, status: 'completed' }, { status: 'running', attempts: 1 });
        expect(await store.listRunnerIdsHoldingTasks()).toEqual(['run_a']);
      });
    });
  });
}

// ---- fixtures ----


function task(id: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return taskRecord(id, overrides);
}

function workflow(id: string, overrides: Partial<WorkflowRecord> = {}): WorkflowRecord {
  return {
    id,
    name: `workflow ${id}`,
    source: null,
    definitionHash: `hash-${id}`,
    status: 'running',
    createdAt: T,
    updatedAt: T,
    completedAt: null,
    ...overrides,
  };
}

function agent(id: string, overrides: Partial<AgentRecord> = {}): AgentRecord {
  return {
    id,
    name: `agent-${id}`,
    type: 'coder',
    status: 'idle',
    health: 'healthy',
    capabilities: ['code'],
    config: {},
    currentTasks: [],
    maxConcurrency: 1,
    createdAt: T,
    updatedAt: T,
    terminatedAt: null,
    ...overrides,
  };
}

function event(type: string, data: NewEvent['data'], meta: { correlationId?: string | null; source?: string } = {}): NewEvent {
  return { type, source: meta.source ?? 'test', data, correlationId: meta.correlationId === undefined ? 'c1' : meta.correlationId, timestamp: T };
}

function metric(
  entityType: string,
  entityId: string,
  name: string,
  value: number,
  timestamp: number,
  metadata: Record<string, JsonValue> | null = null,
): MetricSample {
  return { entityType, entityId, name, value, timestamp, metadata };
}

function turn(
  taskId: string,
  attempt: number,
  n: number,
  role: NewAgentTurn['role'],
  content: NewAgentTurn['content'],
  extra: Partial<NewAgentTurn> = {},
): NewAgentTurn {
  return { taskId, agentId: 'agt_1', attempt, turn: n, role, content, usage: null, model: null, provider: null, createdAt: T + n, ...extra };
}

function runner(id: string, overrides: Partial<RunnerRecord> = {}): RunnerRecord {
  return { id, pid: 4242, hostname: 'test-host', kind: 'run', startedAt: T, heartbeatAt: T, ...overrides };
}

function ids(records: readonly { id: string }[]): string[] {
  return records.map((r) => r.id);
}

function expectColonyError(error: unknown, codes: readonly string[]): void {
  expect(error).toBeInstanceOf(ColonyError);
  expect(codes).toContain((error as ColonyError).code);
}
