import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { APICallError, type LanguageModelV3GenerateResult, type LanguageModelV3StreamPart, type LanguageModelV3Usage } from '@ai-sdk/provider';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { MockLanguageModelV3, simulateReadableStream } from 'ai/test';
import { fromAiSdk } from '../src/adapters/providers/ai-sdk/ai-sdk-provider.js';
import { CancelledError, ProviderError } from '../src/domain/errors.js';
import type { CompletionRequest, StreamEvent } from '../src/ports/provider.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { tempColony, type TempColony } from './support/temp-colony.js';
import { rejectionOf } from './support/rejection.js';

// The Vercel AI SDK adapter: against the SDK's own mock model, then a real provider package
// (@ai-sdk/openai-compatible) talking to Colony's fake wire server through a whole agent task.

const usage = (input: number, output: number): LanguageModelV3Usage => ({
  inputTokens: { total: input, noCache: input, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: output, text: output, reasoning: undefined },
});

const generated = (result: Partial<LanguageModelV3GenerateResult>): LanguageModelV3GenerateResult => ({
  content: [],
  finishReason: { unified: 'stop', raw: 'stop' },
  usage: usage(1, 1),
  warnings: [],
  ...result,
});

const request = (extra: Partial<CompletionRequest> = {}): CompletionRequest => ({ model: 'ignored', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], ...extra });

async function collect(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe('fromAiSdk with the AI SDK mock model', () => {
  it('maps a request (messages, tool results, tools, tool choice, limits, signal) and a reply (text, tool calls, usage)', async () => {
    const model = new MockLanguageModelV3({
      modelId: 'mock-1',
      doGenerate: generated({
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'reasoning', text: 'hidden' },
          { type: 'tool-call', toolCallId: 't2', toolName: 'read_file', input: '{"path":"b.txt"}' },
        ],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage: usage(120, 30),
        response: { id: 'resp-1', modelId: 'mock-1-2026' },
      }),
    });
    const provider = fromAiSdk(model, { id: 'mock' });
    const controller = new AbortController();
    const response = await provider.complete({
      model: 'whatever',
      system: 'Be brief.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Read a.txt' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Reading.' }, { type: 'tool_use', id: 't1', name: 'read_file', input: { path: 'a.txt' } }] },
        { role: 'user', content: [{ type: 'tool_result', toolUseId: 't1', content: 'no such file', isError: true }, { type: 'text', text: 'Try b.txt' }] },
      ],
      tools: [{ name: 'read_file', description: 'Reads a file', inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } }],
      toolChoice: { name: 'read_file' },
      maxTokens: 500,
      temperature: 0.2,
      signal: controller.signal,
    });

    expect(response).toEqual({
      id: 'resp-1',
      model: 'mock-1-2026',
      content: [
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 't2', name: 'read_file', input: { path: 'b.txt' } },
      ],
      stopReason: 'tool_use',
      usage: { inputTokens: 120, outputTokens: 30 },
    });
    const call = model.doGenerateCalls[0]!;
    expect(call.prompt).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'Read a.txt' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Reading.' }, { type: 'tool-call', toolCallId: 't1', toolName: 'read_file', input: { path: 'a.txt' } }] },
      { role: 'tool', content: [{ type: 'tool-result', toolCallId: 't1', toolName: 'read_file', output: { type: 'error-text', value: 'no such file' } }] },
      { role: 'user', content: [{ type: 'text', text: 'Try b.txt' }] },
    ]);
    expect(call.tools).toEqual([{ type: 'function', name: 'read_file', description: 'Reads a file', inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] } }]);
    expect(call.toolChoice).toEqual({ type: 'tool', toolName: 'read_file' });
    expect(call).toMatchObject({ maxOutputTokens: 500, temperature: 0.2 });
    expect(call.abortSignal).toBe(controller.signal);

    // Without a forced tool the model chooses; without tools no tool options are sent at all.
    await provider.complete(request({ tools: [{ name: 'x', description: 'x', inputSchema: { type: 'object' } }] }));
    expect(model.doGenerateCalls[1]!.toolChoice).toEqual({ type: 'auto' });
    await provider.complete(request());
    expect(model.doGenerateCalls[2]).not.toHaveProperty('tools');
    expect(model.doGenerateCalls[2]).not.toHaveProperty('toolChoice');
  });

  it('maps finish reasons to stop reasons, and unparsable tool arguments to __invalidJson', async () => {
    const cases: [LanguageModelV3GenerateResult, string][] = [
      [generated({ content: [{ type: 'text', text: 'done' }], finishReason: { unified: 'stop', raw: 'end_turn' } }), 'end_turn'],
      [generated({ content: [{ type: 'text', text: 'cut' }], finishReason: { unified: 'length', raw: 'max_tokens' } }), 'max_tokens'],
      [generated({ content: [{ type: 'text', text: 'x' }], finishReason: { unified: 'stop', raw: 'stop_sequence' } }), 'stop_sequence'],
      [generated({ content: [{ type: 'text', text: 'x' }], finishReason: { unified: 'content-filter', raw: 'content_filter' } }), 'end_turn'],
      // Some providers say "stop" with tool calls in the reply: the loop must still run them.
      [generated({ content: [{ type: 'tool-call', toolCallId: 'a', toolName: 't', input: '{}' }], finishReason: { unified: 'stop', raw: 'stop' } }), 'tool_use'],
    ];
    for (const [result, expected] of cases) {
      const provider = fromAiSdk(new MockLanguageModelV3({ doGenerate: result }), { id: 'mock' });
      expect((await provider.complete(request())).stopReason).toBe(expected);
    }
    const broken = fromAiSdk(new MockLanguageModelV3({ doGenerate: generated({ content: [{ type: 'tool-call', toolCallId: 'a', toolName: 't', input: '{"path": ' }], finishReason: { unified: 'tool-calls', raw: 'tool_calls' } }) }), { id: 'mock' });
    expect((await broken.complete(request())).content).toEqual([{ type: 'tool_use', id: 'a', name: 't', input: { __invalidJson: '{"path": ' } }]);
  });

  it('streams text and tool calls as Colony stream events ending in message_end', async () => {
    const chunks: LanguageModelV3StreamPart[] = [
      { type: 'stream-start', warnings: [] },
      { type: 'response-metadata', id: 'resp-9', modelId: 'mock-stream' },
      { type: 'text-start', id: 'x' },
      { type: 'text-delta', id: 'x', delta: 'Hel' },
      { type: 'text-delta', id: 'x', delta: 'lo' },
      { type: 'text-end', id: 'x' },
      { type: 'tool-input-start', id: 'c1', toolName: 'list_files' },
      { type: 'tool-input-delta', id: 'c1', delta: '{"pa' },
      { type: 'tool-input-delta', id: 'c1', delta: 'th":"."}' },
      { type: 'tool-input-end', id: 'c1' },
      { type: 'tool-call', toolCallId: 'c1', toolName: 'list_files', input: '{"path":"."}' },
      // A provider that sends a call whole, with no input deltas.
      { type: 'tool-call', toolCallId: 'c2', toolName: 'report_result', input: '{"result":"ok"}' },
      { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_use' }, usage: usage(40, 12) },
    ];
    const model = new MockLanguageModelV3({ doStream: { stream: simulateReadableStream({ chunks }) } });
    const events = await collect(fromAiSdk(model, { id: 'mock' }).stream(request({ maxTokens: 64 })));
    expect(events).toEqual([
      { type: 'text_delta', text: 'Hel' },
      { type: 'text_delta', text: 'lo' },
      { type: 'tool_use_start', id: 'c1', name: 'list_files' },
      { type: 'tool_use_delta', id: 'c1', partialJson: '{"pa' },
      { type: 'tool_use_delta', id: 'c1', partialJson: 'th":"."}' },
      { type: 'tool_use_start', id: 'c2', name: 'report_result' },
      { type: 'tool_use_delta', id: 'c2', partialJson: '{"result":"ok"}' },
      {
        type: 'message_end',
        response: {
          id: 'resp-9',
          model: 'mock-stream',
          content: [
            { type: 'text', text: 'Hello' },
            { type: 'tool_use', id: 'c1', name: 'list_files', input: { path: '.' } },
            { type: 'tool_use', id: 'c2', name: 'report_result', input: { result: 'ok' } },
          ],
          stopReason: 'tool_use',
          usage: { inputTokens: 40, outputTokens: 12 },
        },
      },
    ]);
    expect(model.doStreamCalls[0]).toMatchObject({ maxOutputTokens: 64 });
  });

  it('a stream that ends without finishing, or with an error part, fails as a ProviderError', async () => {
    const cut = new MockLanguageModelV3({ doStream: { stream: simulateReadableStream<LanguageModelV3StreamPart>({ chunks: [{ type: 'text-delta', id: 'x', delta: 'par' }] }) } });
    const incomplete = await rejectionOf(collect(fromAiSdk(cut, { id: 'mock' }).stream(request())));
    expect(incomplete).toBeInstanceOf(ProviderError);
    expect((incomplete as ProviderError).retryable).toBe(true);

    const failing = new MockLanguageModelV3({
      doStream: { stream: simulateReadableStream<LanguageModelV3StreamPart>({ chunks: [{ type: 'error', error: new APICallError({ message: 'Overloaded', url: 'http://x', requestBodyValues: {}, statusCode: 529 }) }] }) },
    });
    const error = await rejectionOf(collect(fromAiSdk(failing, { id: 'mock' }).stream(request())));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 529, retryable: true, message: 'mock 529: Overloaded' });
  });

  it('turns the SDK’s API errors into ProviderErrors with status, retryability and retry-after', async () => {
    const rateLimited = new APICallError({ message: 'Too many requests', url: 'http://x', requestBodyValues: {}, statusCode: 429, responseHeaders: { 'retry-after': '2' } });
    const provider = fromAiSdk(new MockLanguageModelV3({ doGenerate: () => Promise.reject(rateLimited) }), { id: 'mock' });
    const error = await rejectionOf(provider.complete(request()));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 2_000, message: 'mock 429: Too many requests' });

    const badRequest = new APICallError({ message: 'bad tool schema', url: 'http://x', requestBodyValues: {}, statusCode: 400 });
    const refused = await rejectionOf(fromAiSdk(new MockLanguageModelV3({ doGenerate: () => Promise.reject(badRequest) }), { id: 'mock' }).complete(request()));
    expect(refused).toMatchObject({ status: 400, retryable: false });
  });

  it('scrubs the keys it is given, and credential-shaped tokens, from error messages', async () => {
    const echoed = new APICallError({
      message: 'invalid key house-token-4242 (header Authorization: Bearer abcdefgh12345678; also sk-live-0123456789abcdef)',
      url: 'http://x',
      requestBodyValues: {},
      statusCode: 401,
    });
    const model = new MockLanguageModelV3({ doGenerate: () => Promise.reject(echoed) });
    const error = await rejectionOf(fromAiSdk(model, { id: 'mock', secrets: ['house-token-4242'] }).complete(request()));
    expect(error).toBeInstanceOf(ProviderError);
    const everything = [String(error), JSON.stringify((error as ProviderError).toJSON())].join('\n');
    for (const secret of ['house-token-4242', 'abcdefgh12345678', 'sk-live-0123456789abcdef']) expect(everything).not.toContain(secret);
    expect((error as Error).message).toBe('mock 401: invalid key [REDACTED] (header Authorization: [REDACTED]; also [REDACTED])');
    expect((error as Error).cause).toBeUndefined();
  });

  it('is cancelled through its signal, down to the model call and the stream', async () => {
    // Already aborted: no call is made.
    const idle = new MockLanguageModelV3({ doGenerate: generated({}) });
    const aborted = AbortSignal.abort();
    expect(await rejectionOf(fromAiSdk(idle, { id: 'mock' }).complete(request({ signal: aborted })))).toBeInstanceOf(CancelledError);
    expect(idle.doGenerateCalls).toHaveLength(0);

    // A call in flight: the model sees the signal; its abort rejects as CancelledError.
    const hanging = new MockLanguageModelV3({
      doGenerate: (options) =>
        new Promise((_resolve, reject) => {
          options.abortSignal?.addEventListener('abort', () => reject(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' })));
        }),
    });
    const controller = new AbortController();
    const pending = rejectionOf(fromAiSdk(hanging, { id: 'mock' }).complete(request({ signal: controller.signal })));
    controller.abort();
    expect(await pending).toBeInstanceOf(CancelledError);

    // A stream in flight: iteration stops with CancelledError and the stream is cancelled.
    let cancelled = false;
    const stream = new ReadableStream<LanguageModelV3StreamPart>({
      start(c) {
        c.enqueue({ type: 'text-delta', id: 'x', delta: 'one' });
      },
      cancel() {
        cancelled = true;
      },
    });
    const streaming = fromAiSdk(new MockLanguageModelV3({ doStream: { stream } }), { id: 'mock' });
    const streamController = new AbortController();
    const seen: StreamEvent[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const event of streaming.stream(request({ signal: streamController.signal }))) {
          seen.push(event);
          streamController.abort();
        }
      })(),
    );
    expect(seen).toEqual([{ type: 'text_delta', text: 'one' }]);
    expect(error).toBeInstanceOf(CancelledError);
    expect(cancelled).toBe(true);
  });
});

describe('fromAiSdk with a real provider package against the fake wire server', () => {
  const llm = new FakeLlmServer();
  let temp: TempColony | undefined;
  beforeAll(async () => {
    await llm.start();
  });
  afterAll(async () => {
    await llm.close();
  });
  afterEach(async () => {
    await temp?.cleanup();
    temp = undefined;
    llm.reset();
  });

  it('@ai-sdk/openai-compatible runs an agent task end to end through a colony', async () => {
    temp = await tempColony({ tasks: { defaultMaxRetries: 0 } }, { env: {} });
    const { colony } = temp;
    const compat = createOpenAICompatible({ name: 'gateway', baseURL: llm.address.openaiBaseUrl, apiKey: 'sk-gateway-secret-0123', includeUsage: true });
    // A model per request: the colony's model choice reaches the wire.
    colony.providers.register(fromAiSdk((modelId) => compat.chatModel(modelId), { id: 'gateway' }), { model: 'fake-model' });

    llm.enqueue(
      { text: 'Listing first.', toolCalls: [{ name: 'list_files', input: { path: '.' } }], usage: { inputTokens: 200, outputTokens: 20 } },
      { toolCalls: [{ name: 'report_result', input: { result: 'the workspace is empty' } }], usage: { inputTokens: 260, outputTokens: 15 } },
    );
    await colony.start();
    const [task] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'What is in the workspace?', provider: 'gateway' } }]);
    const [done] = await colony.tasks.waitFor([task!.id]);

    expect(done?.status).toBe('completed');
    expect(done?.result).toMatchObject({
      result: 'the workspace is empty',
      stopReason: 'report_result',
      turns: 2,
      provider: 'gateway',
      model: 'fake-model',
      usage: { inputTokens: 460, outputTokens: 35 },
    });
    const [first, second] = llm.requests;
    expect(first).toMatchObject({ protocol: 'openai', stream: true, headers: { authorization: 'Bearer sk-gateway-secret-0123' } });
    const body = first!.body as { model: string; tools: { function: { name: string } }[]; messages: { role: string }[] };
    expect(body.model).toBe('fake-model');
    expect(body.tools.map((tool) => tool.function.name)).toEqual(expect.arrayContaining(['list_files', 'report_result']));
    expect(body.messages[0]!.role).toBe('system');
    // The tool's result went back as an OpenAI tool message answering the call.
    const messages = (second!.body as { messages: { role: string; tool_call_id?: string; content?: unknown }[] }).messages;
    const toolMessage = messages.find((message) => message.role === 'tool');
    expect(toolMessage?.tool_call_id).toBeTruthy();

    const transcript = await colony.tasks.transcript(task!.id);
    expect(transcript.turns.map((turn) => turn.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'tool']);
    expect(transcript.usage).toMatchObject({ inputTokens: 460, outputTokens: 35 });
    expect(JSON.stringify(transcript)).not.toContain('sk-gateway-secret');
  });
});
