import { beforeEach, describe, expect, it } from 'vitest';
import { T } from '../support/task-fixtures.js';
import type { Store } from '../../src/ports/store.js';
import { useMigratedStore } from './use-migrated-store.js';
import { workflow, ids, expectColonyError } from './store-fixtures.js';

/**
 * The WorkflowStore port's conformance suite (workflow runs): every Store adapter runs it. `create` returns a
 * fresh, empty, not yet migrated store (the whole Store: cases insert the rows other aggregates hold)
 * and a `cleanup` for after it is closed. Creation order is id order (Colony's ids are time-sorted).
 */
export function runWorkflowStoreConformance(name: string, create: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe(`WorkflowStore conformance: ${name}`, () => {
    const current = useMigratedStore(create);
    let store: Store;
    beforeEach(() => {
      store = current();
    });

    describe('workflows', () => {
      it('inserts, gets, finds by hash and status, updates status and lists', async () => {
        const a = workflow('wf_01', { definitionHash: 'h1', source: '/tmp/a.yaml' });
        const b = workflow('wf_02', { definitionHash: 'h1', status: 'completed', completedAt: T + 50 });
        const c = workflow('wf_03', { definitionHash: 'h2' });
        await store.workflows.insert(a);
        await store.workflows.insert(b);
        await store.workflows.insert(c);

        expect(await store.workflows.get('wf_01')).toEqual(a);
        expect(await store.workflows.get('wf_nope')).toBeUndefined();
        expect(await store.workflows.find({ definitionHash: 'h1', status: 'running' })).toEqual(a);
        expect(await store.workflows.find({ definitionHash: 'h1', status: 'completed' })).toEqual(b);
        expect(await store.workflows.find({ definitionHash: 'h1', status: 'failed' })).toBeUndefined();
        expect(await store.workflows.find({ definitionHash: 'h9' })).toBeUndefined();
        expect((await store.workflows.find({ definitionHash: 'h1' }))?.definitionHash).toBe('h1');

        await store.workflows.updateStatus('wf_01', 'failed', T + 100);
        const failed = await store.workflows.get('wf_01');
        expect(failed).toMatchObject({ status: 'failed', updatedAt: T + 100, completedAt: T + 100 });
        expect(await store.workflows.find({ definitionHash: 'h1', status: 'running' })).toBeUndefined();

        // Resuming puts it back to running and clears completion.
        await store.workflows.updateStatus('wf_01', 'running', T + 200);
        expect(await store.workflows.get('wf_01')).toMatchObject({ status: 'running', updatedAt: T + 200, completedAt: null });

        expect(ids(await store.workflows.list({ limit: 10 })).sort()).toEqual(['wf_01', 'wf_02', 'wf_03']);
        expect(ids(await store.workflows.list({ status: 'running', limit: 10 })).sort()).toEqual(['wf_01', 'wf_03']);
        expect(ids(await store.workflows.list({ status: 'completed', limit: 10 }))).toEqual(['wf_02']);
        expect(await store.workflows.list({ limit: 2 })).toHaveLength(2);
      });

      it('refuses a duplicate workflow id', async () => {
        await store.workflows.insert(workflow('wf_1'));
        expectColonyError(await store.workflows.insert(workflow('wf_1', { name: 'other' })).catch((e: unknown) => e), ['conflict', 'validation']);
        expect((await store.workflows.get('wf_1'))?.name).toBe('workflow wf_1');
      });
    });
  });
}
