import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, ProviderError } from '../src/domain/errors.js';
import { batches, OpenAIEmbedder, openAIEmbedderFromConfig } from '../src/adapters/embedders/openai-embedder.js';
import { LOCAL_EMBEDDER_DIMENSIONS, LOCAL_EMBEDDER_MODEL, LocalEmbedder, localEmbedding, localTokens } from '../src/adapters/embedders/local-embedder.js';
import { resolveProvidersConfig } from '../src/providers/provider-config.js';
import { fakeEmbedding, FakeLlmServer } from '../src/testing/fake-llm-server.js';

const server = new FakeLlmServer();
beforeAll(() => server.start());
afterAll(() => server.close());
beforeEach(() => server.reset());

const embeddingRequests = () => server.requests.filter((r) => r.path === '/v1/embeddings');

describe('OpenAIEmbedder against an OpenAI-compatible server', () => {
  it('posts the texts to {baseUrl}/embeddings and returns the vectors in input order', async () => {
    const embedder = new OpenAIEmbedder({ baseUrl: server.address.openaiBaseUrl, apiKey: 'sk-test-123456', model: 'text-embedding-3-small', dimensions: 64 });
    expect(embedder).toMatchObject({ model: 'text-embedding-3-small', dimensions: 64, kind: 'remote' });
    const texts = ['first text', 'second text', 'third'];
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(3);
    vectors.forEach((v, i) => {
      expect(v).toBeInstanceOf(Float32Array);
      expect(Array.from(v)).toEqual(Array.from(Float32Array.from(fakeEmbedding(texts[i] as string, 64))));
    });
    const [request] = embeddingRequests();
    expect(request?.method).toBe('POST');
    expect(request?.body).toEqual({ model: 'text-embedding-3-small', input: texts, encoding_format: 'float', dimensions: 64 });
    expect(request?.headers.authorization).toBe('Bearer sk-test-123456');
  });

  it('sends dimensions only to models that take it, unless told', async () => {
    await new OpenAIEmbedder({ baseUrl: server.address.openaiBaseUrl, model: 'nomic-embed-text', dimensions: 384 }).embed(['x']);
    expect(embeddingRequests()[0]?.body).not.toHaveProperty('dimensions');
    expect(embeddingRequests()[0]?.headers.authorization).toBeUndefined();
    await new OpenAIEmbedder({ baseUrl: server.address.openaiBaseUrl, model: 'custom', dimensions: 32, requestDimensions: true }).embed(['x']);
    expect(embeddingRequests()[1]?.body).toMatchObject({ dimensions: 32 });
  });

  it('splits work into batches by count and by length, one request each, keeping the order', async () => {
    const embedder = new OpenAIEmbedder({ baseUrl: server.address.openaiBaseUrl, model: 'text-embedding-3-small', dimensions: 8, batchSize: 2 });
    const texts = ['a', 'b', 'c', 'd', 'e'];
    const vectors = await embedder.embed(texts);
    expect(embeddingRequests().map((r) => (r.body as { input: string[] }).input)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(vectors.map((v) => Array.from(v))).toEqual(texts.map((t) => Array.from(Float32Array.from(fakeEmbedding(t, 8)))));
    expect(await embedder.embed([])).toEqual([]);
    expect(embeddingRequests()).toHaveLength(3);
    expect(batches(['aaaa', 'bbbb', 'cc', 'dddddddddd', 'e'], 10, 8)).toEqual([['aaaa', 'bbbb'], ['cc'], ['dddddddddd'], ['e']]);
  });

  it('takes base URL and key from the resolved provider configuration', async () => {
    const config = resolveProvidersConfig({}, { OPENAI_BASE_URL: `${server.address.openaiBaseUrl}/`, OPENAI_API_KEY: 'sk-from-env-999' });
    const embedder = openAIEmbedderFromConfig(config.openai, { model: 'text-embedding-3-large', dimensions: 16 });
    expect((await embedder.embed(['hello']))[0]).toHaveLength(16);
    expect(embeddingRequests()[0]?.headers.authorization).toBe('Bearer sk-from-env-999');
    expect(embeddingRequests()[0]?.body).toMatchObject({ model: 'text-embedding-3-large', dimensions: 16 });
  });

  it('reports an HTTP error as a ProviderError with the status, not retryable for a 4xx', async () => {
    // Without /v1 the fake server has no such route: a real 404 over the wire.
    const embedder = new OpenAIEmbedder({ baseUrl: server.address.url, model: 'm', dimensions: 8 });
    const error = await embedder.embed(['x']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ status: 404, retryable: false });
    expect((error as ProviderError).message).toMatch(/^openai-embeddings 404: no route/);
  });

  it('refuses vectors of another length than configured', async () => {
    const embedder = new OpenAIEmbedder({ baseUrl: server.address.openaiBaseUrl, model: 'm', dimensions: 16, requestDimensions: false });
    const error = await embedder.embed(['x']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).message).toContain('returned 384-dimensional vectors; 16 are configured');
  });

  it('reports a refused connection as a retryable ProviderError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await new OpenAIEmbedder({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm', dimensions: 8 }).embed(['x']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: true, status: null });
    expect((error as ProviderError).message).toMatch(/connection failed/);
  });
});

describe('OpenAIEmbedder against misbehaving servers', () => {
  let scripted: Server;
  let baseUrl: string;
  let answer: (req: IncomingMessage, res: ServerResponse) => void;

  // A server per test: a connection a test leaves hanging is not reused by the next one's fetch.
  beforeEach(async () => {
    scripted = createServer((req, res) => answer(req, res));
    await new Promise<void>((resolve) => scripted.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(scripted.address() as AddressInfo).port}/v1`;
  });
  afterEach(async () => {
    scripted.closeAllConnections();
    await new Promise<void>((resolve) => scripted.close(() => resolve()));
  });

  const embedder = (options: { timeoutMs?: number; apiKey?: string } = {}) =>
    new OpenAIEmbedder({ baseUrl, model: 'm', dimensions: 2, ...options });

  it('times out a server that never answers, with a retryable error naming the limit', async () => {
    answer = () => undefined; // Holds the request open.
    const error = await embedder({ timeoutMs: 100 }).embed(['x']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ retryable: true, details: { reason: 'timeout', timeoutMs: 100 } });
    expect((error as ProviderError).message).toContain('within 100 ms');
  });

  it('stops when the caller cancels', async () => {
    answer = () => undefined;
    const controller = new AbortController();
    const pending = embedder().embed(['x'], controller.signal).catch((e: unknown) => e);
    setTimeout(() => controller.abort(), 20);
    expect(await pending).toBeInstanceOf(CancelledError);
  });

  it('retries nothing itself, and marks 429 and 5xx retryable with retry-after', async () => {
    let calls = 0;
    answer = (_req, res) => {
      calls += 1;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' }).end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error' } }));
    };
    const error = await embedder().embed(['x']).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, retryable: true, retryAfterMs: 2000 });
    expect((error as ProviderError).message).toBe('openai-embeddings 429: slow down');
    expect(calls).toBe(1);
  });

  it('never puts the API key in an error, even when the server echoes it', async () => {
    answer = (req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `bad key: ${req.headers.authorization}` } }));
    };
    const error = await embedder({ apiKey: 'sk-secret-abcdef' }).embed(['x']).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 401, retryable: false });
    expect(JSON.stringify(error)).not.toContain('sk-secret-abcdef');
    expect((error as ProviderError).message).not.toContain('sk-secret-abcdef');
  });

  it('reports malformed answers clearly', async () => {
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"data": [');
    expect(await embedder().embed(['x']).catch((e: unknown) => (e as Error).message)).toMatch(/malformed response/);
    answer = (_req, res) => res.writeHead(200).end(JSON.stringify({ data: [{ index: 0, embedding: [1, 0] }] }));
    expect(await embedder().embed(['x', 'y']).catch((e: unknown) => (e as Error).message)).toMatch(/malformed response: expected 2 embeddings, got 1/);
    answer = (_req, res) => res.writeHead(200).end(JSON.stringify({ data: [{ index: 0, embedding: ['a', 'b'] }] }));
    expect(await embedder().embed(['x']).catch((e: unknown) => (e as Error).message)).toMatch(/not a list of numbers/);
  });

  it('puts vectors back in input order by their index, and reads base64 vectors', async () => {
    const base64 = Buffer.from(new Float32Array([0.5, -0.25]).buffer).toString('base64');
    answer = (_req, res) =>
      res.writeHead(200).end(JSON.stringify({ data: [{ index: 1, embedding: base64 }, { index: 0, embedding: [1, 2] }] }));
    const vectors = await embedder().embed(['x', 'y']);
    expect(vectors.map((v) => Array.from(v))).toEqual([[1, 2], [0.5, -0.25]]);
  });
});

describe('LocalEmbedder', () => {
  const embedder = new LocalEmbedder();
  const cos = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
  const norm = (v: Float32Array) => Math.sqrt(cos(v, v));

  it('says what it is', () => {
    expect(embedder).toMatchObject({ kind: 'local', model: LOCAL_EMBEDDER_MODEL, dimensions: LOCAL_EMBEDDER_DIMENSIONS });
    expect(LOCAL_EMBEDDER_MODEL).toBe('colony-local-hash-384');
    expect(LOCAL_EMBEDDER_DIMENSIONS).toBe(384);
  });

  it('is deterministic across calls and instances', async () => {
    const text = 'Cache invalidation: publish the key when a record changes';
    const [a] = await embedder.embed([text]);
    const [b] = await new LocalEmbedder().embed([text]);
    expect(Array.from(a as Float32Array)).toEqual(Array.from(b as Float32Array));
    expect(Array.from(localEmbedding(text))).toEqual(Array.from(a as Float32Array));
  });

  it('returns unit vectors of 384 dimensions, even for text without words', async () => {
    const vectors = await embedder.embed(['', '!!!', 'one', 'a longer text with many words, repeated words, words', 'ünïcödé 東京 🐝']);
    for (const v of vectors) {
      expect(v).toHaveLength(384);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(Array.from(vectors[0] as Float32Array)).toEqual(Array.from(vectors[1] as Float32Array));
  });

  it('puts texts sharing words closer together than unrelated texts', async () => {
    const [doc, similar, unrelated] = await embedder.embed([
      'Redis cache stores hot keys in memory with a TTL',
      'caching hot keys in Redis',
      'the leader replicates its log to followers',
    ]);
    const close = cos(doc as Float32Array, similar as Float32Array);
    const far = cos(doc as Float32Array, unrelated as Float32Array);
    expect(close).toBeGreaterThan(0.4);
    expect(close).toBeGreaterThan(far + 0.3);
  });

  it('is lexical, not semantic: a synonym is not closer than any other word', async () => {
    const [car, automobile, banana] = await embedder.embed(['car', 'automobile', 'banana']);
    expect(Math.abs(cos(car as Float32Array, automobile as Float32Array))).toBeLessThan(0.5);
    expect(Math.abs(cos(car as Float32Array, automobile as Float32Array) - cos(car as Float32Array, banana as Float32Array))).toBeLessThan(0.5);
  });

  it('normalises case, accents and plurals, and drops stop words', () => {
    expect(localTokens('The Caches of the CAFÉ are Queries')).toEqual(['cache', 'cafe', 'query']);
    expect(Array.from(localEmbedding('Queries'))).toEqual(Array.from(localEmbedding('the query')));
  });

  it('weighs word order a little through word pairs', () => {
    const ab = localEmbedding('alpha beta gamma');
    const ba = localEmbedding('gamma beta alpha');
    expect(cos(ab, ba)).toBeGreaterThan(0.6);
    expect(cos(ab, ba)).toBeLessThan(0.999);
  });

  it('honours an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(embedder.embed(['x'], controller.signal)).rejects.toThrow();
  });
});
