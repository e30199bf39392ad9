import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { eventually, removeTempProjects, runCli, runJson, startCli, tempProject, type BackgroundCli, type TempProject } from './support/cli.js';

/**
 * A running server caches what it reads (L1) for `memory.l1TtlMs`. One-shot CLI writes, each its own
 * process, must still be seen by that server at once: these tests set the L1 TTL to ten minutes, so
 * waiting out the TTL cannot make them pass.
 */

const REDIS_URL = 'redis://127.0.0.1:6379';
const TEN_MINUTES_MS = 10 * 60_000;
/** How long the server may take to answer the new value (its revalidation window is 1 s by default). */
const SEEN_WITHIN_MS = 5_000;
/** A hang guard for the server process, far beyond the test's own timeout. */
const SERVER_LIFETIME_MS = 600_000;

const servers: BackgroundCli[] = [];
const redisKeyPrefixes: string[] = [];

async function startServer(project: TempProject, env: Record<string, string>): Promise<string> {
  // The server runs until the test stops it (afterEach), however long a loaded machine takes.
  const cli = startCli(['--json', 'up', '--port', '0'], { cwd: project.dir, env, timeoutMs: SERVER_LIFETIME_MS });
  servers.push(cli);
  const info = await eventually(() => {
    const line = cli.stdout.split('\n').find((l) => l.startsWith('{'));
    return line ? (JSON.parse(line) as { origin: string }) : undefined;
  }, `colony up to announce itself (stderr: ${cli.stderr})`);
  return info.origin;
}

async function serverValue(origin: string, key: string): Promise<{ status: number; value?: unknown; version?: number }> {
  const response = await fetch(`${origin}/api/v2/memory/${encodeURIComponent(key)}?namespace=default`).catch((error: Error) => {
    throw new Error(`fetch ${origin} failed: ${String((error.cause as Error | undefined)?.message ?? error.message)}`);
  });
  if (response.status !== 200) {
    await response.body?.cancel();
    return { status: response.status };
  }
  const entry = (await response.json()) as { value: unknown; version: number };
  return { status: 200, value: entry.value, version: entry.version };
}

/** Polls the server until it answers `want`; fails (with what it last answered) after SEEN_WITHIN_MS. */
async function serverAnswers(origin: string, key: string, want: { status: number; value?: unknown }): Promise<void> {
  let last: unknown;
  await eventually(
    async () => {
      const got = await serverValue(origin, key);
      last = got;
      return got.status === want.status && (want.value === undefined || JSON.stringify(got.value) === JSON.stringify(want.value)) ? true : undefined;
    },
    `the server to answer ${JSON.stringify(want)}`,
    SEEN_WITHIN_MS,
    50,
  ).catch((error: unknown) => {
    const server = servers.at(-1);
    throw new Error(`${(error as Error).message}; it last answered ${JSON.stringify(last)}; server exit ${JSON.stringify(server?.child.exitCode)} stderr: ${server?.stderr.slice(-2000)}`);
  });
}

async function cli(project: TempProject, env: Record<string, string>, ...args: string[]): Promise<void> {
  const result = await runCli(args, { cwd: project.dir, env });
  expect(result.code, `colony ${args.join(' ')}\n${result.stderr}`).toBe(0);
}

/** Writes, deletes and imports with one-shot CLI processes while a server holds the key in its L1. */
async function writersSeenByServer(project: TempProject, env: Record<string, string>, onWrite: () => Promise<void> = async () => {}): Promise<void> {
  project.write('.colony/config.json', JSON.stringify({ memory: { l1TtlMs: TEN_MINUTES_MS } }));
  await cli(project, env, 'memory', 'store', 'greeting', '"v1"');
  const origin = await startServer(project, env);

  // Read twice: the second read is served from the server's L1.
  expect(await serverValue(origin, 'greeting')).toEqual({ status: 200, value: 'v1', version: 1 });
  expect(await serverValue(origin, 'greeting')).toEqual({ status: 200, value: 'v1', version: 1 });

  await cli(project, env, 'memory', 'store', 'greeting', '"v2"');
  await onWrite();
  await serverAnswers(origin, 'greeting', { status: 200, value: 'v2' });

  await cli(project, env, 'memory', 'delete', 'greeting');
  await onWrite();
  await serverAnswers(origin, 'greeting', { status: 404 });

  // Cache the absence too, then bring the key back by import, and change it again by import.
  project.write('entries.jsonl', `${JSON.stringify({ namespace: 'default', key: 'greeting', value: 'v3' })}\n`);
  await cli(project, env, 'memory', 'import', 'entries.jsonl');
  await onWrite();
  await serverAnswers(origin, 'greeting', { status: 200, value: 'v3' });
  await serverAnswers(origin, 'greeting', { status: 200, value: 'v3' });
  project.write('entries.jsonl', `${JSON.stringify({ namespace: 'default', key: 'greeting', value: { now: 'v4' } })}\n`);
  await cli(project, env, 'memory', 'import', '--overwrite', 'entries.jsonl');
  await onWrite();
  await serverAnswers(origin, 'greeting', { status: 200, value: { now: 'v4' } });
}

describe('memory written by one-shot CLI commands, read through a running server', () => {
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  afterAll(async () => {
    removeTempProjects();
    if (redisKeyPrefixes.length === 0) return;
    const redis = new Redis(REDIS_URL);
    try {
      for (const prefix of redisKeyPrefixes) {
        const keys = await redis.keys(`${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
      }
    } finally {
      redis.disconnect();
    }
  });

  it('with Redis: each CLI write publishes its invalidation before it exits, and the server answers the new value', async () => {
    const project = tempProject();
    const env = { COLONY_REDIS_URL: REDIS_URL };
    // The database path names the colony's Redis keys and channel (create-memory-manager.ts).
    const { data: status } = await runJson<{ database: { path: string } }>(['--json', 'status'], { cwd: project.dir, env });
    const dbPath = status.database.path;
    const prefix = `colony:${createHash('sha256').update(dbPath).digest('hex').slice(0, 12)}:`;
    redisKeyPrefixes.push(prefix);

    const heard: string[] = [];
    const subscriber = new Redis(REDIS_URL);
    try {
      await subscriber.subscribe(`${prefix}invalidations`);
      subscriber.on('message', (_channel: string, message: string) => heard.push(message.slice(message.indexOf(' ') + 1)));
      let expected = 0;
      await writersSeenByServer(project, env, async () => {
        // The invalidation went out before the writing command exited: it is on the channel now.
        expected++;
        const count = (): number => heard.filter((key) => key === 'default/greeting').length;
        await eventually(() => (count() >= expected ? true : undefined), "the CLI write's invalidation", SEEN_WITHIN_MS, 20);
      });
    } finally {
      subscriber.disconnect();
    }
  });

  it('without Redis: the server checks its L1 copy against the database and answers the new value', async () => {
    const project = tempProject();
    await writersSeenByServer(project, {});
  });
});
