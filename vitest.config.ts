import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Crash-recovery and CLI tests spawn real child processes. These limits only catch a hang: the suite
    // must pass on a loaded 2-core machine (two copies of it at once), where a CLI call can take seconds.
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Test files share nothing through modules (Colony keeps no module-level state, and no test mocks
    // modules or the environment), so a worker is reused across files instead of started per file.
    isolate: false,
    // Most CLI and process tests wait on child processes; a third worker keeps both cores busy.
    maxWorkers: 3,
  },
});
