import { beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/ports/store.js';
import { runAgentStoreConformance } from './agent-store.js';
import { runEventLogConformance } from './event-log.js';
import { runMessageStoreConformance } from './message-store.js';
import { runMetricStoreConformance } from './metric-store.js';
import { runRunnerStoreConformance } from './runner-store.js';
import { task } from './store-fixtures.js';
import { runTaskStoreConformance } from './task-store.js';
import { runTranscriptStoreConformance } from './transcript-store.js';
import { useMigratedStore } from './use-migrated-store.js';
import { runWorkflowStoreConformance } from './workflow-store.js';

type CreateStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/**
 * Every aggregate port's conformance suite on one Store adapter, plus the Store's own contract
 * (migrations). The suites of the other ports in the same database (swarms, consensus, the model-call
 * ledger, task processes, memory) are run beside it by each adapter's test file.
 */
export function runStoreConformance(name: string, create: CreateStore): void {
  describe(`Store conformance: ${name}`, () => {
    const current = useMigratedStore(create);
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
        await store.tasks.insert([task('tsk_a')]);
        expect(await store.tasks.get('tsk_a')).toBeDefined();
      });
    });
  });
  runTaskStoreConformance(name, create);
  runWorkflowStoreConformance(name, create);
  runAgentStoreConformance(name, create);
  runEventLogConformance(name, create);
  runMetricStoreConformance(name, create);
  runTranscriptStoreConformance(name, create);
  runMessageStoreConformance(name, create);
  runRunnerStoreConformance(name, create);
}
