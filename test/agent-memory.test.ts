import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memoryContext, renderMemoryContext, taskMemoryNamespace } from '../src/agents/runtime/memory-context.js';
import { selectAgentTools } from '../src/agents/runtime/tool-names.js';
import type { Colony } from '../src/app/colony.js';
import type { ConfigInput } from '../src/app/config.js';
import type { TaskRecord } from '../src/domain/task.js';
import { FakeLlmServer, type FakeMessageReply, type RecordedRequest } from '../src/testing/fake-llm-server.js';
import { eventually, tempColony, type TempColony } from './support/temp-colony.js';

// Agents and memory, end to end through createColony's wiring: the agent executor, the memory
// context hook and the memory tools, with the Anthropic provider talking to the fake LLM server.

const server = new FakeLlmServer();
let baseUrl: string;
let temp: TempColony;

beforeAll(async () => {
  baseUrl = (await server.start()).anthropicBaseUrl;
});
afterAll(async () => {
  await server.close();
});

function configFor(extra: ConfigInput = {}): ConfigInput {
  return {
    providers: { anthropic: { baseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } },
    agents: { defaultProvider: 'anthropic' },
    tasks: { defaultMaxRetries: 0 },
    ...extra,
  };
}

async function startColony(extra: ConfigInput = {}): Promise<Colony> {
  temp = await tempColony(configFor(extra), { env: {} });
  await temp.colony.start();
  return temp.colony;
}

afterEach(async () => {
  await temp?.cleanup();
  server.reset();
  server.setDefaultReply({ text: 'ok' });
});

async function newWorkflow(colony: Colony, name: string): Promise<string> {
  const id = colony.newId('workflow');
  const now = colony.now();
  await colony.store.workflows.insert({ id, name, source: null, definitionHash: `hash-${id}`, status: 'running', createdAt: now, updatedAt: now, completedAt: null });
  return id;
}

/** Submits one agent task, scripts the model's replies for it, and waits until it has finished. */
async function runAgentTask(colony: Colony, prompt: string, replies: FakeMessageReply[], workflowId?: string): Promise<{ task: TaskRecord; requests: RecordedRequest[] }> {
  server.reset();
  server.enqueue(...replies);
  const [submitted] = await colony.tasks.submit([{ type: 'agent', input: { prompt } }], workflowId === undefined ? {} : { workflowId });
  const task = await eventually(async () => {
    const current = await colony.store.tasks.get(submitted!.id);
    return current?.status === 'completed' || current?.status === 'failed' ? current : undefined;
  });
  return { task, requests: server.requests.filter((r) => r.path === '/v1/messages') };
}

interface AnthropicBody {
  system?: string | { text: string }[];
  messages: { role: string; content: string | { type: string; text?: string; content?: unknown; is_error?: boolean }[] }[];
  tools?: { name: string }[];
}

function bodyOf(request: RecordedRequest | undefined): AnthropicBody {
  if (!request) throw new Error('no such request');
  return request.body as AnthropicBody;
}

/** The system prompt plus the first user message: everything the model is told before it acts. */
function firstContext(request: RecordedRequest | undefined): string {
  const body = bodyOf(request);
  const system = typeof body.system === 'string' ? body.system : (body.system ?? []).map((b) => b.text).join('');
  const first = body.messages[0]?.content;
  const user = typeof first === 'string' ? first : (first ?? []).map((part) => part.text ?? '').join('');
  return `${system}\n${user}`;
}

/** The tool results sent back in a request (its last user message). */
function toolResults(request: RecordedRequest | undefined): { content: string; isError: boolean }[] {
  const last = bodyOf(request).messages.at(-1)?.content;
  if (!Array.isArray(last)) return [];
  return last
    .filter((part) => part.type === 'tool_result')
    .map((part) => ({
      content: typeof part.content === 'string' ? part.content : (part.content as { text: string }[]).map((c) => c.text).join(''),
      isError: part.is_error === true,
    }));
}

const report = (result: string): FakeMessageReply => ({ toolCalls: [{ name: 'report_result', input: { result } }] });

describe('agents use memory', () => {
  it("a memory one agent stores is in a later agent's first request, and retrieve and search work through the loop", async () => {
    const colony = await startColony();
    const wfA = await newWorkflow(colony, 'a');
    const wfB = await newWorkflow(colony, 'b');
    const nsA = `workflow:${wfA}`;
    expect(taskMemoryNamespace({ workflowId: wfA })).toBe(nsA);

    // 1. The first agent finds nothing to remember yet, and stores two memories.
    const first = await runAgentTask(
      colony,
      'Decide the API style for the orders service.',
      [
        { toolCalls: [{ name: 'memory_store', input: { key: 'api-style', value: { style: 'REST', casing: 'snake_case' }, tags: ['conventions'] } }] },
        { toolCalls: [{ name: 'memory_store', input: { key: 'release-day', value: 'We release on Thursdays after the API review', shared: true } }] },
        report('decided'),
      ],
      wfA,
    );
    expect(first.task.status).toBe('completed');
    const tools = (bodyOf(first.requests[0]).tools ?? []).map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(['memory_store', 'memory_retrieve', 'memory_search']));
    expect(firstContext(first.requests[0])).toContain('memory_store what later tasks should know');
    expect(firstContext(first.requests[0])).not.toContain('Relevant memories');
    expect(toolResults(first.requests[1])).toEqual([{ content: expect.stringMatching(new RegExp(`^Stored ${nsA}/api-style \\(version 1, `)), isError: false }]);
    expect(toolResults(first.requests[2])).toEqual([{ content: expect.stringMatching(/^Stored shared\/release-day \(version 1, /), isError: false }]);

    const memory = await colony.memory();
    const stored = await memory.retrieve(nsA, 'api-style');
    expect(stored).toMatchObject({ value: { style: 'REST', casing: 'snake_case' }, tags: ['conventions'], metadata: { taskId: first.task.id } });
    expect(await memory.retrieve('default', 'api-style')).toBeUndefined();

    // 2. A later task of the same workflow is told about it before it acts, and reads it with the tools.
    const second = await runAgentTask(
      colony,
      'Add a refunds endpoint that follows our API style conventions.',
      [
        { toolCalls: [{ name: 'memory_retrieve', input: { key: 'api-style' } }] },
        { toolCalls: [{ name: 'memory_search', input: { query: 'when do we release', mode: 'hybrid' } }] },
        { toolCalls: [{ name: 'memory_retrieve', input: { key: 'release-day', shared: true } }] },
        report('added'),
      ],
      wfA,
    );
    expect(second.task.status).toBe('completed');
    const context = firstContext(second.requests[0]);
    expect(context).toContain('## Context\nRelevant memories');
    expect(context).toContain(`- ${nsA}/api-style [found by keyword`);
    expect(context).toContain('{"style":"REST","casing":"snake_case"}');
    expect(context).toContain(`Found by a hybrid search of ${nsA}, shared with the task as the query. Embedder: colony-local-hash-384 (local lexical embedder).`);

    const [retrieved] = toolResults(second.requests[1]);
    expect(retrieved?.isError).toBe(false);
    expect(JSON.parse(retrieved!.content)).toMatchObject({ namespace: nsA, key: 'api-style', value: { style: 'REST', casing: 'snake_case' }, version: 1, tags: ['conventions'] });
    const [searched] = toolResults(second.requests[2]);
    expect(searched?.isError).toBe(false);
    expect(searched?.content).toMatch(/^\d memor(y|ies) \(hybrid search, embedder colony-local-hash-384 \(local lexical embedder\) of workflow:wf_[0-9a-z]+, shared\), best first:/);
    expect(searched?.content.split('\n')[1]).toContain('shared/release-day');
    expect(searched?.content).toContain('We release on Thursdays after the API review');
    const [sharedRead] = toolResults(second.requests[3]);
    expect(JSON.parse(sharedRead!.content)).toMatchObject({ namespace: 'shared', key: 'release-day', value: 'We release on Thursdays after the API review' });

    // 3. Another workflow sees the shared memory, not workflow A's own.
    const third = await runAgentTask(colony, 'Plan the next release of the API.', [{ toolCalls: [{ name: 'memory_retrieve', input: { key: 'api-style' } }] }, report('planned')], wfB);
    const otherContext = firstContext(third.requests[0]);
    expect(otherContext).toContain('- shared/release-day [found by');
    expect(otherContext).not.toContain('api-style');
    expect(toolResults(third.requests[1])).toEqual([{ content: expect.stringMatching(new RegExp(`^No memory workflow:${wfB}/api-style `)), isError: false }]);

    // 4. A task outside any workflow uses the `default` namespace.
    const loose = await runAgentTask(colony, 'Note the on-call rota.', [{ toolCalls: [{ name: 'memory_store', input: { key: 'rota', value: 'alice, bob' } }] }, report('noted')]);
    expect(toolResults(loose.requests[1])[0]?.content).toMatch(/^Stored default\/rota /);
  });

  it('bad tool input is reported back to the model and writes nothing', async () => {
    const colony = await startColony();
    const run = await runAgentTask(colony, 'Try to remember things badly.', [
      { toolCalls: [{ name: 'memory_store', input: { value: 'no key' } }] },
      { toolCalls: [{ name: 'memory_store', input: { key: 'k', value: 'v', ttl_seconds: -5 } }] },
      // Passes the tool's schema, refused by the memory manager (an oversized value is refused the
      // same way, but a megabyte of streamed tool input is slow to parse for the SDK).
      { toolCalls: [{ name: 'memory_store', input: { key: 'bell\u0007key', value: 'v', tags: ['ok'] } }] },
      { toolCalls: [{ name: 'memory_search', input: { query: 'anything', mode: 'fuzzy' } }] },
      { toolCalls: [{ name: 'memory_retrieve', input: { key: '' } }] },
      { toolCalls: [{ name: 'memory_store', input: { key: 'k' } }] },
      report('gave up'),
    ]);
    expect(run.task.status).toBe('completed');
    const results = run.requests.slice(1, 7).map((r) => toolResults(r)[0]);
    for (const result of results) expect(result?.isError).toBe(true);
    expect(results[0]?.content).toMatch(/^invalid arguments for memory_store: key: /);
    expect(results[1]?.content).toMatch(/^invalid arguments for memory_store: ttl_seconds: /);
    expect(results[2]?.content).toBe('memory_store failed: key must not contain control characters');
    expect(results[3]?.content).toMatch(/^invalid arguments for memory_search: mode: /);
    expect(results[4]?.content).toMatch(/^invalid arguments for memory_retrieve: key: /);
    expect(results[5]?.content).toMatch(/^invalid arguments for memory_store: value: a value is required/);
    expect(await (await colony.memory()).count()).toBe(0);
  });

  it('with memory.contextMemories 0 the context has no memories, but the tools still work', async () => {
    const colony = await startColony({ memory: { contextMemories: 0 } });
    await (await colony.memory()).store('default', 'db-engine', 'We use SQLite for the database');
    const run = await runAgentTask(colony, 'Which database engine do we use?', [
      { toolCalls: [{ name: 'memory_search', input: { query: 'database engine', mode: 'keyword' } }] },
      report('sqlite'),
    ]);
    expect(firstContext(run.requests[0])).not.toContain('Relevant memories');
    expect(toolResults(run.requests[1])[0]?.content).toMatch(/^1 memory \(keyword search of default, shared\), best first:\n- default\/db-engine .*found by keyword\): We use SQLite/);
  });
});

describe('memory tools', () => {
  it('are offered to every agent type when the run has memory, and to none without it', () => {
    const names = (declared: string[], memory: boolean) => selectAgentTools(declared, { messaging: false, subtasks: false, memory }).tools.map((t) => t.name);
    expect(names(['Read', 'Grep'], true)).toEqual(['read_file', 'search_files', 'memory_store', 'memory_retrieve', 'memory_search', 'report_result']);
    expect(names([], true)).toEqual(expect.arrayContaining(['memory_store', 'memory_retrieve', 'memory_search']));
    expect(names(['Read', 'memory_store'], false)).toEqual(['read_file', 'report_result']);
  });
});

describe('memory context', () => {
  it('renders hits compactly, with the embedder named and the local one labelled lexical', async () => {
    temp = await tempColony(configFor(), { env: {} });
    const memory = await temp.colony.memory();
    await memory.store('shared', 'style-guide', { rule: 'prefer small pure functions', long: 'y'.repeat(1_000) });
    await memory.flushEmbeddings();
    const task = { id: 'tsk_x', workflowId: null, input: { prompt: 'write small pure functions' } } as unknown as TaskRecord;
    const text = await memoryContext(task, { memory: async () => memory, limit: 3 });
    const lines = text!.split('\n');
    expect(lines[0]).toBe('Relevant memories');
    expect(lines[1]).toBe(
      'Found by a hybrid search of default, shared with the task as the query. Embedder: colony-local-hash-384 (local lexical embedder). memory_retrieve gives a full value; memory_search finds more.',
    );
    expect(lines[2]).toMatch(/^- shared\/style-guide \[found by keyword \+ colony-local-hash-384\]: \{"rule":"prefer small pure functions","long":"y+…$/);
    expect(lines[2]!.length).toBeLessThan(400);

    // A remote embedder is named without the label; nothing found renders nothing.
    const remote = renderMemoryContext(
      { query: 'q', mode: 'semantic', embedder: { model: 'text-embedding-3-small', dimensions: 1536, kind: 'remote', local: false }, hits: [{ entry: (await memory.retrieve('shared', 'style-guide'))!, score: 1, matchedBy: ['semantic'] }] },
      ['default', 'shared'],
    );
    expect(remote).toContain('Embedder: text-embedding-3-small. ');
    expect(remote).toContain('[found by text-embedding-3-small]');
    expect(remote).not.toContain('lexical');
    expect(renderMemoryContext({ query: 'q', mode: 'keyword', embedder: null, hits: [] }, ['default'])).toBeUndefined();

    // Memory failing never fails the task: the section is left out.
    const failing = await memoryContext(task, { memory: async () => Promise.reject(new Error('redis on fire')), limit: 3 });
    expect(failing).toBeUndefined();
  });
});
