import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../src/domain/task.js';
import type { SwarmRecord } from '../../src/domain/swarm.js';
import type { SwarmStatusReport } from '../../src/swarm/swarms.js';
import { FakeLlmServer } from '../../src/testing/fake-llm-server.js';
import { eventually, removeTempProjects, runCli, runJson, startCli, tempProject, type BackgroundCli, type TempProject } from './cli.js';
import { swarmModel } from './swarm-model.js';

/**
 * Process roles in team mode, with real processes of the built CLI (dist/: build first) sharing one
 * database: `colony up --no-work` serves only, `colony worker` runs the work, `--pool` sends pooled
 * tasks (and a distributed swarm's pools) to the workers of that pool only, and `colony status` (CLI
 * and REST) lists every process with its role and pools. `database` gives the URL of an empty
 * database of the test's own (registering its drop with `cleanup`), or undefined for the project's
 * SQLite file.
 */
export function runProcessRoleScenarios(name: string, database: (cleanup: (fn: () => Promise<void>) => void) => Promise<string | undefined>): void {
  describe(`process roles on ${name}`, () => {
    let llm: FakeLlmServer;
    let llmEnv: Record<string, string>;
    const cleanups: (() => Promise<void> | void)[] = [];

    beforeAll(async () => {
      llm = new FakeLlmServer({ defaultReply: swarmModel() });
      const { anthropicBaseUrl } = await llm.start();
      llmEnv = { ANTHROPIC_BASE_URL: anthropicBaseUrl, ANTHROPIC_API_KEY: 'sk-ant-test-secret', COLONY_PROVIDER: 'anthropic', COLONY_LOG_LEVEL: 'error' };
    });
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });
    afterAll(async () => {
      await llm.close();
      removeTempProjects();
    });

    /** A project on a database of its own, and `colony` commands on it. */
    async function team(): Promise<Team> {
      const project = tempProject();
      const url = await database((fn) => cleanups.push(fn));
      // Quick polls, short drains; few connections per process on PostgreSQL.
      project.write('.colony/config.yaml', `tasks:\n  pollIntervalMs: 100\n  drainTimeoutMs: 2000\n${url ? 'database:\n  poolSize: 3\n' : ''}`);
      const db = url ? ['--db', url] : [];
      return {
        project,
        start(args) {
          const cli = startCli([...db, ...args], { cwd: project.dir, env: llmEnv });
          cleanups.push(async () => {
            if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGTERM');
            await cli.exited;
          });
          return cli;
        },
        async json<T>(args: string[]) {
          const result = await runJson<T>([...db, ...args], { cwd: project.dir, env: llmEnv });
          expect(result.code, result.stderr).toBe(0);
          return result.data;
        },
        async text(args: string[]) {
          const result = await runCli([...db, ...args], { cwd: project.dir, env: llmEnv });
          expect(result.code, result.stderr).toBe(0);
          return result.stdout;
        },
      };
    }

    it('up --no-work takes tasks over REST and runs none of them; a worker runs them all; status shows both roles', async () => {
      const t = await team();
      const server = await serve(t, ['--no-work']);
      expect(server.announced).toMatchObject({ work: false, pools: [] });
      const { tasks } = await server.post<{ tasks: TaskRecord[] }>('/tasks', { tasks: [1, 2, 3].map((i) => ({ type: 'shell', name: `t${i}`, input: { command: `echo ${i}` } })) });
      expect(tasks.map((x) => x.status)).toEqual(['queued', 'queued', 'queued']);

      // The server lives on (its heartbeat moves) and still has run nothing.
      const self = async () => (await server.get<SystemStatus>('/system/status')).runners.find((r) => r.pid === server.cli.pid);
      const before = await self();
      expect(before).toMatchObject({ role: 'server --no-work', kind: 'server', runsTasks: false, pools: [] });
      await eventually(async () => ((await self())?.heartbeatAt ?? 0) > (before?.heartbeatAt ?? 0) || undefined, 'a heartbeat of the server');
      for (const x of await server.tasks()) expect(x).toMatchObject({ status: 'queued', attempts: 0, runnerId: null });
      // Serving only is what it was asked to do: healthy, its engine not running.
      const health = await server.get<{ status: string; components: { engine: { running: boolean; runsTasks: boolean } } }>('/system/health');
      expect(health).toMatchObject({ status: 'ok', components: { engine: { running: false, runsTasks: false } } });

      const worker = t.start(['worker']);
      const workerId = await runnerIdOf(worker);
      const done = await eventually(async () => {
        const all = await server.tasks();
        return all.every((x) => x.status === 'completed') ? all : undefined;
      }, 'the worker to run the tasks');
      // Each ran once, on the worker.
      for (const x of done) expect(x).toMatchObject({ runnerId: workerId, attempts: 1 });

      const status = await t.json<CliStatus>(['status']);
      expect(byPid(status.runners, server.cli.pid)).toMatchObject({ role: 'server --no-work', runsTasks: false, pools: [], host: expect.any(String), heartbeatAgeMs: expect.any(Number) });
      expect(byPid(status.runners, worker.pid)).toMatchObject({ id: workerId, role: 'worker', runsTasks: true, pools: [] });
      const rest = await server.get<SystemStatus>('/system/status');
      expect(rest.runners.map((r) => r.role).sort()).toEqual(['server --no-work', 'worker']);
    });

    it('workers of pools eu and us: each pooled task runs on a worker of its pool, unpooled ones on either; a task of a pool nobody serves waits for one', async () => {
      const t = await team();
      const server = await serve(t, ['--no-work']);
      const eu = t.start(['worker', '--pool', 'eu']);
      const us = t.start(['worker', '--pool', 'us']);
      const [euId, usId] = await Promise.all([runnerIdOf(eu), runnerIdOf(us)]);
      const specs = [
        ...[1, 2, 3, 4].map((i) => ({ type: 'shell', name: `eu${i}`, pool: 'eu', input: { command: `echo eu${i}` } })),
        ...[1, 2, 3, 4].map((i) => ({ type: 'shell', name: `us${i}`, pool: 'us', input: { command: `echo us${i}` } })),
        ...[1, 2].map((i) => ({ type: 'shell', name: `any${i}`, input: { command: `echo any${i}` } })),
        { type: 'shell', name: 'ap1', pool: 'ap', input: { command: 'echo ap1' } },
      ];
      await server.post('/tasks', { tasks: specs });
      const done = await eventually(async () => {
        const all = await server.tasks();
        return all.filter((x) => x.status === 'completed').length === specs.length - 1 ? all : undefined;
      }, 'the pooled workers to run their tasks');
      const named = (prefix: string) => done.filter((x) => x.name?.startsWith(prefix));
      for (const x of named('eu')) expect(x).toMatchObject({ pool: 'eu', runnerId: euId, attempts: 1 });
      for (const x of named('us')) expect(x).toMatchObject({ pool: 'us', runnerId: usId, attempts: 1 });
      for (const x of named('any')) expect([euId, usId]).toContain(x.runnerId);
      // No live worker serves ap: its task waits, queued, for one.
      expect(named('ap')).toMatchObject([{ status: 'queued', pool: 'ap', runnerId: null, attempts: 0 }]);

      // Status lists every process with its role and pools, in JSON and as a table.
      const status = await t.json<CliStatus>(['status']);
      expect(byPid(status.runners, eu.pid)).toMatchObject({ id: euId, role: 'worker', pools: ['eu'] });
      expect(byPid(status.runners, us.pid)).toMatchObject({ id: usId, role: 'worker', pools: ['us'] });
      expect(byPid(status.runners, server.cli.pid)).toMatchObject({ role: 'server --no-work', pools: [] });
      const table = await t.text(['status']);
      expect(table).toMatch(new RegExp(`${euId}\\s+worker\\s+\\S+\\s+${eu.pid}\\s+eu\\s`));
      expect(table).toMatch(new RegExp(`${usId}\\s+worker\\s+\\S+\\s+${us.pid}\\s+us\\s`));
      expect(table).toMatch(new RegExp(`server --no-work\\s+\\S+\\s+${server.cli.pid}\\s+-\\s`));
      const rest = await server.get<SystemStatus>('/system/status');
      expect(rest.runners.find((r) => r.id === euId)).toMatchObject({ role: 'worker', pools: ['eu'], pid: eu.pid, heartbeatAgeMs: expect.any(Number) });

      // The CLI says who will run a pooled task, or that nobody serves its pool yet.
      expect(await t.text(['task', 'create', '--name', 'ap2', '--pool', 'ap', '--command', 'echo ap2'])).toMatch(/no live worker serves pool ap: it runs when `colony worker --pool ap` does/);
      expect(await t.text(['task', 'create', '--name', 'eu5', '--pool', 'eu', '--command', 'echo eu5'])).toMatch(new RegExp(`Colony worker \\(pid ${eu.pid}\\) on this database will run it`));
      const bad = await runCli(['worker', '--pool', 'eu,bad name'], { cwd: t.project.dir });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/option --pool: invalid pool name "bad name": a pool name is 1-64 letters/);

      // A worker of pool ap runs its tasks, and (until idle) leaves: nothing else is its to wait for.
      const ap = await t.json<{ runner: string; completed: number; failed: number }>(['worker', '--pool', 'ap', '--until-idle']);
      expect(ap).toMatchObject({ completed: 2, failed: 0 });
      const after = await server.tasks();
      for (const name of ['ap1', 'ap2']) expect(after.find((x) => x.name === name)).toMatchObject({ status: 'completed', runnerId: ap.runner });
      const eu5 = await eventually(async () => (await server.tasks()).find((x) => x.name === 'eu5' && x.status === 'completed'), 'the eu worker to run eu5');
      expect(eu5.runnerId).toBe(euId);
    });

    it("a distributed swarm whose pools are worker pools runs each pool's tasks on that pool's workers; a pool nobody serves is left to any runner", async () => {
      const t = await team();
      const server = await serve(t, ['--no-work']);
      const eu = t.start(['worker', '--pool', 'eu']);
      const us = t.start(['worker', '--pool', 'us']);
      const [euId, usId] = await Promise.all([runnerIdOf(eu), runnerIdOf(us)]);
      // Pools are routed to only while a live process serves them: both workers are registered first.
      await eventually(async () => {
        const live = (await server.get<SystemStatus>('/system/status')).runners.map((r) => r.id);
        return live.includes(euId) && live.includes(usId) ? true : undefined;
      }, 'both workers to be live');
      const plan = {
        summary: 'two regions and one nobody serves',
        tasks: [
          ...['eu1', 'eu2', 'us1', 'us2', 'ap1'].map((id) => ({ id, title: `work ${id}`, prompt: `do ${id}`, affinity: id.slice(0, 2), dependsOn: [] })),
        ],
      };
      // Created on the server, which coordinates nothing: a worker takes the swarm over.
      const swarm = await server.post<SwarmRecord>('/swarms', { objective: 'Serve two regions', topology: 'distributed', pools: { eu: 1, us: 1, ap: 1 }, review: false, plan });
      const finished = await eventually(async () => {
        const s = await server.get<SwarmRecord>(`/swarms/${swarm.id}`);
        if (s.status === 'failed') throw new Error(`the swarm failed: ${JSON.stringify(s.error)}`);
        return s.status === 'completed' ? s : undefined;
      }, 'the swarm to complete');
      expect([euId, usId]).toContain(finished.runnerId);

      const report = await server.get<SwarmStatusReport>(`/swarms/${swarm.id}/status`);
      const view = (id: string) => report.tasks.find((x) => x.planTaskId === id);
      for (const id of ['eu1', 'eu2']) expect(view(id)).toMatchObject({ status: 'completed', pool: 'eu', workerPool: 'eu', runnerId: euId });
      for (const id of ['us1', 'us2']) expect(view(id)).toMatchObject({ status: 'completed', pool: 'us', workerPool: 'us', runnerId: usId });
      expect(view('ap1')).toMatchObject({ status: 'completed', pool: 'ap', workerPool: null });
      expect([euId, usId]).toContain(view('ap1')?.runnerId);
      // The engine tasks carry their pools; the dispatch events say where each went.
      const engine = await server.tasks();
      expect(engine.filter((x) => x.swarmId === swarm.id).map((x) => [x.name, x.pool]).sort()).toEqual([['ap1', null], ['eu1', 'eu'], ['eu2', 'eu'], ['us1', 'us'], ['us2', 'us']]);
      const { items } = await server.get<{ items: { data: { planTaskId: string; pool: string | null; workerPool: string | null } }[] }>(
        `/events?types=swarm.task_dispatched&correlationId=${swarm.id}&limit=100`,
      );
      expect(items.map((e) => [e.data.planTaskId, e.data.pool, e.data.workerPool]).sort()).toEqual([
        ['ap1', 'ap', null],
        ['eu1', 'eu', 'eu'],
        ['eu2', 'eu', 'eu'],
        ['us1', 'us', 'us'],
        ['us2', 'us', 'us'],
      ]);
    });
  });
}

interface Team {
  project: TempProject;
  /** `colony <args>` in the background on the team's database; stopped (SIGTERM) after the test. */
  start(args: string[]): BackgroundCli;
  /** `colony --json <args>`, which must exit 0. */
  json<T>(args: string[]): Promise<T>;
  /** `colony <args>`'s stdout; it must exit 0. */
  text(args: string[]): Promise<string>;
}

interface ProcessView {
  id: string;
  role: string;
  kind: string;
  runsTasks: boolean;
  pid: number;
  host: string;
  pools: string[];
  heartbeatAt: number;
  heartbeatAgeMs: number;
}
interface SystemStatus {
  runners: ProcessView[];
}
interface CliStatus {
  runners: ProcessView[];
}

interface Server {
  cli: BackgroundCli;
  announced: Record<string, unknown>;
  get<T>(path: string): Promise<T>;
  post<T = unknown>(path: string, body: unknown): Promise<T>;
  /** Every task, oldest first. */
  tasks(): Promise<TaskRecord[]>;
}

/** `colony up` on a free port, once it has said where it listens. */
async function serve(team: Team, flags: string[]): Promise<Server> {
  const cli = team.start(['--json', 'up', '--port', '0', ...flags]);
  const announced = await eventually(() => {
    if (cli.child.exitCode !== null) throw new Error(`colony up exited (${cli.child.exitCode}): ${cli.stderr}`);
    const line = cli.stdout.split('\n').find((l) => l.startsWith('{'));
    return line ? (JSON.parse(line) as { api: string } & Record<string, unknown>) : undefined;
  }, 'colony up to listen');
  const call = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const response = await fetch(`${announced.api}${path}`, init);
    const body = (await response.json()) as T;
    if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${response.status} ${JSON.stringify(body)}`);
    return body;
  };
  return {
    cli,
    announced,
    get: (path) => call(path),
    post: (path, body) => call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    tasks: async () => (await call<{ items: TaskRecord[] }>('/tasks?limit=1000')).items,
  };
}

/** The runner id a worker announces on stderr. */
async function runnerIdOf(worker: BackgroundCli): Promise<string> {
  await worker.waitForStderr(/worker run_\w+ running tasks/);
  return (/worker (run_\w+) running tasks/.exec(worker.stderr) as RegExpExecArray)[1] as string;
}

function byPid(runners: readonly ProcessView[], pid: number): ProcessView | undefined {
  return runners.find((r) => r.pid === pid);
}
