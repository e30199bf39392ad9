import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parse } from 'yaml';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { cliEnv, eventually, REPO_ROOT, removeTempProjects, tempProject } from './support/cli.js';
import { useTestDatabase } from './support/postgres.js';
import { swarmModel } from './support/swarm-model.js';
import { dockerfileEnv } from './support/dockerfile-env.js';
import { freePort } from './support/free-port.js';

/**
 * compose.yaml, run without a container runtime: each Colony service's command and environment (its
 * env_file, .env.example here with test values, and its `environment`, interpolated as compose does)
 * is started as a local process of the built CLI, with the host names `postgres` and `redis` mapped
 * to this machine's servers (a fresh PostgreSQL schema, a Redis db of its own) and ports made
 * ephemeral. The migrate service runs first and must succeed; then two API replicas and the worker
 * service's replicas; tasks submitted through one replica's REST API are run by the workers and
 * watched on the other replica's WebSocket event stream; so is a swarm started through the first
 * replica (coordinated and worked by the workers, its agents answered by a fake Anthropic server).
 */

const MAIN = join(REPO_ROOT, 'dist', 'cli', 'main.js');
const NODE = join(REPO_ROOT, 'node_modules', '.bin', 'node');
const JWT_SECRET = 'compose-test-secret-that-is-long-enough-0123456789';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Service = Record<string, any>;

interface StreamEvent {
  id: number;
  type: string;
  correlationId: string | null;
  data: Record<string, unknown>;
}

function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1] as string] = m[2] as string;
  }
  return env;
}

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error}. */
function interpolate(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    const value = vars[name];
    if (value !== undefined && value !== '') return value;
    if (op === '-') return arg ?? '';
    if (op === '?') throw new Error(`compose.yaml: ${name} is required: ${arg}`);
    return '';
  });
}

describe('compose.yaml', () => {
  const db = useTestDatabase();
  const started: { name: string; child: ChildProcess; output: () => string }[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];

  afterEach(async () => {
    await Promise.all(
      started.splice(0).map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const closed = new Promise((r) => child.once('close', r));
        child.kill('SIGTERM');
        await closed;
      }),
    );
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(() => removeTempProjects());

  it('declares the services, healthchecks and start order of a team', () => {
    const compose = parse(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
    const s = compose.services;
    expect(Object.keys(s).sort()).toEqual(['api-1', 'api-2', 'migrate', 'postgres', 'redis', 'worker']);
    expect(s.postgres?.image).toBe('pgvector/pgvector:pg16');
    expect(s.redis?.image).toBe('redis:7');
    for (const name of ['postgres', 'redis', 'api-1', 'api-2']) expect(s[name]?.healthcheck?.test, name).toBeDefined();
    expect(s.migrate?.command).toEqual(['db', 'migrate']);
    expect(s.migrate?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const name of ['api-1', 'api-2', 'worker']) {
      expect(s[name]?.depends_on, name).toEqual({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
      });
      // More time to stop than the 30 s drain after SIGTERM.
      expect(Number.parseInt(s[name]?.stop_grace_period, 10), name).toBeGreaterThan(30);
    }
    expect(s['api-1']?.command).toEqual(['up', '--no-work']);
    expect(s.worker?.command).toEqual(['worker']);
    expect(s.worker?.deploy?.replicas).toBe(3);
    // No secret is written in compose.yaml: every secret is interpolated from .env.
    const raw = readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8');
    expect(raw).not.toMatch(/COLONY_JWT_SECRET:|API_KEY:|POSTGRES_PASSWORD: [^$]/);
  });

  it('runs as local processes: migrate, two API replicas, three workers; tasks and a swarm posted on one replica are seen done on the other', async () => {
    const schema = await db.freshSchema();
    cleanups.push(() => schema.drop());
    const project = tempProject();
    // The model provider: a fake Anthropic server in this process, answering every role of a swarm.
    const llm = new FakeLlmServer({ defaultReply: swarmModel() });
    cleanups.push(() => llm.close());
    const { anthropicBaseUrl } = await llm.start();
    // .env from the example, with test values for the secrets and the provider. compose.yaml passes
    // every variable of .env to the Colony services (env_file), so the provider's base URL, which
    // .env.example does not list, reaches them the same way.
    const dotenv = {
      ...parseEnvFile(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8')),
      POSTGRES_PASSWORD: 'compose-test',
      COLONY_JWT_SECRET: JWT_SECRET,
      ANTHROPIC_API_KEY: 'sk-ant-compose-test-0123456789',
      ANTHROPIC_BASE_URL: anthropicBaseUrl,
      COLONY_PROVIDER: 'anthropic',
    };
    const compose = parse(interpolate(readFileSync(join(REPO_ROOT, 'compose.yaml'), 'utf8'), dotenv), { merge: true }) as { services: Record<string, Service> };

    /** A service's environment as its container sees it, with the compose network mapped to this machine. */
    const envOf = (service: Service, port?: number): Record<string, string> => {
      expect(service.env_file).toEqual([{ path: '.env', required: true }]);
      const env: Record<string, string> = { ...dockerfileEnv(REPO_ROOT), ...dotenv, ...service.environment, COLONY_LOG_LEVEL: 'warn' };
      const database = new URL(env.COLONY_DATABASE_URL as string);
      expect([database.hostname, database.port, database.pathname, database.password]).toEqual(['postgres', '5432', '/colony', 'compose-test']);
      env.COLONY_DATABASE_URL = schema.url;
      expect(env.COLONY_REDIS_URL).toBe('redis://redis:6379');
      env.COLONY_REDIS_URL = 'redis://127.0.0.1:6379/14';
      expect(env.COLONY_HOST).toBe('0.0.0.0');
      if (port !== undefined) env.COLONY_PORT = String(port);
      return env;
    };
    const start = (name: string, service: Service, port?: number) => {
      const child = spawn(NODE, [MAIN, ...(service.command as string[])], { cwd: project.dir, env: cliEnv(envOf(service, port)), stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout?.on('data', (d) => (output += d));
      child.stderr?.on('data', (d) => (output += d));
      started.push({ name, child, output: () => output });
      return { child, output: () => output };
    };
    const services = compose.services;

    // migrate: one-shot, must complete successfully before the others start.
    const migrate = spawnSync(NODE, [MAIN, ...(services.migrate?.command as string[])], { cwd: project.dir, env: cliEnv(envOf(services.migrate as Service)), encoding: 'utf8' });
    expect(migrate.status, migrate.stderr).toBe(0);

    // Two API replicas; each compose port mapping ("3001:3000") becomes an ephemeral port here.
    const apis: { base: string }[] = [];
    for (const name of ['api-1', 'api-2']) {
      const service = services[name] as Service;
      expect(service.ports).toHaveLength(1);
      expect(String(service.ports[0]).split(':')[1]).toBe(envOf(service).COLONY_PORT);
      const port = await freePort();
      const api = start(name, service, port);
      // The service's own healthcheck command (node's fetch of /ready), pointed at this port.
      const [, ...check] = service.healthcheck.test as string[];
      await eventually(() => {
        if (api.child.exitCode !== null) throw new Error(`${name} exited ${api.child.exitCode}: ${api.output()}`);
        const probe = spawnSync(check[0] as string, check.slice(1).map((a) => a.replace('127.0.0.1:3000', `127.0.0.1:${port}`)), { encoding: 'utf8' });
        return probe.status === 0 || undefined;
      }, `${name}'s healthcheck to pass`);
      apis.push({ base: `http://127.0.0.1:${port}` });
    }
    const worker = services.worker as Service;
    const workers = Array.from({ length: worker.deploy.replicas as number }, (_, i) => start(`worker-${i + 1}`, worker));
    for (const [i, w] of workers.entries()) {
      await eventually(() => {
        if (w.child.exitCode !== null) throw new Error(`worker ${i + 1} exited ${w.child.exitCode}: ${w.output()}`);
        return /running tasks/.test(w.output()) || undefined;
      }, `worker ${i + 1} to start`);
    }

    const token = await new SignJWT({ role: 'operator' }).setProtectedHeader({ alg: 'HS256' }).setSubject('compose-test').setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(JWT_SECRET));
    const [api1, api2] = apis as [{ base: string }, { base: string }];

    // Without a credential the replicas refuse (they listen on 0.0.0.0).
    expect((await fetch(`${api1.base}/api/v2/tasks`)).status).toBe(401);

    // Watch on replica 2's event stream.
    const events: { type: string; data: Record<string, unknown> }[] = [];
    const ws = new WebSocket(`${api2.base.replace('http', 'ws')}/api/v2/events/stream?types=task.*&access_token=${token}`);
    cleanups.push(() => ws.close());
    ws.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; event?: { type: string; data: Record<string, unknown> } };
      if (message.type === 'event' && message.event) events.push(message.event);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('message', () => resolve());
      ws.once('error', reject);
    });

    // Submit on replica 1.
    const response = await fetch(`${api1.base}/api/v2/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ tasks: Array.from({ length: 6 }, (_, i) => ({ type: 'shell', name: `hi-${i}`, input: { command: `echo hi ${i}` } })) }),
    });
    expect(response.status, await response.clone().text()).toBe(201);
    const { tasks } = (await response.json()) as { tasks: { id: string }[] };
    const ids = tasks.map((t) => t.id);

    await eventually(() => {
      const done = new Set(events.filter((e) => e.type === 'task.completed').map((e) => e.data.taskId));
      return ids.every((id) => done.has(id)) || undefined;
    }, 'every task to be reported completed on the other replica', 120_000);
    for (const id of ids) {
      const task = (await (await fetch(`${api2.base}/api/v2/tasks/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { status: string; result: unknown };
      expect(task.status).toBe('completed');
      expect(JSON.stringify(task.result)).toMatch(/hi \d/);
    }

    // The API replicas ran none of them (--no-work): every task.started names a worker's runner.
    const status = (await (await fetch(`${api1.base}/api/v2/system/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as { runners: { id: string; pid: number }[] };
    const workerPids = new Set(workers.map((w) => w.child.pid));
    const workerRunners = new Set(status.runners.filter((r) => workerPids.has(r.pid)).map((r) => r.id));
    expect(workerRunners.size).toBe(3);
    const runnersOfStarts = events.filter((e) => e.type === 'task.started' && ids.includes(e.data.taskId as string)).map((e) => e.data.runnerId);
    expect(runnersOfStarts.length).toBeGreaterThanOrEqual(ids.length);
    for (const r of runnersOfStarts) expect(workerRunners.has(r as string), `task started by ${String(r)}`).toBe(true);

    // A swarm started through replica 1 (a user plan: two parallel steps, then one after both; no
    // review), watched on replica 2's stream filtered by the swarm's id, replayed from the log's start.
    const created = await fetch(`${api1.base}/api/v2/swarms`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        objective: 'Describe bees in one sentence.',
        name: 'compose-swarm',
        review: false,
        provider: 'anthropic',
        plan: {
          summary: 'Two facts, then a sentence.',
          tasks: [
            { id: 'looks', title: 'How bees look', prompt: 'Name one fact about how bees look.' },
            { id: 'lives', title: 'How bees live', prompt: 'Name one fact about how bees live.' },
            { id: 'sentence', title: 'One sentence', prompt: 'Write one sentence from both facts.', dependsOn: ['looks', 'lives'] },
          ],
        },
      }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const swarmId = ((await created.json()) as { id: string }).id;
    const swarmEvents: StreamEvent[] = [];
    const swarmWs = new WebSocket(`${api2.base.replace('http', 'ws')}/api/v2/events/stream?correlationId=${swarmId}&lastEventId=0&access_token=${token}`);
    cleanups.push(() => swarmWs.close());
    swarmWs.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; event?: StreamEvent };
      if (message.type === 'event' && message.event) swarmEvents.push(message.event);
    });
    await new Promise<void>((resolve, reject) => {
      swarmWs.once('message', () => resolve());
      swarmWs.once('error', reject);
    });
    await eventually(() => swarmEvents.some((e) => e.type === 'swarm.finished') || undefined, "the swarm's end to be seen on the other replica", 120_000);

    const swarm = (await (await fetch(`${api2.base}/api/v2/swarms/${swarmId}`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      status: string;
      runnerId: string | null;
      progress: number;
      error: unknown;
    };
    expect(swarm.status, JSON.stringify(swarm.error)).toBe('completed');
    expect(swarm.progress).toBe(1);
    // Replica 2's stream: only this swarm's events, no event twice, start before end.
    expect(swarmEvents.every((e) => e.correlationId === swarmId)).toBe(true);
    const eventIds = swarmEvents.map((e) => e.id);
    expect(new Set(eventIds).size).toBe(eventIds.length);
    expect(eventIds).toEqual([...eventIds].sort((a, b) => a - b));
    const types = swarmEvents.map((e) => e.type);
    expect(types[0]).toBe('swarm.created');
    expect(types.filter((t) => t === 'swarm.created' || t === 'swarm.finished')).toEqual(['swarm.created', 'swarm.finished']);
    expect(types.indexOf('swarm.planned')).toBeGreaterThan(types.indexOf('swarm.created'));
    const running = swarmEvents.findIndex((e) => e.type === 'swarm.status_changed' && e.data.status === 'running');
    expect(running).toBeGreaterThan(types.indexOf('swarm.created'));
    expect(types.indexOf('swarm.finished')).toBeGreaterThan(running);
    expect(swarmEvents.find((e) => e.type === 'swarm.finished')?.data).toMatchObject({ swarmId, status: 'completed', partial: false });
    const dispatched = swarmEvents.filter((e) => e.type === 'swarm.task_dispatched');
    expect(dispatched.map((e) => e.data.planTaskId).sort()).toEqual(['lives', 'looks', 'sentence']);
    const swarmTaskIds = dispatched.map((e) => e.data.taskId as string);
    const completedTaskIds = new Set(swarmEvents.filter((e) => e.type === 'task.completed').map((e) => e.data.taskId));
    for (const id of swarmTaskIds) expect(completedTaskIds.has(id), `swarm task ${id} completed`).toBe(true);
    // The workers ran the swarm's tasks and coordinated it; the API replicas (--no-work) did neither.
    const swarmStarts = swarmEvents.filter((e) => e.type === 'task.started' && swarmTaskIds.includes(e.data.taskId as string)).map((e) => e.data.runnerId);
    expect(swarmStarts.length).toBeGreaterThanOrEqual(swarmTaskIds.length);
    for (const r of swarmStarts) expect(workerRunners.has(r as string), `swarm task started by ${String(r)}`).toBe(true);
    expect(workerRunners.has(swarm.runnerId as string), `swarm coordinated by ${String(swarm.runnerId)}`).toBe(true);
    // Its agents' model calls reached the provider (three workers' tasks and the synthesis at least).
    expect(llm.requests.length).toBeGreaterThanOrEqual(3);

    // Every process stops cleanly on SIGTERM (as `docker compose stop` sends it): exit 143.
    for (const { name, child } of started.splice(0)) {
      const closed = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
      child.kill('SIGTERM');
      expect(await closed, name).toBe(143);
    }
  });
});
