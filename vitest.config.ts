import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Crash-recovery and CLI tests spawn real child processes. These limits only catch a hang: the suite
    // must pass on a loaded 2-core machine (two copies of it at once), where a CLI call can take seconds.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
