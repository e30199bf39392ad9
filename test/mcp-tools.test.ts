import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveMcpServers } from '../src/adapters/mcp-client/resolve-mcp-servers.js';
import { MCP_DEFAULT_CONFIG } from '../src/adapters/mcp-client/mcp-server-config.js';
import { McpClientManager } from '../src/adapters/mcp-client/mcp-client-manager.js';
import { MCP_RESTART_MAX_DELAY_MS } from '../src/adapters/mcp-client/mcp-defaults.js';
import { createLogger } from '../src/kernel/logger.js';
import { mcpAgentTools } from '../src/agents/runtime/tools/mcp-tools.js';
import type { AgentToolContext } from '../src/agents/runtime/tools/agent-tool.js';
import { loadConfig, type ConfigInput } from '../src/app/config.js';
import { effectiveConfig } from '../src/cli/effective-config.js';
import { ConfigError, ValidationError } from '../src/domain/errors.js';
import { FakeLlmServer, type FakeLlmServerAddress, type FakeReply, type RecordedRequest } from '../src/testing/fake-llm-server.js';
import { startMcpHttpServer, type TestMcpHttpServer } from './support/mcp-http-server.js';
import { rejectionOf } from './support/rejection.js';
import { startApi } from './support/api-server.js';
import { eventually, tempColony, tempDir as newTempDir, type TempColony } from './support/temp-colony.js';

// Agents use tools of real MCP servers (a stdio one run with node, a Streamable HTTP one in this
// process), driven by the fake model speaking the Anthropic wire protocol.

const STDIO_SERVER = resolve(import.meta.dirname, 'support/mcp-stdio-server.ts');
const calc = (extra: Record<string, unknown> = {}) => ({ command: process.execPath, args: [STDIO_SERVER], ...extra });

let llm: FakeLlmServer;
let urls: FakeLlmServerAddress;
let http: TestMcpHttpServer;
let temp: TempColony | undefined;
const dirs: string[] = [];
/** A temporary folder removed after the test. */
function tempDir(): string {
  const dir = newTempDir('colony-mcp-');
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  llm = new FakeLlmServer();
  urls = await llm.start();
  http = await startMcpHttpServer();
});
afterAll(async () => {
  await llm.close();
  await http.close();
});
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
  llm.requests.length = 0;
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function colonyConfig(servers: Record<string, unknown>, extra: ConfigInput = {}): ConfigInput {
  return {
    providers: { anthropic: { baseUrl: urls.anthropicBaseUrl, apiKey: 'sk-test-0123456789', model: 'fake-model', maxRetries: 0 } },
    agents: { defaultProvider: 'anthropic', maxTurns: 10 },
    tasks: { defaultMaxRetries: 0 },
    mcp: { servers } as ConfigInput['mcp'],
    ...extra,
  };
}

async function startColony(servers: Record<string, unknown>, options: { env?: NodeJS.ProcessEnv; dir?: string } = {}): Promise<TempColony> {
  temp = await tempColony(colonyConfig(servers), { env: options.env ?? {}, ...(options.dir === undefined ? {} : { dir: options.dir }) });
  return temp;
}

const call = (name: string, input: unknown = {}): FakeReply => ({ toolCalls: [{ name, input }] });
const report = (result: string): FakeReply => ({ toolCalls: [{ name: 'report_result', input: { result } }] });

/** The tool results sent back in a request (Anthropic wire format): text and error flag. */
function toolResults(request: RecordedRequest): { text: string; isError: boolean }[] {
  const body = request.body as { messages: { role: string; content: unknown }[] };
  const last = body.messages.at(-1);
  if (!Array.isArray(last?.content)) return [];
  return (last.content as { type: string; content?: unknown; is_error?: boolean }[])
    .filter((part) => part.type === 'tool_result')
    .map((part) => ({
      text: typeof part.content === 'string' ? part.content : (part.content as { text?: string }[]).map((block) => block.text ?? '').join(''),
      isError: part.is_error === true,
    }));
}

const toolsOffered = (request: RecordedRequest) => (request.body as { tools: { name: string; description: string; input_schema: Record<string, unknown> }[] }).tools;

async function runAgentTask(t: TempColony, agentType: string, prompt = 'use the tools'): Promise<{ status: string; result: unknown; error: unknown }> {
  await t.colony.start();
  const [task] = await t.colony.tasks.submit([{ type: 'agent', input: { prompt, agentType } }]);
  const [done] = await t.colony.tasks.waitFor([task!.id]);
  return { status: done!.status, result: done!.result, error: done!.error };
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe('the MCP client manager', () => {
  function manager(servers: Record<string, unknown>, now: () => number = Date.now, onState?: (state: string) => void): McpClientManager {
    const dir = tempDir();
    return new McpClientManager({
      servers: resolveMcpServers({ projectDir: dir, config: { ...MCP_DEFAULT_CONFIG, servers: servers as typeof MCP_DEFAULT_CONFIG.servers }, env: {} }),
      version: 'test',
      logger: createLogger('silent'),
      now,
      ...(onState === undefined ? {} : { onStateChange: (status) => onState(`${status.name}:${status.state}`) }),
    });
  }

  it('starts a server once for concurrent callers, and one caller giving up does not stop the start for the others', async () => {
    const mcp = manager({ calc: { type: 'stdio', ...calc() } });
    try {
      const gaveUp = new AbortController();
      const first = expect(mcp.listTools('calc', gaveUp.signal)).rejects.toThrow(/this caller was cancelled/);
      gaveUp.abort(new Error('this caller was cancelled'));
      const [tools, again] = await Promise.all([mcp.listTools('calc'), mcp.listTools('calc')]);
      await first;
      expect(tools.map((tool) => tool.name).sort()).toEqual(['add', 'crash', 'env', 'fail', 'grow', 'hang', 'pid']);
      expect(again).toBe(tools);
      const [a, b] = await Promise.all([mcp.callTool('calc', 'pid', {}), mcp.callTool('calc', 'pid', {})]);
      expect(a).toEqual(b);
      expect(mcp.status()).toEqual([{ name: 'calc', transport: 'stdio', source: 'config', state: 'running', tools: 7, pid: Number(a.content) }]);
      // The server adds a tool and says its list changed: later listings have it, from the same process.
      await mcp.callTool('calc', 'grow', {});
      await eventually(async () => (await mcp.listTools('calc')).some((tool) => tool.name === 'extra'));
      expect(await mcp.callTool('calc', 'pid', {})).toEqual(a);
    } finally {
      await mcp.close();
    }
  });

  it('a tool named in tools: whose server cannot start is still offered, and its calls say why they fail', async () => {
    const broken = { type: 'stdio', command: process.execPath, args: ['-e', 'process.stderr.write("no token\\n"); process.exit(1)'] };
    const mcp = manager({ broken });
    try {
      const tools = await mcpAgentTools({ declared: ['Read', 'mcp__broken__search'], agentType: 't', servers: mcp });
      expect(tools.map((tool) => tool.name)).toEqual(['mcp__broken__search']);
      expect(tools[0]!.description).toMatch(/Tool "search" of MCP server "broken" \(the server was unavailable when this task started: .*no token/);
      const context = { signal: new AbortController().signal } as AgentToolContext;
      await expect(tools[0]!.run({ q: 'x' }, context)).rejects.toThrow(/MCP server "broken" failed to start: .*no token/);
    } finally {
      await mcp.close();
    }
  });

  it('tries a server that failed again on the next call, then backs off between attempts, up to a bound', async () => {
    const starts = join(tempDir(), 'starts');
    const count = () => (existsSync(starts) ? readFileSync(starts, 'utf8').length : 0);
    let clock = 1_000_000;
    const states: string[] = [];
    const flaky = { type: 'stdio', command: process.execPath, args: ['-e', `require('fs').appendFileSync(${JSON.stringify(starts)}, 'x'); process.exit(1)`] };
    const mcp = manager({ flaky }, () => clock, (state) => states.push(state));
    try {
      await expect(mcp.listTools('flaky')).rejects.toThrow(/MCP server "flaky" failed to start/);
      expect(count()).toBe(1);
      // The first failure is tried again at once ...
      await expect(mcp.callTool('flaky', 'anything', {})).rejects.toThrow(/failed to start/);
      expect(count()).toBe(2);
      // ... later ones wait, and calls in between fail at once, saying so.
      await expect(mcp.callTool('flaky', 'anything', {})).rejects.toThrow(/MCP server "flaky" is not running \(.*\); it is tried again on a call in 1 s/);
      expect(count()).toBe(2);
      clock += 1_000;
      await expect(mcp.listTools('flaky')).rejects.toThrow(/failed to start/);
      expect(count()).toBe(3);
      await expect(mcp.listTools('flaky')).rejects.toThrow(/tried again on a call in 2 s/);
      for (let attempt = 0; attempt < 8; attempt++) {
        clock += MCP_RESTART_MAX_DELAY_MS;
        await expect(mcp.listTools('flaky')).rejects.toThrow(/failed to start/);
      }
      expect(count()).toBe(11);
      await expect(mcp.listTools('flaky')).rejects.toThrow(new RegExp(`tried again on a call in ${MCP_RESTART_MAX_DELAY_MS / 1000} s`));
      expect(mcp.status()).toEqual([expect.objectContaining({ name: 'flaky', state: 'failed' })]);
      expect(states.every((state) => state === 'flaky:failed')).toBe(true);
    } finally {
      await mcp.close();
    }
  });
});

describe('MCP server status', () => {
  it('GET /api/v2/system/status lists the configured servers and their state', async () => {
    const api = await startApi(colonyConfig({ calc: calc(), later: { command: 'server', env: { KEY: '${UNSET_KEY}' } } }));
    try {
      const response = await api.request('GET', '/api/v2/system/status');
      expect(response.status).toBe(200);
      expect(response.json.mcpServers).toEqual([
        { name: 'calc', transport: 'stdio', source: 'config', state: 'not_started' },
        { name: 'later', transport: 'stdio', source: 'config', state: 'failed', reason: 'environment variable not set: UNSET_KEY (in mcp.servers.later.env.KEY)' },
      ]);
    } finally {
      await api.close();
    }
  });
});

describe('MCP configuration', () => {
  it('reads .mcp.json in Claude Code\'s format, expands ${VAR} and ${VAR:-default}, and lets Colony\'s config win a name clash', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, '.mcp.json'),
      JSON.stringify({
        mcpServers: {
          calc: { command: '${NODE_BIN}', args: ['${SERVER_DIR:-/srv}/server.js', '--mode=${MODE:-fast}'], env: { TOKEN: '${TOKEN}' }, oauth: { ignored: true } },
          web: { type: 'http', url: '${WEB_URL}/mcp', headers: { Authorization: 'Bearer ${TOKEN}' } },
          shadowed: { command: 'from-file' },
          needsKey: { command: 'server', env: { KEY: '${MISSING_KEY}' } },
        },
      }),
    );
    const servers = resolveMcpServers({
      projectDir: dir,
      config: { ...MCP_DEFAULT_CONFIG, servers: { shadowed: { type: 'stdio', command: 'from-config' } } },
      env: { NODE_BIN: '/usr/bin/node', TOKEN: 't0k', WEB_URL: 'https://tools.example', MODE: 'slow' },
    });
    const byName = new Map(servers.map((server) => [server.name, server]));
    expect(byName.get('calc')).toMatchObject({ source: 'mcp.json', transport: 'stdio', spec: { command: '/usr/bin/node', args: ['/srv/server.js', '--mode=slow'], env: { TOKEN: 't0k' }, cwd: dir } });
    expect(byName.get('web')?.spec).toMatchObject({ type: 'http', headers: { Authorization: 'Bearer t0k' } });
    expect(String((byName.get('web')?.spec as { url: URL }).url)).toBe('https://tools.example/mcp');
    expect(byName.get('shadowed')).toMatchObject({ source: 'config', spec: { command: 'from-config' } });
    // An unset variable without a default: the server says so instead of starting; the rest work.
    expect(byName.get('needsKey')?.spec).toBeUndefined();
    expect(byName.get('needsKey')?.problem).toMatch(/environment variable not set: MISSING_KEY \(in .*\.mcp\.json: mcpServers\.needsKey\.env\.KEY\)/);
  });

  it('rejects bad entries with errors naming the file or key and the field', async () => {
    const dir = tempDir();
    const write = (servers: unknown) => writeFileSync(join(dir, '.mcp.json'), JSON.stringify({ mcpServers: servers }));
    const resolveIn = () => resolveMcpServers({ projectDir: dir, config: MCP_DEFAULT_CONFIG, env: {} });

    write({ calc: { args: ['x'] } });
    expect(resolveIn).toThrow(ConfigError);
    expect(resolveIn).toThrow(/\.mcp\.json: invalid "mcpServers\.calc\.command": must be the program to run/);
    write({ calc: { type: 'websocket', url: 'ws://x' } });
    expect(resolveIn).toThrow(/mcpServers\.calc\.type".*"stdio".*"http" or "sse"/);
    write({ web: { type: 'http', url: 'not a url' } });
    expect(resolveIn).toThrow(/mcpServers\.web\.url: not a URL/);
    write({ 'a__b': { command: 'x' } });
    expect(resolveIn).toThrow(/mcpServers\.a__b: an MCP server name is letters/);
    writeFileSync(join(dir, '.mcp.json'), '{"mcpServers": {');
    expect(resolveIn).toThrow(ConfigError);

    // Colony's own config: unknown keys are errors too, named by their full key.
    const bad = await rejectionOf(tempColony(colonyConfig({ calc: { command: 'node', timeoutMs: -1 } }), { env: {}, dir: tempDir() }));
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as Error).message).toMatch(/invalid config key "mcp\.servers\.calc\.timeoutMs"/);
    const badName = await rejectionOf(tempColony(colonyConfig({ a__b: { command: 'node' } }), { env: {}, dir: tempDir() }));
    expect((badName as Error).message).toMatch(/invalid config key "mcp\.servers\.a__b".*an MCP server name is letters, digits/);
    const unknown = await rejectionOf(tempColony(colonyConfig({ calc: { command: 'node', cmd: 'x' } }), { env: {}, dir: tempDir() }));
    expect((unknown as Error).message).toMatch(/mcp\.servers\.calc/);
    expect((unknown as Error).message).toMatch(/cmd/);
  });

  it('colony config show never prints an MCP server\'s env or header values', () => {
    const loaded = loadConfig({
      projectDir: tempDir(),
      env: {},
      overrides: { mcp: { servers: { calc: { command: 'node', env: { TOKEN: 'literal-secret' } }, web: { type: 'http', url: 'https://x.example/mcp', headers: { Authorization: 'Bearer literal-secret' } } } } } as ConfigInput,
    });
    const shown = effectiveConfig(loaded, {}, {});
    expect(JSON.stringify(shown)).not.toContain('literal-secret');
    expect(shown.values.mcp).toMatchObject({ servers: { calc: { command: 'node', env: { TOKEN: 'set' } }, web: { url: 'https://x.example/mcp', headers: { Authorization: 'set' } } } });
  });

  it('an agent type naming an MCP server that is not configured is an error saying which', async () => {
    const t = await startColony({ calc: calc() });
    expect(() => t.colony.agentTypes.register({ name: 'lost', description: 'd', tools: ['Read', 'mcp__nope__add'], systemPrompt: 'p' })).toThrow(ValidationError);
    expect(() => t.colony.agentTypes.register({ name: 'lost', description: 'd', tools: ['mcp__nope'], systemPrompt: 'p' })).toThrow(
      /agent type "lost": tools entry "mcp__nope" names MCP server "nope", which is not configured .*configured servers: calc/,
    );
    // An agent file (read from .colony/agents) naming one: its tasks fail with the same sentence, and no server starts.
    mkdirSync(join(t.dir, '.colony/agents'), { recursive: true });
    writeFileSync(join(t.dir, '.colony/agents/lost.md'), '---\nname: lost-file\ndescription: lost\ntools: mcp__nowhere__x\n---\nYou are lost.\n');
    const run = await runAgentTask(t, 'lost-file');
    expect(run.status).toBe('failed');
    expect(JSON.stringify(run.error)).toMatch(/MCP server \\"nowhere\\", which is not configured/);
    expect(t.colony.mcp.status()).toEqual([{ name: 'calc', transport: 'stdio', source: 'config', state: 'not_started' }]);
  });
});

describe('agents calling MCP tools', () => {
  it('an agent calls mcp__calc__add on a stdio server and gets the answer; the call is in the transcript and the events', async () => {
    const t = await startColony({ calc: calc() });
    t.colony.agentTypes.register({ name: 'adder', description: 'adds', tools: ['Read', 'mcp__calc__add'], systemPrompt: 'You add numbers.' });
    const called: unknown[] = [];
    t.colony.events.subscribe({ types: ['agent.tool_called'] }, (event) => {
      called.push(event.data);
    });
    const serverEvents: unknown[] = [];
    t.colony.events.subscribe({ types: ['mcp_server.state_changed'] }, (event) => {
      serverEvents.push(event.data);
    });
    expect(t.colony.mcp.status()).toEqual([{ name: 'calc', transport: 'stdio', source: 'config', state: 'not_started' }]);
    llm.enqueue(call('mcp__calc__add', { a: 2, b: 40 }), report('the sum is 42'));

    const run = await runAgentTask(t, 'adder', 'What is 2 + 40?');
    expect(run.status).toBe('completed');
    expect(run.result).toMatchObject({ result: 'the sum is 42' });
    // The model saw the one selected tool with its full name, description and input schema.
    const tools = toolsOffered(llm.requests[0]!);
    const add = tools.find((tool) => tool.name === 'mcp__calc__add');
    expect(add?.description).toBe('Adds two numbers.');
    expect(add?.input_schema).toMatchObject({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] });
    expect(add?.input_schema).not.toHaveProperty('$schema');
    expect(tools.map((tool) => tool.name).filter((name) => name.startsWith('mcp__'))).toEqual(['mcp__calc__add']);
    expect(toolResults(llm.requests[1]!)).toEqual([{ text: '42', isError: false }]);

    const [task] = await t.colony.tasks.list({});
    const transcript = await t.colony.tasks.transcript(task!.id);
    expect(transcript.turns.some((turn) => turn.role === 'tool' && JSON.stringify(turn.content).includes('"content":"42"'))).toBe(true);
    expect(called).toContainEqual(expect.objectContaining({ tool: 'mcp__calc__add', ok: true }));
    expect(t.colony.mcp.status()).toEqual([expect.objectContaining({ name: 'calc', state: 'running', tools: 7, pid: expect.any(Number) })]);
    expect(serverEvents).toEqual([{ server: 'calc', state: 'running', reason: null, runnerId: t.colony.runners.id }]);
  });

  it('mcp__<server> selects the whole server; an isError result reaches the model as an error naming the server', async () => {
    const t = await startColony({ calc: calc() });
    t.colony.agentTypes.register({ name: 'all-calc', description: 'd', tools: ['mcp__calc'], systemPrompt: 'p' });
    const called: { tool: string; ok: boolean; error?: string }[] = [];
    t.colony.events.subscribe({ types: ['agent.tool_called'] }, (event) => {
      called.push(event.data);
    });
    llm.enqueue(call('mcp__calc__fail'), report('done'));
    const run = await runAgentTask(t, 'all-calc');
    expect(run.status).toBe('completed');
    const names = toolsOffered(llm.requests[0]!).map((tool) => tool.name);
    expect(names.filter((name) => name.startsWith('mcp__')).sort()).toEqual(['mcp__calc__add', 'mcp__calc__crash', 'mcp__calc__env', 'mcp__calc__fail', 'mcp__calc__grow', 'mcp__calc__hang', 'mcp__calc__pid']);
    expect(names).not.toContain('read_file');
    expect(toolResults(llm.requests[1]!)).toEqual([{ text: 'MCP server "calc": tool "fail" returned an error: this tool fails on purpose', isError: true }]);
    expect(called).toContainEqual(expect.objectContaining({ tool: 'mcp__calc__fail', ok: false, error: expect.stringContaining('fails on purpose') }));
  });

  it('a server that crashes mid-call gives an error result; the next call starts it again and works', async () => {
    const t = await startColony({ calc: calc() });
    t.colony.agentTypes.register({ name: 'crasher', description: 'd', tools: ['mcp__calc'], systemPrompt: 'p' });
    llm.enqueue(call('mcp__calc__pid'), call('mcp__calc__crash'), call('mcp__calc__pid'), call('mcp__calc__add', { a: 1, b: 2 }), report('survived'));
    const run = await runAgentTask(t, 'crasher');
    expect(run.status).toBe('completed');
    const [first] = toolResults(llm.requests[1]!);
    const [crash] = toolResults(llm.requests[2]!);
    const [second] = toolResults(llm.requests[3]!);
    expect(crash?.isError).toBe(true);
    expect(crash?.text).toMatch(/MCP server "calc" stopped during the call to "crash".*started again on the next call/);
    expect(second?.isError).toBe(false);
    expect(second?.text).not.toBe(first?.text);
    expect(processGone(Number(first?.text))).toBe(true);
    expect(toolResults(llm.requests[4]!)).toEqual([{ text: '3', isError: false }]);
  });

  it('a call that hangs ends at the server\'s timeout as an error result', async () => {
    const t = await startColony({ calc: calc({ timeoutMs: 300 }) });
    t.colony.agentTypes.register({ name: 'waiter', description: 'd', tools: ['mcp__calc__hang', 'mcp__calc__add', 'mcp__calc__pid'], systemPrompt: 'p' });
    llm.enqueue(call('mcp__calc__hang'), call('mcp__calc__add', { a: 2, b: 2 }), call('mcp__calc__pid'), report('moved on'));
    const run = await runAgentTask(t, 'waiter');
    expect(run.status).toBe('completed');
    expect(toolResults(llm.requests[1]!)).toEqual([{ text: 'mcp__calc__hang failed: MCP server "calc" did not answer the call to "hang" within 300 ms; the call was cancelled', isError: true }]);
    // The server still answers other calls.
    expect(toolResults(llm.requests[2]!)).toEqual([{ text: '4', isError: false }]);
    // A server with a call still hanging in it is stopped too.
    const pid = Number(toolResults(llm.requests[3]!)[0]?.text);
    await t.cleanup();
    temp = undefined;
    expect(processGone(pid)).toBe(true);
  });

  it('a server that fails to start is an error result naming it, never a failed task, and its status says why', async () => {
    const broken = { command: process.execPath, args: ['-e', 'process.stderr.write("missing settings file\\n"); process.exit(2)'] };
    const t = await startColony({ broken, calc: calc() });
    t.colony.agentTypes.register({ name: 'hopeful', description: 'd', tools: ['mcp__broken', 'mcp__calc__add'], systemPrompt: 'p' });
    llm.enqueue(call('mcp__broken', { tool: 'anything' }), report('reported the outage'));
    const run = await runAgentTask(t, 'hopeful');
    expect(run.status).toBe('completed');
    const tools = toolsOffered(llm.requests[0]!);
    const placeholder = tools.find((tool) => tool.name === 'mcp__broken');
    expect(placeholder?.description).toMatch(/MCP server "broken" could not be started .*missing settings file/);
    expect(tools.map((tool) => tool.name)).toContain('mcp__calc__add');
    const [result] = toolResults(llm.requests[1]!);
    expect(result?.isError).toBe(true);
    expect(result?.text).toMatch(/MCP server "broken" failed to start: .*missing settings file/);
    const status = t.colony.mcp.status().find((server) => server.name === 'broken');
    expect(status).toMatchObject({ state: 'failed', reason: expect.stringContaining('missing settings file') });
  });

  it('uses a Streamable HTTP server with ${VAR} in its headers', async () => {
    const t = await startColony({ web: { type: 'http', url: http.url, headers: { Authorization: 'Bearer ${WEB_TOKEN}' } } }, { env: { WEB_TOKEN: 'secret-42' } });
    t.colony.agentTypes.register({ name: 'remote', description: 'd', tools: ['mcp__web'], systemPrompt: 'p' });
    llm.enqueue(call('mcp__web__multiply', { a: 6, b: 7 }), call('mcp__web__whoami'), report('done'));
    const run = await runAgentTask(t, 'remote');
    expect(run.status).toBe('completed');
    expect(toolResults(llm.requests[1]!)).toEqual([{ text: '42', isError: false }]);
    expect(toolResults(llm.requests[2]!)).toEqual([{ text: 'Bearer secret-42', isError: false }]);
    expect(t.colony.mcp.status()).toEqual([expect.objectContaining({ name: 'web', transport: 'http', state: 'running', tools: 2 })]);
  });

  it('a stdio server gets its configured env and not Colony\'s secrets; .mcp.json servers work; no process outlives colony.close()', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.mcp.json'), JSON.stringify({ mcpServers: { calc: { command: process.execPath, args: [STDIO_SERVER], env: { GREETING: '${GREETING}' } } } }));
    // Colony's environment holds a provider key; this process's environment holds VITEST: neither reaches the server.
    const t = await startColony({}, { dir, env: { GREETING: 'hello from .mcp.json', ANTHROPIC_API_KEY: 'sk-ant-must-not-leak' } });
    expect(process.env.VITEST).toBeDefined();
    // An agent type without a tools list gets the default tools and no MCP server (unlike Claude Code): none starts.
    t.colony.agentTypes.register({ name: 'plain', description: 'd', systemPrompt: 'p' });
    llm.enqueue(report('plain'));
    expect((await runAgentTask(t, 'plain')).status).toBe('completed');
    expect(toolsOffered(llm.requests[0]!).map((tool) => tool.name).filter((name) => name.startsWith('mcp__'))).toEqual([]);
    expect(t.colony.mcp.status()).toEqual([expect.objectContaining({ name: 'calc', state: 'not_started' })]);
    llm.requests.length = 0;

    t.colony.agentTypes.register({ name: 'everything', description: 'd', tools: ['Read', 'mcp__calc'], systemPrompt: 'p' });
    llm.enqueue(
      call('mcp__calc__env', { name: 'GREETING' }),
      call('mcp__calc__env', { name: 'ANTHROPIC_API_KEY' }),
      call('mcp__calc__env', { name: 'VITEST' }),
      call('mcp__calc__pid'),
      report('done'),
    );
    const run = await runAgentTask(t, 'everything');
    expect(run.status).toBe('completed');
    expect(toolsOffered(llm.requests[0]!).map((tool) => tool.name)).toEqual(expect.arrayContaining(['read_file', 'mcp__calc__add']));
    expect(toolResults(llm.requests[1]!)).toEqual([{ text: 'hello from .mcp.json', isError: false }]);
    expect(toolResults(llm.requests[2]!)).toEqual([{ text: '(unset)', isError: false }]);
    expect(toolResults(llm.requests[3]!)).toEqual([{ text: '(unset)', isError: false }]);
    const pid = Number(toolResults(llm.requests[4]!)[0]?.text);
    expect(processGone(pid)).toBe(false);
    expect(t.colony.mcp.status()).toEqual([expect.objectContaining({ name: 'calc', source: 'mcp.json', state: 'running', pid })]);

    await t.cleanup();
    temp = undefined;
    expect(processGone(pid)).toBe(true);
    expect(t.colony.mcp.status()).toEqual([expect.objectContaining({ name: 'calc', state: 'not_started' })]);
  });
});
