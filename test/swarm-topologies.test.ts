import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/app/config.js';
import type { ColonyEvent } from '../src/domain/events.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { DEFAULT_PLAN, forcedTool, requestText, swarmModel } from './support/swarm-model.js';
import { eventually, tempColony, type TempColony } from './support/temp-colony.js';

const server = new FakeLlmServer();
let baseUrl: string;
let temp: TempColony | undefined;

beforeAll(async () => {
  baseUrl = (await server.start()).anthropicBaseUrl;
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
  server.reset();
});

function config(extra: ConfigInput = {}): ConfigInput {
  return {
    providers: { anthropic: { baseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } },
    agents: { defaultProvider: 'anthropic' },
    tasks: { defaultMaxRetries: 0 },
    ...extra,
  };
}

async function started(): Promise<TempColony> {
  temp = await tempColony(config(), { env: {} });
  await temp.colony.start();
  return temp;
}

function collect(t: TempColony, swarmId?: string): ColonyEvent[] {
  const seen: ColonyEvent[] = [];
  t.colony.events.subscribe({}, (e) => {
    if (swarmId === undefined || e.correlationId === swarmId || (e.data as { swarmId?: string }).swarmId === swarmId) seen.push(e);
  });
  return seen;
}

describe('swarm topologies, end to end against the fake model server', () => {
  it('centralized: the queen plans, workers run the DAG in order, the queen reviews each result and synthesizes', async () => {
    server.setDefaultReply(swarmModel());
    const t = await started();
    const events = collect(t);
    const swarm = await t.colony.swarms.create({ objective: 'Build a CLI todo app', topology: 'centralized', agents: 3 });
    const done = await t.colony.swarms.waitFor(swarm.id);

    expect(done.status).toBe('completed');
    expect(done.plan?.tasks.map((x) => x.id)).toEqual(['research', 'build', 'test']);
    expect(done.result?.partial).toBe(false);
    expect(done.result?.summary).toMatch(/^SYNTHESIS/);
    expect(done.result?.tasks.map((x) => x.status)).toEqual(['done', 'done', 'done']);
    expect(done.leaderAgentId).not.toBeNull();
    const queen = await t.colony.agents.get(done.leaderAgentId as string);
    expect(queen.type).toBe('queen-coordinator');

    const report = await t.colony.swarms.status(swarm.id);
    expect(report.tasks.map((x) => x.agentType)).toEqual(['researcher', 'coder', 'tester']);
    // Dependencies were honoured: each task's prompt carries the result of the one before.
    const workerPrompts = server.requests.filter((r) => forcedTool(r) === undefined && requestText(r).includes('Your task')).map(requestText);
    expect(workerPrompts.find((p) => p.includes('Your task (build)'))).toContain('worker result for: Your task (research)');
    expect(events.filter((e) => e.type === 'swarm.task_reviewed')).toHaveLength(3);
    expect(events.filter((e) => e.type === 'swarm.task_dispatched')).toHaveLength(3);
    expect(events.some((e) => e.type === 'task.completed' && e.correlationId === swarm.id)).toBe(true);
    expect(done.usage.calls).toBeGreaterThan(0);
    expect(done.usage.inputTokens).toBeGreaterThan(0);
  });

  it('centralized: a result sent back for revision is redone with the feedback', async () => {
    let reviews = 0;
    server.setDefaultReply(
      swarmModel({
        plan: () => ({ summary: 'one', tasks: [{ id: 'only', title: 'Do it', prompt: 'do the thing', agentType: 'coder', dependsOn: [] }] }),
        review: () => (++reviews === 1 ? { verdict: 'revise', feedback: 'add error handling' } : { verdict: 'accept' }),
      }),
    );
    const t = await started();
    const swarm = await t.colony.swarms.create({ objective: 'x', agents: 1 });
    const done = await t.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('completed');
    const prompts = server.requests.filter((r) => forcedTool(r) === undefined && requestText(r).startsWith("The swarm's objective")).map(requestText);
    expect(prompts).toHaveLength(2);
    expect(prompts[1]).toContain('add error handling');
    expect((await t.colony.swarms.status(swarm.id)).tasks[0]?.revisions).toBe(1);
  });

  it('centralized: a slow review holds up only the tasks that depend on its result', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const model = swarmModel({
      plan: () => ({
        summary: 'two lines',
        tasks: [
          { id: 'a', title: 'A', prompt: 'first line', agentType: 'coder', dependsOn: [] },
          { id: 'b', title: 'B', prompt: 'second line', agentType: 'coder', dependsOn: [] },
          { id: 'c', title: 'C', prompt: 'after b', agentType: 'coder', dependsOn: ['b'] },
        ],
      }),
    });
    server.setDefaultReply(async (request) => {
      const text = requestText(request);
      // The queen's review of A waits until C (which needs B reviewed) has been dispatched and run.
      if (forcedTool(request) === 'review_result' && text.includes('Task a: A')) await gate;
      if (/^Your task \(c\)/m.test(text)) release();
      // B finishes after A, so A's review is under way before B's result comes in.
      if (/^Your task \(b\)/m.test(text)) return { ...(model(request) as object), delayMs: 150 };
      return model(request);
    });
    const t = await started();
    const done = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'x', agents: 2, concurrency: 2 })).id);
    expect(done.status).toBe('completed');
    expect(done.result?.tasks.map((x) => x.status)).toEqual(['done', 'done', 'done']);
  });

  it('centralized: the queen can re-plan, adding tasks that build on the ones planned', async () => {
    let reviews = 0;
    server.setDefaultReply(
      swarmModel({
        plan: () => ({ summary: 'one', tasks: [{ id: 'draft', title: 'Draft', prompt: 'draft it', agentType: 'coder', dependsOn: [] }] }),
        review: () =>
          ++reviews === 1
            ? { verdict: 'replan', feedback: 'needs a test', newTasks: [{ id: 'check', title: 'Check the draft', prompt: 'test it', agentType: 'tester', dependsOn: ['draft'] }] }
            : { verdict: 'accept' },
      }),
    );
    const t = await started();
    const events = collect(t);
    const done = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'x', agents: 1 })).id);
    expect(done.status).toBe('completed');
    expect(done.plan?.tasks.map((x) => x.id)).toEqual(['draft', 'check']);
    expect(done.result?.tasks.map((x) => x.status)).toEqual(['done', 'done']);
    expect(events.find((e) => e.type === 'swarm.replanned')?.data).toMatchObject({ added: ['check'], by: 'queen' });
    const checkPrompt = server.requests.map(requestText).find((text) => /^Your task \(check\)/m.test(text));
    expect(checkPrompt).toContain('### draft: Draft');
  });

  it('mesh: peers claim tasks from the shared board and vote on each result', async () => {
    server.setDefaultReply(swarmModel());
    const t = await started();
    const swarm = await t.colony.swarms.create({ objective: 'Write docs', topology: 'mesh', agents: 3 });
    const done = await t.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('completed');
    expect(done.leaderAgentId).toBeNull();
    const report = await t.colony.swarms.status(swarm.id);
    expect(report.proposals.length).toBe(3);
    for (const p of report.proposals) expect(p.status).toBe('accepted');
    // Every task ran on one of the swarm's peers.
    const peers = new Set(done.agentIds);
    for (const task of report.tasks) expect(peers.has(task.agentId as string)).toBe(true);
  });

  it('mesh: a peer messages another peer through the message tools', async () => {
    const model = swarmModel({
      plan: () => ({ summary: 'one', tasks: [{ id: 'scout', title: 'Scout', prompt: 'look around', agentType: 'coder', dependsOn: [] }] }),
      review: () => ({ verdict: 'accept' }),
    });
    server.setDefaultReply((request) => {
      const text = requestText(request);
      const peers = /^The swarm's workers \(message the others, not yourself; your own agent id is in your instructions\): (.*)$/m.exec(text)?.[1];
      const toolResults = JSON.stringify(request.body).includes('tool_result');
      if (forcedTool(request) === undefined && peers && !toolResults) {
        // The first peer listed (the prompt lists every peer of the swarm, the worker itself included).
        const to = peers.split(', ')[0]?.split(' ')[0] as string;
        return { toolCalls: [{ name: 'send_message', input: { to, body: 'the north tunnel is clear' } }] };
      }
      return model(request);
    });
    const t = await started();
    const done = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'scout', topology: 'mesh', agents: 2, review: false })).id);
    expect(done.status).toBe('completed');
    const inboxes = await Promise.all(done.agentIds.map((id) => t.colony.store.messages.readInbox(id, { limit: 10 })));
    const delivered = inboxes.flat();
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.body).toBe('the north tunnel is clear');
    expect(done.agentIds).toContain(delivered[0]?.fromAgent);
  });

  it('mesh: a result the peers reject goes back with their reasons and is redone', async () => {
    let votes = 0;
    server.setDefaultReply(
      swarmModel({
        plan: () => ({ summary: 'one', tasks: [{ id: 'doc', title: 'Write the doc', prompt: 'write it', agentType: 'coder', dependsOn: [] }] }),
        // The first proposal's two voters (the peers other than the author) reject; later ones approve.
        vote: () => (++votes <= 2 ? { decision: 'reject', confidence: 0.8, reason: 'missing the install section' } : { decision: 'approve', confidence: 0.9, reason: 'fine' }),
      }),
    );
    const t = await started();
    const swarm = await t.colony.swarms.create({ objective: 'docs', topology: 'mesh', agents: 3 });
    const done = await t.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('completed');
    const report = await t.colony.swarms.status(swarm.id);
    expect(report.proposals.map((p) => p.status).sort()).toEqual(['accepted', 'rejected']);
    expect(report.tasks[0]?.revisions).toBe(1);
    const redo = server.requests.filter((r) => forcedTool(r) === undefined && requestText(r).startsWith("The swarm's objective")).map(requestText)[1];
    expect(redo).toContain('missing the install section');
  });

  it('hierarchical: the root splits into domains, each manager plans its own tasks, results synthesize per domain then overall', async () => {
    server.setDefaultReply(
      swarmModel({
        plan: (text) => {
          const domain = text.includes('the UI') ? 'ui' : 'api';
          return { summary: domain, tasks: [{ id: 'a', title: `${domain} a`, prompt: 'p', agentType: 'coder', dependsOn: [] }, { id: 'b', title: `${domain} b`, prompt: 'p', dependsOn: ['a'] }] };
        },
      }),
    );
    const t = await started();
    const swarm = await t.colony.swarms.create({ objective: 'Build a web app', topology: 'hierarchical', agents: 4 });
    const done = await t.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('completed');
    expect(done.plan?.domains?.map((d) => d.name)).toEqual(['frontend', 'backend']);
    expect(done.plan?.tasks.map((x) => x.id)).toEqual(['frontend.a', 'frontend.b', 'backend.a', 'backend.b']);
    expect(done.result?.domains?.map((d) => d.name).sort()).toEqual(['backend', 'frontend']);
    const report = await t.colony.swarms.status(swarm.id);
    const managers = report.agents.filter((a) => a.type === 'domain-manager');
    expect(managers).toHaveLength(2);
    expect(report.agents.find((a) => a.id === done.leaderAgentId)?.type).toBe('hierarchical-coordinator');
    // Each domain's tasks ran on that domain's own workers.
    const groupOf = new Map(report.agents.map((a) => [a.id, (a.config as { group?: string }).group]));
    for (const task of report.tasks) expect(groupOf.get(task.agentId as string)).toBe(task.domain);
  });

  it('distributed: tasks go to the pool they have affinity for, others to the least loaded pool', async () => {
    server.setDefaultReply(
      swarmModel({
        plan: () => ({
          summary: 'geo',
          tasks: [
            { id: 'eu1', title: 'eu work', prompt: 'p', affinity: 'eu', dependsOn: [] },
            { id: 'us1', title: 'us work', prompt: 'p', affinity: 'us', dependsOn: [] },
            { id: 'any', title: 'anywhere', prompt: 'p', dependsOn: ['eu1', 'us1'] },
          ],
        }),
      }),
    );
    const t = await started();
    const events = collect(t);
    const swarm = await t.colony.swarms.create({ objective: 'Serve two regions', topology: 'distributed', pools: { eu: 1, us: 2 } });
    const done = await t.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('completed');
    const dispatched = events.filter((e) => e.type === 'swarm.task_dispatched').map((e) => e.data as { planTaskId: string; pool: string | null; agentIds: string[] });
    expect(dispatched.find((d) => d.planTaskId === 'eu1')?.pool).toBe('eu');
    expect(dispatched.find((d) => d.planTaskId === 'us1')?.pool).toBe('us');
    expect(['eu', 'us']).toContain(dispatched.find((d) => d.planTaskId === 'any')?.pool);
    const report = await t.colony.swarms.status(swarm.id);
    expect(report.agents.filter((a) => (a.config as { group?: string }).group === 'us')).toHaveLength(2);
    expect(report.agents.filter((a) => (a.config as { group?: string }).group === 'eu')).toHaveLength(1);
    const groupOf = new Map(report.agents.map((a) => [a.id, (a.config as { group?: string }).group]));
    expect(groupOf.get(report.tasks.find((x) => x.planTaskId === 'eu1')?.agentId as string)).toBe('eu');
  });

  it('tasks that name no agent type get one by adaptive selection, learnt from earlier outcomes', async () => {
    server.setDefaultReply(swarmModel());
    const t = await started();
    // Track record on kind "schema": database-engineer always succeeded, the other database types always failed.
    for (let i = 0; i < 30; i++) {
      await t.colony.selection.record({ agentType: 'database-engineer', taskKind: 'schema', success: true, latencyMs: 100, costUsd: null });
      await t.colony.selection.record({ agentType: 'data-engineer', taskKind: 'schema', success: false, latencyMs: 100, costUsd: null });
      await t.colony.selection.record({ agentType: 'query-optimizer', taskKind: 'schema', success: false, latencyMs: 100, costUsd: null });
    }
    const tasks = Array.from({ length: 4 }, (_, i) => ({ id: `s${i}`, title: `schema ${i}`, prompt: 'design tables', capabilities: ['database'], kind: 'schema' }));
    const swarm = await t.colony.swarms.create({ objective: 'schemas', review: false, agents: 2, plan: { tasks } });
    const done = await t.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('completed');
    const report = await t.colony.swarms.status(swarm.id);
    expect(report.agents.filter((a) => (a.config as { role?: string }).role === 'worker').map((a) => a.type)).toEqual(['database-engineer', 'database-engineer']);
    expect(new Set(report.tasks.map((x) => x.agentType))).toEqual(new Set(['database-engineer']));
    // The swarm's own outcomes feed the selector in turn.
    await eventually(async () => ((await t.colony.selection.stats({ taskKind: 'schema' })).find((a) => a.agentType === 'database-engineer')?.successes ?? 0) >= 34);
    expect((await t.colony.selection.stats({ taskKind: 'schema' })).find((a) => a.agentType === 'database-engineer')?.successes).toBe(34);
  });

  it('a user-supplied plan runs without asking the planner', async () => {
    server.setDefaultReply(swarmModel());
    const t = await started();
    const swarm = await t.colony.swarms.create({ objective: 'x', topology: 'centralized', review: false, plan: DEFAULT_PLAN });
    const done = await t.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('completed');
    expect(server.requests.some((r) => forcedTool(r) === 'submit_plan')).toBe(false);
    expect(done.config.planSource).toBe('user');
  });
});
