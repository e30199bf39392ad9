import { beforeEach, describe, expect, it } from 'vitest';
import { TASK_STATUSES } from '../../src/domain/task.js';
import type { ReadyTaskClaim } from '../../src/ports/store.js';
import { swarmRecord } from './swarm-store.js';
import type { TaskRecord } from '../../src/domain/task.js';
import { T } from '../support/task-fixtures.js';
import type { Store } from '../../src/ports/store.js';
import { useMigratedStore } from './use-migrated-store.js';
import { task, workflow, agent, ids, expectColonyError } from './store-fixtures.js';

/**
 * The TaskStore port's conformance suite (tasks: insert, compare-and-set, listing, promotion, claims and agent assignment): every Store adapter runs it. `create` returns a
 * fresh, empty, not yet migrated store (the whole Store: cases insert the rows other aggregates hold)
 * and a `cleanup` for after it is closed. Creation order is id order (Colony's ids are time-sorted).
 */
export function runTaskStoreConformance(name: string, create: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`TaskStore conformance: ${name}`, () => {
    const current = useMigratedStore(create);
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    describe('tasks', () => {
      it('lists and counts tasks by pool (null: unpooled ones), and a revision may change the pool', async () => {
        await store.tasks.insert([
          task('tsk_1', { status: 'queued', pool: 'eu' }),
          task('tsk_2', { status: 'queued' }),
          task('tsk_3', { status: 'pending', pool: 'eu' }),
          task('tsk_4', { status: 'queued', pool: 'us' }),
        ]);
        expect(ids(await store.tasks.list({ pool: 'eu' }))).toEqual(['tsk_1', 'tsk_3']);
        expect(ids(await store.tasks.list({ pool: null }))).toEqual(['tsk_2']);
        expect(await store.tasks.count({ status: 'queued', pool: 'eu' })).toBe(1);
        expect(await store.tasks.count({ status: 'queued', pool: null })).toBe(1);
        expect(await store.tasks.count({ pool: 'nowhere' })).toBe(0);

        const eu = (await store.tasks.get('tsk_1')) as TaskRecord;
        expect(await store.tasks.revise({ ...eu, pool: null, updatedAt: T + 1 }, { status: 'queued', attempts: 0, updatedAt: T })).toBe(true);
        expect(await store.tasks.get('tsk_1')).toEqual({ ...eu, pool: null, updatedAt: T + 1 });
        // Compare-and-set: a copy older than the revision changes nothing.
        expect(await store.tasks.revise({ ...eu, pool: 'us', updatedAt: T + 2 }, { status: 'queued', attempts: 0, updatedAt: T })).toBe(false);
        expect((await store.tasks.get('tsk_1'))?.pool).toBeNull();
      });

      it('round-trips every field of a task and its dependencies', async () => {
        await store.workflows.insert(workflow('wf_1'));
        await store.agents.insert(agent('agt_1'));
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
          pool: 'eu-west',
          traceParent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
          notBefore: T + 9_000,
          createdAt: T + 1,
          updatedAt: T + 2,
          startedAt: T + 3,
          completedAt: T + 4,
        };
        // Children listed before their parent: the adapter orders the batch itself.
        await store.tasks.insert([full, parent, task('tsk_other')]);

        expect(await store.tasks.get('tsk_full')).toEqual(full);
        expect(await store.tasks.get('tsk_parent')).toEqual(parent);
        expect((await store.tasks.listDependents('tsk_parent')).sort()).toEqual(['tsk_full']);
        expect(await store.tasks.listDependents('tsk_other')).toEqual(['tsk_full']);
        const edges = await store.tasks.listDependentEdges(['tsk_parent', 'tsk_other', 'tsk_full', 'tsk_nobody']);
        expect(edges.sort((a, b) => a.dependsOn.localeCompare(b.dependsOn))).toEqual([
          { taskId: 'tsk_full', dependsOn: 'tsk_other' },
          { taskId: 'tsk_full', dependsOn: 'tsk_parent' },
        ]);
        expect(await store.tasks.listDependentEdges([])).toEqual([]);
      });

      it('round-trips null JSON values and scalar inputs', async () => {
        const scalars = [
          task('tsk_1', { input: null }),
          task('tsk_2', { input: 'just a string', result: 0 }),
          task('tsk_3', { input: 42, result: false }),
          task('tsk_4', { input: [], result: {}, requirements: {} }),
        ];
        await store.tasks.insert(scalars);
        for (const t of scalars) expect(await store.tasks.get(t.id)).toEqual(t);
      });

      it('inserts nothing from a batch holding a duplicate id', async () => {
        await store.tasks.insert([task('tsk_existing')]);
        const error = await store.tasks.insert([task('tsk_new1'), task('tsk_existing', { description: 'again' })]).catch((e: unknown) => e);
        expectColonyError(error, ['conflict', 'validation']);
        expect(await store.tasks.get('tsk_new1')).toBeUndefined();
        expect((await store.tasks.get('tsk_existing'))?.description).toBe('task tsk_existing');

        const dupInBatch = await store.tasks.insert([task('tsk_dup'), task('tsk_dup')]).catch((e: unknown) => e);
        expectColonyError(dupInBatch, ['conflict', 'validation']);
        expect(await store.tasks.get('tsk_dup')).toBeUndefined();
        expect(await store.tasks.count({})).toBe(1);
      });

      it('inserts nothing from a batch with a dependency on a missing task', async () => {
        const error = await store
          .tasks.insert([task('tsk_a'), task('tsk_b', { dependencies: ['tsk_a'] }), task('tsk_c', { dependencies: ['tsk_missing'] })])
          .catch((e: unknown) => e);
        expectColonyError(error, ['conflict', 'validation']);
        expect(await store.tasks.count({})).toBe(0);
        expect(await store.tasks.listDependents('tsk_a')).toEqual([]);

        const badParent = await store.tasks.insert([task('tsk_d'), task('tsk_e', { parentId: 'tsk_nobody' })]).catch((e: unknown) => e);
        expectColonyError(badParent, ['conflict', 'validation']);
        expect(await store.tasks.count({})).toBe(0);

        // A failed batch does not poison the next one.
        await store.tasks.insert([task('tsk_a'), task('tsk_b', { dependencies: ['tsk_a'] })]);
        expect(await store.tasks.listDependents('tsk_a')).toEqual(['tsk_b']);
      });

      it('does not fail writes that are concurrent with a failing batch', async () => {
        await store.tasks.insert([task('tsk_existing')]);
        const [bad, good] = await Promise.allSettled([
          store.tasks.insert([task('tsk_x'), task('tsk_existing')]),
          store.tasks.insert([task('tsk_y')]),
        ]);
        expect(bad.status).toBe('rejected');
        expect(good.status).toBe('fulfilled');
        expect(await store.tasks.get('tsk_x')).toBeUndefined();
        expect(await store.tasks.get('tsk_y')).toBeDefined();
      });

      it('updates a task only when status and attempts match (compare-and-set)', async () => {
        await store.agents.insert(agent('agt_1'));
        const original = task('tsk_1', { status: 'queued', attempts: 0 });
        await store.tasks.insert([original]);

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
        expect(await store.tasks.update(running, { status: 'queued', attempts: 0 })).toBe(true);
        expect(await store.tasks.get('tsk_1')).toEqual(running);

        // Stale status: nothing written.
        const staleStatus: TaskRecord = { ...running, status: 'completed', result: 'late', completedAt: T + 20 };
        expect(await store.tasks.update(staleStatus, { status: 'queued', attempts: 1 })).toBe(false);
        // Stale attempts: nothing written.
        const staleAttempts: TaskRecord = { ...running, status: 'failed', error: { code: 'x', message: 'y', attempt: 1 } };
        expect(await store.tasks.update(staleAttempts, { status: 'running', attempts: 0 })).toBe(false);
        expect(await store.tasks.get('tsk_1')).toEqual(running);

        const completed: TaskRecord = { ...running, status: 'completed', result: { out: 'done' }, runnerId: null, completedAt: T + 30, updatedAt: T + 30 };
        expect(await store.tasks.update(completed, { status: 'running', attempts: 1 })).toBe(true);
        expect(await store.tasks.get('tsk_1')).toEqual(completed);
      });

      it('updateMany writes every change or none, and a change with updatedAt is fenced on it (a revised task is not overwritten)', async () => {
        const done = task('tsk_dep', { status: 'running', attempts: 1, updatedAt: T });
        const dependent = task('tsk_next', { status: 'pending', dependencies: ['tsk_dep'], updatedAt: T });
        await store.tasks.insert([done, dependent]);
        const completed: TaskRecord = { ...done, status: 'completed', result: 1, completedAt: T + 5, updatedAt: T + 5 };
        const claimed: TaskRecord = { ...dependent, status: 'running', attempts: 1, runnerId: 'run_a', startedAt: T + 5, updatedAt: T + 5 };
        // An operator revised the dependent after the copy was read: the fenced change fails, and the group with it.
        expect(await store.tasks.revise({ ...dependent, priority: 80, updatedAt: T + 1 }, { status: 'pending', attempts: 0, updatedAt: T })).toBe(true);
        const group = (fence: number) => [
          { next: completed, expected: { status: 'running' as const, attempts: 1 } },
          { next: { ...claimed, priority: 80 }, expected: { status: 'pending' as const, attempts: 0, updatedAt: fence } },
        ];
        expect(await store.tasks.updateMany(group(T))).toBe(false);
        expect((await store.tasks.get('tsk_dep'))?.status).toBe('running');
        expect((await store.tasks.get('tsk_next'))?.status).toBe('pending');
        // With the revision's time, both are written.
        expect(await store.tasks.updateMany(group(T + 1))).toBe(true);
        expect(await store.tasks.get('tsk_dep')).toEqual(completed);
        expect(await store.tasks.get('tsk_next')).toEqual({ ...claimed, priority: 80 });
      });

      it('returns false for an update of an unknown task', async () => {
        expect(await store.tasks.update(task('tsk_ghost', { status: 'running' }), { status: 'pending', attempts: 0 })).toBe(false);
        expect(await store.tasks.get('tsk_ghost')).toBeUndefined();
      });

      it('lets exactly one of two concurrent updates with the same expectation win', async () => {
        const original = task('tsk_1', { status: 'queued' });
        await store.tasks.insert([original]);
        const claims = ['run_a', 'run_b'].map((runnerId) =>
          store.tasks.update({ ...original, status: 'running', attempts: 1, runnerId }, { status: 'queued', attempts: 0 }),
        );
        const outcomes = await Promise.all(claims);
        expect(outcomes.filter(Boolean)).toHaveLength(1);
        const winner = outcomes[0] ? 'run_a' : 'run_b';
        const stored = await store.tasks.get('tsk_1');
        expect(stored?.runnerId).toBe(winner);
        expect(stored?.attempts).toBe(1);
      });

      it('returns undefined for an unknown task', async () => {
        expect(await store.tasks.get('tsk_nope')).toBeUndefined();
      });

      it('finds task ids by prefix, in id order, up to the limit', async () => {
        await store.tasks.insert([task('tsk_abc1'), task('tsk_abc2'), task('tsk_abd1'), task('tsk_abc3'), task('other_abc')]);
        expect(await store.tasks.findIdsByPrefix('tsk_abc', 10)).toEqual(['tsk_abc1', 'tsk_abc2', 'tsk_abc3']);
        expect(await store.tasks.findIdsByPrefix('tsk_abc', 2)).toEqual(['tsk_abc1', 'tsk_abc2']);
        expect(await store.tasks.findIdsByPrefix('tsk_ab', 10)).toEqual(['tsk_abc1', 'tsk_abc2', 'tsk_abc3', 'tsk_abd1']);
        expect(await store.tasks.findIdsByPrefix('tsk_abd1', 10)).toEqual(['tsk_abd1']);
        expect(await store.tasks.findIdsByPrefix('tsk_zzz', 10)).toEqual([]);
      });

      describe('listing and counting', () => {
        beforeEach(async () => {
          await store.workflows.insert(workflow('wf_1'));
          await store.workflows.insert(workflow('wf_2'));
          await store.agents.insert(agent('agt_1'));
          await store.tasks.insert([
            task('tsk_01', { status: 'pending', type: 'shell', priority: 10, workflowId: 'wf_1' }),
            task('tsk_02', { status: 'queued', type: 'shell', priority: 90, workflowId: 'wf_1', parentId: 'tsk_01' }),
            task('tsk_03', { status: 'running', type: 'llm', priority: 50, workflowId: 'wf_2', parentId: 'tsk_01', assignedAgent: 'agt_1' }),
            task('tsk_04', { status: 'completed', type: 'llm', priority: 90, workflowId: 'wf_2' }),
            task('tsk_05', { status: 'failed', type: 'shell', priority: 30 }),
            task('tsk_06', { status: 'pending', type: 'noop', priority: 70 }),
          ]);
        });

        it('filters by a single status and by a list of statuses', async () => {
          expect(ids(await store.tasks.list({ status: 'pending' }))).toEqual(['tsk_01', 'tsk_06']);
          expect(ids(await store.tasks.list({ status: ['queued', 'running', 'failed'] }))).toEqual(['tsk_02', 'tsk_03', 'tsk_05']);
          expect(ids(await store.tasks.list({ status: 'cancelled' }))).toEqual([]);
        });

        it('filters by a list of ids (an empty list: none), with the other filters', async () => {
          expect(ids(await store.tasks.list({ ids: ['tsk_05', 'tsk_02', 'tsk_missing'] }))).toEqual(['tsk_02', 'tsk_05']);
          expect(ids(await store.tasks.list({ ids: ['tsk_01', 'tsk_04', 'tsk_06'], status: 'pending' }))).toEqual(['tsk_01', 'tsk_06']);
          expect(await store.tasks.list({ ids: [] })).toEqual([]);
          expect(await store.tasks.count({ ids: ['tsk_03', 'tsk_04'], type: 'llm' })).toBe(2);
        });

        it('filters by type, workflow, parent and assigned agent, and combines filters', async () => {
          expect(ids(await store.tasks.list({ type: 'llm' }))).toEqual(['tsk_03', 'tsk_04']);
          expect(ids(await store.tasks.list({ workflowId: 'wf_1' }))).toEqual(['tsk_01', 'tsk_02']);
          expect(ids(await store.tasks.list({ parentId: 'tsk_01' }))).toEqual(['tsk_02', 'tsk_03']);
          expect(ids(await store.tasks.list({ assignedAgent: 'agt_1' }))).toEqual(['tsk_03']);
          expect(ids(await store.tasks.list({ type: 'shell', status: ['pending', 'failed'] }))).toEqual(['tsk_01', 'tsk_05']);
          expect(ids(await store.tasks.list({ workflowId: 'wf_2', status: 'completed' }))).toEqual(['tsk_04']);
        });

        it('finds tasks by text in their name or description, letter case ignored and LIKE wildcards taken literally', async () => {
          await store.tasks.insert([
            task('tsk_07', { name: 'Nightly_Build', description: 'compile everything' }),
            task('tsk_08', { name: null, description: 'ship 100% of the BUILD' }),
            task('tsk_09', { name: 'NightlyXBuild', description: 'a lookalike for the underscore' }),
          ]);
          expect(ids(await store.tasks.list({ text: 'build' }))).toEqual(['tsk_07', 'tsk_08', 'tsk_09']);
          expect(ids(await store.tasks.list({ text: 'y_b' }))).toEqual(['tsk_07']);
          expect(ids(await store.tasks.list({ text: '100%' }))).toEqual(['tsk_08']);
          expect(ids(await store.tasks.list({ text: 'EVERYTHING', status: 'pending' }))).toEqual(['tsk_07']);
          expect(await store.tasks.count({ text: 'build' })).toBe(3);
          expect(await store.tasks.count({ text: 'no such words' })).toBe(0);
        });

        it('orders by creation, newest first, or priority (highest first, ties by creation)', async () => {
          expect(ids(await store.tasks.list({}))).toEqual(['tsk_01', 'tsk_02', 'tsk_03', 'tsk_04', 'tsk_05', 'tsk_06']);
          expect(ids(await store.tasks.list({ order: 'created' }))).toEqual(['tsk_01', 'tsk_02', 'tsk_03', 'tsk_04', 'tsk_05', 'tsk_06']);
          expect(ids(await store.tasks.list({ order: 'created_desc' }))).toEqual(['tsk_06', 'tsk_05', 'tsk_04', 'tsk_03', 'tsk_02', 'tsk_01']);
          expect(ids(await store.tasks.list({ order: 'priority' }))).toEqual(['tsk_02', 'tsk_04', 'tsk_06', 'tsk_03', 'tsk_05', 'tsk_01']);
        });

        it('pages with limit and offset', async () => {
          expect(ids(await store.tasks.list({ limit: 2 }))).toEqual(['tsk_01', 'tsk_02']);
          expect(ids(await store.tasks.list({ limit: 2, offset: 2 }))).toEqual(['tsk_03', 'tsk_04']);
          expect(ids(await store.tasks.list({ limit: 10, offset: 5 }))).toEqual(['tsk_06']);
          expect(ids(await store.tasks.list({ limit: 10, offset: 6 }))).toEqual([]);
          expect(ids(await store.tasks.list({ offset: 4 }))).toEqual(['tsk_05', 'tsk_06']);
          expect(ids(await store.tasks.list({ order: 'priority', limit: 2, offset: 1 }))).toEqual(['tsk_04', 'tsk_06']);
          expect(ids(await store.tasks.list({ status: 'pending', order: 'created_desc', limit: 1 }))).toEqual(['tsk_06']);
        });

        it('counts tasks with the same filters', async () => {
          expect(await store.tasks.count({})).toBe(6);
          expect(await store.tasks.count({ status: 'pending' })).toBe(2);
          expect(await store.tasks.count({ status: ['pending', 'queued'] })).toBe(3);
          expect(await store.tasks.count({ type: 'shell' })).toBe(3);
          expect(await store.tasks.count({ workflowId: 'wf_2' })).toBe(2);
          expect(await store.tasks.count({ parentId: 'tsk_01' })).toBe(2);
          expect(await store.tasks.count({ type: 'nothing' })).toBe(0);
        });

        it('counts tasks by status with every status present', async () => {
          expect(await store.tasks.countByStatus()).toEqual({ pending: 2, queued: 1, running: 1, completed: 1, failed: 1, cancelled: 0 });
          expect(await store.tasks.countByStatus({ workflowId: 'wf_1' })).toEqual({
            pending: 1,
            queued: 1,
            running: 0,
            completed: 0,
            failed: 0,
            cancelled: 0,
          });
          const none = await store.tasks.countByStatus({ workflowId: 'wf_none' });
          expect(Object.keys(none).sort()).toEqual([...TASK_STATUSES].sort());
          expect(Object.values(none).every((n) => n === 0)).toBe(true);
        });
      });

      it('counts zero of every status in an empty store', async () => {
        expect(await store.tasks.countByStatus()).toEqual({ pending: 0, queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0 });
      });

      it('lists dependents of a task', async () => {
        await store.tasks.insert([
          task('tsk_a'),
          task('tsk_b', { dependencies: ['tsk_a'] }),
          task('tsk_c', { dependencies: ['tsk_a', 'tsk_b'] }),
          task('tsk_d', { dependencies: ['tsk_b'] }),
        ]);
        expect((await store.tasks.listDependents('tsk_a')).sort()).toEqual(['tsk_b', 'tsk_c']);
        expect((await store.tasks.listDependents('tsk_b')).sort()).toEqual(['tsk_c', 'tsk_d']);
        expect(await store.tasks.listDependents('tsk_d')).toEqual([]);
        expect(await store.tasks.listDependents('tsk_unknown')).toEqual([]);
      });

      it('lists promotable and blocked pending tasks', async () => {
        await store.workflows.insert(workflow('wf_1'));
        await store.tasks.insert([
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
        expect(ids(await store.tasks.listPromotable({ limit: 100 }))).toEqual(['tsk_p1', 'tsk_p2']);
        expect(ids(await store.tasks.listPromotable({ limit: 1 }))).toHaveLength(1);
        expect(ids(await store.tasks.listPromotable({ workflowId: 'wf_1', limit: 100 }))).toEqual(['tsk_p1']);
        expect(ids(await store.tasks.listBlocked({ limit: 100 }))).toEqual(['tsk_p4', 'tsk_p5', 'tsk_p6']);
        expect(ids(await store.tasks.listBlocked({ limit: 2 }))).toHaveLength(2);
        expect(ids(await store.tasks.listBlocked({ workflowId: 'wf_1', limit: 100 }))).toEqual(['tsk_p5']);

        // Only the dependents of some tasks: what their completion may have made ready.
        expect(ids(await store.tasks.listPromotable({ dependentsOf: ['tsk_done'], limit: 100 }))).toEqual(['tsk_p1']);
        expect(ids(await store.tasks.listPromotable({ dependentsOf: ['tsk_wait', 'tsk_fail'], limit: 100 }))).toEqual([]);
        expect(ids(await store.tasks.listPromotable({ dependentsOf: [], limit: 100 }))).toEqual([]);

        // Completing the dependency promotes the waiting task.
        const wait = (await store.tasks.get('tsk_wait')) as TaskRecord;
        expect(await store.tasks.update({ ...wait, status: 'completed' }, { status: 'running', attempts: 0 })).toBe(true);
        expect(ids(await store.tasks.listPromotable({ limit: 100 }))).toEqual(['tsk_p1', 'tsk_p2', 'tsk_p3']);
        expect(ids(await store.tasks.listPromotable({ dependentsOf: ['tsk_wait', 'tsk_fail'], limit: 100 }))).toEqual(['tsk_p3']);
        expect(ids(await store.tasks.listPromotable({ dependentsOf: ['tsk_wait'], workflowId: 'wf_1', limit: 100 }))).toEqual([]);
      });

      describe('claiming ready tasks', () => {
        const NOW = T + 60_000;
        const claim = (patch: Partial<ReadyTaskClaim> = {}) => store.tasks.claimReady({ runnerId: 'run_1', scope: {}, limit: 10, now: NOW, ...patch });

        it('claims queued tasks highest priority first, then in creation order, up to the limit, each as a running attempt of the runner', async () => {
          await store.tasks.insert([
            task('tsk_a', { status: 'queued', priority: 50 }),
            task('tsk_b', { status: 'queued', priority: 90, attempts: 1, maxAttempts: 3, startedAt: T + 1, notBefore: T + 5 }),
            task('tsk_c', { status: 'queued', priority: 50 }),
            task('tsk_d', { status: 'pending', priority: 99 }),
            task('tsk_e', { status: 'running', priority: 99, attempts: 1, runnerId: 'run_x' }),
            task('tsk_f', { status: 'completed', priority: 99 }),
          ]);
          const before = (await store.tasks.get('tsk_b')) as TaskRecord;

          const first = await claim({ limit: 2 });
          expect(ids(first)).toEqual(['tsk_b', 'tsk_a']);
          expect(first[0]).toEqual({ ...before, status: 'running', attempts: 2, runnerId: 'run_1', notBefore: null, startedAt: NOW, updatedAt: NOW });
          for (const claimed of first) expect(await store.tasks.get(claimed.id)).toEqual(claimed);

          expect(ids(await claim({ limit: 5, runnerId: 'run_2' }))).toEqual(['tsk_c']);
          expect((await store.tasks.get('tsk_c'))?.runnerId).toBe('run_2');
          expect(await claim()).toEqual([]);
          expect(await claim({ limit: 0 })).toEqual([]);
          // Nothing else changed.
          expect(await store.tasks.get('tsk_d')).toMatchObject({ status: 'pending', attempts: 0, runnerId: null });
          expect(await store.tasks.get('tsk_e')).toMatchObject({ status: 'running', attempts: 1, runnerId: 'run_x' });
          expect(await store.tasks.get('tsk_f')).toMatchObject({ status: 'completed' });
        });

        it("never records a start before a dependency's recorded completion (a claim's now read before another process completed it)", async () => {
          await store.tasks.insert([
            task('tsk_early', { status: 'completed', completedAt: NOW - 10 }),
            task('tsk_late', { status: 'completed', completedAt: NOW + 25 }),
            task('tsk_after_both', { status: 'queued', dependencies: ['tsk_early', 'tsk_late'] }),
            task('tsk_after_early', { status: 'queued', dependencies: ['tsk_early'] }),
            task('tsk_alone', { status: 'queued' }),
          ]);
          const claimed = new Map((await claim()).map((t) => [t.id, t.startedAt]));
          expect(Object.fromEntries(claimed)).toEqual({ tsk_after_both: NOW + 25, tsk_after_early: NOW, tsk_alone: NOW });
          expect((await store.tasks.get('tsk_after_both'))?.startedAt).toBe(NOW + 25);
        });

        it('leaves a task until its retry time has come', async () => {
          await store.tasks.insert([
            task('tsk_later', { status: 'queued', notBefore: NOW + 1 }),
            task('tsk_due', { status: 'queued', notBefore: NOW }),
            task('tsk_past', { status: 'queued', notBefore: NOW - 1_000 }),
          ]);
          expect(ids(await claim())).toEqual(['tsk_due', 'tsk_past']);
          expect(await claim()).toEqual([]);
          expect(ids(await claim({ now: NOW + 1 }))).toEqual(['tsk_later']);
        });

        it('claims only tasks of the given types, in scope, and not excluded', async () => {
          await store.workflows.insert(workflow('wf_1'));
          await store.swarms.insert(swarmRecord('swm_1'));
          await store.tasks.insert([
            task('tsk_01', { status: 'queued', type: 'shell' }),
            task('tsk_02', { status: 'queued', workflowId: 'wf_1' }),
            task('tsk_03', { status: 'queued', swarmId: 'swm_1' }),
            task('tsk_04', { status: 'completed' }),
            task('tsk_05', { status: 'queued', parentId: 'tsk_04' }), // a subtask of tsk_04
            task('tsk_06', { status: 'queued', parentId: 'tsk_05' }), // and its subtask
            task('tsk_07', { status: 'queued' }),
          ]);
          expect(ids(await claim({ types: ['shell'], limit: 100 }))).toEqual(['tsk_01']);
          expect(await claim({ types: [] })).toEqual([]);
          expect(ids(await claim({ scope: { workflowId: 'wf_1' } }))).toEqual(['tsk_02']);
          expect(ids(await claim({ scope: { swarmId: 'swm_1' } }))).toEqual(['tsk_03']);
          expect(ids(await claim({ scope: { taskIds: ['tsk_04'] }, exclude: ['tsk_05'] }))).toEqual(['tsk_06']);
          expect(ids(await claim({ scope: { taskIds: ['tsk_04'] } }))).toEqual(['tsk_05']);
          expect(await claim({ scope: { taskIds: [] } })).toEqual([]);
          expect(ids(await claim({ types: ['noop', 'shell'], exclude: [] }))).toEqual(['tsk_07']);
        });

        it('hands a pooled task only to a runner of its pool, unpooled tasks to any runner', async () => {
          await store.tasks.insert([
            task('tsk_1', { status: 'queued', pool: 'eu' }),
            task('tsk_2', { status: 'queued', pool: 'us' }),
            task('tsk_3', { status: 'queued' }),
            task('tsk_4', { status: 'queued', pool: 'eu' }),
            task('tsk_5', { status: 'queued', pool: 'ap' }),
          ]);
          // A runner of no pool never runs a pooled task: absent and empty pools alike.
          expect(ids(await claim({ scope: { pools: [] } }))).toEqual(['tsk_3']);
          expect(await claim()).toEqual([]);
          expect(ids(await claim({ runnerId: 'run_eu', scope: { pools: ['eu'] }, limit: 1 }))).toEqual(['tsk_1']);
          expect(ids(await claim({ runnerId: 'run_both', scope: { pools: ['us', 'eu'] } }))).toEqual(['tsk_2', 'tsk_4']);
          expect(await claim({ scope: { pools: ['eu', 'us'] } })).toEqual([]);
          const [ap] = await claim({ runnerId: 'run_ap', scope: { pools: ['ap'] } });
          expect(ap).toMatchObject({ id: 'tsk_5', pool: 'ap', runnerId: 'run_ap', status: 'running', attempts: 1 });
          expect(await store.tasks.get('tsk_1')).toMatchObject({ pool: 'eu', runnerId: 'run_eu' });
        });

        it('a pool joins the other scopes: a pooled task of a swarm goes to a runner of both', async () => {
          await store.swarms.insert(swarmRecord('swm_1'));
          await store.tasks.insert([
            task('tsk_1', { status: 'queued', swarmId: 'swm_1', pool: 'eu' }),
            task('tsk_2', { status: 'queued', pool: 'eu' }),
            task('tsk_3', { status: 'queued', swarmId: 'swm_1' }),
          ]);
          expect(ids(await claim({ scope: { swarmId: 'swm_1' } }))).toEqual(['tsk_3']);
          expect(ids(await claim({ scope: { swarmId: 'swm_1', pools: ['eu'] } }))).toEqual(['tsk_1']);
          expect(ids(await claim({ scope: { taskIds: ['tsk_2'], pools: ['eu'] } }))).toEqual(['tsk_2']);
        });

        it('never hands one task to two concurrent claims', async () => {
          const n = 40;
          await store.tasks.insert(Array.from({ length: n }, (_, i) => task(`tsk_${String(i).padStart(3, '0')}`, { status: 'queued', priority: i % 3 })));
          const batches = await Promise.all(Array.from({ length: 16 }, (_, i) => claim({ runnerId: `run_${i}`, limit: 3 })));
          const claimed = batches.flat();
          expect(claimed).toHaveLength(n);
          expect(new Set(ids(claimed)).size).toBe(n);
          for (const [i, batch] of batches.entries()) {
            for (const t of batch) expect(await store.tasks.get(t.id)).toMatchObject({ status: 'running', attempts: 1, runnerId: `run_${i}` });
          }
          expect(await claim()).toEqual([]);
        });
      });
    });
  });
}
