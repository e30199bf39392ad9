import { fakeEmbedding, toBase64Float32 } from './fake-embeddings.js';
import { openaiWire } from './fake-openai-wire.js';
import { estimateTokens } from './fake-wire.js';

/**
 * The fake server's non-chat routes, as pure request → response functions: GET /v1/models (in the
 * Anthropic or the OpenAI shape) and POST /v1/embeddings (OpenAI shape, for the memory feature).
 */

export interface FakeRouteResponse {
  status: number;
  body: unknown;
}

/** Pinned, so that listings are identical from run to run. */
const MODEL_CREATED_AT = '2026-01-01T00:00:00Z';

export function modelsResponse(models: readonly string[], anthropicShape: boolean): FakeRouteResponse {
  if (anthropicShape) {
    const data = models.map((id) => ({ type: 'model', id, display_name: id, created_at: MODEL_CREATED_AT }));
    return { status: 200, body: { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null } };
  }
  const created = Date.parse(MODEL_CREATED_AT) / 1000;
  return { status: 200, body: { object: 'list', data: models.map((id) => ({ id, object: 'model', created, owned_by: 'colony-fake' })) } };
}

export function embeddingsResponse(body: Record<string, unknown>, defaultDimensions: number): FakeRouteResponse {
  const input = body.input;
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((item) => typeof item === 'string') ? input : null;
  if (texts === null || texts.length === 0) {
    return { status: 400, body: openaiWire.errorBody(400, "'input' must be a string or a non-empty array of strings", 'req_fake') };
  }
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : defaultDimensions;
  // The openai SDK asks for base64 unless told otherwise, and decodes it back to floats.
  const base64 = body.encoding_format === 'base64';
  const tokens = texts.reduce((sum, text) => sum + estimateTokens(text.length), 0);
  return {
    status: 200,
    body: {
      object: 'list',
      data: texts.map((text, index) => {
        const vector = fakeEmbedding(text, dimensions);
        return { object: 'embedding', index, embedding: base64 ? toBase64Float32(vector) : vector };
      }),
      model: typeof body.model === 'string' ? body.model : 'fake-embedding',
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
  };
}
