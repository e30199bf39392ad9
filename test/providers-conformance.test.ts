import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, ProviderError } from '../src/domain/errors.js';
import type { CompletionRequest, CompletionResponse, Provider, StreamEvent } from '../src/ports/provider.js';
import { AnthropicProvider } from '../src/adapters/providers/anthropic/anthropic-provider.js';
import { OpenAIProvider } from '../src/adapters/providers/openai/openai-provider.js';
import { fromAiSdk } from '../src/adapters/providers/ai-sdk/ai-sdk-provider.js';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { FakeLlmServer, type FakeLlmServerAddress } from '../src/testing/fake-llm-server.js';
import { rejectionOf } from './support/rejection.js';

/**
 * The Provider port's conformance suite, run by every adapter against the fake server over real
 * HTTP through the real SDKs: same requests, same scripted replies, same neutral results.
 */

const API_KEY = 'sk-conformance-secret-0123456789';

interface AdapterCase {
  name: string;
  create(address: FakeLlmServerAddress): Provider;
  path: string;
}

const adapters: AdapterCase[] = [
  { name: 'anthropic', path: '/v1/messages', create: (a) => new AnthropicProvider({ apiKey: API_KEY, baseUrl: a.anthropicBaseUrl }) },
  { name: 'openai', path: '/v1/chat/completions', create: (a) => new OpenAIProvider({ apiKey: API_KEY, baseUrl: a.openaiBaseUrl }) },
  {
    // The Vercel AI SDK adapter, over one real provider package of that ecosystem.
    name: 'ai-sdk',
    path: '/v1/chat/completions',
    create: (a) => {
      const compat = createOpenAICompatible({ name: 'conformance', baseURL: a.openaiBaseUrl, apiKey: API_KEY, includeUsage: true });
      return fromAiSdk((model) => compat.chatModel(model), { id: 'ai-sdk' });
    },
  },
];

const weatherTool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

function ask(text: string, extra: Partial<CompletionRequest> = {}): CompletionRequest {
  return { model: 'fake-model', messages: [{ role: 'user', content: [{ type: 'text', text }] }], ...extra };
}

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

function endOf(events: StreamEvent[]): CompletionResponse {
  const last = events.at(-1);
  if (last?.type !== 'message_end') throw new Error(`stream did not end with message_end: ${JSON.stringify(last)}`);
  return last.response;
}


describe.each(adapters)('Provider conformance: $name', ({ name, create, path }) => {
  const server = new FakeLlmServer();
  let provider: Provider;

  beforeAll(async () => {
    provider = create(await server.start());
  });
  afterAll(() => server.close());
  beforeEach(() => server.reset());

  it('has its provider id', () => {
    expect(provider.id).toBe(name);
  });

  describe('complete()', () => {
    it('returns text, stop reason and usage', async () => {
      server.enqueue({ text: 'Hello there', usage: { inputTokens: 11, outputTokens: 3 } });
      const response = await provider.complete(ask('hi'));
      expect(response.content).toEqual([{ type: 'text', text: 'Hello there' }]);
      expect(response.stopReason).toBe('end_turn');
      expect(response.usage).toEqual({ inputTokens: 11, outputTokens: 3 });
      expect(response.model).toBe('fake-model');
      expect(response.id).not.toBe('');
      expect(server.requests[0]?.path).toBe(path);
    });

    it('returns tool calls with parsed input', async () => {
      server.enqueue({ text: 'Let me check.', toolCalls: [{ name: 'get_weather', input: { city: 'Paris' }, id: 'call-1' }] });
      const response = await provider.complete(ask('weather?', { tools: [weatherTool] }));
      expect(response.stopReason).toBe('tool_use');
      expect(response.content).toEqual([
        { type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'call-1', name: 'get_weather', input: { city: 'Paris' } },
      ]);
    });

    it('maps max_tokens', async () => {
      server.enqueue({ text: 'cut', stopReason: 'max_tokens' });
      expect((await provider.complete(ask('long'))).stopReason).toBe('max_tokens');
    });

    it('keeps broken tool-call JSON as __invalidJson instead of throwing', async () => {
      server.enqueue({ toolCalls: [{ name: 'get_weather', rawInput: '{"city": "Par' }] });
      const response = await provider.complete(ask('weather?', { tools: [weatherTool] }));
      expect(response.content).toEqual([{ type: 'tool_use', id: expect.any(String), name: 'get_weather', input: { __invalidJson: '{"city": "Par' } }]);
    });

    it('sends system prompt, tools, tool calls and tool results', async () => {
      await provider.complete({
        model: 'fake-model',
        system: 'You are terse.',
        tools: [weatherTool],
        maxTokens: 100,
        messages: [
          { role: 'user', content: [{ type: 'text', text: 'weather in Paris?' }] },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'call-1', name: 'get_weather', input: { city: 'Paris' } }] },
          { role: 'user', content: [{ type: 'tool_result', toolUseId: 'call-1', content: 'sunny, 21C' }] },
        ],
      });
      const body = JSON.stringify(server.requests[0]?.body);
      expect(body).toContain('You are terse.');
      expect(body).toContain('get_weather');
      expect(body).toContain('sunny, 21C');
      expect(body).toContain('call-1');
      expect(body).toContain('100');
    });

    it('sends the API key', async () => {
      await provider.complete(ask('hi'));
      const headers = server.requests[0]?.headers ?? {};
      expect(`${headers.authorization ?? ''} ${headers['x-api-key'] ?? ''}`).toContain(API_KEY);
    });
  });

  describe('stream()', () => {
    it('streams text deltas and ends with message_end', async () => {
      server.enqueue({ text: 'Hello there, streaming world', usage: { inputTokens: 5, outputTokens: 7 } });
      const events = await collect(provider.stream(ask('hi')));
      const deltas = events.filter((event) => event.type === 'text_delta');
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.map((event) => event.text).join('')).toBe('Hello there, streaming world');
      const response = endOf(events);
      expect(response.content).toEqual([{ type: 'text', text: 'Hello there, streaming world' }]);
      expect(response.stopReason).toBe('end_turn');
      expect(response.usage).toEqual({ inputTokens: 5, outputTokens: 7 });
      expect(events.filter((event) => event.type === 'message_end')).toHaveLength(1);
    });

    it('streams tool calls with arguments in pieces', async () => {
      const input = { city: 'Paris', units: 'celsius', days: [1, 2, 3] };
      server.enqueue({ text: 'Checking', toolCalls: [{ name: 'get_weather', input, id: 'call-9' }, { name: 'get_weather', input: { city: 'Oslo' } }] });
      const events = await collect(provider.stream(ask('weather?', { tools: [weatherTool] })));
      expect(events).toContainEqual({ type: 'tool_use_start', id: 'call-9', name: 'get_weather' });
      const pieces = events.filter((event) => event.type === 'tool_use_delta' && event.id === 'call-9');
      expect(pieces.length).toBeGreaterThan(3);
      expect(JSON.parse(pieces.map((event) => (event.type === 'tool_use_delta' ? event.partialJson : '')).join(''))).toEqual(input);
      const response = endOf(events);
      expect(response.stopReason).toBe('tool_use');
      expect(response.content).toEqual([
        { type: 'text', text: 'Checking' },
        { type: 'tool_use', id: 'call-9', name: 'get_weather', input },
        { type: 'tool_use', id: expect.any(String), name: 'get_weather', input: { city: 'Oslo' } },
      ]);
    });

    it('keeps broken streamed tool-call JSON as __invalidJson', async () => {
      server.enqueue({ toolCalls: [{ name: 'get_weather', rawInput: "{'city': 'Paris'}" }] });
      const response = endOf(await collect(provider.stream(ask('weather?', { tools: [weatherTool] }))));
      expect(response.content).toEqual([{ type: 'tool_use', id: expect.any(String), name: 'get_weather', input: { __invalidJson: "{'city': 'Paris'}" } }]);
    });

    it('maps max_tokens', async () => {
      server.enqueue({ text: 'cut', stopReason: 'max_tokens' });
      expect(endOf(await collect(provider.stream(ask('long')))).stopReason).toBe('max_tokens');
    });

    it('throws a retryable ProviderError when the connection drops mid-stream', async () => {
      server.enqueue({ fault: 'drop_mid_stream' });
      const seen: StreamEvent[] = [];
      const error = await rejectionOf(
        (async () => {
          for await (const event of provider.stream(ask('hi'))) seen.push(event);
        })(),
      );
      expect(seen.some((event) => event.type === 'text_delta')).toBe(true);
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).retryable).toBe(true);
    });

    it('throws a retryable ProviderError on a malformed event', async () => {
      server.enqueue({ fault: 'malformed_json' });
      const error = await rejectionOf(collect(provider.stream(ask('hi'))));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).retryable).toBe(true);
    });
  });

  describe('errors', () => {
    it.each([400, 401, 403, 404])('a %i is a non-retryable ProviderError with its status', async (status) => {
      server.enqueue({ fault: 'server_error', status });
      const error = await rejectionOf(provider.complete(ask('hi')));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ status, retryable: false, code: 'provider' });
    });

    it.each([500, 503, 529])('a %i is retryable', async (status) => {
      server.enqueue({ fault: 'server_error', status });
      expect(await rejectionOf(provider.complete(ask('hi')))).toMatchObject({ status, retryable: true });
    });

    it('a 429 carries retry-after in milliseconds, in JSON and streaming modes', async () => {
      server.enqueue({ fault: 'rate_limit', retryAfterSeconds: 7 }, { fault: 'rate_limit', retryAfterSeconds: 2 });
      expect(await rejectionOf(provider.complete(ask('hi')))).toMatchObject({ status: 429, retryable: true, retryAfterMs: 7000 });
      expect(await rejectionOf(collect(provider.stream(ask('hi'))))).toMatchObject({ status: 429, retryAfterMs: 2000 });
    });

    it('a malformed JSON body is a retryable ProviderError', async () => {
      server.enqueue({ fault: 'malformed_json' });
      const error = await rejectionOf(provider.complete(ask('hi')));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ retryable: true, details: { reason: 'malformed_response' } });
    });

    it('a dropped connection is a retryable ProviderError', async () => {
      server.enqueue({ fault: 'drop_mid_stream' });
      expect(await rejectionOf(provider.complete(ask('hi')))).toMatchObject({ code: 'provider', retryable: true, status: null });
    });

    it('an unreachable server is a retryable ProviderError', async () => {
      const closed = new FakeLlmServer();
      const address = await closed.start();
      await closed.close();
      const error = await rejectionOf(create(address).complete(ask('hi')));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).retryable).toBe(true);
    });

    it('never puts the API key in an error, even when the server echoes it', async () => {
      server.enqueue({ fault: 'server_error', status: 401, message: `invalid x-api-key: ${API_KEY}` });
      const error = await rejectionOf(provider.complete(ask('hi')));
      expect(error).toBeInstanceOf(ProviderError);
      const everything = [String(error), (error as Error).message, JSON.stringify(error), JSON.stringify((error as ProviderError).toJSON())].join('\n');
      expect(everything).not.toContain(API_KEY);
      expect((error as Error).message).toContain('[REDACTED]');
      expect((error as Error).cause).toBeUndefined();
    });
  });

  describe('cancellation', () => {
    it('aborting complete() rejects with CancelledError and closes the HTTP request', async () => {
      server.enqueue({ text: 'late', delayMs: 10_000 });
      const controller = new AbortController();
      const pending = provider.complete(ask('hi', { signal: controller.signal }));
      await server.waitForRequests(1);
      controller.abort();
      expect(await rejectionOf(pending)).toBeInstanceOf(CancelledError);
      await expect.poll(() => server.requests[0]?.clientAborted).toBe(true);
    });

    it('aborting a stream mid-way rejects with CancelledError and closes the HTTP request', async () => {
      server.enqueue({ fault: 'slow', delayMs: 200, text: 'one two three four five six seven' });
      const controller = new AbortController();
      const seen: StreamEvent[] = [];
      const error = await rejectionOf(
        (async () => {
          for await (const event of provider.stream(ask('hi', { signal: controller.signal }))) {
            seen.push(event);
            if (event.type === 'text_delta') controller.abort();
          }
        })(),
      );
      expect(error).toBeInstanceOf(CancelledError);
      expect(seen.filter((event) => event.type === 'text_delta')).toHaveLength(1);
      await expect.poll(() => server.requests[0]?.clientAborted).toBe(true);
    });
  });
});
