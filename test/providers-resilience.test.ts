import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, ProviderError } from '../src/domain/errors.js';
import type { CompletionRequest, Provider, StreamEvent } from '../src/ports/provider.js';
import { AnthropicProvider } from '../src/adapters/providers/anthropic/anthropic-provider.js';
import { OpenAIProvider } from '../src/adapters/providers/openai/openai-provider.js';
import { ResilientProvider, type ResilienceEvent, type ResilienceOptions } from '../src/providers/resilient-provider.js';
import { FakeLlmServer, type FakeLlmServerAddress } from '../src/testing/fake-llm-server.js';
import { rejectionOf } from './support/rejection.js';

/**
 * The resilient wrapper against the fake server: real SDKs, real sockets, scripted faults. Delays
 * are kept small; time is only ever checked as a coarse lower bound (a wait was not skipped).
 */

const FAST: ResilienceOptions = { baseDelayMs: 1, maxDelayMs: 5, timeoutMs: 5_000 };

const ask = (extra: Partial<CompletionRequest> = {}): CompletionRequest => ({
  model: 'fake-model',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
  ...extra,
});

async function collect(stream: AsyncIterable<StreamEvent>, onEvent?: (event: StreamEvent) => void): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of stream) {
    events.push(event);
    onEvent?.(event);
  }
  return events;
}


const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const inners: { name: string; create(address: FakeLlmServerAddress): Provider }[] = [
  { name: 'anthropic', create: (a) => new AnthropicProvider({ apiKey: 'sk-test-key', baseUrl: a.anthropicBaseUrl }) },
  { name: 'openai', create: (a) => new OpenAIProvider({ apiKey: 'sk-test-key', baseUrl: a.openaiBaseUrl }) },
];

describe.each(inners)('ResilientProvider over $name', ({ create }) => {
  const server = new FakeLlmServer();
  let address: FakeLlmServerAddress;
  let events: ResilienceEvent[];

  const wrap = (options: ResilienceOptions = {}) =>
    new ResilientProvider(create(address), { ...FAST, onEvent: (event) => events.push(event), ...options });

  beforeAll(async () => {
    address = await server.start();
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.reset();
    events = [];
  });

  describe('retries', () => {
    it('retries a 429 after the server-given retry-after, then succeeds', async () => {
      server.enqueue({ fault: 'rate_limit', retryAfterSeconds: 0.2 }, { text: 'finally' });
      const started = Date.now();
      const response = await wrap().complete(ask());
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
      expect(response.content).toEqual([{ type: 'text', text: 'finally' }]);
      expect(server.requests).toHaveLength(2);
      const retries = events.filter((event) => event.type === 'retry');
      expect(retries).toHaveLength(1);
      expect(retries[0]).toMatchObject({ attempt: 1, delayMs: expect.any(Number) });
      expect(retries[0]?.type === 'retry' && retries[0].delayMs).toBeGreaterThanOrEqual(200);
      expect(retries[0]?.type === 'retry' && retries[0].error.status).toBe(429);
    });

    it('retries 5xx, malformed bodies and dropped connections', async () => {
      server.enqueue({ fault: 'server_error', status: 503 }, { fault: 'malformed_json' }, { fault: 'drop_mid_stream' }, { text: 'ok now' });
      const response = await wrap({ maxRetries: 3 }).complete(ask());
      expect(response.content).toEqual([{ type: 'text', text: 'ok now' }]);
      expect(server.requests).toHaveLength(4);
    });

    it.each([400, 401])('never retries a %i', async (status) => {
      server.enqueue({ fault: 'server_error', status }, { text: 'should not be reached' });
      const error = await rejectionOf(wrap({ maxRetries: 3 }).complete(ask()));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ status, retryable: false });
      expect(server.requests).toHaveLength(1);
      expect(events.filter((event) => event.type === 'retry')).toHaveLength(0);
    });

    it('gives up with a clean ProviderError when retries run out', async () => {
      server.enqueue(...Array.from({ length: 3 }, () => ({ fault: 'server_error' as const, status: 503 })), { text: 'too late' });
      const error = await rejectionOf(wrap({ maxRetries: 2 }).complete(ask()));
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ code: 'provider', status: 503, retryable: true });
      expect(server.requests).toHaveLength(3);
      expect(events.filter((event) => event.type === 'retry').map((event) => event.type === 'retry' && event.attempt)).toEqual([1, 2]);
    });

    it('does not sit out a retry-after longer than maxRetryAfterMs', async () => {
      server.enqueue({ fault: 'rate_limit', retryAfterSeconds: 120 });
      const error = await rejectionOf(wrap({ maxRetryAfterMs: 1_000 }).complete(ask()));
      expect(error).toMatchObject({ status: 429, retryAfterMs: 120_000 });
      expect(server.requests).toHaveLength(1);
    });

    it('retries a stream that fails before its first event', async () => {
      server.enqueue({ fault: 'rate_limit', retryAfterSeconds: 0.05 }, { fault: 'server_error', status: 529 }, { text: 'streamed fine' });
      const streamed = await collect(wrap().stream(ask()));
      expect(streamed.at(-1)).toMatchObject({ type: 'message_end', response: { content: [{ type: 'text', text: 'streamed fine' }] } });
      expect(server.requests).toHaveLength(3);
    });

    it('does not retry a stream once an event was yielded', async () => {
      server.enqueue({ fault: 'drop_mid_stream' }, { text: 'must not be requested' });
      const seen: StreamEvent[] = [];
      const error = await rejectionOf(collect(wrap({ maxRetries: 3 }).stream(ask()), (event) => seen.push(event)));
      expect(seen.length).toBeGreaterThan(0);
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).retryable).toBe(true);
      expect(server.requests).toHaveLength(1);
    });
  });

  describe('timeouts', () => {
    it('times out a slow call, aborts its HTTP request and retries', async () => {
      server.enqueue({ text: 'too slow', delayMs: 30_000 }, { text: 'quick' });
      const response = await wrap({ timeoutMs: 1_000, maxRetries: 1 }).complete(ask());
      expect(response.content).toEqual([{ type: 'text', text: 'quick' }]);
      expect(server.requests).toHaveLength(2);
      await expect.poll(() => server.requests[0]?.clientAborted).toBe(true);
    });

    it('reports a timeout as a retryable ProviderError', async () => {
      server.enqueue({ text: 'too slow', delayMs: 30_000 });
      const started = Date.now();
      const error = await rejectionOf(wrap({ timeoutMs: 500, maxRetries: 0 }).complete(ask()));
      expect(Date.now() - started).toBeGreaterThanOrEqual(495);
      expect(error).toBeInstanceOf(ProviderError);
      expect(error).toMatchObject({ retryable: true, details: { reason: 'timeout' } });
    });

    it('bounds the wait for each stream event, not the whole stream', async () => {
      // Wire events 100 ms apart: the stream takes about a second in all, past the 800 ms timeout,
      // while the longest gap between two of its events stays far below it (room for a loaded machine).
      const text = 'abcdefghijklmnopqrstuvwx';
      server.enqueue({ fault: 'slow', delayMs: 100, text });
      const started = Date.now();
      const streamed = await collect(wrap({ timeoutMs: 800, maxRetries: 0 }).stream(ask()));
      expect(Date.now() - started).toBeGreaterThanOrEqual(800);
      expect(streamed.at(-1)).toMatchObject({ type: 'message_end', response: { content: [{ type: 'text', text }] } });

      server.enqueue({ fault: 'slow', delayMs: 3_000 });
      const error = await rejectionOf(collect(wrap({ timeoutMs: 800, maxRetries: 0 }).stream(ask())));
      expect(error).toMatchObject({ code: 'provider', details: { reason: 'timeout' } });
    });
  });

  describe('circuit breaker', () => {
    it('opens after N consecutive failures, fails fast, and closes after the half-open delay', async () => {
      // Two seconds before a probe: long enough that the fail-fast call below is sure to find the
      // circuit still open on a loaded machine.
      const provider = wrap({ maxRetries: 0, breakerThreshold: 3, halfOpenAfterMs: 2_000 });
      // Every request fails until the server is told otherwise (not a queue of three faults, which a
      // late request of an earlier test could take one of on a loaded machine).
      server.setDefaultReply({ fault: 'server_error', status: 500 });
      for (let i = 0; i < 3; i += 1) {
        expect(provider.breakerState()).toBe('closed');
        expect(await rejectionOf(provider.complete(ask()))).toMatchObject({ status: 500 });
      }
      expect(provider.breakerState()).toBe('open');

      const fastFail = await rejectionOf(provider.complete(ask()));
      expect(fastFail).toBeInstanceOf(ProviderError);
      expect(fastFail).toMatchObject({ details: { reason: 'circuit_open' }, retryable: true });
      expect(server.requests).toHaveLength(3);

      server.setDefaultReply({ text: 'ok' });
      await sleep(2_100);
      const response = await provider.complete(ask());
      expect(response.content).toEqual([{ type: 'text', text: 'ok' }]);
      expect(provider.breakerState()).toBe('closed');
      expect(events.filter((event) => event.type === 'breaker').map((event) => event.type === 'breaker' && event.state)).toEqual([
        'open',
        'half-open',
        'closed',
      ]);
    });

    it('re-opens when the half-open probe fails', async () => {
      const provider = wrap({ maxRetries: 0, breakerThreshold: 1, halfOpenAfterMs: 50 });
      server.enqueue({ fault: 'server_error', status: 502 }, { fault: 'server_error', status: 502 });
      await rejectionOf(provider.complete(ask()));
      expect(provider.breakerState()).toBe('open');
      await sleep(80);
      expect(await rejectionOf(provider.complete(ask()))).toMatchObject({ status: 502 });
      expect(provider.breakerState()).toBe('open');
    });

    it('is not tripped by the caller’s own mistakes (4xx)', async () => {
      const provider = wrap({ maxRetries: 0, breakerThreshold: 2 });
      server.enqueue(...Array.from({ length: 4 }, () => ({ fault: 'server_error' as const, status: 400 })));
      for (let i = 0; i < 4; i += 1) await rejectionOf(provider.complete(ask()));
      expect(provider.breakerState()).toBe('closed');
    });

    it('does not retry into an open circuit', async () => {
      const provider = wrap({ maxRetries: 5, breakerThreshold: 2, halfOpenAfterMs: 60_000 });
      server.enqueue(...Array.from({ length: 5 }, () => ({ fault: 'server_error' as const, status: 500 })));
      const error = await rejectionOf(provider.complete(ask()));
      expect(error).toMatchObject({ details: { reason: 'circuit_open' } });
      expect(server.requests).toHaveLength(2);
    });
  });

  describe('concurrency limit', () => {
    it('never has more than maxConcurrency calls in flight', async () => {
      server.setDefaultReply({ text: 'ok', delayMs: 40 });
      try {
        const provider = wrap({ maxConcurrency: 2 });
        const results = await Promise.all(Array.from({ length: 6 }, () => provider.complete(ask())));
        expect(results).toHaveLength(6);
        expect(server.requests).toHaveLength(6);
        expect(server.maxInFlight).toBe(2);
      } finally {
        server.setDefaultReply({ text: 'ok' });
      }
    });

    it('reports once that calls wait for a slot, and once that nobody waits any more', async () => {
      server.setDefaultReply({ text: 'ok', delayMs: 20 });
      try {
        const provider = wrap({ maxConcurrency: 2 });
        await Promise.all(Array.from({ length: 6 }, () => provider.complete(ask())));
        // Two calls fit; the third waits: reached. Cleared when the last waiter got its slot and left.
        expect(events.filter((e) => e.type === 'limit')).toEqual([
          { type: 'limit', provider: provider.id, maxConcurrency: 2, reached: true },
          { type: 'limit', provider: provider.id, maxConcurrency: 2, reached: false },
        ]);
        // Calls that all fit report nothing.
        events = [];
        await Promise.all([provider.complete(ask()), provider.complete(ask())]);
        expect(events.filter((e) => e.type === 'limit')).toEqual([]);
      } finally {
        server.setDefaultReply({ text: 'ok' });
      }
    });

    it('holds a slot for the whole stream', async () => {
      server.setDefaultReply({ fault: 'slow', delayMs: 20, text: 'abcdefghijkl' });
      try {
        const provider = wrap({ maxConcurrency: 1 });
        await Promise.all([collect(provider.stream(ask())), collect(provider.stream(ask())), provider.complete(ask())]);
        expect(server.requests).toHaveLength(3);
        expect(server.maxInFlight).toBe(1);
      } finally {
        server.setDefaultReply({ text: 'ok' });
      }
    });

    it('releases the slot when a consumer stops reading early', async () => {
      const provider = wrap({ maxConcurrency: 1 });
      server.enqueue({ fault: 'slow', delayMs: 50, text: 'a long answer that nobody reads to the end' });
      for await (const event of provider.stream(ask())) {
        if (event.type === 'text_delta') break;
      }
      await expect.poll(() => server.requests[0]?.clientAborted).toBe(true);
      expect((await provider.complete(ask())).content).toEqual([{ type: 'text', text: 'ok' }]);
    });
  });

  describe('cancellation', () => {
    it('aborts an in-flight request down to HTTP', async () => {
      server.enqueue({ text: 'late', delayMs: 10_000 });
      const controller = new AbortController();
      const pending = wrap().complete(ask({ signal: controller.signal }));
      await server.waitForRequests(1);
      controller.abort();
      expect(await rejectionOf(pending)).toBeInstanceOf(CancelledError);
      await expect.poll(() => server.requests[0]?.clientAborted).toBe(true);
    });

    it('aborts during a retry wait without waiting it out', async () => {
      server.enqueue({ fault: 'rate_limit', retryAfterSeconds: 25 }, { text: 'never' });
      const controller = new AbortController();
      const pending = wrap({ maxRetries: 3 }).complete(ask({ signal: controller.signal }));
      await server.waitForRequests(1);
      await sleep(20);
      controller.abort();
      expect(await rejectionOf(pending)).toBeInstanceOf(CancelledError);
      expect(server.requests).toHaveLength(1);
    });

    it('aborts while waiting for a concurrency slot', async () => {
      const provider = wrap({ maxConcurrency: 1 });
      server.enqueue({ text: 'first', delayMs: 200 }, { text: 'second' });
      const first = provider.complete(ask());
      const controller = new AbortController();
      const queued = provider.complete(ask({ signal: controller.signal }));
      await server.waitForRequests(1);
      controller.abort();
      expect(await rejectionOf(queued)).toBeInstanceOf(CancelledError);
      expect((await first).content).toEqual([{ type: 'text', text: 'first' }]);
      expect(server.requests).toHaveLength(1);
      expect((await provider.complete(ask())).content).toEqual([{ type: 'text', text: 'second' }]);
    });

    it('rejects at once when the signal is already aborted', async () => {
      const error = await rejectionOf(wrap().complete(ask({ signal: AbortSignal.abort() })));
      expect(error).toBeInstanceOf(CancelledError);
      expect(server.requests).toHaveLength(0);
    });
  });

  it('survives an onEvent listener that throws', async () => {
    server.enqueue({ fault: 'server_error', status: 500 }, { text: 'fine' });
    const provider = new ResilientProvider(create(address), {
      ...FAST,
      onEvent: () => {
        throw new Error('observer bug');
      },
    });
    expect((await provider.complete(ask())).content).toEqual([{ type: 'text', text: 'fine' }]);
  });

  it('keeps the inner provider id', () => {
    const inner = create(address);
    expect(new ResilientProvider(inner).id).toBe(inner.id);
  });
});
