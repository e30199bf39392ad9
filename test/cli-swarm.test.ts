import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createColony } from '../src/app/colony.js';
import type { SwarmRecord } from '../src/domain/swarm.js';
import type { SwarmStatusReport } from '../src/swarm/swarms.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { eventually, removeTempProjects, runCli, runJson, startCli, tempProject, type TempProject } from './support/cli.js';
import { holdWhere } from './support/held-reply.js';
import { swarmModel } from './support/swarm-model.js';

/**
 * `colony swarm`, end to end: the real CLI (dist/: build first) running swarms against a fake LLM
 * server speaking the Anthropic protocol, then listing, inspecting and controlling them.
 */

const HOLD = 'HOLD-THIS-TASK';
let llm: FakeLlmServer;
let env: Record<string, string>;

beforeAll(async () => {
  llm = new FakeLlmServer({ defaultReply: holdWhere(swarmModel(), HOLD) });
  const { anthropicBaseUrl } = await llm.start();
  env = { ANTHROPIC_BASE_URL: anthropicBaseUrl, ANTHROPIC_API_KEY: 'sk-ant-test-secret', COLONY_PROVIDER: 'anthropic' };
});
afterAll(async () => {
  await llm.close();
  removeTempProjects();
});

const PLAN_YAML = `summary: Facts about ants, then a haiku.
tasks:
  - id: facts
    title: Collect ant facts
    prompt: List three facts about ants.
    kind: research
  - id: haiku
    title: Write the haiku
    prompt: Write a haiku from the facts.
    dependsOn: [facts]
`;

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at /);

async function swarms(project: TempProject): Promise<SwarmRecord[]> {
  const { code, data, stderr } = await runJson<SwarmRecord[]>(['swarm', 'list'], { cwd: project.dir });
  expect(code, stderr).toBe(0);
  return data;
}

describe('colony swarm "<objective>" --plan', () => {
  it('runs the plan to completion with a live view, then prints the tasks and the result', async () => {
    const project = tempProject();
    project.write('plan.yaml', PLAN_YAML);
    const run = await runCli(['swarm', 'Write a haiku about ants', '--plan', 'plan.yaml', '--no-review', '--name', 'haiku-swarm'], { cwd: project.dir, env });
    noStack(run.stderr);
    expect(run.code, run.stderr).toBe(0);
    // The live view (plain lines: stderr is not a terminal): the plan, each dispatch and completion.
    expect(run.stderr).toMatch(/haiku-swarm: swarm swm_\w+, centralized, your plan/);
    expect(run.stderr).toMatch(/plan: 2 tasks from the plan file/);
    expect(run.stderr).toMatch(/facts: Collect ant facts/);
    expect(run.stderr).toMatch(/haiku: Write the haiku \(after facts\)/);
    expect(run.stderr).toMatch(/✓ Collect ant facts/);
    expect(run.stderr).toMatch(/✓ Write the haiku/);
    expect(run.stderr.indexOf('✓ Collect ant facts')).toBeLessThan(run.stderr.indexOf('✓ Write the haiku'));
    // The summary on stdout.
    expect(run.stdout).toMatch(/Collect ant facts\s+completed/);
    expect(run.stdout).toMatch(/✓ haiku-swarm completed in .*: 2 completed, 0 failed, 0 cancelled/);
    expect(run.stdout).toMatch(/SYNTHESIS of \d+ chars/);
    for (const out of [run.stdout, run.stderr]) expect(out).not.toContain('test-secret');

    const [swarm] = await swarms(project);
    expect(swarm).toMatchObject({ name: 'haiku-swarm', status: 'completed', topology: 'centralized', progress: 1 });
    expect(swarm!.config.planSource).toBe('user');
    expect(swarm!.usage.inputTokens).toBeGreaterThan(0);

    // The status report by a unique id prefix: every task done by an agent, the result kept.
    const status = await runJson<SwarmStatusReport>(['swarm', 'status', swarm!.id.slice(0, 12)], { cwd: project.dir });
    expect(status.code, status.stderr).toBe(0);
    expect(status.data.swarm.id).toBe(swarm!.id);
    expect(status.data.tasks.map((t) => [t.planTaskId, t.status])).toEqual([
      ['facts', 'completed'],
      ['haiku', 'completed'],
    ]);
    expect(status.data.tasks.every((t) => t.agentId !== null)).toBe(true);
    expect(status.data.agents.length).toBeGreaterThanOrEqual(1);
    expect(status.data.swarm.result).toMatchObject({ partial: false });
    const text = await runCli(['swarm', 'status', swarm!.id], { cwd: project.dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Tasks \(2 completed\)/);
    expect(text.stdout).toMatch(/Result/);

    // The swarm's events carry its id as correlation id.
    const events = await runJson<{ type: string }[]>(['events', '--correlation', swarm!.id, '--limit', '1000'], { cwd: project.dir });
    const types = events.data.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['swarm.created', 'swarm.planned', 'swarm.task_dispatched', 'task.completed', 'swarm.finished']));
  });

  it('--json prints the finished swarm record and nothing else on stdout', async () => {
    const project = tempProject();
    project.write('plan.json', JSON.stringify({ tasks: [{ id: 'only', title: 'The only task', prompt: 'Say hello.' }] }));
    const { code, data, stderr } = await runJson<SwarmRecord>(['swarm', 'Say hello', '--plan', 'plan.json', '--no-review', '--topology', 'mesh'], { cwd: project.dir, env });
    expect(code, stderr).toBe(0);
    expect(data).toMatchObject({ status: 'completed', topology: 'mesh', objective: 'Say hello', progress: 1 });
    expect(data.id).toMatch(/^swm_/);
    expect(data.result?.tasks).toEqual([expect.objectContaining({ planTaskId: 'only', status: 'done' })]);
    // No live view with --json.
    expect(stderr).not.toMatch(/plan: 1 task/);
  });

  it('Ctrl-C stops the swarm cleanly, keeps finished work, and exits 130', async () => {
    llm.reset();
    const project = tempProject();
    project.write('plan.yaml', PLAN_YAML.replace('Write a haiku from the facts.', `Write a haiku from the facts. ${HOLD}`));
    const cli = startCli(['swarm', 'Haiku, interrupted', '--plan', 'plan.yaml', '--no-review'], { cwd: project.dir, env });
    await cli.waitForStderr(/✓ Collect ant facts/);
    await cli.waitForStderr(/▸ Write the haiku/);
    // The held task is running: its agent has asked the model.
    await eventually(() => (llm.requests.some((r) => JSON.stringify(r.body).includes(HOLD)) ? true : undefined), 'the held model call');
    cli.child.kill('SIGINT');
    const result = await cli.exited;
    noStack(result.stderr);
    expect(result.code, result.stderr).toBe(130);
    // The notice says what happens, and nothing else: the running task is cancelled, not let finish.
    expect(result.stderr).toMatch(/SIGINT: stopping the swarm: unfinished tasks are cancelled, finished work is kept as a partial result/);
    expect(result.stderr).not.toMatch(/letting running tasks finish/);
    expect(result.stderr).toMatch(/⊘ Write the haiku cancelled/);
    expect(result.stdout).toMatch(/stopped/);
    const [swarm] = await swarms(project);
    // Progress counts completed work: one of the two tasks.
    expect(swarm).toMatchObject({ status: 'stopped', progress: 0.5 });
    expect((await runCli(['swarm', 'list'], { cwd: project.dir })).stdout).toMatch(/stopped\s+50%/);
    expect(swarm!.result).toMatchObject({ partial: true });
    const facts = swarm!.result!.tasks.find((t) => t.planTaskId === 'facts');
    expect(facts).toMatchObject({ status: 'done' });
  });
});

describe('colony swarm: Ctrl-C, help and command words', () => {
  it('a swarm that completes while Ctrl-C is handled exits 0, completed', async () => {
    llm.reset();
    const project = tempProject();
    project.write('plan.json', JSON.stringify({ tasks: [{ id: 'only', title: 'The only task', prompt: 'Say hello.' }] }));
    // The synthesis (the swarm's last model call) answers a moment after the signal.
    llm.setDefaultReply(async (request) => {
      const answer = await swarmModel()(request);
      return JSON.stringify(request.body).includes('Synthesize one answer') ? { ...answer, delayMs: 1_500 } : answer;
    });
    try {
      const cli = startCli(['swarm', 'Say hello', '--plan', 'plan.json', '--no-review'], { cwd: project.dir, env });
      await eventually(() => (llm.requests.some((r) => JSON.stringify(r.body).includes('Synthesize one answer')) ? true : undefined), 'the synthesis call');
      cli.child.kill('SIGINT');
      const result = await cli.exited;
      noStack(result.stderr);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/✓ .* completed/);
      const [swarm] = await swarms(project);
      expect(swarm).toMatchObject({ status: 'completed', progress: 1 });
    } finally {
      llm.setDefaultReply(holdWhere(swarmModel(), HOLD));
    }
  });

  it('`colony swarm --help` lists the flags of `colony swarm "<objective>"`; so does consensus', async () => {
    const project = tempProject();
    const help = await runCli(['swarm', '--help'], { cwd: project.dir });
    expect(help.code).toBe(0);
    for (const flag of ['--topology <topology>', '--agents <n>', '--max-tokens <n>', '--plan <file>', '--no-review', '--objective <text>']) expect(help.stdout).toContain(flag);
    expect(help.stdout).toMatch(/Commands:[\s\S]*list[\s\S]*status <id>/);
    const consensus = await runCli(['consensus', '--help'], { cwd: project.dir });
    for (const flag of ['--strategy <strategy>', '--voters <n>', '--options <list>']) expect(consensus.stdout).toContain(flag);
  });

  it.each(['init', 'spawn', 'Monitor'])('`colony swarm %s` is refused as a command word: exit 2, one line, nothing created', async (word) => {
    const project = tempProject();
    llm.reset();
    const result = await runCli(['swarm', word], { cwd: project.dir, env });
    expect(result.code, result.stderr).toBe(2);
    noStack(result.stderr);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^colony: "${word}" is a command, not an objective: .*colony swarm --objective ${word}`));
    expect(existsSync(project.path('.colony'))).toBe(false);
    expect(llm.requests).toEqual([]);
  });

  it('--objective takes a command word as the objective on purpose', async () => {
    const project = tempProject();
    project.write('plan.json', JSON.stringify({ tasks: [{ id: 'only', title: 'The only task', prompt: 'Say hello.' }] }));
    const { code, data, stderr } = await runJson<SwarmRecord>(['swarm', '--objective', 'init', '--plan', 'plan.json', '--no-review'], { cwd: project.dir, env });
    expect(code, stderr).toBe(0);
    expect(data).toMatchObject({ objective: 'init', status: 'completed' });
  });
});

describe('colony swarm and colony consensus: a provider that fails', () => {
  const json = /^\{"level"/m;

  it('names the provider and the cause in one line, with no stack and no log lines over the live view', async () => {
    const bad = new FakeLlmServer({ defaultReply: { fault: 'server_error', status: 401, message: 'invalid x-api-key' } });
    const { anthropicBaseUrl } = await bad.start();
    try {
      const badEnv = { ...env, ANTHROPIC_BASE_URL: anthropicBaseUrl };
      const project = tempProject();
      const run = await runCli(['swarm', 'Write a haiku about ants'], { cwd: project.dir, env: badEnv });
      expect(run.code, run.stderr).toBe(1);
      for (const out of [run.stdout, run.stderr]) {
        noStack(out);
        expect(out).not.toMatch(json);
        expect(out).not.toContain('test-secret');
      }
      const line = `provider anthropic (${anthropicBaseUrl}): 401 invalid x-api-key`;
      expect(run.stdout.split('\n').filter((l) => l.includes(line))).toHaveLength(1);
      // A refused key is not retried by one successor after another.
      expect(run.stderr).not.toMatch(/leader .* →/);
      // The log, with its details, is in the log file.
      expect(project.read('.colony/logs/swarm.log')).toMatch(/invalid x-api-key/);

      const vote = await runCli(['consensus', 'Is the haiku good?', '--voters', '2'], { cwd: project.dir, env: badEnv });
      expect(vote.code, vote.stderr).toBe(7);
      for (const out of [vote.stdout, vote.stderr]) {
        noStack(out);
        expect(out).not.toMatch(json);
      }
      expect(vote.stdout).toMatch(/no consensus: no valid votes: 2 voters \(agt_\w+, agt_\w+\) cast no vote: anthropic 401: invalid x-api-key/);
      expect(vote.stdout.match(/agt_\w+ cast no vote: anthropic 401: invalid x-api-key/g)).toHaveLength(2);
      expect(vote.stdout.split('\n').filter((l) => l.includes(line))).toHaveLength(1);
      expect(vote.stderr.match(/cast no vote/g)).toHaveLength(2);
    } finally {
      await bad.close();
    }
  });
});

describe('colony swarm list | status | pause | resume | stop', () => {
  it('controls a running swarm from another process; a stopped swarm exits 6', { timeout: 60_000 }, async () => {
    llm.reset();
    const project = tempProject();
    project.write('plan.yaml', `tasks:\n  - id: slow\n    title: A slow task\n    prompt: Think for a long time. ${HOLD}\n  - id: after\n    title: After it\n    prompt: Then finish.\n    dependsOn: [slow]\n`);
    const cli = startCli(['swarm', 'Slow work', '--plan', 'plan.yaml', '--no-review'], { cwd: project.dir, env });
    await cli.waitForStderr(/▸ A slow task/);
    await eventually(() => (llm.requests.some((r) => JSON.stringify(r.body).includes(HOLD)) ? true : undefined), 'the held model call');
    const id = /swarm (swm_\w+)/.exec(cli.stderr)?.[1] as string;
    expect(id).toBeDefined();

    const listed = await runCli(['swarm', 'list', '--status', 'running'], { cwd: project.dir });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).toMatch(/centralized\s+running/);
    expect((await runJson<SwarmRecord[]>(['swarm', 'list', '--status', 'completed'], { cwd: project.dir })).data).toEqual([]);

    const paused = await runJson<SwarmRecord>(['swarm', 'pause', id.slice(0, 14)], { cwd: project.dir });
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.data).toMatchObject({ id, status: 'paused' });
    await cli.waitForStderr(/status: running → paused/);
    const resumed = await runCli(['swarm', 'resume', id], { cwd: project.dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`swarm ${id} resumed`));
    await cli.waitForStderr(/status: paused → running/);

    const stopped = await runCli(['swarm', 'stop', id, '--reason', 'enough'], { cwd: project.dir });
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/stopped/);
    const result = await cli.exited;
    noStack(result.stderr);
    expect(result.code, result.stderr).toBe(6);
    expect(result.stdout).toMatch(/⊘ .* stopped/);

    const report = await runJson<SwarmStatusReport>(['swarm', 'status', id], { cwd: project.dir });
    expect(report.data.swarm.status).toBe('stopped');
    expect(report.data.tasks.find((t) => t.planTaskId === 'after')?.status).not.toBe('completed');
    // A finished swarm cannot be resumed: a conflict (exit 4), in one line.
    const again = await runCli(['swarm', 'resume', id], { cwd: project.dir });
    expect(again.code).toBe(4);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('lists, shows and controls a swarm stored by the library (not running anywhere)', async () => {
    const project = tempProject();
    // A provider with a key: creating a swarm checks that its provider can be used.
    const colony = await createColony({ projectDir: project.dir, env: {}, config: { log: { level: 'silent' }, providers: { anthropic: { apiKey: 'sk-ant-test-0123456789' } } } });
    let id: string;
    try {
      id = (await colony.swarms.create({ objective: 'Stored, not run', review: false, plan: { tasks: [{ id: 'a', title: 'A', prompt: 'p' }] } })).id;
    } finally {
      await colony.close();
    }
    const list = await runCli(['swarm', 'list'], { cwd: project.dir });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toContain('Stored, not run');
    const status = await runCli(['swarm', 'status', id], { cwd: project.dir });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('Stored, not run');
    // `colony status` lists the active swarms too.
    const overview = await runJson<{ swarmsActive: { id: string; status: string }[] }>(['status'], { cwd: project.dir });
    expect(overview.data.swarmsActive).toEqual([expect.objectContaining({ id, status: 'planning' })]);
    expect((await runCli(['status'], { cwd: project.dir })).stdout).toMatch(/Active swarms[\s\S]*Stored, not run|Active swarms[\s\S]*planning/);
    expect((await runJson<SwarmRecord>(['swarm', 'pause', id], { cwd: project.dir })).data.status).toBe('paused');
    expect((await runJson<SwarmRecord>(['swarm', 'stop', id], { cwd: project.dir })).data.status).toBe('stopped');
    expect((await runJson<SwarmRecord[]>(['swarm', 'list', '--status', 'stopped'], { cwd: project.dir })).data.map((s) => s.id)).toEqual([id]);
  });

  it('an unknown swarm id is "not found" (exit 3)', async () => {
    const project = tempProject();
    const colony = await createColony({ projectDir: project.dir, env: {}, config: { log: { level: 'silent' } } });
    await colony.close();
    const result = await runCli(['swarm', 'status', 'swm_nothing_here'], { cwd: project.dir });
    expect(result.code).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('colony swarm: bad input', () => {
  const cases: { name: string; args: string[]; files?: Record<string, string>; message: RegExp }[] = [
    { name: 'an unknown topology', args: ['swarm', 'x', '--topology', 'ring'], message: /topology: unknown topology "ring"; use one of centralized, mesh, hierarchical, distributed/ },
    { name: 'a missing plan file', args: ['swarm', 'x', '--plan', 'nope.yaml'], message: /plan file not found: nope\.yaml/ },
    { name: 'a plan that is not YAML', args: ['swarm', 'x', '--plan', 'bad.yaml'], files: { 'bad.yaml': 'tasks: [unclosed' }, message: /bad\.yaml: not valid YAML/ },
    { name: 'a plan task without a prompt', args: ['swarm', 'x', '--plan', 'p.yaml'], files: { 'p.yaml': 'tasks:\n  - id: a\n    title: A\n' }, message: /p\.yaml: tasks\.0\.prompt/ },
    { name: 'a plan without tasks', args: ['swarm', 'x', '--plan', 'p.yaml'], files: { 'p.yaml': 'summary: nothing\ntasks: []\n' }, message: /p\.yaml: tasks: a plan needs at least one task/ },
    {
      name: 'a plan with a cycle',
      args: ['swarm', 'x', '--plan', 'p.yaml'],
      files: { 'p.yaml': 'tasks:\n  - {id: a, title: A, prompt: p, dependsOn: [b]}\n  - {id: b, title: B, prompt: p, dependsOn: [a]}\n' },
      message: /p\.yaml: tasks: dependency cycle/,
    },
    {
      name: 'a plan with an unknown dependency',
      args: ['swarm', 'x', '--plan', 'p.yaml'],
      files: { 'p.yaml': 'tasks:\n  - {id: a, title: A, prompt: p, dependsOn: [ghost]}\n' },
      message: /p\.yaml: tasks: unknown dependencies: a -> ghost/,
    },
    { name: 'an empty objective', args: ['swarm', '   '], message: /objective: the objective must not be empty/ },
    { name: 'a bad roster', args: ['swarm', 'x', '--roster', 'coder'], message: /option --roster: expected name=count pairs/ },
    { name: 'pools without the distributed topology', args: ['swarm', 'x', '--pools', 'eu=2'], message: /pools are for the distributed topology/ },
    { name: 'a bad deadline', args: ['swarm', 'x', '--deadline', 'soon'], message: /deadline: invalid duration "soon"/ },
    { name: 'a bad cost', args: ['swarm', 'x', '--max-cost', 'lots'], message: /option --max-cost/ },
    { name: 'a bad agent count', args: ['swarm', 'x', '--agents', '0'], message: /option --agents/ },
    { name: 'an unknown provider', args: ['swarm', 'x', '--provider', 'skynet'], message: /provider/ },
    { name: 'an unknown status filter', args: ['swarm', 'list', '--status', 'exploded'], message: /option --status: expected one of planning, running/ },
  ];

  it.each(cases)('$name: one line, exit 2, nothing created', async ({ args, files, message }) => {
    const project = tempProject();
    for (const [name, content] of Object.entries(files ?? {})) project.write(name, content);
    const before = readdirSync(project.dir).sort();
    const result = await runCli(args, { cwd: project.dir, env });
    expect(result.code, result.stderr).toBe(2);
    noStack(result.stderr);
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^colony: /);
    expect(lines[0]).toMatch(message);
    expect(result.stdout).toBe('');
    // Nothing was created: no database, no .colony folder.
    expect(readdirSync(project.dir).sort()).toEqual(before);
    expect(existsSync(project.path('.colony'))).toBe(false);
  });

  it('--json reports bad input as a JSON error', async () => {
    const project = tempProject();
    const { code, data } = await runJson<{ error: { code: string; message: string } }>(['swarm', 'x', '--topology', 'ring'], { cwd: project.dir, env });
    expect(code).toBe(2);
    expect(data.error).toMatchObject({ code: 'validation', message: expect.stringMatching(/unknown topology "ring"/) });
  });

  it('a provider without an API key is a configuration error before the swarm is stored', async () => {
    const project = tempProject();
    const result = await runCli(['swarm', 'x', '--provider', 'openai'], { cwd: project.dir, env: { ...env, OPENAI_API_KEY: undefined } });
    expect(result.code, result.stderr).toBe(2);
    noStack(result.stderr);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^colony: openai: no API key/)]);
    expect(await swarms(project)).toEqual([]);
  });

  it('an unknown agent type in the plan is refused before the swarm runs', async () => {
    const project = tempProject();
    project.write('p.yaml', 'tasks:\n  - {id: a, title: A, prompt: p, agentType: wizard}\n');
    const result = await runCli(['swarm', 'x', '--plan', 'p.yaml'], { cwd: project.dir, env });
    expect(result.code, result.stderr).toBe(2);
    noStack(result.stderr);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/wizard/);
    if (existsSync(project.path('.colony'))) expect(await swarms(project)).toEqual([]);
  });
});
