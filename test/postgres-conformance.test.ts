import { PostgresStore } from '../src/adapters/storage/postgres/postgres-store.js';
import { runStoreConformance } from './conformance/store.js';
import { useTestDatabase } from './support/postgres.js';

/**
 * The aggregate ports' conformance suites (test/conformance/store.ts runs each: tasks, workflows,
 * agents, events, metrics, transcripts, messages, runners, and the Store's migrations) on
 * PostgresStore, each test on a fresh schema of one test database (dropped after the test; the
 * database after the file). The suites of swarms, consensus, the model-call ledger and task processes
 * run in postgres-stores.test.ts; memory's with the PostgreSQL memory store.
 */
const place = useTestDatabase();

runStoreConformance('postgres (fresh schema)', async () => {
  const schema = await place.freshSchema();
  return { store: new PostgresStore({ url: schema.url, poolSize: 4 }), cleanup: () => schema.drop() };
});
