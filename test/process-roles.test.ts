import { runProcessRoleScenarios } from './support/process-roles-scenarios.js';

// `colony up --no-work`, `colony worker --pool` and `colony status` as real processes on one SQLite file.
runProcessRoleScenarios('SQLite', async () => undefined);
