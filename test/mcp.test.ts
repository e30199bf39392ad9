import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createColony } from '../src/app/colony.js';
import type { ConfigInput } from '../src/app/config.js';
import { TOOL_ROLES } from '../src/mcp/mcp-tool-roles.js';
import type { Role } from '../src/security/roles.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { call, callError } from './support/mcp-calls.js';
import { startApi, type TestApi } from './support/api-server.js';
import { COLONY_BIN, cliEnv, eventually, isAlive, removeTempProjects, startCli, tempProject } from './support/cli.js';
import { holdWhere } from './support/held-reply.js';
import { swarmModel } from './support/swarm-model.js';

/**
 * The MCP server end to end, with the SDK's own Client: over stdio (`bin/colony mcp` as a child
 * process, running tasks itself) and over Streamable HTTP (`/mcp` on the REST server, with an API
 * key of each role). Build first: the stdio tests run dist/.
 */

const EXPECTED_TOOLS = [
  'agent_list',
  'agent_metrics',
  'agent_spawn',
  'consensus_vote',
  'memory_usage',
  'swarm_control',
  'swarm_diff',
  'swarm_init',
  'swarm_status',
  'system_status',
  'task_cancel',
  'task_orchestrate',
  'task_results',
  'task_status',
];

const llm = new FakeLlmServer();
let anthropicBaseUrl: string;

beforeAll(async () => {
  anthropicBaseUrl = (await llm.start()).anthropicBaseUrl;
});
afterAll(async () => {
  await llm.close();
  removeTempProjects();
});

function providerConfig(): ConfigInput {
  return {
    providers: { anthropic: { baseUrl: anthropicBaseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } },
    agents: { defaultProvider: 'anthropic' },
    tasks: { defaultMaxRetries: 0, pollIntervalMs: 20 },
  };
}

async function finished(client: Client, taskId: string) {
  return eventually(async () => {
    const status = await call(client, 'task_status', { taskId });
    return ['completed', 'failed', 'cancelled'].includes(status.status) ? status : undefined;
  }, `task ${taskId} to finish`);
}

/** Lists the tools and calls every one of them, asserting real effects. The caller is admin or operator. */
async function exerciseEveryTool(client: Client): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.length).toBeLessThanOrEqual(40);
  expect(tools.map((t) => t.name).sort()).toEqual(EXPECTED_TOOLS);
  expect(Object.keys(TOOL_ROLES).sort()).toEqual(EXPECTED_TOOLS);
  for (const tool of tools) {
    expect(tool.inputSchema.type).toBe('object');
    expect(JSON.stringify(tool.inputSchema).length).toBeLessThan(4_000);
  }
  const called = new Set<string>();
  const use = async (name: string, args: Record<string, unknown> = {}) => {
    called.add(name);
    return call(client, name, args);
  };

  // Agents: spawn, list, metrics.
  const spawned = await use('agent_spawn', { type: 'coder', name: 'mcp-coder', capabilities: ['mcp-extra'] });
  expect(spawned).toMatchObject({ success: true, name: 'mcp-coder', type: 'coder', status: 'idle' });
  expect(spawned.capabilities).toContain('mcp-extra');
  const listed = await use('agent_list', { type: 'coder' });
  expect(listed.agents.map((a: { agentId: string }) => a.agentId)).toContain(spawned.agentId);
  expect((await use('agent_list', { status: 'paused' })).agents).toEqual([]);

  // A shell task: it really runs, and its output comes back.
  const shell = await use('task_orchestrate', { task: 'say hello', type: 'shell', command: 'echo hello-from-mcp', priority: 'high' });
  expect(shell).toMatchObject({ success: true, strategy: 'parallel' });
  expect(shell.tasks[0]).toMatchObject({ type: 'shell', priority: 75, description: 'say hello' });
  expect((await finished(client, shell.taskId)).status).toBe('completed');
  expect(await use('task_status', { taskId: shell.taskId })).toMatchObject({ success: true, taskId: shell.taskId, status: 'completed', attempts: 1 });
  const shellResults = await use('task_results', { taskId: shell.taskId });
  expect(shellResults).toMatchObject({ status: 'completed', complete: true, error: null });
  expect(shellResults.result.stdout).toContain('hello-from-mcp');

  // Sequential: each task waits for the one before.
  const chain = await use('task_orchestrate', { task: 'two steps', type: 'shell', command: ['echo one', 'echo two'], strategy: 'sequential' });
  expect(chain.taskIds).toHaveLength(2);
  expect(chain.tasks[1].dependencies).toEqual([chain.taskIds[0]]);
  expect((await finished(client, chain.taskIds[1])).status).toBe('completed');

  // An agent task: the prompt goes to the model (the fake Anthropic server) through the agent runtime.
  llm.reset();
  llm.enqueue({ text: 'The answer is 42.', usage: { inputTokens: 12, outputTokens: 5 } });
  // With an agent type, the engine assigns the task to an agent of that type: the one spawned above.
  const agentTask = await use('task_orchestrate', { task: 'What is the answer? (mcp prompt)', agentType: 'coder' });
  expect(agentTask.tasks[0].type).toBe('agent');
  const agentDone = await finished(client, agentTask.taskId);
  expect(agentDone.status, JSON.stringify(await call(client, 'task_results', { taskId: agentTask.taskId }))).toBe('completed');
  expect(JSON.stringify(llm.requests.map((r) => r.body))).toContain('What is the answer? (mcp prompt)');
  const agentResults = await use('task_results', { taskId: agentTask.taskId });
  expect(agentResults.transcript).toMatchObject({ modelTurns: 1, usage: { inputTokens: 12, outputTokens: 5 } });
  expect(agentResults.transcript.lastMessage).toContain('42');
  expect(agentResults.transcript.agents).toEqual([spawned.agentId]);
  const metrics = await use('agent_metrics', { agentId: spawned.agentId });
  expect(metrics.trackRecord.tasksCompleted).toBeGreaterThanOrEqual(1);
  expect(metrics).toMatchObject({ success: true, health: 'healthy' });

  // Cancel: a running task and the task that waits for it.
  const sleeper = await use('task_orchestrate', { task: 'sleep', type: 'shell', command: 'sleep 30' });
  const waiter = await use('task_orchestrate', { task: 'after sleep', type: 'shell', command: 'echo never', dependencies: [sleeper.taskId] });
  const cancelled = await use('task_cancel', { taskId: sleeper.taskId, reason: 'test' });
  expect(cancelled.taskId).toBe(sleeper.taskId);
  expect((await finished(client, sleeper.taskId)).status).toBe('cancelled');
  expect((await finished(client, waiter.taskId)).status).toBe('cancelled');

  // Memory: store → retrieve → search → list → delete.
  const stored = await use('memory_usage', { action: 'store', namespace: 'mcp-test', key: 'greeting', value: { text: 'hello colony memory' }, tags: ['t1'], ttl: 3600 });
  expect(stored).toMatchObject({ success: true, stored: true, namespace: 'mcp-test', key: 'greeting', version: 1 });
  expect(stored.expiresAt).not.toBeNull();
  expect(await use('memory_usage', { action: 'retrieve', namespace: 'mcp-test', key: 'greeting' })).toMatchObject({ found: true, value: { text: 'hello colony memory' }, tags: ['t1'] });
  const searched = await use('memory_usage', { action: 'search', query: 'colony memory', namespace: 'mcp-test' });
  expect(searched.results.map((r: { key: string }) => r.key)).toEqual(['greeting']);
  const list = await use('memory_usage', { action: 'list', namespace: 'mcp-test' });
  expect(list).toMatchObject({ count: 1, entries: [{ key: 'greeting' }] });

  // Resources: the namespaces, and an entry by its URI.
  const namespaces = JSON.parse(((await client.readResource({ uri: 'colony://memory' })).contents[0] as { text: string }).text);
  expect(namespaces.namespaces).toContainEqual({ namespace: 'mcp-test', entries: 1 });
  const entry = JSON.parse(((await client.readResource({ uri: 'colony://memory/mcp-test/greeting' })).contents[0] as { text: string }).text);
  expect(entry).toMatchObject({ namespace: 'mcp-test', key: 'greeting', value: { text: 'hello colony memory' } });
  expect((await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toContain('colony://memory/{namespace}/{key}');
  expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['colony://memory', 'colony://memory/mcp-test/greeting']));

  expect(await use('memory_usage', { action: 'delete', namespace: 'mcp-test', key: 'greeting' })).toMatchObject({ deleted: true });
  expect(await use('memory_usage', { action: 'retrieve', namespace: 'mcp-test', key: 'greeting' })).toMatchObject({ found: false, value: null });
  await expect(client.readResource({ uri: 'colony://memory/mcp-test/greeting' })).rejects.toThrow(/not found/);

  const swarmId = await exerciseSwarmTools(client, use);
  // This colony's directory is no git repository, so its swarms have no branch (test/mcp-swarm-diff.test.ts has one that has).
  called.add('swarm_diff');
  expect(await callError(client, 'swarm_diff', { swarmId })).toMatch(new RegExp(`^conflict: swarm ${swarmId} has no git branch`));
  await exerciseConsensusTool(use);

  const status = await use('system_status');
  expect(status.tasks.completed).toBeGreaterThanOrEqual(4);
  expect(status.tasks.cancelled).toBeGreaterThanOrEqual(2);
  expect(status.agents.total).toBeGreaterThanOrEqual(1);
  expect(status.runners.length).toBeGreaterThanOrEqual(1);
  expect(status.executors).toEqual(expect.arrayContaining(['shell', 'agent']));
  expect(status.hooks).toEqual({ configured: [], recentRuns: { scanned: 0, failed: 0, timedOut: 0, refused: 0, blocked: 0, latestAt: null } });

  expect([...called].sort()).toEqual(EXPECTED_TOOLS);
}

const HOLD = 'HOLD-THIS-TASK';

/** swarm_init, swarm_status, swarm_control and the swarm resources, with real swarms in the serving colony. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function exerciseSwarmTools(client: Client, use: (name: string, args?: Record<string, unknown>) => Promise<any>): Promise<string> {
  const resource = async (uri: string) => JSON.parse(((await client.readResource({ uri })).contents[0] as { text: string }).text);
  llm.reset();
  llm.setDefaultReply(holdWhere(swarmModel(), HOLD));
  try {
    // A swarm with the caller's plan runs to completion (Claude-Flow's `star` is the centralized topology).
    const init = await use('swarm_init', {
      objective: 'MCP swarm: two steps',
      topology: 'star',
      strategy: 'balanced',
      maxAgents: 4,
      agents: 1,
      review: false,
      plan: { tasks: [{ id: 'one', title: 'First step', prompt: 'Say one.' }, { id: 'two', title: 'Second step', prompt: 'Say two.', dependsOn: ['one'] }] },
    });
    expect(init).toMatchObject({ success: true, topology: 'centralized', maxAgents: 4, strategy: 'balanced', objective: 'MCP swarm: two steps' });
    expect(init.swarmId).toMatch(/^swm_/);
    const done = await eventually(async () => {
      const report = await use('swarm_status', { swarmId: init.swarmId });
      return ['completed', 'failed', 'stopped'].includes(report.status) ? report : undefined;
    }, `swarm ${init.swarmId} to finish`);
    expect(done.status, JSON.stringify(done)).toBe('completed');
    expect(done.tasks.map((t: { planTaskId: string; status: string }) => [t.planTaskId, t.status])).toEqual([
      ['one', 'completed'],
      ['two', 'completed'],
    ]);
    expect(done.result.partial).toBe(false);
    expect(done.usage.inputTokens).toBeGreaterThan(0);

    // A swarm held at its task: listed as active, paused, resumed and stopped.
    const held = await use('swarm_init', { objective: 'MCP swarm: held', topology: 'mesh', review: false, plan: { tasks: [{ id: 'wait', title: 'Wait', prompt: `Wait. ${HOLD}` }] } });
    expect(held.topology).toBe('mesh');
    await eventually(() => (llm.requests.some((r) => JSON.stringify(r.body).includes(HOLD)) ? true : undefined), 'the held swarm task to ask the model');
    const active = await use('swarm_status');
    expect(active.swarms.map((s: { swarmId: string }) => s.swarmId)).toContain(held.swarmId);
    expect(active.swarms.map((s: { swarmId: string }) => s.swarmId)).not.toContain(init.swarmId);
    expect(await use('swarm_control', { swarmId: held.swarmId, action: 'pause' })).toMatchObject({ success: true, action: 'pause', status: 'paused' });
    expect((await use('swarm_control', { swarmId: held.swarmId, action: 'resume' })).status).not.toBe('paused');
    expect(await use('swarm_control', { swarmId: held.swarmId, action: 'stop', reason: 'test over' })).toMatchObject({ success: true, status: 'stopped' });

    // Resources: the list, and one swarm's status report.
    const listed = await resource('colony://swarms');
    expect(listed.swarms.map((s: { swarmId: string }) => s.swarmId)).toEqual(expect.arrayContaining([init.swarmId, held.swarmId]));
    expect(await resource(`colony://swarms/${init.swarmId}`)).toMatchObject({ swarmId: init.swarmId, status: 'completed', counts: { completed: 2 } });
    expect((await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate)).toContain('colony://swarms/{id}');
    expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['colony://swarms', `colony://swarms/${init.swarmId}`]));
    return init.swarmId as string;
  } finally {
    llm.setDefaultReply({ text: 'ok' });
  }
}

/** consensus_vote: agents spawned for the question vote through the fake model, and the outcome comes back. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function exerciseConsensusTool(use: (name: string, args?: Record<string, unknown>) => Promise<any>): Promise<void> {
  const castVote = { name: 'cast_vote', input: { decision: 'approve', confidence: 0.8, reason: 'the plan covers the risks' } };
  llm.setDefaultReply((request) => (JSON.stringify(request.body).includes('MCP vote: adopt the plan?') ? { toolCalls: [castVote] } : { text: 'ok' }));
  try {
    const vote = await use('consensus_vote', { question: 'MCP vote: adopt the plan?', voters: 3, strategy: 'majority' });
    expect(vote).toMatchObject({ success: true, status: 'accepted', decision: 'approve', ratio: 1, participation: 1, rounds: 1, reason: null, byzantine: [] });
    expect(vote.proposalId).toMatch(/^prp_/);
    expect(vote.votes).toHaveLength(3);
    for (const v of vote.votes) expect(v).toMatchObject({ decision: 'approve', confidence: 0.8, counted: true, exclusion: null, reason: 'the plan covers the risks' });
  } finally {
    llm.setDefaultReply({ text: 'ok' });
  }
}

async function expectBadArguments(client: Client): Promise<void> {
  expect(await callError(client, 'consensus_vote', { question: 'x', strategy: 'dictator' })).toContain('strategy');
  expect(await callError(client, 'consensus_vote', { question: 'x', options: ['only'] })).toContain('options');
  expect(await callError(client, 'consensus_vote', { question: 'x', agentType: 'wizard' })).toMatch(/^validation: unknown agent type "wizard"/);
  expect(await callError(client, 'swarm_init', { objective: 'x', topology: 'ring' })).toMatch(
    /topology "ring" is not supported; use one of centralized \(or star\), mesh, hierarchical, distributed/,
  );
  expect(await callError(client, 'swarm_init', { topology: 'mesh' })).toContain('objective');
  expect(await callError(client, 'swarm_init', { objective: 'x', plan: { tasks: [] } })).toContain('plan');
  expect(await callError(client, 'swarm_init', { objective: 'x', plan: { tasks: [{ id: 'a', title: 'A', prompt: 'p', dependsOn: ['a'] }] } })).toMatch(/^validation: .*depends on itself/);
  expect(await callError(client, 'swarm_control', { swarmId: 'swm_x', action: 'explode' })).toContain('action');
  expect(await callError(client, 'swarm_status', { swarmId: 'swm_nothing_here' })).toMatch(/^not_found/);
  expect(await callError(client, 'task_status', {})).toContain('taskId');
  expect(await callError(client, 'memory_usage', { action: 'explode' })).toContain('action');
  expect(await callError(client, 'memory_usage', { action: 'store', value: 1 })).toContain('key');
  // Numbers past their bounds are refused, and nothing is stored.
  expect(await callError(client, 'memory_usage', { action: 'store', key: 'forever', value: 1, ttl: 1e16 })).toContain('ttl');
  expect((await call(client, 'memory_usage', { action: 'retrieve', key: 'forever' })).found).toBe(false);
  expect(await callError(client, 'task_orchestrate', { task: 'x', type: 'shell', command: 'echo a\u0000b' })).toMatch(/^validation: .*command: contains a NUL byte/);
  expect(await callError(client, 'agent_spawn', { type: 'coder', capabilities: 'not-a-list' })).toContain('capabilities');
  expect(await callError(client, 'task_orchestrate', { task: 'x', type: 'shell' })).toContain('command');
  expect(await callError(client, 'task_orchestrate', { task: 'x', priority: 5000 })).toContain('priority');
  // Domain errors come back as errors too, with the ColonyError's code and message.
  expect(await callError(client, 'task_status', { taskId: 'tsk_01kzzzzzzzzzzzzzzzzzzzzzzz' })).toMatch(/^not_found: task not found/);
  expect(await callError(client, 'task_results', { taskId: 'no-such-task' })).toMatch(/^validation: invalid task id/);
  expect(await callError(client, 'agent_spawn', { type: 'no-such-type' })).toContain('no-such-type');
}

describe('MCP over stdio: colony mcp', () => {
  it('serves every tool and the memory resources, runs tasks in its process, and stops when stdin closes', { timeout: 90_000 }, async () => {
    const project = tempProject();
    const p = providerConfig();
    project.write(
      '.colony/config.yaml',
      [
        'providers:',
        '  anthropic:',
        `    baseUrl: ${anthropicBaseUrl}`,
        '    apiKey: sk-ant-test-0123456789',
        '    model: fake-model',
        '    maxRetries: 0',
        'agents:',
        `  defaultProvider: ${p.agents?.defaultProvider}`,
        'tasks:',
        '  defaultMaxRetries: 0',
        '  pollIntervalMs: 20',
        'log:',
        '  level: warn',
        '',
      ].join('\n'),
    );
    const transport = new StdioClientTransport({ command: COLONY_BIN, args: ['mcp'], cwd: project.dir, env: cliEnv() as Record<string, string>, stderr: 'pipe' });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const client = new Client({ name: 'colony-test', version: '1.0.0' });
    await client.connect(transport);
    const pid = transport.pid as number;
    try {
      await exerciseEveryTool(client);
      await expectBadArguments(client);
      // The stdio caller is the local user: admin.
      expect((await call(client, 'system_status')).caller.role).toBe('admin');
    } finally {
      await client.close();
    }
    await eventually(() => (isAlive(pid) ? undefined : true), `colony mcp (pid ${pid}) to exit after stdin closed`);
    expect(stderr).not.toMatch(/unexpected error/);
    // It stopped cleanly: its runner registration is gone.
    const colony = await createColony({ projectDir: project.dir, env: {}, config: { log: { level: 'silent' } } });
    try {
      expect(await colony.store.runners.list()).toEqual([]);
    } finally {
      await colony.close();
    }
  });
});

describe('colony mcp process lifecycle', () => {
  it('writes only protocol messages on stdout, and exits 143 after draining on SIGTERM', { timeout: 30_000 }, async () => {
    const project = tempProject();
    const child = spawn(COLONY_BIN, ['mcp'], { cwd: project.dir, env: cliEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
    child.stdin.write(`${JSON.stringify(initialize)}\n`);
    await eventually(() => (stdout.includes('\n') ? true : undefined), 'the initialize response');
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(143);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ jsonrpc: '2.0', id: 1, result: { serverInfo: { name: 'colony' } } });
    expect(stderr).toContain('SIGTERM');
  });

  it('exits 0 when stdin is already closed', async () => {
    const project = tempProject();
    const result = await startCli(['mcp'], { cwd: project.dir }).exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
  });
});

describe('MCP over Streamable HTTP: /mcp', () => {
  let api: TestApi;
  const keys = {} as Record<Role, string>;

  beforeAll(async () => {
    api = await startApi(providerConfig(), { startEngine: true });
    for (const role of ['viewer', 'operator', 'admin'] as const) keys[role] = (await api.server.keys.create({ role, name: `${role} key` })).key;
  });
  afterAll(async () => {
    await api?.close();
  });

  async function connect(token: string | undefined): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(new URL(`${api.base}/mcp`), {
      requestInit: { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'colony-test', version: '1.0.0' });
    await client.connect(transport);
    return client;
  }

  it('an operator calls every tool with real effects; bad arguments are tool errors naming the field', { timeout: 60_000 }, async () => {
    const client = await connect(keys.operator);
    try {
      await exerciseEveryTool(client);
      await expectBadArguments(client);
      expect((await call(client, 'system_status')).caller.role).toBe('operator');
    } finally {
      await client.close();
    }
  });

  it('a viewer reads but may not spawn, orchestrate, cancel or write memory', async () => {
    const operator = await connect(keys.operator);
    const viewer = await connect(keys.viewer);
    try {
      const task = await call(operator, 'task_orchestrate', { task: 'for the viewer', type: 'shell', command: 'echo seen' });
      await call(operator, 'memory_usage', { action: 'store', namespace: 'viewer-ns', key: 'k', value: 'readable' });

      expect(await callError(viewer, 'agent_spawn', { type: 'coder' })).toMatch(/^forbidden: agent_spawn needs the operator role; this caller is viewer/);
      expect(await callError(viewer, 'task_orchestrate', { task: 'no', type: 'shell', command: 'echo no' })).toMatch(/^forbidden/);
      expect(await callError(viewer, 'task_cancel', { taskId: task.taskId })).toMatch(/^forbidden/);
      expect(await callError(viewer, 'consensus_vote', { question: 'no' })).toMatch(/^forbidden: consensus_vote needs the operator role; this caller is viewer/);
      expect(await callError(viewer, 'swarm_init', { objective: 'no' })).toMatch(/^forbidden: swarm_init needs the operator role; this caller is viewer/);
      expect(await callError(viewer, 'swarm_control', { swarmId: 'swm_x', action: 'stop' })).toMatch(/^forbidden/);
      expect((await call(viewer, 'swarm_status')).success).toBe(true);
      expect((await viewer.readResource({ uri: 'colony://swarms' })).contents).toHaveLength(1);
      expect(await callError(viewer, 'memory_usage', { action: 'store', key: 'x', value: 1 })).toMatch(/^forbidden: memory_usage needs the operator role/);
      expect(await callError(viewer, 'memory_usage', { action: 'delete', namespace: 'viewer-ns', key: 'k' })).toMatch(/^forbidden/);
      // Nothing happened.
      expect((await call(viewer, 'memory_usage', { action: 'retrieve', namespace: 'viewer-ns', key: 'k' })).value).toBe('readable');
      expect((await api.colony.tasks.get(task.taskId)).status).not.toBe('cancelled');

      // Reads work.
      expect((await call(viewer, 'task_status', { taskId: task.taskId })).taskId).toBe(task.taskId);
      expect((await call(viewer, 'memory_usage', { action: 'list', namespace: 'viewer-ns' })).count).toBe(1);
      expect((await call(viewer, 'memory_usage', { action: 'search', query: 'readable' })).count).toBeGreaterThanOrEqual(1);
      expect((await call(viewer, 'system_status')).caller.role).toBe('viewer');
      expect((await viewer.readResource({ uri: 'colony://memory/viewer-ns/k' })).contents).toHaveLength(1);
    } finally {
      await operator.close();
      await viewer.close();
    }
  });

  it('needs credentials once keys exist, like every REST route', async () => {
    await expect(connect(undefined)).rejects.toThrow(/401|authentication required/i);
    await expect(connect('colony_0123456789ab_' + 'A'.repeat(43))).rejects.toThrow(/401|invalid credentials/i);
    const admin = await connect(keys.admin);
    expect((await call(admin, 'system_status')).caller.role).toBe('admin');
    await admin.close();
    const get = await api.request('GET', '/mcp', { token: keys.viewer });
    expect(get.status).toBe(405);
  });

  it('on a loopback server with no keys (local dev) the caller is admin, as for REST', async () => {
    const open = await startApi({}, {});
    try {
      const transport = new StreamableHTTPClientTransport(new URL(`${open.base}/mcp`));
      const client = new Client({ name: 'colony-test', version: '1.0.0' });
      await client.connect(transport);
      expect((await call(client, 'system_status')).caller.role).toBe('admin');
      const agent = await call(client, 'agent_spawn', { type: 'coder' });
      expect((await open.colony.agents.get(agent.agentId)).type).toBe('coder');
      await client.close();
    } finally {
      await open.close();
    }
  });
});
