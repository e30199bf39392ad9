import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicWire } from './fake-anthropic-wire.js';
import { embeddingsResponse, modelsResponse } from './fake-catalog.js';
import { DEFAULT_FAKE_EMBEDDING_DIMENSIONS } from './fake-embeddings.js';
import {
  isFault,
  type FakeFault,
  type FakeLlmServerAddress,
  type FakeLlmServerOptions,
  type FakeMessageReply,
  type FakeProtocol,
  type FakeReply,
  type RecordedRequest,
  type ResolvedReply,
} from './fake-llm-types.js';
import { openaiWire } from './fake-openai-wire.js';
import { estimateTokens, sseData, type FakeWire } from './fake-wire.js';

export * from './fake-llm-types.js';
export { fakeEmbedding } from './fake-embeddings.js';

/**
 * A real HTTP server on an ephemeral 127.0.0.1 port that speaks the Anthropic Messages and OpenAI
 * Chat Completions wire protocols (plus GET /v1/models and POST /v1/embeddings), so provider
 * adapters are tested through their real SDKs, over real sockets, with scripted answers and
 * faults. Used by tests and benchmarks.
 *
 *   const server = new FakeLlmServer();
 *   const { anthropicBaseUrl, openaiBaseUrl } = await server.start();
 *   server.enqueue({ fault: 'rate_limit', retryAfterSeconds: 0.05 }, { text: 'hello' });
 *   ... server.requests[0].body ...
 *   await server.close();
 *
 * Replies are consumed in order by chat requests of either protocol; embeddings and models
 * requests do not consume them.
 */

const DEFAULT_MODELS = ['fake-model'];
const DEFAULT_REPLY: FakeMessageReply = { text: 'ok' };
const DEFAULT_DROP_TEXT = 'This answer is cut off before it ends';
const DEFAULT_SLOW_TEXT = 'a slow answer';
const DEFAULT_RETRY_AFTER_SECONDS = 1;
/** A hang guard for waitForRequests: generous, since a loaded machine may take seconds to send one. */
const WAIT_FOR_REQUESTS_TIMEOUT_MS = 30_000;

export class FakeLlmServer {
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  readonly #queue: FakeReply[] = [];
  #defaultReply: FakeReply;
  readonly #models: string[];
  readonly #embeddingDimensions: number;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #waiters = new Set<() => void>();
  #server: Server | null = null;
  #address: FakeLlmServerAddress | null = null;
  /** Responses cut off on purpose, so that they are not recorded as client aborts. */
  readonly #dropped = new WeakSet<ServerResponse>();
  #counter = 0;
  #inFlight = 0;
  #maxInFlight = 0;

  constructor(options: FakeLlmServerOptions = {}) {
    this.#defaultReply = options.defaultReply ?? DEFAULT_REPLY;
    this.#models = options.models ?? DEFAULT_MODELS;
    this.#embeddingDimensions = options.embeddingDimensions ?? DEFAULT_FAKE_EMBEDDING_DIMENSIONS;
  }

  /** Queues replies for the next chat requests, first in first out. */
  enqueue(...replies: FakeReply[]): this {
    this.#queue.push(...replies);
    return this;
  }

  /** The reply used whenever the queue is empty. */
  setDefaultReply(reply: FakeReply): this {
    this.#defaultReply = reply;
    return this;
  }

  /** Replies still queued. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Chat requests being answered right now, and the most there have been at once. */
  get inFlight(): number {
    return this.#inFlight;
  }

  get maxInFlight(): number {
    return this.#maxInFlight;
  }

  /** Forgets queued replies, recorded requests and the concurrency high-water mark. */
  reset(): void {
    this.#queue.length = 0;
    this.requests.length = 0;
    this.#maxInFlight = this.#inFlight;
  }

  /** Resolves once at least `count` requests have been received in total. */
  waitForRequests(count: number, timeoutMs: number = WAIT_FOR_REQUESTS_TIMEOUT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.requests.length < count) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake LLM server: ${this.requests.length} of ${count} requests after ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  get address(): FakeLlmServerAddress {
    if (!this.#address) throw new Error('fake LLM server: not started');
    return this.#address;
  }

  async start(): Promise<FakeLlmServerAddress> {
    if (this.#address) return this.#address;
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) writeJson(res, 500, { error: { message: String(error), type: 'server_error' } });
        else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    this.#server = server;
    this.#address = { url, anthropicBaseUrl: url, openaiBaseUrl: `${url}/v1` };
    return this.#address;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const server = this.#server;
    this.#server = null;
    this.#address = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const protocol = detectProtocol(req.method ?? 'GET', path);
    const body = parseBody(raw);
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path,
      protocol,
      headers: Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : (value ?? '')])),
      body,
      stream: isObject(body) && body.stream === true,
      clientAborted: false,
      receivedAt: Date.now(),
    };
    this.requests.push(record);
    for (const waiter of [...this.#waiters]) waiter();
    res.once('close', () => {
      if (!res.writableFinished && !this.#dropped.has(res)) record.clientAborted = true;
    });

    switch (protocol) {
      case 'anthropic':
        return this.#answerChat(record, res, anthropicWire);
      case 'openai':
        return this.#answerChat(record, res, openaiWire);
      case 'models': {
        // The Anthropic SDK always sends anthropic-version; answer each client in its own shape.
        const { status, body: models } = modelsResponse(this.#models, record.headers['anthropic-version'] !== undefined);
        writeJson(res, status, models);
        return;
      }
      case 'embeddings': {
        const { status, body: embeddings } = embeddingsResponse(isObject(body) ? body : {}, this.#embeddingDimensions);
        writeJson(res, status, embeddings);
        return;
      }
      default:
        writeJson(res, 404, openaiWire.errorBody(404, `no route for ${record.method} ${path}`, 'req_fake'));
    }
  }

  async #answerChat(record: RecordedRequest, res: ServerResponse, wire: FakeWire): Promise<void> {
    this.#inFlight += 1;
    this.#maxInFlight = Math.max(this.#maxInFlight, this.#inFlight);
    res.once('close', () => {
      this.#inFlight -= 1;
    });
    const requestId = `req_fake_${++this.#counter}`;
    const headers = { [wire.requestIdHeader]: requestId };
    if (!isObject(record.body) || !Array.isArray(record.body.messages)) {
      writeJson(res, 400, wire.errorBody(400, 'messages: Field required', requestId), headers);
      return;
    }
    const reply = await this.#nextReply(record);
    if (!isFault(reply)) {
      if (reply.delayMs !== undefined && !(await this.#wait(reply.delayMs, res))) return;
      const resolved = this.#resolve(reply, record, wire);
      if (record.stream) await this.#writeSse(res, wire.sseFrames(resolved, record), headers, 0);
      else writeJson(res, 200, wire.json(resolved, record), headers);
      return;
    }
    await this.#writeFault(reply, record, res, wire, headers, requestId);
  }

  async #writeFault(
    fault: FakeFault,
    record: RecordedRequest,
    res: ServerResponse,
    wire: FakeWire,
    headers: Record<string, string>,
    requestId: string,
  ): Promise<void> {
    switch (fault.fault) {
      case 'rate_limit': {
        const seconds = fault.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS;
        writeJson(res, 429, wire.errorBody(429, 'Rate limit reached (fake)', requestId), { ...headers, 'retry-after': String(seconds) });
        return;
      }
      case 'server_error': {
        const status = fault.status ?? 500;
        writeJson(res, status, wire.errorBody(status, fault.message ?? `Fake failure with status ${status}`, requestId), headers);
        return;
      }
      case 'malformed_json':
        if (record.stream) {
          const [first = ''] = wire.sseFrames(this.#resolve({ text: DEFAULT_DROP_TEXT }, record, wire), record);
          await this.#writeSse(res, [first, sseData('{"type": "content_block_delta", "index": 0, "delta": {"ty', wire.deltaEventName)], headers, 0);
        } else {
          res.writeHead(200, { 'content-type': 'application/json', ...headers });
          res.end('{"id": "broken", "content": [{"type": "text", "te');
        }
        return;
      case 'drop_mid_stream': {
        const resolved = this.#resolve({ text: fault.text ?? DEFAULT_DROP_TEXT }, record, wire);
        if (record.stream) {
          const frames = wire.sseFrames(resolved, record);
          const firstDelta = frames.findIndex((frame) => frame.includes('"text_delta"') || frame.includes('"content":"'));
          const cut = Math.max(firstDelta + 1, Math.floor(frames.length / 2));
          writeSseHead(res, headers);
          this.#dropAfterWriting(res, frames.slice(0, cut).join(''));
        } else {
          const text = JSON.stringify(wire.json(resolved, record));
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
          this.#dropAfterWriting(res, text.slice(0, Math.floor(text.length / 2)));
        }
        return;
      }
      case 'slow': {
        const resolved = this.#resolve({ text: fault.text ?? DEFAULT_SLOW_TEXT }, record, wire);
        if (record.stream) {
          await this.#writeSse(res, wire.sseFrames(resolved, record), headers, fault.delayMs);
        } else {
          res.writeHead(200, { 'content-type': 'application/json', ...headers });
          res.flushHeaders();
          if (await this.#wait(fault.delayMs, res)) res.end(JSON.stringify(wire.json(resolved, record)));
        }
        return;
      }
    }
  }

  async #nextReply(record: RecordedRequest): Promise<FakeMessageReply | FakeFault> {
    const next = this.#queue.shift() ?? this.#defaultReply;
    return typeof next === 'function' ? await next(record) : next;
  }

  #resolve(reply: FakeMessageReply, record: RecordedRequest, wire: FakeWire): ResolvedReply {
    const n = ++this.#counter;
    const body = isObject(record.body) ? record.body : {};
    const toolCalls = (reply.toolCalls ?? []).map((call, index) => {
      const argumentsJson = call.rawInput ?? JSON.stringify(call.input ?? {});
      return { id: call.id ?? `${wire.toolIdPrefix}_${n}_${index}`, name: call.name, argumentsJson, input: tryParseJson(argumentsJson) };
    });
    const text = reply.text ?? '';
    const outputChars = text.length + toolCalls.reduce((sum, call) => sum + call.argumentsJson.length, 0);
    return {
      id: `${wire.messageIdPrefix}_${n}`,
      model: typeof body.model === 'string' ? body.model : 'fake-model',
      text,
      toolCalls,
      stopReason: reply.stopReason ?? (toolCalls.length > 0 ? 'tool_use' : 'end_turn'),
      usage: {
        inputTokens: reply.usage?.inputTokens ?? estimateTokens(JSON.stringify([body.system ?? '', body.messages ?? []]).length),
        outputTokens: reply.usage?.outputTokens ?? estimateTokens(outputChars),
      },
    };
  }

  /** Writes SSE frames, waiting `gapMs` before each; stops if the client goes away. */
  async #writeSse(res: ServerResponse, frames: string[], headers: Record<string, string>, gapMs: number): Promise<void> {
    writeSseHead(res, headers);
    for (const frame of frames) {
      if (gapMs > 0 && !(await this.#wait(gapMs, res))) return;
      if (res.destroyed) return;
      res.write(frame);
    }
    res.end();
  }

  #dropAfterWriting(res: ServerResponse, data: string): void {
    this.#dropped.add(res);
    res.write(data, () => res.socket?.destroy());
  }

  /** Resolves true after `ms`, or false as soon as the client disconnects. */
  #wait(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      if (res.destroyed) {
        resolve(false);
        return;
      }
      const onClose = (): void => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        res.off('close', onClose);
        resolve(true);
      }, ms);
      this.#timers.add(timer);
      res.once('close', onClose);
    });
  }
}

function writeSseHead(res: ServerResponse, headers: Record<string, string>): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
  res.flushHeaders();
}

function writeJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function detectProtocol(method: string, path: string): FakeProtocol {
  const route = path.replace(/\/+$/, '');
  if (method === 'POST' && route === '/v1/messages') return 'anthropic';
  if (method === 'POST' && route === '/v1/chat/completions') return 'openai';
  if (method === 'GET' && route === '/v1/models') return 'models';
  if (method === 'POST' && route === '/v1/embeddings') return 'embeddings';
  return 'unknown';
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(raw: string): unknown {
  if (raw === '') return undefined;
  return tryParseJson(raw);
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
