import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OpenAIProvider } from '../src/adapters/providers/openai/openai-provider.js';
import { TOOL_ERROR_PREFIX } from '../src/adapters/providers/openai/openai-mapping.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';

/** What the OpenAI adapter puts on the wire, beyond the shared conformance suite. */

const server = new FakeLlmServer();
beforeAll(() => server.start());
afterAll(() => server.close());
beforeEach(() => server.reset());

const lastBody = () => server.requests.at(-1)?.body as Record<string, unknown>;

describe('OpenAI adapter request mapping', () => {
  it('sends the system prompt as a message and tool results as tool messages right after the call', async () => {
    const provider = new OpenAIProvider({ apiKey: 'k-123456', baseUrl: server.address.openaiBaseUrl });
    await provider.complete({
      model: 'gpt-x',
      system: 'Be brief.',
      tools: [{ name: 'run', description: 'Runs', inputSchema: { type: 'object', properties: {} } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'go' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'running' }, { type: 'tool_use', id: 'c1', name: 'run', input: { x: 1 } }] },
        {
          role: 'user',
          content: [
            { type: 'tool_result', toolUseId: 'c1', content: 'boom', isError: true },
            { type: 'text', text: 'and now?' },
          ],
        },
      ],
    });
    expect(lastBody().messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'go' },
      { role: 'assistant', content: 'running', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'run', arguments: '{"x":1}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: `${TOOL_ERROR_PREFIX}boom` },
      { role: 'user', content: 'and now?' },
    ]);
    expect(lastBody().tools).toEqual([{ type: 'function', function: { name: 'run', description: 'Runs', parameters: { type: 'object', properties: {} } } }]);
  });

  it('asks for usage when streaming', async () => {
    const provider = new OpenAIProvider({ baseUrl: server.address.openaiBaseUrl });
    for await (const _event of provider.stream({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'x' }] }] })) {
      // drain
    }
    expect(lastBody()).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('uses max_tokens for compatible servers and max_completion_tokens when told', async () => {
    const request = { model: 'm', maxTokens: 42, messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'x' }] }] };
    await new OpenAIProvider({ baseUrl: server.address.openaiBaseUrl }).complete(request);
    expect(lastBody()).toMatchObject({ max_tokens: 42 });
    await new OpenAIProvider({ baseUrl: server.address.openaiBaseUrl, maxTokensParam: 'max_completion_tokens' }).complete(request);
    expect(lastBody()).toMatchObject({ max_completion_tokens: 42 });
    expect(lastBody()).not.toHaveProperty('max_tokens');
  });

  it('works without a key against a local server and reports a custom id', async () => {
    const provider = new OpenAIProvider({ baseUrl: server.address.openaiBaseUrl, id: 'ollama' });
    server.enqueue({ fault: 'server_error', status: 500 });
    await expect(provider.complete({ model: 'llama3', messages: [] })).rejects.toMatchObject({ message: expect.stringMatching(/^ollama 500/) });
  });
});
