import { readdirSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyVote } from '../src/consensus/vote-signing.js';
import type { VoteUsage } from '../src/consensus/vote-usage.js';
import type { ConfigInput } from '../src/app/config.js';
import type { ColonyEvent, ColonyEventMap } from '../src/domain/events.js';
import type { TaskRecord } from '../src/domain/task.js';
import { FakeLlmServer, type FakeMessageReply, type RecordedRequest } from '../src/testing/fake-llm-server.js';
import { expectProblem, startApi, type TestApi } from './support/api-server.js';
import { removeTempProjects, runCli, tempProject } from './support/cli.js';
import { eventually, tempColony, type TempColony } from './support/temp-colony.js';

/**
 * LLM voters end to end: agents voting through the fake LLM server over both wire protocols, a model
 * that answers invalidly (repaired, or the voter abstains), the consensus review of agent tasks, and
 * the CLI and REST interfaces. The CLI tests run dist/: build first.
 */

const server = new FakeLlmServer();
let urls: { anthropicBaseUrl: string; openaiBaseUrl: string };

beforeAll(async () => {
  urls = await server.start();
});
afterAll(async () => {
  await server.close();
  removeTempProjects();
});
afterEach(() => {
  server.reset();
  server.setDefaultReply({ text: 'ok' });
});

const PROTOCOLS = {
  anthropic: { model: 'claude-sonnet-5', price: { input: 2 / 1e6, output: 10 / 1e6 } },
  openai: { model: 'gpt-4.1', price: { input: 2 / 1e6, output: 8 / 1e6 } },
} as const;
type Protocol = keyof typeof PROTOCOLS;

function providerConfig(protocol: Protocol): ConfigInput {
  const baseUrl = protocol === 'anthropic' ? urls.anthropicBaseUrl : urls.openaiBaseUrl;
  return {
    providers: { [protocol]: { baseUrl, apiKey: 'sk-test-0123456789', model: PROTOCOLS[protocol].model, maxRetries: 0 } },
    agents: { defaultProvider: protocol },
    tasks: { defaultMaxRetries: 0 },
  };
}

const isVote = (request: RecordedRequest) => JSON.stringify(request.body).includes('"cast_vote"');
const vote = (decision: string, reason: string, confidence = 0.8): FakeMessageReply => ({
  toolCalls: [{ name: 'cast_vote', input: { decision, confidence, reason } }],
  usage: { inputTokens: 200, outputTokens: 40 },
});

/** The system prompt a request carried, in either protocol. */
function systemOf(request: RecordedRequest): string {
  const body = request.body as { system?: unknown; messages: { role: string; content: unknown }[] };
  if (request.protocol === 'anthropic') return typeof body.system === 'string' ? body.system : (body.system as { text: string }[]).map((b) => b.text).join('');
  return String(body.messages.find((m) => m.role === 'system')?.content);
}

describe.each(['anthropic', 'openai'] as const)('agents vote through the model (%s)', (protocol) => {
  let temp: TempColony;
  afterEach(async () => {
    await temp?.cleanup();
  });

  it('spawned voters cast signed votes through a forced cast_vote call; usage is reported and the voters are retired', async () => {
    temp = await tempColony(providerConfig(protocol));
    const { colony } = temp;
    const events: ColonyEvent[] = [];
    colony.events.subscribe({ types: ['vote.cast', 'llm.usage', 'agent.spawned', 'agent.terminated'] }, (e) => {
      events.push(e);
    });
    // Two approve and one reject, whichever voter asks first.
    server.enqueue(vote('approve', 'the migration is reversible'), vote('reject', 'no rollback plan for the data'), vote('approve', 'tests cover it'));
    const usage: VoteUsage[] = [];
    const proposal = await colony.consensus.ask(
      { question: 'Run the schema migration tonight?', context: 'Migration 0042 adds two columns.', strategy: 'supermajority' },
      { onUsage: (u) => usage.push(u) },
    );

    expect(proposal.status).toBe('accepted');
    expect(proposal.outcome).toMatchObject({ decision: 'approve', participation: 1, byzantine: [] });
    expect(proposal.outcome?.ratio).toBeCloseTo(2 / 3);
    expect(proposal.voterIds).toHaveLength(3);

    // What the model was asked: the voter type's prompt, the ballot, and a forced cast_vote call.
    expect(server.requests).toHaveLength(3);
    for (const request of server.requests) {
      expect(systemOf(request)).toContain('You are a voter in a Colony consensus round');
      const body = JSON.stringify(request.body);
      expect(body).toContain('Run the schema migration tonight?');
      expect(body).toContain('Migration 0042 adds two columns.');
      expect(body).toContain('approve, reject');
      const choice = (request.body as { tool_choice?: unknown }).tool_choice;
      expect(choice).toEqual(protocol === 'anthropic' ? { type: 'tool', name: 'cast_vote' } : { type: 'function', function: { name: 'cast_vote' } });
    }

    // The votes are signed by each agent's registered key.
    const votes = await colony.consensus.votes(proposal.id);
    expect(votes.map((v) => v.decision).sort()).toEqual(['approve', 'approve', 'reject']);
    expect(votes.map((v) => v.voterId).sort()).toEqual([...proposal.voterIds].sort());
    const keys = await colony.store.consensus.getVoterKeys(proposal.voterIds);
    for (const v of votes) {
      expect(v).toMatchObject({ status: 'counted', confidence: 0.8, weight: 1 });
      expect(verifyVote(v, v.signature, keys.get(v.voterId)!)).toBe(true);
    }
    expect(votes.find((v) => v.decision === 'reject')?.reason).toBe('no rollback plan for the data');

    // Usage: to the caller with cost, as llm.usage events, and as metrics of the proposal.
    const cost = 200 * PROTOCOLS[protocol].price.input + 40 * PROTOCOLS[protocol].price.output;
    expect(usage).toHaveLength(3);
    for (const u of usage) expect(u).toMatchObject({ proposalId: proposal.id, provider: protocol, model: PROTOCOLS[protocol].model, inputTokens: 200, outputTokens: 40, costUsd: expect.closeTo(cost, 12) });
    await colony.events.flush();
    const llmUsage = events.filter((e) => e.type === 'llm.usage').map((e) => e.data as ColonyEventMap['llm.usage']);
    expect(llmUsage.map((u) => u.agentId).sort()).toEqual([...proposal.voterIds].sort());
    expect(llmUsage[0]).toMatchObject({ taskId: null, provider: protocol, inputTokens: 200, outputTokens: 40, costUsd: expect.closeTo(cost, 12) });
    const metrics = await colony.store.metrics.list({ entityType: 'proposal', entityId: proposal.id });
    expect(metrics.filter((m) => m.name === 'llm.input_tokens').reduce((a, m) => a + m.value, 0)).toBe(600);

    // The agents were spawned for the vote and retired after it.
    const agents = await colony.agents.list({ excludeTerminated: false });
    expect(agents.filter((a) => proposal.voterIds.includes(a.id)).map((a) => [a.type, a.status])).toEqual([
      ['consensus-voter', 'terminated'],
      ['consensus-voter', 'terminated'],
      ['consensus-voter', 'terminated'],
    ]);
    expect(events.filter((e) => e.type === 'vote.cast')).toHaveLength(3);
  });

  it('an invalid answer is repaired; a voter whose model never answers validly abstains without failing the vote', async () => {
    temp = await tempColony(providerConfig(protocol));
    const { colony } = temp;
    const agents = [await colony.agents.spawn({ type: 'consensus-voter' }), await colony.agents.spawn({ type: 'reviewer' }), await colony.agents.spawn({ type: 'critic' })];
    let reviewerAttempts = 0;
    const CRITIC = 'You are the critic of a Colony swarm';
    const VOTER = 'You are a voter in a Colony consensus round';
    server.setDefaultReply((request) => {
      const system = systemOf(request);
      // The critic's model never calls cast_vote.
      if (system.includes(CRITIC)) return { text: 'I would rather not vote.' };
      if (system.includes(VOTER)) return vote('approve', 'looks right');
      // The reviewer's model first names an option that does not exist, then corrects itself.
      reviewerAttempts += 1;
      return reviewerAttempts === 1 ? vote('maybe', 'not sure') : vote('approve', 'fixed: approve');
    });
    const proposal = await colony.consensus.ask({ question: 'Accept the design?', agentIds: agents.map((a) => a.id), strategy: 'supermajority' });

    expect(proposal.status).toBe('accepted');
    expect(proposal.outcome).toMatchObject({ decision: 'approve', ratio: 1 });
    expect(proposal.outcome?.participation).toBeCloseTo(2 / 3);
    const votes = await colony.consensus.votes(proposal.id);
    expect(votes.map((v) => [v.voterId, v.reason]).sort()).toEqual(
      [
        [agents[0]!.id, 'looks right'],
        [agents[1]!.id, 'fixed: approve'],
      ].sort(),
    );
    // The reviewer was told what was wrong; the critic was asked three times (two repairs) and gave up.
    expect(reviewerAttempts).toBe(2);
    const repair = server.requests.find((r) => !systemOf(r).includes(CRITIC) && JSON.stringify(r.body).includes('That answer is not valid'));
    expect(JSON.stringify(repair?.body)).toContain('decision');
    expect(server.requests.filter((r) => systemOf(r).includes(CRITIC))).toHaveLength(3);
    // Named agents are not retired.
    expect((await colony.agents.get(agents[2]!.id)).status).not.toBe('terminated');
  });
});

describe('consensus review of agent tasks', () => {
  let temp: TempColony;
  afterEach(async () => {
    await temp?.cleanup();
  });

  /** The agent reports its result at once; the voters answer with `decide(voteRound)`. */
  function script(decide: (voteCall: number) => FakeMessageReply) {
    let voteCalls = 0;
    server.setDefaultReply((request) => {
      if (isVote(request)) return decide(++voteCalls);
      return { toolCalls: [{ name: 'report_result', input: { result: { summary: 'added the endpoint' } } }] };
    });
  }

  async function runTask(input: Record<string, unknown>, maxRetries = 0): Promise<TaskRecord> {
    const { colony } = temp;
    await colony.start();
    const [task] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'Add a /health endpoint', ...input }, maxRetries }]);
    const [done] = await colony.tasks.waitFor([task!.id]);
    return done!;
  }

  it('an accepted result completes the task, and the proposal records the task', async () => {
    temp = await tempColony(providerConfig('anthropic'));
    script(() => vote('approve', 'the endpoint exists and is tested'));
    const done = await runTask({ consensus: { voters: 2, strategy: 'majority' } });
    expect(done.status, JSON.stringify(done.error)).toBe('completed');
    const review = (done.result as { review: { proposalId: string; status: string; decision: string } }).review;
    expect(review).toMatchObject({ status: 'accepted', decision: 'approve', ratio: 1 });
    const proposal = await temp.colony.consensus.get(review.proposalId);
    expect(proposal).toMatchObject({ taskId: done.id, status: 'accepted', options: ['approve', 'reject'] });
    expect(proposal.context).toContain('Add a /health endpoint');
    expect(proposal.context).toContain('added the endpoint');
    expect(proposal.voterIds).toHaveLength(2);
    expect((await temp.colony.consensus.list({ taskId: done.id })).map((p) => p.id)).toEqual([proposal.id]);
  });

  it('a rejected result fails the attempt with the voters\' reasons; the retry is reviewed again', async () => {
    temp = await tempColony(providerConfig('anthropic'));
    // The first attempt's voters reject; the second attempt's approve.
    script((n) => (n <= 2 ? vote('reject', `missing tests (voter call ${n})`) : vote('approve', 'tests added')));
    const done = await runTask({ consensus: { voters: 2, strategy: 'majority' } }, 1);
    expect(done.status).toBe('completed');
    expect(done.attempts).toBe(2);
    const proposals = await temp.colony.consensus.list({ taskId: done.id });
    expect(proposals.map((p) => p.status).sort()).toEqual(['accepted', 'rejected']);
    const events = await temp.colony.store.events.list({ types: ['task.failed'], limit: 10 });
    const failed = events.map((e) => e.data as unknown as ColonyEventMap['task.failed']).find((d) => d.taskId === done.id);
    expect(failed?.error.message).toMatch(/^consensus rejected the result \(proposal prp_\w+, 100% reject\); reasons: agt_\w+: missing tests/);
    expect(failed?.willRetry).toBe(true);
  });

  it('a result rejected on every attempt fails the task with the reasons', async () => {
    temp = await tempColony(providerConfig('anthropic'));
    script(() => vote('reject', 'the endpoint returns 500'));
    const done = await runTask({ consensus: { voters: 1 } });
    expect(done.status).toBe('failed');
    expect(done.error?.message).toContain('the endpoint returns 500');
    expect(done.error?.code).toBe('execution');
  });

  it('the consensus settings of a task are validated with the task', async () => {
    temp = await tempColony(providerConfig('anthropic'));
    for (const consensus of [{ voters: 0 }, { strategy: 'dictator' }, { threshold: 2 }, { voterz: 2 }]) {
      await expect(temp.colony.tasks.submit([{ type: 'agent', input: { prompt: 'x', consensus } }])).rejects.toThrow(/consensus/);
    }
    expect(await temp.colony.tasks.count({})).toBe(0);
  });
});

describe('colony consensus (CLI)', () => {
  const env = () => ({ ANTHROPIC_BASE_URL: urls.anthropicBaseUrl, ANTHROPIC_API_KEY: 'sk-ant-test-secret', COLONY_PROVIDER: 'anthropic' });

  it('shows votes as they arrive and the decision; list and show read it back', async () => {
    const project = tempProject();
    server.setDefaultReply(vote('approve', 'the release notes are complete'));
    const run = await runCli(['consensus', 'Publish', 'release 2.0?', '--voters', '3', '--strategy', 'majority'], { cwd: project.dir, env: env() });
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/proposal prp_\w+: 3 voters, majority/);
    expect(run.stderr.match(/● agt_\w+ approve \(confidence 0\.80\)/g)).toHaveLength(3);
    expect(run.stderr).toMatch(/round 1: approve 100%, 100% voted, decided/);
    expect(run.stdout).toMatch(/✓ approve \(100% of the votes, 1 round\) prp_\w+/);
    expect(run.stdout).toContain('the release notes are complete');
    expect(JSON.stringify(server.requests[0]?.body)).toContain('Publish release 2.0?');

    const list = await runCli(['--json', 'consensus', 'list'], { cwd: project.dir });
    const [listed] = JSON.parse(list.stdout) as { id: string; status: string; question: string }[];
    expect(listed).toMatchObject({ status: 'accepted', question: 'Publish release 2.0?' });
    const show = await runCli(['--json', 'consensus', 'show', listed!.id.slice(0, 10)], { cwd: project.dir });
    const shown = JSON.parse(show.stdout) as { proposal: { id: string }; votes: unknown[] };
    expect(shown.proposal.id).toBe(listed!.id);
    expect(shown.votes).toHaveLength(3);
    const text = await runCli(['consensus', 'show', listed!.id], { cwd: project.dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('strategy      majority, threshold 50%');
    expect(text.stdout).toMatch(/round 1 +approve 3, reject 0; 3 of 3 voted, decided/);
    const table = await runCli(['consensus', 'list'], { cwd: project.dir });
    expect(table.stdout).toContain(listed!.id);
  });

  it('exits 8 when a yes/no vote rejects and 7 when there is no decision; --json prints the proposal and votes', async () => {
    const project = tempProject();
    server.setDefaultReply(vote('reject', 'not ready'));
    const rejected = await runCli(['--json', 'consensus', 'Deploy on Friday?', '--voters', '2'], { cwd: project.dir, env: env() });
    expect(rejected.code).toBe(8);
    const data = JSON.parse(rejected.stdout) as { proposal: { status: string; outcome: { decision: string } }; votes: { decision: string }[] };
    expect(data.proposal).toMatchObject({ status: 'rejected', outcome: { decision: 'reject' } });
    expect(data.votes.map((v) => v.decision)).toEqual(['reject', 'reject']);

    server.reset();
    server.enqueue(vote('red', 'warm'), vote('blue', 'calm'));
    const tie = await runCli(['consensus', 'Which colour?', '--options', 'red,blue', '--voters', '2', '--strategy', 'majority'], { cwd: project.dir, env: env() });
    expect(tie.code).toBe(7);
    expect(tie.stdout).toMatch(/no consensus: tie between red and blue/);
  });

  it('refuses bad input with one line and exit 2, creating nothing', async () => {
    const project = tempProject();
    const cases: [string[], RegExp][] = [
      [['consensus', ''], /question: must not be empty/],
      [['consensus', 'q?', '--threshold', '2'], /option --threshold: expected a number greater than 0 and at most 1, got "2"/],
      [['consensus', 'q?', '--strategy', 'dictator'], /strategy: unknown strategy "dictator"/],
      [['consensus', 'q?', '--options', 'one'], /options: at least 2 options/],
      [['consensus', 'q?', '--timeout', 'soon'], /timeout: invalid duration "soon"/],
      [['consensus', 'q?', '--rounds', '3'], /maxRounds: only the multi-round strategy/],
      [['consensus', 'q?', '--agents', 'agt_1', '--voters', '2'], /agentIds: give either agentIds or agentType\/voters/],
      [['consensus', 'q?', '--voters', '0'], /option --voters: expected a whole number from 1 to 50/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { cwd: project.dir, env: env() });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n').filter((l) => !l.startsWith('(run with --help'))).toHaveLength(1);
    }
    // Refused before the project's database was opened.
    expect(readdirSync(project.dir)).toEqual([]);
    const unknownType = await runCli(['consensus', 'q?', '--type', 'wizard'], { cwd: project.dir, env: env() });
    expect(unknownType.code).toBe(2);
    expect(unknownType.stderr).toMatch(/unknown agent type "wizard"/);
    expect(server.requests).toHaveLength(0);
    const show = await runCli(['consensus', 'show', 'prp_nothing_here'], { cwd: project.dir });
    expect(show.code).toBe(3);
  });
});

describe('REST: /api/v2/consensus', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(providerConfig('openai'));
  });
  afterAll(async () => {
    await api.close();
  });

  it('POST answers 202 at once and runs the vote in the background; GET shows it decided with its votes', async () => {
    server.setDefaultReply(vote('approve', 'fine'));
    const created = await api.request('POST', '/api/v2/consensus', { body: { question: 'REST: merge the branch?', voters: 2, strategy: 'majority' } });
    expect(created.status, created.text).toBe(202);
    expect(created.json.proposal).toMatchObject({ status: 'open', question: 'REST: merge the branch?', outcome: null });
    expect(created.json.votes).toEqual([]);
    const id = created.json.proposal.id as string;
    expect(created.headers.get('location')).toBe(`/api/v2/consensus/${id}`);

    const decided = await eventually(async () => {
      const r = await api.request('GET', `/api/v2/consensus/${id}`);
      return r.json.proposal.status === 'open' ? undefined : r;
    });
    expect(decided.json.proposal).toMatchObject({ status: 'accepted', outcome: { decision: 'approve', ratio: 1 } });
    expect(decided.json.votes).toHaveLength(2);
    // The votes were announced as events (the WebSocket stream serves the same events).
    const events = await eventually(async () => {
      const r = await api.request('GET', `/api/v2/events?types=vote.cast,consensus.decided&correlationId=${id}&limit=10`);
      return r.json.items.length === 3 ? r : undefined;
    });
    expect(events.json.items.map((e: { type: string }) => e.type)).toEqual(['vote.cast', 'vote.cast', 'consensus.decided']);

    const list = await api.request('GET', '/api/v2/consensus?status=accepted');
    expect(list.json.total).toBeGreaterThanOrEqual(1);
    expect(list.headers.get('x-total-count')).toBe(String(list.json.total));
    expect(list.json.items.map((p: { id: string }) => p.id)).toContain(id);
  });

  it('POST with wait answers 201 with the decided proposal and its votes', async () => {
    server.setDefaultReply(vote('reject', 'too risky'));
    const r = await api.request('POST', '/api/v2/consensus', { body: { question: 'REST: drop the table?', voters: 1, wait: true } });
    expect(r.status, r.text).toBe(201);
    expect(r.json.proposal).toMatchObject({ status: 'rejected', outcome: { decision: 'reject' } });
    expect(r.json.votes).toEqual([expect.objectContaining({ decision: 'reject', reason: 'too risky', status: 'counted' })]);
    expectProblem(await api.request('POST', '/api/v2/consensus', { body: { question: 'x', strategy: 'dictator' } }), 400, 'validation');
  });
});
