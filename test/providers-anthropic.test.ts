import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AnthropicProvider } from '../src/adapters/providers/anthropic/anthropic-provider.js';
import { DEFAULT_MAX_TOKENS } from '../src/providers/provider-defaults.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';

/** What the Anthropic adapter puts on the wire, beyond the shared conformance suite. */

const server = new FakeLlmServer();
let provider: AnthropicProvider;
beforeAll(async () => {
  provider = new AnthropicProvider({ apiKey: 'sk-ant-test', baseUrl: (await server.start()).anthropicBaseUrl });
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const lastBody = () => server.requests.at(-1)?.body as Record<string, unknown>;

describe('Anthropic adapter request mapping', () => {
  it('sends content blocks, tool results with is_error, tools and a default max_tokens', async () => {
    await provider.complete({
      model: 'claude-x',
      system: 'Be brief.',
      tools: [{ name: 'run', description: 'Runs', inputSchema: { properties: { a: { type: 'string' } } } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'go' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'run', input: { a: 'b' } }] },
        { role: 'user', content: [{ type: 'tool_result', toolUseId: 't1', content: 'failed', isError: true }] },
      ],
    });
    expect(server.requests.at(-1)?.headers['anthropic-version']).toBeDefined();
    expect(lastBody()).toEqual({
      model: 'claude-x',
      max_tokens: DEFAULT_MAX_TOKENS,
      system: 'Be brief.',
      stream: false,
      tools: [{ name: 'run', description: 'Runs', input_schema: { type: 'object', properties: { a: { type: 'string' } } } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'go' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'run', input: { a: 'b' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'failed', is_error: true }] },
      ],
    });
  });

  it('maps stop_sequence in both modes', async () => {
    const request = { model: 'm', messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'x' }] }] };
    server.enqueue({ text: 'a', stopReason: 'stop_sequence' }, { text: 'b', stopReason: 'stop_sequence' });
    expect((await provider.complete(request)).stopReason).toBe('stop_sequence');
    let last;
    for await (const event of provider.stream(request)) last = event;
    expect(last).toMatchObject({ type: 'message_end', response: { stopReason: 'stop_sequence' } });
  });

  it('passes temperature through when the caller sets it', async () => {
    await provider.complete({ model: 'm', temperature: 0.2, messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] });
    expect(lastBody()).toMatchObject({ temperature: 0.2 });
  });
});
