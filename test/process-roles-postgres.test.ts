import { createTestDatabase } from './support/postgres.js';
import { runProcessRoleScenarios } from './support/process-roles-scenarios.js';

// The same processes on PostgreSQL: each case on a database of its own, dropped after it.
runProcessRoleScenarios('PostgreSQL', async (cleanup) => {
  const database = await createTestDatabase();
  cleanup(() => database.drop());
  return database.url;
});
