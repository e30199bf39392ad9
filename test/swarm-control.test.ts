import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/app/config.js';
import type { ColonyEvent } from '../src/domain/events.js';
import { parsePlanText } from '../src/swarm/plan-file.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { expectRejection } from './support/rejection.js';
import { DEFAULT_PLAN, forcedTool, requestText, swarmModel } from './support/swarm-model.js';
import { delay, eventually, tempColony, tempDir, type TempColony } from './support/temp-colony.js';

const server = new FakeLlmServer();
let baseUrl: string;
const temps: TempColony[] = [];

beforeAll(async () => {
  baseUrl = (await server.start()).anthropicBaseUrl;
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  for (const t of temps.splice(0)) await t.cleanup();
  server.reset();
});

function config(): ConfigInput {
  return {
    providers: { anthropic: { baseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } },
    agents: { defaultProvider: 'anthropic' },
    tasks: { defaultMaxRetries: 0 },
  };
}

async function colony(options: { dir?: string; start?: boolean } = {}): Promise<TempColony> {
  const t = await tempColony(config(), { env: {}, ...(options.dir ? { dir: options.dir } : {}) });
  temps.push(t);
  if (options.start !== false) await t.colony.start();
  return t;
}

function events(t: TempColony): ColonyEvent[] {
  const seen: ColonyEvent[] = [];
  t.colony.events.subscribe({}, (e) => void seen.push(e));
  return seen;
}

const isWorker = (text: string) => text.startsWith("The swarm's objective");

describe('swarm control and failure handling', () => {
  it('a queen terminated mid-swarm is replaced by a successor and the swarm finishes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const model = swarmModel();
    let workerCalls = 0;
    server.setDefaultReply(async (request) => {
      // Hold the first worker until the queen has been killed.
      if (forcedTool(request) === undefined && isWorker(requestText(request)) && ++workerCalls === 1) await gate;
      return model(request);
    });
    const t = await colony();
    const seen = events(t);
    const swarm = await t.colony.swarms.create({ objective: 'Build it', agents: 3 });
    // Wait until the plan is made and the first task dispatched, then kill the queen.
    await eventually(async () => (seen.some((e) => e.type === 'swarm.task_dispatched')));
    const queenId = (await t.colony.swarms.get(swarm.id)).leaderAgentId as string;
    expect(queenId).toBeTruthy();
    await t.colony.agents.terminate(queenId, 'killed by the test');
    await eventually(async () => (seen.some((e) => e.type === 'swarm.leader_changed')));
    release();
    const done = await t.colony.swarms.waitFor(swarm.id);

    expect(done.status).toBe('completed');
    expect(done.leaderAgentId).not.toBe(queenId);
    const successor = await t.colony.agents.get(done.leaderAgentId as string);
    expect(successor.type).toBe('queen-coordinator');
    const changed = seen.find((e) => e.type === 'swarm.leader_changed')?.data as { previous: string; next: string };
    expect(changed).toMatchObject({ previous: queenId, next: successor.id });
    // The successor reviewed and synthesized with the swarm's state: all three results are in.
    expect(done.result?.tasks.every((x) => x.status === 'done')).toBe(true);
  });

  it('a finished swarm retires its agents, so the pool is free for the next one', async () => {
    server.setDefaultReply(swarmModel());
    const t = await colony();
    const first = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'x', agents: 2 })).id);
    expect(first.status).toBe('completed');
    for (const id of first.agentIds) expect((await t.colony.agents.get(id)).status).toBe('terminated');
    expect(await t.colony.agents.list({ excludeTerminated: true })).toEqual([]);
  });

  it('a worker terminated mid-task is replaced and its task is dispatched again to the replacement', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const model = swarmModel();
    let workerCalls = 0;
    server.setDefaultReply(async (request) => {
      if (isWorker(requestText(request)) && ++workerCalls === 1) await gate;
      return model(request);
    });
    const t = await colony();
    const seen = events(t);
    const swarm = await t.colony.swarms.create({ objective: 'x', review: false, agents: 1, plan: { tasks: [{ id: 'only', title: 'Only', prompt: 'p', agentType: 'coder' }] } });
    // Running on its agent (a task is claimed first, then given its agent), its model call held: the
    // agent is terminated mid-call, not before the call (which, released at once, could finish first).
    const first = await eventually(async () => {
      const report = await t.colony.swarms.status(swarm.id);
      return report.counts.running > 0 && workerCalls > 0 ? (report.tasks[0]?.agentId ?? undefined) : undefined;
    });
    await t.colony.agents.terminate(first, 'killed by the test');
    release();
    const done = await t.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('completed');
    const report = await t.colony.swarms.status(swarm.id);
    const worker = report.tasks[0]?.agentId as string;
    expect(worker).not.toBe(first);
    expect((await t.colony.agents.get(worker)).type).toBe('coder');
    expect(done.agentIds).toContain(worker);
    expect(seen.filter((e) => e.type === 'swarm.task_dispatched')).toHaveLength(2);
  });

  it('a queen whose model calls keep failing is replaced, and the swarm fails clearly when no successor can serve', async () => {
    const model = swarmModel();
    let reviews = 0;
    // The first review fails at the provider (500): the queen that made it is replaced.
    server.setDefaultReply((request) => (forcedTool(request) === 'review_result' && ++reviews === 1 ? { fault: 'server_error', status: 500 } : model(request)));
    const t = await colony();
    const seen = events(t);
    const swarm = await t.colony.swarms.create({ objective: 'x', agents: 1, plan: { tasks: [{ id: 'a', title: 'a', prompt: 'p' }] } });
    const done = await t.colony.swarms.waitFor(swarm.id);
    // The successor made the review again, and the swarm went on.
    expect(done.status).toBe('completed');
    expect(seen.filter((e) => e.type === 'swarm.leader_changed')).toHaveLength(1);

    server.reset();
    server.setDefaultReply(() => ({ fault: 'server_error', status: 500 }));
    const doomed = await t.colony.swarms.create({ objective: 'y', agents: 1 });
    const failed = await t.colony.swarms.waitFor(doomed.id);
    expect(failed.status).toBe('failed');
    expect(failed.error?.message).toMatch(/queen failed 4 times/);
  });

  it('a swarm that exhausts its token budget stops cleanly, never past the budget, and keeps its partial results', async () => {
    server.setDefaultReply(swarmModel({ usage: { inputTokens: 8_000, outputTokens: 2_000 } }));
    const t = await colony();
    const swarm = await t.colony.swarms.create({ objective: 'x', review: false, concurrency: 1, maxTokens: 20_000, plan: DEFAULT_PLAN });
    const done = await t.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('stopped');
    expect(done.error?.code).toBe('budget_exhausted');
    expect(done.error?.message).toMatch(/token budget exhausted/);
    expect(done.result?.partial).toBe(true);
    // research and build (10,000 tokens each) ran; nothing was left for test, which was refused or never dispatched.
    expect(done.result?.tasks.slice(0, 2).map((x) => x.status)).toEqual(['done', 'done']);
    expect(done.result?.tasks[2]?.status).not.toBe('done');
    expect(done.usage.inputTokens + done.usage.outputTokens).toBe(20_000);
    const kept = done.result?.tasks.find((x) => x.status === 'done');
    expect(JSON.stringify(kept?.result)).toContain('worker result');
    // No call was made past the budget: two worker calls, no synthesis.
    expect(server.requests.filter((r) => /^Your task \(/m.test(requestText(r)))).toHaveLength(2);
    expect(server.requests.some((r) => requestText(r).includes('Synthesize one answer'))).toBe(false);
  });

  it('a swarm past its deadline stops, cancelling the running task and keeping what finished', async () => {
    const model = swarmModel();
    server.setDefaultReply(async (request) => {
      if (/^Your task \(build\)/m.test(requestText(request))) return { ...(model(request) as object), delayMs: 5_000 };
      return model(request);
    });
    const t = await colony();
    const swarm = await t.colony.swarms.create({ objective: 'x', review: false, deadline: '700ms', plan: DEFAULT_PLAN });
    const done = await t.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('stopped');
    expect(done.error?.code).toBe('deadline_exceeded');
    expect(done.result?.tasks.map((x) => x.status)).toEqual(['done', 'failed', 'skipped']);
    const build = (await t.colony.swarms.status(swarm.id)).tasks[1];
    expect(build?.status).toBe('cancelled');
  });

  it('pause holds new dispatches, resume continues, stop ends with partial results', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const model = swarmModel();
    // The last task answers late: the swarm is still running when it is stopped.
    server.setDefaultReply(async (request) => {
      if (forcedTool(request) === undefined && isWorker(requestText(request)) && /^Your task \(research\)/m.test(requestText(request))) await gate;
      if (forcedTool(request) === undefined && isWorker(requestText(request)) && /^Your task \(test\)/m.test(requestText(request))) await delay(5_000);
      return model(request);
    });
    const t = await colony();
    const swarm = await t.colony.swarms.create({ objective: 'x', review: false, plan: DEFAULT_PLAN });
    await eventually(async () => (await t.colony.swarms.status(swarm.id)).counts.running > 0);
    const paused = await t.colony.swarms.pause(swarm.id.slice(0, 12));
    expect(paused.status).toBe('paused');
    await expectRejection(t.colony.swarms.pause(swarm.id), 'conflict', /paused/);
    release();
    // The running task finishes, but nothing new is dispatched while paused.
    await eventually(async () => (await t.colony.swarms.status(swarm.id)).counts.completed > 0);
    await delay(600);
    let report = await t.colony.swarms.status(swarm.id);
    expect(report.counts.completed).toBe(1);
    expect(report.counts.waiting).toBe(2);

    await t.colony.swarms.resume(swarm.id);
    await eventually(async () => (await t.colony.swarms.status(swarm.id)).counts.completed >= 2);
    const stopped = await t.colony.swarms.stop(swarm.id, 'enough');
    expect(stopped.status).toBe('stopped');
    expect(stopped.error).toMatchObject({ code: 'stopped', message: 'enough' });
    expect(stopped.result?.partial).toBe(true);
    report = await t.colony.swarms.status(swarm.id);
    expect(report.counts.completed).toBeGreaterThanOrEqual(2);
    await expectRejection(t.colony.swarms.stop(swarm.id), 'conflict', /already stopped/);
    await expectRejection(t.colony.swarms.resume(swarm.id), 'conflict', /stopped/);
  });

  it('a stop that races a task being claimed leaves nothing running', async () => {
    server.setDefaultReply(async (request) => ({ ...(swarmModel()(request) as object), delayMs: 2_000 }));
    const t = await colony();
    let stopping: Promise<unknown> | null = null;
    const plan = { tasks: Array.from({ length: 4 }, (_, i) => ({ id: `t${i}`, title: `t${i}`, prompt: 'p', agentType: 'coder' })) };
    const swarm = await t.colony.swarms.create({ objective: 'x', review: false, agents: 4, concurrency: 4, plan });
    // Stop the moment the first task is handed to the engine, while the scheduler is claiming it.
    t.colony.events.subscribe({ types: ['swarm.task_dispatched'] }, () => {
      stopping ??= t.colony.swarms.stop(swarm.id, 'raced');
    });
    await eventually(() => stopping !== null);
    const stopped = (await (stopping as unknown as Promise<{ status: string }>));
    expect(stopped.status).toBe('stopped');
    const report = await t.colony.swarms.status(swarm.id);
    expect(report.counts.running + report.counts.queued + report.counts.pending).toBe(0);
  });

  it('a stop from another process: the coordinating process cancels the running task before it lets go', async () => {
    const model = swarmModel();
    server.setDefaultReply(async (request) => ({ ...(model(request) as object), delayMs: isWorker(requestText(request)) ? 3_000 : 0 }));
    const dir = tempDir();
    const coordinating = await colony({ dir });
    const other = await colony({ dir, start: false });
    const swarm = await coordinating.colony.swarms.create({ objective: 'x', review: false, plan: { tasks: [{ id: 'slow', title: 'Slow', prompt: 'p' }] } });
    await eventually(async () => (await coordinating.colony.swarms.status(swarm.id)).counts.running > 0);
    const stopped = await other.colony.swarms.stop(swarm.id, 'from elsewhere');
    expect(stopped.status).toBe('stopped');
    // The record already says stopped; waiting in the coordinating process waits for its run to wind down.
    const done = await coordinating.colony.swarms.waitFor(swarm.id);
    expect(done.result?.partial).toBe(true);
    const [task] = await coordinating.colony.store.tasks.list({ swarmId: swarm.id });
    expect(task?.status).toBe('cancelled');
  });

  it('a swarm interrupted when its process stops resumes in the next one and finishes without redoing work', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const model = swarmModel();
    server.setDefaultReply(async (request) => {
      if (isWorker(requestText(request)) && /^Your task \(build\)/m.test(requestText(request))) await gate;
      return model(request);
    });
    const dir = tempDir();
    const first = await colony({ dir });
    const swarm = await first.colony.swarms.create({ objective: 'x', review: false, plan: DEFAULT_PLAN });
    await eventually(async () => (await first.colony.swarms.status(swarm.id)).tasks.find((x) => x.planTaskId === 'build')?.status === 'running');
    // The build task is running; the process goes away without finishing the swarm.
    const stopping = first.colony.close({ drainTimeoutMs: 0 });
    release();
    await stopping;
    temps.splice(temps.indexOf(first), 1);
    const researchRuns = server.requests.filter((r) => /^Your task \(research\)/m.test(requestText(r))).length;

    const second = await colony({ dir });
    const done = await second.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('completed');
    expect(done.runnerId).toBe(second.colony.runners.id);
    expect(server.requests.filter((r) => /^Your task \(research\)/m.test(requestText(r))).length).toBe(researchRuns);
    expect(done.result?.tasks.map((x) => x.status)).toEqual(['done', 'done', 'done']);
  });

  it('an invalid plan is sent back for repair, and a planner that never gets it right fails the swarm with the reason', async () => {
    let plans = 0;
    server.setDefaultReply(
      swarmModel({
        plan: () =>
          ++plans === 1
            ? { tasks: [{ id: 'a', title: 'a', prompt: 'p', dependsOn: ['missing'] }] }
            : { tasks: [{ id: 'a', title: 'a', prompt: 'p', dependsOn: [] }] },
      }),
    );
    const t = await colony();
    const ok = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'x', review: false })).id);
    expect(ok.status).toBe('completed');
    const repair = server.requests.filter((r) => forcedTool(r) === 'submit_plan')[1];
    expect(JSON.stringify(repair?.body)).toContain('unknown dependencies: a -> missing');

    server.reset();
    server.setDefaultReply(swarmModel({ plan: () => ({ tasks: [{ id: 'a', title: 'a', prompt: 'p', agentType: 'no-such-type' }] }) }));
    const bad = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'y' })).id);
    expect(bad.status).toBe('failed');
    expect(bad.error?.message).toMatch(/no valid submit_plan answer in 3 attempts.*unknown agentType "no-such-type"/);
    expect(server.requests.filter((r) => forcedTool(r) === 'submit_plan')).toHaveLength(3);
  });

  it('rejects bad specs and bad plans with the field named, creating nothing', async () => {
    const t = await colony({ start: false });
    await expectRejection(t.colony.swarms.create({ objective: '' }), 'validation', /objective/);
    await expectRejection(t.colony.swarms.create({ objective: 'x', topology: 'ring' }), 'validation', /unknown topology "ring"/);
    await expectRejection(t.colony.swarms.create({ objective: 'x', roster: [{ type: 'wizard', count: 1 }] }), 'validation', /unknown agent type "wizard"/);
    await expectRejection(t.colony.swarms.create({ objective: 'x', pools: { eu: 1 } }), 'validation', /pools are for the distributed topology/);
    await expectRejection(
      t.colony.swarms.create({ objective: 'x', plan: { tasks: [{ id: 'a', title: 'a', prompt: 'p', dependsOn: ['b'] }, { id: 'b', title: 'b', prompt: 'p', dependsOn: ['a'] }] } }),
      'validation',
      /cycle/,
    );
    await expectRejection(t.colony.swarms.create({ objective: 'x', bogus: 1 }), 'validation', /bogus/);
    await expectRejection(t.colony.swarms.create({ objective: 'x', provider: 'openai' }), 'config', /openai: no API key/);
    expect(await t.colony.swarms.count()).toBe(0);
    expect(() => parsePlanText('tasks: [', 'plan.yaml')).toThrow(/plan.yaml: not valid YAML/);
    expect(() => parsePlanText('tasks:\n  - id: a\n    title: a\n', 'plan.yaml')).toThrow(/plan.yaml: tasks.0.prompt/);
    expect(parsePlanText('tasks:\n  - id: a\n    title: A\n    prompt: do\n', 'p.yaml').tasks[0]).toMatchObject({ id: 'a', dependsOn: [] });
  });

  it('a swarm created while no colony runs is picked up when one starts', async () => {
    server.setDefaultReply(swarmModel());
    const dir = tempDir();
    const idle = await colony({ dir, start: false });
    const swarm = await idle.colony.swarms.create({ objective: 'x', review: false, plan: DEFAULT_PLAN });
    expect(swarm.runnerId).toBeNull();
    await idle.colony.start();
    const done = await idle.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('completed');
  });
});
