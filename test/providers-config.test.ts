import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ProviderError } from '../src/domain/errors.js';
import { isInvalidToolInput } from '../src/ports/provider.js';
import { AnthropicProvider } from '../src/adapters/providers/anthropic/anthropic-provider.js';
import { createProvider } from '../src/app/create-provider.js';
import { OpenAIProvider } from '../src/adapters/providers/openai/openai-provider.js';
import { estimateCostUsd, modelPrice } from '../src/providers/pricing.js';
import { resolveProvidersConfig } from '../src/providers/provider-config.js';
import {
  ANTHROPIC_DEFAULT_BASE_URL,
  DEFAULT_MAX_RETRIES,
  DEFAULT_PROVIDER_TIMEOUT_MS,
  OPENAI_DEFAULT_BASE_URL,
} from '../src/providers/provider-defaults.js';
import { ResilientProvider } from '../src/providers/resilient-provider.js';
import { parseRetryAfterMs } from '../src/providers/retry-after.js';
import { PROVIDER_LOG_REDACT_PATHS, REDACTED, Secret, redactConfig, redactSecrets } from '../src/providers/secret.js';
import { parseToolArguments } from '../src/providers/tool-input.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';

const ANTHROPIC_KEY = 'sk-ant-api03-very-secret-value';
const OPENAI_KEY = 'sk-proj-another-secret-value';

describe('resolveProvidersConfig', () => {
  it('fills gaps from the conventional environment variables and defaults', () => {
    const resolved = resolveProvidersConfig(
      {},
      { ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: 'http://localhost:9000', OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: 'http://localhost:11434/v1' },
    );
    expect(resolved.anthropic.apiKey?.reveal()).toBe(ANTHROPIC_KEY);
    expect(resolved.anthropic.baseUrl).toBe('http://localhost:9000');
    expect(resolved.openai.apiKey?.reveal()).toBe(OPENAI_KEY);
    expect(resolved.openai.baseUrl).toBe('http://localhost:11434/v1');
    expect(resolved.anthropic.timeoutMs).toBe(DEFAULT_PROVIDER_TIMEOUT_MS);
    expect(resolved.openai.maxRetries).toBe(DEFAULT_MAX_RETRIES);
    expect(resolved['claude-code'].binary).toBe('claude');
  });

  it('prefers explicit configuration over the environment', () => {
    const resolved = resolveProvidersConfig(
      { anthropic: { apiKey: 'from-config-key', baseUrl: 'https://proxy.example', model: 'claude-haiku-4-5', maxRetries: 1, maxConcurrency: 3, timeoutMs: 5000 } },
      { ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: 'http://ignored' },
    );
    expect(resolved.anthropic).toMatchObject({ baseUrl: 'https://proxy.example', model: 'claude-haiku-4-5', maxRetries: 1, maxConcurrency: 3, timeoutMs: 5000 });
    expect(resolved.anthropic.apiKey?.reveal()).toBe('from-config-key');
  });

  it('uses the official endpoints and no key when nothing is set', () => {
    const resolved = resolveProvidersConfig(undefined, {});
    expect(resolved.anthropic).toMatchObject({ baseUrl: ANTHROPIC_DEFAULT_BASE_URL, apiKey: null });
    expect(resolved.openai).toMatchObject({ baseUrl: OPENAI_DEFAULT_BASE_URL, apiKey: null });
  });

  it('normalises base URLs: no trailing slash, and no /v1 for Anthropic', () => {
    const resolved = resolveProvidersConfig({}, { ANTHROPIC_BASE_URL: 'http://localhost:9000/v1/', OPENAI_BASE_URL: 'http://localhost:8000/v1/' });
    expect(resolved.anthropic.baseUrl).toBe('http://localhost:9000');
    expect(resolved.openai.baseUrl).toBe('http://localhost:8000/v1');
  });

  it('ignores empty environment variables', () => {
    expect(resolveProvidersConfig({}, { ANTHROPIC_API_KEY: '  ' }).anthropic.apiKey).toBeNull();
  });

  it('rejects invalid configuration with a ConfigError that names the fields but not the key', () => {
    let error: unknown;
    try {
      resolveProvidersConfig({ openai: { apiKey: OPENAI_KEY, baseUrl: 'not a url', maxRetries: -1, colour: 'blue' } }, {});
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = `${(error as Error).message} ${JSON.stringify(error)}`;
    expect(text).toContain('providers.openai.baseUrl');
    expect(text).toContain('providers.openai.maxRetries');
    expect(text).not.toContain(OPENAI_KEY);
  });

  it('rejects a malformed base URL in the environment', () => {
    expect(() => resolveProvidersConfig({}, { OPENAI_BASE_URL: 'localhost without scheme' })).toThrow(/OPENAI_BASE_URL/);
  });

  it('never shows a key in JSON, inspect, String or logs of a resolved config', () => {
    const resolved = resolveProvidersConfig({ openai: { apiKey: OPENAI_KEY } }, { ANTHROPIC_API_KEY: ANTHROPIC_KEY });
    const lines: string[] = [];
    const logger = pino({ redact: { paths: [...PROVIDER_LOG_REDACT_PATHS] } }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
    logger.info({ config: resolved }, 'providers resolved');
    logger.info({ apiKey: OPENAI_KEY, headers: { authorization: `Bearer ${OPENAI_KEY}` } }, 'raw values');
    const renderings = [
      JSON.stringify(resolved),
      inspect(resolved, { depth: 10 }),
      String(resolved.openai.apiKey),
      `${resolved.anthropic.apiKey}`,
      ...lines,
    ];
    for (const rendering of renderings) {
      expect(rendering).not.toContain(OPENAI_KEY);
      expect(rendering).not.toContain(ANTHROPIC_KEY);
    }
    expect(JSON.stringify(resolved)).toContain(REDACTED);
  });
});

describe('secret redaction', () => {
  it('Secret hides its value everywhere but reveal()', () => {
    const secret = new Secret('s3cr3t-value');
    expect(secret.reveal()).toBe('s3cr3t-value');
    expect(JSON.stringify({ secret })).toBe(`{"secret":"${REDACTED}"}`);
    expect(inspect({ secret })).not.toContain('s3cr3t');
    expect(`${secret}`).toBe(REDACTED);
  });

  it('redactSecrets scrubs every occurrence and leaves short non-secrets alone', () => {
    expect(redactSecrets('key abcd1234 then abcd1234 again', ['abcd1234', new Secret('zz'), null, undefined])).toBe(
      `key ${REDACTED} then ${REDACTED} again`,
    );
    expect(redactSecrets('a zz b', ['zz'])).toBe('a zz b');
  });

  it('redactConfig replaces secret-named values deeply without touching the original', () => {
    const raw = { anthropic: { apiKey: ANTHROPIC_KEY, model: 'x' }, headers: { Authorization: 'Bearer t' }, list: [{ api_key: 'k' }] };
    const redacted = redactConfig(raw);
    expect(redacted).toEqual({ anthropic: { apiKey: REDACTED, model: 'x' }, headers: { Authorization: REDACTED }, list: [{ api_key: REDACTED }] });
    expect(raw.anthropic.apiKey).toBe(ANTHROPIC_KEY);
  });
});

describe('adapter construction', () => {
  it('Anthropic requires a key', () => {
    expect(() => new AnthropicProvider({ apiKey: null })).toThrow(ConfigError);
  });

  it('OpenAI requires a key for api.openai.com but not for a local server', () => {
    expect(() => new OpenAIProvider({})).toThrow(ConfigError);
    expect(new OpenAIProvider({ baseUrl: 'http://127.0.0.1:11434/v1' }).id).toBe('openai');
  });

  it('a provider object does not reveal its key', () => {
    const provider = new AnthropicProvider({ apiKey: ANTHROPIC_KEY });
    expect(inspect(provider, { depth: 10 })).not.toContain(ANTHROPIC_KEY);
    expect(JSON.stringify(provider)).not.toContain(ANTHROPIC_KEY);
  });
});

describe('createProvider', () => {
  const server = new FakeLlmServer();
  beforeAll(() => server.start());
  afterAll(() => server.close());

  it('builds resilient adapters from resolved config, for both ids', async () => {
    const { url, openaiBaseUrl } = server.address;
    const resolved = resolveProvidersConfig(
      { anthropic: { maxRetries: 1 }, openai: { maxRetries: 1 } },
      { ANTHROPIC_API_KEY: ANTHROPIC_KEY, ANTHROPIC_BASE_URL: url, OPENAI_API_KEY: OPENAI_KEY, OPENAI_BASE_URL: openaiBaseUrl },
    );
    for (const config of [resolved.anthropic, resolved.openai]) {
      const provider = createProvider(config, { baseDelayMs: 1 });
      expect(provider).toBeInstanceOf(ResilientProvider);
      expect(provider.id).toBe(config.id);
      server.enqueue({ fault: 'server_error', status: 503 }, { text: `hello from ${config.id}` });
      const response = await provider.complete({ model: config.model, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
      expect(response.content).toEqual([{ type: 'text', text: `hello from ${config.id}` }]);
    }
    expect(server.requests.map((request) => request.path)).toEqual(['/v1/messages', '/v1/messages', '/v1/chat/completions', '/v1/chat/completions']);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-11-01T12:00:00Z');
  it.each([
    [{ 'retry-after': '3' }, 3000],
    [{ 'retry-after': '0.25' }, 250],
    [{ 'retry-after': 'Sun, 01 Nov 2026 12:00:10 GMT' }, 10_000],
    [{ 'retry-after': 'Sun, 01 Nov 2026 11:00:00 GMT' }, 0],
    [{ 'retry-after-ms': '1500', 'retry-after': '9' }, 1500],
    [{ 'retry-after': 'soon' }, null],
    [{ 'retry-after': '-5' }, null],
    [{}, null],
  ])('%j → %s', (headers, expected) => {
    expect(parseRetryAfterMs(new Headers(headers), now)).toBe(expected);
  });

  it('handles missing headers', () => {
    expect(parseRetryAfterMs(undefined)).toBeNull();
  });
});

describe('pricing', () => {
  it('prices known models per million tokens', () => {
    expect(estimateCostUsd('claude-sonnet-4-5', { inputTokens: 1_000_000, outputTokens: 1_000_000 })).toBe(18);
    expect(estimateCostUsd('gpt-4o-mini', { inputTokens: 2_000_000, outputTokens: 0 })).toBeCloseTo(0.3);
    expect(estimateCostUsd('claude-haiku-4-5', { inputTokens: 1000, outputTokens: 500 })).toBeCloseTo(0.0035);
  });

  it('prices dated snapshots like their alias unless listed themselves', () => {
    expect(modelPrice('claude-sonnet-4-5-20250929')).toEqual(modelPrice('claude-sonnet-4-5'));
    expect(modelPrice('gpt-4.1-2025-04-14')).toEqual(modelPrice('gpt-4.1'));
    expect(modelPrice('gpt-4o-2024-05-13')).toEqual({ inputPerMillionUsd: 5, outputPerMillionUsd: 15 });
  });

  it('returns null for unknown models instead of inventing a price', () => {
    expect(estimateCostUsd('llama3.1:8b', { inputTokens: 10, outputTokens: 10 })).toBeNull();
    expect(estimateCostUsd('fake-model', { inputTokens: 10, outputTokens: 10 })).toBeNull();
    expect(modelPrice('gpt-4o-mini-transcribe')).toBeNull();
  });
});

describe('parseToolArguments', () => {
  it('parses JSON objects, treats empty as no arguments, and marks the rest invalid', () => {
    expect(parseToolArguments('{"a":1}')).toEqual({ a: 1 });
    expect(parseToolArguments('  ')).toEqual({});
    expect(parseToolArguments('{"a":')).toEqual({ __invalidJson: '{"a":' });
    expect(parseToolArguments('[1,2]')).toEqual({ __invalidJson: '[1,2]' });
    expect(isInvalidToolInput(parseToolArguments('nope'))).toBe(true);
    expect(isInvalidToolInput({ a: 1 })).toBe(false);
  });
});

it('ProviderError carries what the runtime needs', () => {
  const error = new ProviderError('x', { status: 429, retryAfterMs: 10, retryable: true, provider: 'openai' });
  expect(error.toJSON()).toEqual({ code: 'provider', message: 'x', details: { provider: 'openai', status: 429 } });
});
