import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeLlmServer, fakeEmbedding } from '../src/testing/fake-llm-server.js';

/** The fake server's wire format checked with plain fetch, independent of the adapters. */

const server = new FakeLlmServer({ models: ['model-a', 'model-b'], embeddingDimensions: 16 });
let url: string;

beforeAll(async () => {
  ({ url } = await server.start());
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const messages = [{ role: 'user', content: 'hi' }];

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** Wire bodies are free-form JSON; the assertions are what check their shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(response: Response | Promise<Response>): Promise<any> {
  return (await response).json();
}

function sseEvents(text: string): { event: string | null; data: string }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? null;
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
      return { event, data };
    });
}

describe('Anthropic wire', () => {
  it('answers JSON in the Messages shape', async () => {
    server.enqueue({ text: 'hello', toolCalls: [{ name: 'lookup', input: { q: 1 }, id: 'toolu_1' }], usage: { inputTokens: 3, outputTokens: 4 } });
    const response = await post('/v1/messages', { model: 'claude-x', max_tokens: 10, messages });
    expect(response.status).toBe(200);
    expect(response.headers.get('request-id')).toMatch(/^req_fake_/);
    expect(await response.json()).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [
        { type: 'text', text: 'hello' },
        { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { q: 1 } },
      ],
      stop_reason: 'tool_use',
      usage: { input_tokens: 3, output_tokens: 4 },
    });
  });

  it('streams the real event sequence', async () => {
    server.enqueue({ text: 'hello world', toolCalls: [{ name: 'lookup', input: { q: 'long enough' } }] });
    const response = await post('/v1/messages', { model: 'claude-x', max_tokens: 10, messages, stream: true });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = sseEvents(await response.text());
    const names = events.map((event) => event.event);
    expect(names[0]).toBe('message_start');
    expect(names.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(names).toContain('ping');
    for (const event of events) expect(JSON.parse(event.data).type).toBe(event.event);
    const deltas = events.filter((event) => event.event === 'content_block_delta').map((event) => JSON.parse(event.data).delta);
    expect(deltas.filter((delta) => delta.type === 'text_delta').map((delta) => delta.text).join('')).toBe('hello world');
    const json = deltas.filter((delta) => delta.type === 'input_json_delta').map((delta) => delta.partial_json);
    expect(json.length).toBeGreaterThan(2);
    expect(JSON.parse(json.join(''))).toEqual({ q: 'long enough' });
    expect(JSON.parse(events.at(-2)?.data ?? '')).toMatchObject({ delta: { stop_reason: 'tool_use' }, usage: { output_tokens: expect.any(Number) } });
  });

  it('errors in the Anthropic shape with retry-after on 429', async () => {
    server.enqueue({ fault: 'rate_limit', retryAfterSeconds: 3 }, { fault: 'server_error', status: 529 });
    const limited = await post('/v1/messages', { model: 'm', max_tokens: 1, messages });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(await limited.json()).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.any(String) } });
    const overloaded = await post('/v1/messages', { model: 'm', max_tokens: 1, messages });
    expect(await overloaded.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
  });

  it('rejects a request without messages', async () => {
    const response = await post('/v1/messages', { model: 'm' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });
});

describe('OpenAI wire', () => {
  it('answers JSON in the Chat Completions shape', async () => {
    server.enqueue({ toolCalls: [{ name: 'lookup', input: { q: 1 }, id: 'call_1' }] });
    const body = await (await post('/v1/chat/completions', { model: 'gpt-x', messages })).json();
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-x',
      choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } }] } }],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), total_tokens: expect.any(Number) },
    });
  });

  it('streams chunks with tool-call deltas, a usage chunk and [DONE]', async () => {
    server.enqueue({ text: 'hi there', toolCalls: [{ name: 'lookup', input: { q: 'abcdefghij' } }], usage: { inputTokens: 2, outputTokens: 9 } });
    const response = await post('/v1/chat/completions', { model: 'gpt-x', messages, stream: true, stream_options: { include_usage: true } });
    const events = sseEvents(await response.text());
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.data));
    expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    const args = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []).map((call) => call.function?.arguments ?? '');
    expect(args.length).toBeGreaterThan(2);
    expect(JSON.parse(args.join(''))).toEqual({ q: 'abcdefghij' });
    expect(chunks.at(-2).choices[0].finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 2, completion_tokens: 9, total_tokens: 11 } });
  });

  it('omits the usage chunk unless asked', async () => {
    const events = sseEvents(await (await post('/v1/chat/completions', { model: 'gpt-x', messages, stream: true })).text());
    const chunks = events.slice(0, -1).map((event) => JSON.parse(event.data));
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
  });

  it('errors in the OpenAI shape', async () => {
    server.enqueue({ fault: 'server_error', status: 401 });
    const response = await post('/v1/chat/completions', { model: 'gpt-x', messages });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
  });
});

describe('models and embeddings', () => {
  it('lists models in each client’s shape', async () => {
    const openai = await (await fetch(`${url}/v1/models`)).json();
    expect(openai).toMatchObject({ object: 'list', data: [{ id: 'model-a', object: 'model' }, { id: 'model-b' }] });
    const anthropic = await (await fetch(`${url}/v1/models`, { headers: { 'anthropic-version': '2023-06-01' } })).json();
    expect(anthropic).toMatchObject({ data: [{ type: 'model', id: 'model-a' }, { id: 'model-b' }], has_more: false, first_id: 'model-a' });
  });

  it('returns deterministic unit vectors of the configured or requested dimension', async () => {
    const body = await json(post('/v1/embeddings', { model: 'e', input: ['alpha', 'beta', 'alpha'] }));
    const [a, b, a2] = body.data.map((item: { embedding: number[] }) => item.embedding);
    expect(a).toHaveLength(16);
    expect(a).toEqual(a2);
    expect(a).not.toEqual(b);
    expect(a).toEqual(fakeEmbedding('alpha', 16));
    expect(Math.hypot(...a)).toBeCloseTo(1, 10);
    const wide = await json(post('/v1/embeddings', { model: 'e', input: 'alpha', dimensions: 1024 }));
    expect(wide.data[0].embedding).toHaveLength(1024);
    expect(server.pending).toBe(0);
  });

  it('serves the OpenAI SDK, which asks for base64', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: server.address.openaiBaseUrl, maxRetries: 0 });
    const result = await client.embeddings.create({ model: 'e', input: 'gamma' });
    const expected = fakeEmbedding('gamma', 16);
    result.data[0]?.embedding.forEach((value, index) => expect(value).toBeCloseTo(expected[index] ?? NaN, 6));
  });

  it('answers unknown routes with 404', async () => {
    expect((await fetch(`${url}/v2/whatever`)).status).toBe(404);
  });
});

describe('scripting', () => {
  it('uses replies in order, then the default; functions see the request', async () => {
    server.enqueue({ text: 'first' }, (request) => ({ text: `echo ${(request.body as { model: string }).model}` }));
    const texts = [];
    for (const model of ['m1', 'm2', 'm3']) {
      const body = await json(post('/v1/chat/completions', { model, messages }));
      texts.push(body.choices[0].message.content);
    }
    expect(texts).toEqual(['first', 'echo m2', 'ok']);
  });

  it('records every request with headers and parsed body', async () => {
    await post('/v1/chat/completions', { model: 'm', messages }, { authorization: 'Bearer test' });
    expect(server.requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      protocol: 'openai',
      stream: false,
      clientAborted: false,
      headers: { authorization: 'Bearer test' },
      body: { model: 'm', messages },
    });
  });

  it('a configurable default reply', async () => {
    const custom = new FakeLlmServer({ defaultReply: { text: 'custom default' } });
    const address = await custom.start();
    try {
      const body = await json(fetch(`${address.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'm', messages }) }));
      expect(body.content).toEqual([{ type: 'text', text: 'custom default' }]);
    } finally {
      await custom.close();
    }
  });

  it('closes with requests still pending', async () => {
    const temporary = new FakeLlmServer({ defaultReply: { text: 'never', delayMs: 60_000 } });
    const address = await temporary.start();
    const pending = fetch(`${address.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'm', messages }) }).catch((error: unknown) => error);
    await temporary.waitForRequests(1);
    await temporary.close();
    expect(await pending).toBeInstanceOf(Error);
  });
});
