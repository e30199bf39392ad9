import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/app/config.js';
import type { ColonyEvent } from '../src/domain/events.js';
import { normalizeVoteAnswer } from '../src/consensus/vote-normalize.js';
import { jsonInText } from '../src/providers/structured-output.js';
import { kebabName, parseShare } from '../src/providers/lenient-values.js';
import { normalizeDomainsAnswer, normalizePlanAnswer, normalizeReviewAnswer } from '../src/swarm/plan-normalize.js';
import { UNREVIEWED } from '../src/swarm/topologies/mesh.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { forcedTool, requestText, swarmModel } from './support/swarm-model.js';
import { eventually, tempColony, type TempColony } from './support/temp-colony.js';

/**
 * Trust in what a swarm reports: authors never vote on their own work, progress counts completed
 * work only, and a model's answer is read for what it means (names, case, enum words, percentages,
 * JSON in prose) while an answer whose meaning is missing still fails, with the reason named.
 */

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

function collect(t: TempColony): ColonyEvent[] {
  const seen: ColonyEvent[] = [];
  t.colony.events.subscribe({}, (e) => void seen.push(e));
  return seen;
}

const ONE_TASK = { summary: 'one', tasks: [{ id: 'doc', title: 'Write the doc', prompt: 'write it', agentType: 'coder', dependsOn: [] }] };

describe('mesh review: authors never vote on their own work', () => {
  it('every vote on a result is cast by the other peers, never by the agent that produced it', async () => {
    server.setDefaultReply(swarmModel());
    const t = await started();
    const done = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'Write docs', topology: 'mesh', agents: 3 })).id);
    expect(done.status).toBe('completed');
    const report = await t.colony.swarms.status(done.id);
    expect(report.proposals).toHaveLength(3);
    for (const proposal of report.proposals) {
      const task = await t.colony.tasks.get(proposal.taskId as string);
      expect(task.assignedAgent).not.toBeNull();
      expect(proposal.voterIds).not.toContain(task.assignedAgent);
      expect(proposal.voterIds).toHaveLength(2);
      expect(proposal.status).toBe('accepted');
    }
  });

  it('a mesh of one peer has nobody else to vote: the result is accepted unreviewed, and the review says so', async () => {
    server.setDefaultReply(swarmModel({ plan: () => ONE_TASK }));
    const t = await started();
    const events = collect(t);
    const done = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'docs', topology: 'mesh', agents: 1, review: true })).id);
    expect(done.status).toBe('completed');
    expect((await t.colony.swarms.status(done.id)).proposals).toEqual([]);
    expect(server.requests.some((r) => forcedTool(r) === 'cast_vote')).toBe(false);
    const reviewed = events.find((e) => e.type === 'swarm.task_reviewed')?.data;
    expect(reviewed).toMatchObject({ planTaskId: 'doc', verdict: 'accept', feedback: UNREVIEWED, by: 'peers' });
  });

  it('a vote on a task result refuses the task\'s own agent as a voter', async () => {
    server.setDefaultReply(swarmModel());
    const t = await started();
    const [author, other] = [await t.colony.agents.spawn({ type: 'coder' }), await t.colony.agents.spawn({ type: 'reviewer' })];
    const [task] = await t.colony.tasks.submit([{ type: 'agent', input: { prompt: 'Write it' }, requirements: { agentIds: [author.id] } }]);
    await eventually(async () => (await t.colony.tasks.get(task?.id as string)).status === 'completed');
    expect((await t.colony.tasks.get(task?.id as string)).assignedAgent).toBe(author.id);
    await expect(t.colony.consensus.ask({ question: 'Good?', taskId: task?.id as string, agentIds: [other.id, author.id] })).rejects.toThrow(
      `agentIds: agent ${author.id} ran task ${task?.id} and cannot vote on its own work`,
    );
    // Other agents may judge it.
    expect((await t.colony.consensus.ask({ question: 'Good?', taskId: task?.id as string, agentIds: [other.id], strategy: 'majority' })).status).toBe('accepted');
  });
});

describe('progress counts completed work', () => {
  it('a swarm stopped before anything completed reads 0, with its tasks counted by outcome', async () => {
    const model = swarmModel();
    server.setDefaultReply(async (request) => ({ ...((await model(request)) as object), ...(forcedTool(request) === undefined ? { delayMs: 30_000 } : {}) }));
    const t = await started();
    const events = collect(t);
    const swarm = await t.colony.swarms.create({
      objective: 'x',
      review: false,
      plan: { tasks: [{ id: 'a', title: 'A', prompt: 'p' }, { id: 'b', title: 'B', prompt: 'p' }, { id: 'c', title: 'C', prompt: 'p', dependsOn: ['a'] }] },
    });
    await eventually(async () => (await t.colony.swarms.status(swarm.id)).counts.running === 2);
    const stopped = await t.colony.swarms.stop(swarm.id, 'enough');
    expect(stopped.status).toBe('stopped');
    expect(stopped.progress).toBe(0);
    expect((await t.colony.swarms.get(swarm.id)).progress).toBe(0);
    const report = await t.colony.swarms.status(swarm.id);
    expect(report.counts).toMatchObject({ completed: 0, cancelled: 2, waiting: 1 });
    expect(stopped.result?.tasks.map((x) => x.status)).toEqual(['failed', 'failed', 'skipped']);
    // Every swarm.progress event reported completed work only.
    for (const e of events.filter((x) => x.type === 'swarm.progress')) expect((e.data as { progress: number }).progress).toBe(0);
  });

  it('a failed task is not progress: one of two completed reads 0.5', async () => {
    const model = swarmModel();
    server.setDefaultReply((request) => (/^Your task \(bad\)/m.test(requestText(request)) ? { fault: 'server_error', status: 400, message: 'bad request' } : model(request)));
    const t = await started();
    const swarm = await t.colony.swarms.create({ objective: 'x', review: false, plan: { tasks: [{ id: 'good', title: 'Good', prompt: 'p' }, { id: 'bad', title: 'Bad', prompt: 'p' }] } });
    const done = await t.colony.swarms.waitFor(swarm.id);
    expect(done.status).toBe('failed');
    expect(done.progress).toBe(0.5);
    const report = await t.colony.swarms.status(swarm.id);
    expect(report.counts).toMatchObject({ completed: 1, failed: 1 });
    expect(report.tasks.find((x) => x.planTaskId === 'bad')?.error).toMatchObject({ code: 'provider', message: expect.stringMatching(/^anthropic 400: bad request/) });
  });
});

describe('model output read for its meaning', () => {
  it('hierarchical: domain names, task ids, references and agent types written loosely still make a plan', async () => {
    server.setDefaultReply(
      swarmModel({
        domains: { domains: [{ name: 'Data Collection', objective: 'collect' }, { name: 'Report_Writing', objective: 'write', note: 'extra field' }] },
        plan: () => ({
          summary: 'two steps',
          tasks: [
            { id: 'Step One', title: ' Gather ', prompt: 'gather', agentType: 'Backend Developer', dependsOn: [], kind: 'Research', estimate: '2h' },
            { id: 'step_two', title: 'Check', prompt: 'check', agentType: 'CODER', dependsOn: 'step one' },
          ],
        }),
      }),
    );
    const t = await started();
    const done = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'A report', topology: 'hierarchical', agents: 2, review: false })).id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('completed');
    expect(done.plan?.domains?.map((d) => d.name)).toEqual(['data-collection', 'report-writing']);
    expect(done.plan?.tasks.map((x) => [x.id, x.agentType, x.dependsOn])).toEqual([
      ['data-collection.Step-One', 'backend-developer', []],
      ['data-collection.step_two', 'coder', ['data-collection.Step-One']],
      ['report-writing.Step-One', 'backend-developer', []],
      ['report-writing.step_two', 'coder', ['report-writing.Step-One']],
    ]);
    expect(done.plan?.tasks[0]?.kind).toBe('research');
  });

  it('a plan given as JSON in a code fence with prose around it (no tool call) is taken', async () => {
    const model = swarmModel();
    const plan = { summary: 'fenced', tasks: [{ id: 'only', title: 'Only', prompt: 'p', dependsOn: [] }] };
    server.setDefaultReply((request) =>
      forcedTool(request) === 'submit_plan' ? { text: `Sure! Here is the plan:\n\`\`\`json\n${JSON.stringify(plan, null, 2)}\n\`\`\`\nLet me know if {anything} should change.` } : model(request),
    );
    const t = await started();
    const done = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'x', agents: 1, review: false })).id);
    expect(done.status).toBe('completed');
    expect(done.plan?.summary).toBe('fenced');
    expect(server.requests.filter((r) => forcedTool(r) === 'submit_plan')).toHaveLength(1);
  });

  it('votes written "APPROVED" with confidence "80%" count as approve at 0.8', async () => {
    server.setDefaultReply(swarmModel({ plan: () => ONE_TASK, vote: () => ({ decision: 'APPROVED', confidence: '80%', reason: ' fine ' }) }));
    const t = await started();
    const done = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'docs', topology: 'mesh', agents: 3 })).id);
    expect(done.status).toBe('completed');
    const [proposal] = (await t.colony.swarms.status(done.id)).proposals;
    expect(proposal?.status).toBe('accepted');
    const votes = await t.colony.consensus.votes(proposal?.id as string);
    expect(votes.map((v) => [v.decision, v.confidence, v.reason, v.status])).toEqual([
      ['approve', 0.8, 'fine', 'counted'],
      ['approve', 0.8, 'fine', 'counted'],
    ]);
    expect(server.requests.filter((r) => forcedTool(r) === 'cast_vote')).toHaveLength(2);
  });

  it('a vote whose decision means nothing fails, and the outcome says which voters cast none and why', async () => {
    server.setDefaultReply(swarmModel({ vote: () => ({ decision: 'maybe', confidence: 0.5, reason: 'unsure' }) }));
    const t = await started();
    const agents = [await t.colony.agents.spawn({ type: 'reviewer' }), await t.colony.agents.spawn({ type: 'reviewer' })];
    const proposal = await t.colony.consensus.ask({ question: 'Ship it?', agentIds: agents.map((a) => a.id), strategy: 'majority' });
    expect(proposal.status).toBe('no_consensus');
    expect(proposal.outcome?.reason).toMatch(/^no valid votes: 2 voters \(.+\) cast no vote: the model gave no valid cast_vote answer in 3 attempts; last problem: .*decision/);
    expect(proposal.outcome?.rounds[0]?.abstentions?.map((a) => a.voterId)).toEqual(agents.map((a) => a.id));
  });
});

describe('normalisers (pure)', () => {
  it('change form, never meaning', () => {
    expect(kebabName(' Data Collection ')).toBe('data-collection');
    expect(kebabName('report_writing')).toBe('report-writing');
    expect(kebabName('BackendDeveloper')).toBe('backend-developer');
    expect(parseShare('80%')).toBe(0.8);
    expect(parseShare('0.25')).toBe(0.25);
    // 80 of what? Left for the schema to refuse.
    expect(parseShare(80)).toBe(80);
    expect(normalizeVoteAnswer({ decision: 'Yes', confidence: '90 %', reason: 'ok' }, ['approve', 'reject'])).toEqual({ decision: 'approve', confidence: 0.9, reason: 'ok' });
    expect(normalizeVoteAnswer({ decision: 'no', confidence: 1, reason: 'x' }, ['approve', 'reject'])).toMatchObject({ decision: 'reject' });
    // Synonyms only on a yes/no ballot; options match in any case.
    expect(normalizeVoteAnswer({ decision: 'yes', confidence: 1, reason: 'x' }, ['red', 'blue'])).toMatchObject({ decision: 'yes' });
    expect(normalizeVoteAnswer({ decision: 'BLUE', confidence: 1, reason: 'x' }, ['red', 'blue'])).toMatchObject({ decision: 'blue' });
    expect(normalizeReviewAnswer({ verdict: 'Accepted' }, { knownTypes: new Set() })).toEqual({ verdict: 'accept' });
    expect(normalizeReviewAnswer({ verdict: 'REVISE', feedback: ['a', 'b'] }, { knownTypes: new Set() })).toEqual({ verdict: 'revise', feedback: 'a\nb' });
    expect(normalizeDomainsAnswer([{ name: 'Front End', objective: 'ui' }])).toEqual({ domains: [{ name: 'front-end', objective: 'ui' }] });
    // A dependency on no task stays unresolved (the plan check names it); a plan in { plan } is unwrapped.
    expect(normalizePlanAnswer({ plan: { tasks: [{ id: 'a', title: 't', prompt: 'p', dependsOn: ['Ghost Task'] }] } }, { knownTypes: new Set() })).toEqual({
      tasks: [{ id: 'a', title: 't', prompt: 'p', dependsOn: ['Ghost-Task'] }],
    });
    expect(jsonInText('The answer is {"a": {"b": "}"}} and {not json}.')).toEqual({ a: { b: '}' } });
    expect(jsonInText('no json here')).toBeUndefined();
  });
});
