import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ProviderError, ValidationError } from '../src/domain/errors.js';
import type { CompletionRequest, CompletionResponse, CustomToolContext, Provider, StreamEvent } from '../src/index.js';
import { eventually, tempColony, type TempColony } from './support/temp-colony.js';
import { rejectionOf } from './support/rejection.js';

// An embedding program plugs its own model, tool and agent type into a colony, in code.

/** The program's own model: answers by a script, and remembers what it was asked. */
class ScriptedModel implements Provider {
  readonly id = 'in-house';
  readonly requests: CompletionRequest[] = [];
  private failuresLeft: number;
  private readonly script: (request: CompletionRequest, call: number) => Omit<CompletionResponse, 'id' | 'model'>;

  constructor(script: (request: CompletionRequest, call: number) => Omit<CompletionResponse, 'id' | 'model'>, options: { failFirst?: number } = {}) {
    this.script = script;
    this.failuresLeft = options.failFirst ?? 0;
  }

  async complete(request: CompletionRequest): Promise<CompletionResponse> {
    this.requests.push(request);
    if (this.failuresLeft > 0) {
      this.failuresLeft--;
      throw new ProviderError('in-house 503: busy', { provider: this.id, status: 503, retryable: true });
    }
    return { id: `r${this.requests.length}`, model: request.model, ...this.script(request, this.requests.length) };
  }

  async *stream(request: CompletionRequest): AsyncIterable<StreamEvent> {
    const response = await this.complete(request);
    for (const part of response.content) {
      if (part.type === 'text') yield { type: 'text_delta', text: part.text };
      if (part.type === 'tool_use') {
        yield { type: 'tool_use_start', id: part.id, name: part.name };
        yield { type: 'tool_use_delta', id: part.id, partialJson: JSON.stringify(part.input) };
      }
    }
    yield { type: 'message_end', response };
  }
}

let temp: TempColony | undefined;
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
});

async function startColony(): Promise<TempColony> {
  // No provider is configured or reachable: only what the program registers can answer.
  temp = await tempColony({ agents: { maxTurns: 4 }, tasks: { defaultMaxRetries: 0 } }, { env: {} });
  return temp;
}

describe('extending a colony in code', () => {
  it('an agent of a type defined in code runs on a registered provider and calls a registered tool', async () => {
    const { colony } = await startColony();
    const model = new ScriptedModel(
      (request) => {
        const last = request.messages.at(-1)!;
        const result = last.content.find((part) => part.type === 'tool_result');
        if (result === undefined) {
          return { content: [{ type: 'tool_use', id: 'call-1', name: 'lookup_order', input: { orderId: 'A-17' } }], stopReason: 'tool_use', usage: { inputTokens: 100, outputTokens: 10 } };
        }
        return {
          content: [{ type: 'tool_use', id: 'call-2', name: 'report_result', input: { result: `order status: ${result.content}` } }],
          stopReason: 'tool_use',
          usage: { inputTokens: 150, outputTokens: 20 },
        };
      },
      { failFirst: 1 },
    );
    colony.providers.register(model, { model: 'house-1', default: true, resilience: { baseDelayMs: 1, maxDelayMs: 5 } });
    const seen: { input: unknown; context: CustomToolContext }[] = [];
    colony.tools.register({
      name: 'lookup_order',
      description: 'Looks an order up in the shop system.',
      input: z.object({ orderId: z.string().regex(/^[A-Z]-\d+$/) }),
      async execute(input, context) {
        seen.push({ input, context });
        return { orderId: input.orderId, status: 'shipped' };
      },
    });
    const type = colony.agentTypes.register({
      name: 'order-desk',
      description: 'Answers questions about orders.',
      tools: ['lookup_order', 'Read'],
      capabilities: ['orders'],
      systemPrompt: 'You answer questions about orders. Look them up; never guess.',
    });
    expect(type).toMatchObject({ name: 'order-desk', tools: ['lookup_order', 'Read'], maxConcurrency: 1, model: null });
    expect((await colony.agents.types()).map((t) => t.name)).toContain('order-desk');

    const retried: unknown[] = [];
    colony.events.subscribe({ types: ['provider.retried'] }, (event) => {
      retried.push(event.data);
    });
    await colony.start();
    const [task] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'Where is order A-17?', agentType: 'order-desk' } }]);
    const [done] = await colony.tasks.waitFor([task!.id]);

    expect(done?.status).toBe('completed');
    expect(done?.result).toMatchObject({
      result: 'order status: {"orderId":"A-17","status":"shipped"}',
      stopReason: 'report_result',
      provider: 'in-house',
      model: 'house-1',
      agentType: 'order-desk',
      usage: { inputTokens: 250, outputTokens: 30 },
    });
    // The same resilience wrapper as a configured provider: the 503 was retried, and said so.
    await eventually(() => retried.length > 0);
    expect(retried[0]).toMatchObject({ provider: 'in-house', attempt: 1 });

    // The agent type's system prompt and tool list: Read and the custom tool (plus Colony's own memory
    // tools and report_result, offered to every agent); not the default set's writes and shell.
    const first = model.requests[0]!;
    expect(first.model).toBe('house-1');
    expect(first.system).toContain('never guess');
    expect(first.tools?.map((tool) => tool.name)).toEqual(['read_file', 'memory_store', 'memory_retrieve', 'memory_search', 'lookup_order', 'report_result']);
    expect(first.tools?.find((tool) => tool.name === 'lookup_order')?.inputSchema).toMatchObject({ type: 'object', required: ['orderId'] });

    // The tool got the identifiers of its call and nothing more (no store, config or secrets).
    expect(seen).toHaveLength(1);
    expect(seen[0]!.input).toEqual({ orderId: 'A-17' });
    expect(Object.keys(seen[0]!.context).sort()).toEqual(['agentId', 'attempt', 'signal', 'taskId', 'turn', 'workspace']);
    expect(seen[0]!.context).toMatchObject({ taskId: task!.id, attempt: 1, turn: 1 });

    // The transcript, read through the library API, holds the tool's call and its result.
    const transcript = await colony.tasks.transcript(task!.id);
    const toolTurn = transcript.turns.find((turn) => turn.role === 'tool' && turn.turn === 1);
    expect(toolTurn?.content).toEqual([{ type: 'tool_result', toolUseId: 'call-1', content: '{"orderId":"A-17","status":"shipped"}' }]);
    expect(transcript.turns.some((turn) => turn.role === 'assistant' && turn.content.some((part) => part.type === 'tool_use' && part.name === 'lookup_order'))).toBe(true);
    expect(transcript.usage).toMatchObject({ inputTokens: 250, outputTokens: 30 });
    expect(colony.providers.registered()).toEqual([{ id: 'in-house', model: 'house-1', isDefault: true, breaker: 'closed' }]);
  });

  it('bad arguments for a custom tool go back to the model as an error result, and the tool does not run', async () => {
    const { colony } = await startColony();
    const model = new ScriptedModel((request, call) =>
      call === 1
        ? { content: [{ type: 'tool_use', id: 'c1', name: 'lookup_order', input: { orderId: 42 } }], stopReason: 'tool_use', usage: { inputTokens: 1, outputTokens: 1 } }
        : { content: [{ type: 'text', text: 'gave up' }], stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1 } },
    );
    colony.providers.register(model, { id: 'house' });
    let runs = 0;
    colony.tools.register({
      name: 'lookup_order',
      description: 'Looks an order up.',
      input: z.object({ orderId: z.string() }),
      execute: () => {
        runs++;
        return 'found';
      },
    });
    colony.agentTypes.register({ name: 'desk', description: 'Orders.', tools: 'lookup_order', systemPrompt: 'Orders.' });
    await colony.start();
    const [task] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'A-1?', agentType: 'desk', provider: 'house' } }]);
    const [done] = await colony.tasks.waitFor([task!.id]);
    expect(done?.status).toBe('completed');
    expect(runs).toBe(0);
    const transcript = await colony.tasks.transcript(task!.id);
    const toolTurn = transcript.turns.find((turn) => turn.role === 'tool');
    expect(toolTurn?.content[0]).toMatchObject({ type: 'tool_result', isError: true, content: expect.stringMatching(/invalid arguments for lookup_order: .*orderId/) });
  });

  it('a provider may implement only complete() or only stream(): the other half is made of it', async () => {
    const { colony } = await startColony();
    const answer = (text: string): CompletionResponse => ({ id: 'r', model: 'm', content: [{ type: 'text', text }], stopReason: 'end_turn', usage: { inputTokens: 3, outputTokens: 1 } });
    colony.providers.register({ id: 'completes', complete: async () => answer('from complete') });
    colony.providers.register({
      id: 'streams',
      async *stream(): AsyncIterable<StreamEvent> {
        yield { type: 'text_delta', text: 'from stream' };
        yield { type: 'message_end', response: answer('from stream') };
      },
    });
    // The agent runtime streams: a complete-only provider answers an agent task.
    await colony.start();
    const [task] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'Say something.', provider: 'completes' } }]);
    const [done] = await colony.tasks.waitFor([task?.id as string]);
    expect(done?.status).toBe('completed');
    expect((done?.result as { result: unknown }).result).toBe('from complete');
    // A stream-only provider completes (what consensus votes and planners call).
    const { provider } = await colony.providers.get('streams');
    expect((await provider.complete({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] })).content).toEqual([{ type: 'text', text: 'from stream' }]);
    expect(() => colony.providers.register({ id: 'neither' } as never)).toThrow(/provider "neither" must implement complete\(request\), stream\(request\) or both/);
  });

  it('rejects bad agent types, tools and providers with errors naming what is wrong', async () => {
    const { colony } = await startColony();
    const base = { name: 'ok-type', description: 'Fine.', systemPrompt: 'Do it.' };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...base, name: 'Bad Name' }, /agent type "Bad Name": invalid definition: "name" must be kebab-case/],
      [{ ...base, maxConcurrency: 0 }, /"maxConcurrency" must be at least 1/],
      [{ ...base, capabilities: ['Not OK'] }, /"capabilities\[0\]" must contain only kebab-case words/],
      [{ ...base, tools: 7 }, /"tools" must be a comma-separated string or a list of tool names/],
      [{ ...base, systemPrompt: '  ' }, /"systemPrompt" must be a non-empty string/],
      [{ name: 'x', description: 'd' }, /"systemPrompt" is required/],
      [{ ...base, description: undefined }, /"description" is required/],
      [{ ...base, toolz: ['Read'] }, /unknown field "toolz"/],
    ];
    for (const [input, message] of cases) {
      const error = await rejectionOf((async () => colony.agentTypes.register(input as never))());
      expect(error, JSON.stringify(input)).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(message);
    }
    colony.agentTypes.register(base);
    expect(() => colony.agentTypes.register(base)).toThrow(/an agent type named "ok-type" is already registered/);

    const tool = { name: 'lookup', description: 'Looks up.', input: z.object({}), execute: () => 'x' };
    colony.tools.register(tool);
    expect(() => colony.tools.register(tool)).toThrow(/a tool named "lookup" is already registered/);
    expect(() => colony.tools.register({ ...tool, name: 'read_file' })).toThrow(/a tool named "read_file" is already built in/);
    expect(() => colony.tools.register({ ...tool, name: 'Read' })).toThrow(/"name" must be lowercase/);
    expect(() => colony.tools.register({ ...tool, name: 'other', description: '' })).toThrow(/custom tool "other": "description" must be a non-empty string/);
    expect(() => colony.tools.register({ ...tool, name: 'other', input: { type: 'string' } })).toThrow(/"input" must describe an object/);

    const model = new ScriptedModel(() => ({ content: [], stopReason: 'end_turn', usage: { inputTokens: 0, outputTokens: 0 } }));
    expect(() => colony.providers.register(model, { id: 'openai' })).toThrow(/a provider with the id "openai" already exists/);
    expect(() => colony.providers.register(model, { id: 'Not Ok' })).toThrow(/provider id "Not Ok" is invalid/);
    colony.providers.register(model);
    expect(() => colony.providers.register(model)).toThrow(/a provider with the id "in-house" already exists/);

    // Tasks may name it; an unknown provider is refused at submission, listing the registered one.
    const error = await rejectionOf(colony.tasks.submit([{ type: 'agent', input: { prompt: 'x', provider: 'nope' } }]));
    expect((error as Error).message).toMatch(/unknown provider "nope"; known providers: anthropic, openai, claude-code, in-house/);
  });
});
