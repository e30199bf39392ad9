import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/api/create-server.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { removeTempProjects, startCli, tempProject, type BackgroundCli } from './support/cli.js';
import { FakeOtlpCollector, type CollectedSpan } from './support/fake-otlp-collector.js';
import { createTestDatabase } from './support/postgres.js';
import { swarmModel } from './support/swarm-model.js';
import { eventually, tempColony, tempDir } from './support/temp-colony.js';

/**
 * Traces end to end, against a real OTLP/HTTP collector: the API request, the task attempt (in this
 * process and in a worker process), agent turns, model calls with the GenAI attributes, tool calls;
 * log lines carry the ids; with the variables unset, the SDK is not even loaded.
 */

const SERVER_KIND = 2;
const CLIENT_KIND = 3;
const ERROR_STATUS = 2;
const execFileAsync = promisify(execFile);
const LOADED_MODULES = resolve(import.meta.dirname, 'fixtures/loaded-modules.mjs');

let collector: FakeOtlpCollector;
let endpoint: string;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  collector = new FakeOtlpCollector();
  endpoint = await collector.start();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  collector.spans.length = 0;
});
afterAll(async () => {
  await collector.close();
  removeTempProjects();
});

function only(spans: CollectedSpan[], what: string): CollectedSpan {
  expect(spans, what).toHaveLength(1);
  return spans[0] as CollectedSpan;
}

describe('traces in one process', () => {
  it('a task submitted through the REST API runs as a child span of the request span, in the caller’s trace; its log lines carry the ids', async () => {
    const dir = tempDir();
    const logFile = join(dir, 'colony.log');
    const { colony, cleanup } = await tempColony({ log: { level: 'info' } }, { dir, env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'colony-test' }, logFile });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    colony.registerExecutor({
      type: 'noop',
      execute: async ({ logger }) => {
        logger.info('inside the task');
        return 'done';
      },
    });
    await colony.start();
    const server = await createServer(colony, { host: '127.0.0.1', port: 0 });
    const { origin } = await server.listen();
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await fetch(`${origin}/api/v2/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` },
      body: JSON.stringify({ type: 'noop' }),
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    await eventually(async () => (await colony.tasks.get(id)).status === 'completed');
    expect((await colony.tasks.get(id)).traceParent).toMatch(new RegExp(`^00-${callerTrace}-[0-9a-f]{16}-01$`));
    await server.close();
    // Closing exports what is buffered.
    await cleanup();

    const request = only(collector.named('POST /api/v2/tasks'), 'the request span');
    expect(request).toMatchObject({ traceId: callerTrace, parentSpanId: '00f067aa0ba902b7', kind: SERVER_KIND });
    expect(request.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/api/v2/tasks', 'http.response.status_code': 201 });
    expect(request.resource['service.name']).toBe('colony-test');
    const task = only(collector.named('task noop'), 'the task span');
    expect(task).toMatchObject({ traceId: callerTrace, parentSpanId: request.spanId });
    expect(task.attributes).toMatchObject({ 'colony.task.id': id, 'colony.task.type': 'noop', 'colony.task.attempt': 1 });

    const lines = readFileSync(logFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.find((line) => line.msg === 'inside the task')).toMatchObject({ taskId: id, trace_id: callerTrace, span_id: task.spanId });
    // Outside any span, no ids.
    expect(lines.filter((line) => line.trace_id === undefined).length).toBeGreaterThan(0);
  });

  it('an agent task: a turn span per model call, a chat span with the GenAI model, token and finish-reason attributes, a tool-call span', async () => {
    const llm = new FakeLlmServer();
    const { anthropicBaseUrl } = await llm.start();
    cleanups.push(() => llm.close());
    llm.enqueue(
      { toolCalls: [{ name: 'list_files', input: { path: '.' } }], usage: { inputTokens: 120, outputTokens: 30 } },
      { toolCalls: [{ name: 'no_such_tool', input: {} }], usage: { inputTokens: 160, outputTokens: 10 } },
      { text: 'all done', usage: { inputTokens: 200, outputTokens: 7 } },
    );
    const { colony, cleanup } = await tempColony(
      {},
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ANTHROPIC_BASE_URL: anthropicBaseUrl, ANTHROPIC_API_KEY: 'sk-ant-test', COLONY_PROVIDER: 'anthropic' } },
    );
    await colony.start();
    const [task] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'List the files.', model: 'fake-model' } }]);
    const id = (task as { id: string }).id;
    await eventually(async () => (await colony.tasks.get(id)).status === 'completed');
    await cleanup();

    const taskSpan = only(collector.named('task agent'), 'the task span');
    const turns = collector.spans.filter((span) => span.name.startsWith('invoke_agent '));
    expect(turns.map((span) => span.attributes['colony.agent.turn'])).toEqual([1, 2, 3]);
    for (const turn of turns) expect(turn).toMatchObject({ traceId: taskSpan.traceId, parentSpanId: taskSpan.spanId });
    const chats = collector.named('chat fake-model');
    expect(chats).toHaveLength(3);
    const [first] = chats as [CollectedSpan];
    expect(first.kind).toBe(CLIENT_KIND);
    expect(first.parentSpanId).toBe((turns[0] as CollectedSpan).spanId);
    expect(first.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.system': 'anthropic',
      'gen_ai.request.model': 'fake-model',
      'gen_ai.response.model': 'fake-model',
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 30,
      'gen_ai.response.finish_reasons': ['tool_use'],
    });
    expect(chats.map((span) => span.attributes['gen_ai.response.finish_reasons'])).toEqual([['tool_use'], ['tool_use'], ['end_turn']]);
    const listed = only(collector.named('execute_tool list_files'), 'the list_files span');
    expect(listed).toMatchObject({ traceId: taskSpan.traceId, parentSpanId: (turns[0] as CollectedSpan).spanId, statusCode: 0 });
    expect(listed.attributes).toMatchObject({ 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'list_files' });
    // A tool call that fails (here: an unknown tool) is a failed span; the model still gets the error.
    expect(only(collector.named('execute_tool no_such_tool'), 'the failed tool span').statusCode).toBe(ERROR_STATUS);
  });
  it('a swarm created through the REST API is one trace: the request, the swarm’s coordination, its planned tasks and their model calls', async () => {
    const llm = new FakeLlmServer({ defaultReply: swarmModel() });
    const { anthropicBaseUrl } = await llm.start();
    cleanups.push(() => llm.close());
    const { colony, cleanup } = await tempColony(
      {
        providers: { anthropic: { baseUrl: anthropicBaseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } },
        agents: { defaultProvider: 'anthropic' },
        tasks: { defaultMaxRetries: 0 },
      },
      { env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } },
    );
    await colony.start();
    const server = await createServer(colony, { host: '127.0.0.1', port: 0 });
    const { origin } = await server.listen();
    const plan = {
      summary: 'Facts, then a sentence.',
      tasks: [
        { id: 'facts', title: 'Collect facts', prompt: 'List three facts about bees.' },
        { id: 'sentence', title: 'Write a sentence', prompt: 'Write one sentence from the facts.', dependsOn: ['facts'] },
      ],
    };
    const response = await fetch(`${origin}/api/v2/swarms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ objective: 'Tell me about bees', review: false, plan }),
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    await eventually(async () => ['completed', 'failed'].includes((await colony.swarms.get(id)).status), 30_000);
    expect((await colony.swarms.get(id)).status).toBe('completed');
    await server.close();
    await cleanup();

    const request = only(collector.named('POST /api/v2/swarms'), 'the request span');
    const swarm = only(collector.named('swarm centralized'), 'the swarm span');
    expect(swarm).toMatchObject({ traceId: request.traceId, parentSpanId: request.spanId });
    expect(swarm.attributes).toMatchObject({ 'colony.swarm.id': id, 'colony.swarm.status': 'completed' });
    const tasks = collector.named('task agent');
    expect(tasks).toHaveLength(2);
    for (const task of tasks) expect(task).toMatchObject({ traceId: request.traceId, parentSpanId: swarm.spanId });
    // Every model call of the swarm (its workers', its synthesis) is in the one trace.
    const chats = collector.spans.filter((span) => span.name === 'chat fake-model');
    expect(chats.length).toBeGreaterThanOrEqual(2);
    for (const chat of chats) expect(chat.traceId).toBe(request.traceId);
  });
});

const DATABASES: [string, () => Promise<string | undefined>][] = [
  ['one SQLite file', async () => undefined],
  [
    'PostgreSQL',
    async () => {
      const database = await createTestDatabase();
      cleanups.push(() => database.drop());
      return database.url;
    },
  ],
];

describe.each(DATABASES)('traces across processes on %s', (_name, databaseUrl) => {
  it('a task created through the API of `colony up --no-work` and run by a `colony worker` process is traced in the request’s trace', async () => {
    const project = tempProject();
    const url = await databaseUrl();
    project.write('.colony/config.yaml', `tasks:\n  pollIntervalMs: 100\n  drainTimeoutMs: 2000\n${url ? 'database:\n  poolSize: 3\n' : ''}`);
    const db = url ? ['--db', url] : [];
    // Spans are exported within 50 ms instead of 5 s: the test waits for them, it does not stop the processes first.
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '50', COLONY_LOG_LEVEL: 'info' };
    const start = (args: string[]): BackgroundCli => {
      const cli = startCli([...db, ...args], { cwd: project.dir, env });
      cleanups.push(async () => {
        if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGTERM');
        await cli.exited;
      });
      return cli;
    };
    const server = start(['--json', 'up', '--port', '0', '--no-work']);
    const announced = await eventually(() => {
      if (server.child.exitCode !== null) throw new Error(`colony up exited (${server.child.exitCode}): ${server.stderr}`);
      const line = server.stdout.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { api: string }) : undefined;
    });
    const worker = start(['worker']);
    await worker.waitForStderr(/worker run_\w+ running tasks/);
    const response = await fetch(`${announced.api}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'shell', input: { command: 'echo traced' } }),
    });
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };

    const taskSpan = await eventually(() => collector.named('task shell')[0]);
    const request = await eventually(() => collector.named('POST /api/v2/tasks')[0]);
    expect(taskSpan).toMatchObject({ traceId: request.traceId, parentSpanId: request.spanId });
    expect(taskSpan.attributes['colony.task.id']).toBe(id);
    // Two processes: the request span came from the server, the task span from the worker.
    expect(request.resource['process.pid'] ?? request.resource['service.instance.id']).not.toEqual(taskSpan.resource['process.pid'] ?? taskSpan.resource['service.instance.id']);
  });
});

describe('tracing off', () => {
  async function loadedModules(env: Record<string, string>): Promise<string[]> {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_') && !key.startsWith('COLONY_')));
    const { stdout } = await execFileAsync(process.execPath, [LOADED_MODULES], { env: { ...clean, ...env } });
    return stdout.split('\n');
  }

  it('with the OTEL_* variables unset (or the SDK disabled), no OpenTelemetry module is loaded; with an endpoint set, the SDK is', async () => {
    const otel = (urls: string[]) => urls.filter((url) => url.includes('/@opentelemetry/'));
    expect(otel(await loadedModules({}))).toEqual([]);
    expect(otel(await loadedModules({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true' }))).toEqual([]);
    const on = otel(await loadedModules({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }));
    expect(on.some((url) => url.includes('/@opentelemetry/sdk-trace-base/'))).toBe(true);
    expect(on.some((url) => url.includes('/@opentelemetry/exporter-trace-otlp-http/'))).toBe(true);
  });
});
