import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/domain/errors.js';
import type { ColonyEvent } from '../src/domain/events.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { expectRejection, rejectionOf } from './support/rejection.js';
import { swarmModel } from './support/swarm-model.js';
import { eventually, tempColony, tempDir, type TempColony } from './support/temp-colony.js';

/**
 * Process roles through the library API, in this process on a SQLite file: `createColony({ work,
 * pools })`, the claims a pool allows, and a distributed swarm whose worker pool goes away before its
 * task starts. (test/process-roles.test.ts runs the roles as real CLI processes.)
 */

const llm = new FakeLlmServer({ defaultReply: swarmModel() });
let baseUrl: string;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  baseUrl = (await llm.start()).anthropicBaseUrl;
});
afterAll(async () => {
  await llm.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh project directory, removed after the test (after its colonies are closed). */
function project(): string {
  const dir = tempDir();
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function colonyOn(dir: string, options: { work?: boolean; pools?: string[]; kind?: string } = {}): Promise<TempColony> {
  const temp = await tempColony(
    { providers: { anthropic: { baseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } }, agents: { defaultProvider: 'anthropic' }, tasks: { defaultMaxRetries: 0 } },
    { env: {}, dir, ...options },
  );
  temp.colony.registerExecutor({ type: 'noop', execute: async ({ task }) => task.id });
  cleanups.push(() => temp.cleanup());
  return temp;
}

describe('process roles in the library', () => {
  it('refuses a bad pool name, naming it and the rule', async () => {
    const error = await rejectionOf(colonyOn(project(), { pools: ['eu', 'eu west'] }));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/invalid pool name "eu west": a pool name is 1-64 letters, digits/);
  });

  it('work: false registers the process as serving only, and it runs nothing; pools decide which runner claims what', async () => {
    const dir = project();
    const server = await colonyOn(dir, { kind: 'server', work: false });
    await server.colony.start();
    const tasks = await server.colony.tasks.submit([
      { type: 'noop', name: 'eu', pool: 'eu' },
      { type: 'noop', name: 'us', pool: 'us' },
      { type: 'noop', name: 'any' },
    ]);
    expect(tasks.map((t) => [t.name, t.pool])).toEqual([['eu', 'eu'], ['us', 'us'], ['any', null]]);
    const [self] = await server.colony.runners.liveProcesses();
    expect(self).toMatchObject({ id: server.colony.runners.id, role: 'server --no-work', runsTasks: false, pools: [], self: true });

    // A runner of pool eu takes eu's task and the unpooled one, never us's.
    const eu = await colonyOn(dir, { kind: 'worker', pools: ['eu'] });
    await eu.colony.start();
    const ran = await eu.colony.tasks.waitFor([tasks[0]!.id, tasks[2]!.id]);
    for (const t of ran) expect(t).toMatchObject({ status: 'completed', runnerId: eu.colony.runners.id });
    expect(await eu.colony.tasks.get(tasks[1]!.id)).toMatchObject({ status: 'queued', runnerId: null, attempts: 0 });
    expect(await eu.colony.runners.servedPools()).toEqual(new Set(['eu']));
    expect((await server.colony.runners.liveProcesses()).map((p) => [p.role, p.pools]).sort()).toEqual([
      ['server --no-work', []],
      ['worker', ['eu']],
    ]);

    // An operator moves the waiting task to pool eu: its worker runs it.
    await expectRejection(server.colony.tasks.revise(tasks[1]!.id, { pool: 'u s' }), 'validation', /pool: a pool name is 1-64 letters/);
    const moved = await server.colony.tasks.revise(tasks[1]!.id, { pool: 'eu' });
    expect(moved.pool).toBe('eu');
    const [us] = await eu.colony.tasks.waitFor([moved.id]);
    expect(us).toMatchObject({ status: 'completed', pool: 'eu', runnerId: eu.colony.runners.id });
  });

  it('a swarm task left to a worker pool whose last live worker goes away before it starts is left to any runner', async () => {
    const coordinator = await colonyOn(project());
    const { colony } = coordinator;
    await colony.start();
    // A worker of pool eu on another host: live while its heartbeat is fresh, and it never claims here.
    const at = await colony.store.runners.clock();
    await colony.store.runners.upsert({ id: 'run_far', pid: 1, hostname: 'far-away.example', kind: 'worker', runsTasks: true, pools: ['eu'], startedAt: at, heartbeatAt: at });
    const dispatched: ColonyEvent[] = [];
    colony.events.subscribe({ types: ['swarm.task_dispatched'] }, (e) => void dispatched.push(e));

    const plan = { tasks: [{ id: 'eu1', title: 'eu work', prompt: 'do it', affinity: 'eu', dependsOn: [] }] };
    const swarm = await colony.swarms.create({ objective: 'one region', topology: 'distributed', pools: { eu: 1 }, review: false, plan });
    const event = await eventually(() => dispatched[0]);
    expect(event.data).toMatchObject({ planTaskId: 'eu1', pool: 'eu', workerPool: 'eu' });
    const taskId = (event.data as { taskId: string }).taskId;
    // Only a runner of pool eu may take it: this colony, of no pool, leaves it queued.
    expect(await colony.tasks.get(taskId)).toMatchObject({ pool: 'eu', status: 'queued', runnerId: null });

    await colony.store.runners.delete('run_far');
    const done = await colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('completed');
    expect(await colony.tasks.get(taskId)).toMatchObject({ status: 'completed', pool: null, runnerId: colony.runners.id, attempts: 1 });
    expect((await colony.swarms.status(swarm.id)).tasks[0]).toMatchObject({ planTaskId: 'eu1', pool: 'eu', workerPool: null, runnerId: colony.runners.id });
  });
});
