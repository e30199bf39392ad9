import { ProviderError } from '../../domain/errors.js';
import type { Embedder } from '../../ports/embedder.js';
import type { ResolvedApiProviderConfig } from '../../providers/provider-config.js';
import { cancelledError, providerErrorFromHttp, providerErrorFromTransport } from '../../providers/provider-errors.js';
import type { Secret } from '../../providers/secret.js';
import {
  DEFAULT_EMBEDDING_BATCH_SIZE,
  DEFAULT_EMBEDDING_TIMEOUT_MS,
  DEFAULT_OPENAI_EMBEDDING_DIMENSIONS,
  DEFAULT_OPENAI_EMBEDDING_MODEL,
  MAX_EMBEDDING_BATCH_CHARACTERS,
} from './embedder-defaults.js';

const PROVIDER = 'openai-embeddings';

export interface OpenAIEmbedderOptions {
  /** With `/v1`, as OPENAI_BASE_URL is written: requests go to `{baseUrl}/embeddings`. */
  baseUrl: string;
  /** Sent as a bearer token; null or absent for local servers that need none. */
  apiKey?: Secret | string | null;
  model: string;
  /** The vector length this model returns (or is asked to return: see `requestDimensions`). */
  dimensions: number;
  /**
   * Whether to send `dimensions` in the request. OpenAI's text-embedding-3 models shorten their
   * vectors on request; other models and many compatible servers reject the field. Default: true
   * for models named text-embedding-3-*.
   */
  requestDimensions?: boolean;
  /** Per request (one batch). */
  timeoutMs?: number;
  /** Texts per request. */
  batchSize?: number;
}

/**
 * Embeddings from any OpenAI-compatible `POST /v1/embeddings` endpoint (OpenAI, Ollama, vLLM,
 * LM Studio, llama.cpp server), over fetch. Texts go in batches (by count and by total length),
 * one request at a time, each with its own timeout. Every failure is a ProviderError that says what
 * went wrong, with `retryable` set for 408/429/5xx, network failures and timeouts; this class does
 * not retry itself (whoever schedules embedding work does, later). The API key never appears in
 * errors.
 */
export class OpenAIEmbedder implements Embedder {
  readonly model: string;
  readonly dimensions: number;
  readonly kind = 'remote' as const;
  readonly #endpoint: string;
  readonly #apiKey: string | null;
  readonly #requestDimensions: boolean;
  readonly #timeoutMs: number;
  readonly #batchSize: number;

  constructor(options: OpenAIEmbedderOptions) {
    if (!Number.isInteger(options.dimensions) || options.dimensions <= 0) {
      throw new ProviderError(`${PROVIDER}: dimensions must be a positive integer`, { provider: PROVIDER });
    }
    this.model = options.model;
    this.dimensions = options.dimensions;
    this.#endpoint = `${options.baseUrl.replace(/\/+$/, '')}/embeddings`;
    const key = options.apiKey ?? null;
    this.#apiKey = key === null ? null : typeof key === 'string' ? key : key.reveal();
    this.#requestDimensions = options.requestDimensions ?? options.model.startsWith('text-embedding-3');
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_EMBEDDING_TIMEOUT_MS;
    this.#batchSize = Math.max(1, options.batchSize ?? DEFAULT_EMBEDDING_BATCH_SIZE);
  }

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    const vectors: Float32Array[] = [];
    for (const batch of batches(texts, this.#batchSize, MAX_EMBEDDING_BATCH_CHARACTERS)) {
      vectors.push(...(await this.#request(batch, signal)));
    }
    return vectors;
  }

  async #request(input: readonly string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    if (signal?.aborted) throw cancelledError(PROVIDER);
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const body: Record<string, unknown> = { model: this.model, input, encoding_format: 'float' };
    if (this.#requestDimensions) body.dimensions = this.dimensions;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (this.#apiKey !== null) headers.authorization = `Bearer ${this.#apiKey}`;
    const secrets = [this.#apiKey];

    let response: Response;
    let text: string;
    try {
      response = await fetch(this.#endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal: combined });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw cancelledError(PROVIDER);
      if (timeout.aborted) {
        throw new ProviderError(`${PROVIDER}: no answer from ${this.#endpoint} within ${this.#timeoutMs} ms`, {
          provider: PROVIDER,
          retryable: true,
          details: { reason: 'timeout', timeoutMs: this.#timeoutMs },
        });
      }
      throw providerErrorFromTransport(error, PROVIDER, secrets);
    }

    if (!response.ok) {
      const detail = errorDetail(text);
      throw providerErrorFromHttp({
        provider: PROVIDER,
        status: response.status,
        headers: response.headers,
        message: detail.message ?? (text.slice(0, 200) || response.statusText || 'request failed'),
        errorType: detail.type,
        requestId: response.headers.get('x-request-id'),
        secrets,
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw providerErrorFromTransport(error, PROVIDER, secrets);
    }
    return this.#vectors(parsed, input.length);
  }

  /** The vectors of a 200 answer, in input order, checked for count and length. */
  #vectors(body: unknown, expected: number): Float32Array[] {
    const data = (body as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length !== expected) {
      throw malformed(`expected ${expected} embeddings, got ${Array.isArray(data) ? data.length : 'no data array'}`);
    }
    const out: (Float32Array | undefined)[] = new Array<Float32Array | undefined>(expected);
    data.forEach((item: unknown, position) => {
      const { index, embedding } = (item ?? {}) as { index?: unknown; embedding?: unknown };
      const at = typeof index === 'number' ? index : position;
      if (!Number.isInteger(at) || at < 0 || at >= expected || out[at] !== undefined) throw malformed(`bad or repeated embedding index ${String(index)}`);
      const vector = toVector(embedding);
      if (vector === null) throw malformed(`embedding ${at} is not a list of numbers`);
      if (vector.length !== this.dimensions) {
        throw new ProviderError(
          `${PROVIDER}: model ${this.model} returned ${vector.length}-dimensional vectors; ${this.dimensions} are configured`,
          { provider: PROVIDER, retryable: false, details: { reason: 'dimensions', expected: this.dimensions, actual: vector.length } },
        );
      }
      out[at] = vector;
    });
    return out as Float32Array[];
  }
}

/** An OpenAIEmbedder on the resolved `openai` provider settings (base URL, key, timeout). */
export function openAIEmbedderFromConfig(
  config: Pick<ResolvedApiProviderConfig, 'baseUrl' | 'apiKey' | 'timeoutMs'>,
  embedding: { model?: string; dimensions?: number; requestDimensions?: boolean; batchSize?: number } = {},
): OpenAIEmbedder {
  return new OpenAIEmbedder({
    baseUrl: config.baseUrl,
    apiKey: config.apiKey,
    model: embedding.model ?? DEFAULT_OPENAI_EMBEDDING_MODEL,
    dimensions: embedding.dimensions ?? DEFAULT_OPENAI_EMBEDDING_DIMENSIONS,
    timeoutMs: Math.min(config.timeoutMs, DEFAULT_EMBEDDING_TIMEOUT_MS),
    ...(embedding.requestDimensions === undefined ? {} : { requestDimensions: embedding.requestDimensions }),
    ...(embedding.batchSize === undefined ? {} : { batchSize: embedding.batchSize }),
  });
}

/** Splits texts into batches of at most `size` texts and about `maxChars` characters. */
export function batches(texts: readonly string[], size: number, maxChars: number): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const text of texts) {
    if (current.length > 0 && (current.length >= size || chars + text.length > maxChars)) {
      out.push(current);
      current = [];
      chars = 0;
    }
    current.push(text);
    chars += text.length;
  }
  if (current.length > 0) out.push(current);
  return out;
}

function toVector(embedding: unknown): Float32Array | null {
  if (typeof embedding === 'string') {
    // base64 little-endian float32s, what a server may send when asked for (or defaulting to) base64.
    const bytes = Buffer.from(embedding, 'base64');
    if (bytes.byteLength % 4 !== 0) return null;
    const copy = new Uint8Array(bytes);
    return new Float32Array(copy.buffer);
  }
  if (!Array.isArray(embedding) || !embedding.every((x) => typeof x === 'number' && Number.isFinite(x))) return null;
  return Float32Array.from(embedding as number[]);
}

function errorDetail(text: string): { message: string | null; type: string | null } {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown; type?: unknown } | string };
    const error = body.error;
    if (typeof error === 'string') return { message: error, type: null };
    return {
      message: typeof error?.message === 'string' ? error.message : null,
      type: typeof error?.type === 'string' ? error.type : null,
    };
  } catch {
    return { message: null, type: null };
  }
}

function malformed(what: string): ProviderError {
  return new ProviderError(`${PROVIDER}: malformed response: ${what}`, {
    provider: PROVIDER,
    retryable: false,
    details: { reason: 'malformed_response' },
  });
}
