// A worker process for the team benchmarks: opens the database (a PostgreSQL URL, or the project's
// SQLite file when the URL is empty), runs `noop` tasks until SIGTERM, and prints `started` once it runs.
// Usage: node team-worker.js <projectDir> <databaseUrl|''> <concurrency>
import { createColony } from '../dist/index.js';

const [projectDir, databaseUrl, concurrency] = process.argv.slice(2);
const colony = await createColony({
  projectDir,
  env: {},
  kind: 'worker',
  config: {
    tasks: { concurrency: Number(concurrency), drainTimeoutMs: 2_000 },
    log: { level: 'silent' },
    ...(databaseUrl ? { database: { url: databaseUrl } } : {}),
  },
});
colony.registerExecutor({ type: 'noop', execute: async () => null });
await colony.start();
// The engine's timers do not hold a process open (it is a library); this one lives until SIGTERM.
const keepAlive = setInterval(() => undefined, 1 << 30);
process.stdout.write('started\n');
process.once('SIGTERM', () => {
  clearInterval(keepAlive);
  void colony.close({ drainTimeoutMs: 0 }).then(() => process.exit(0));
});
