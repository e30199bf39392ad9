/**
 * The Embedder port: turns text into vectors for semantic memory search. Adapters:
 * `adapters/embedders/openai-embedder.ts` (any OpenAI-compatible /v1/embeddings endpoint) and
 * `adapters/embedders/local-embedder.ts` (built in, no model download: a hashing embedder, labelled
 * as such wherever results show). Results always say which embedder produced them.
 */
export interface Embedder {
  /** Identifies the vectors: results from different models are never mixed. */
  readonly model: string;
  readonly dimensions: number;
  /** `remote` for a real embedding model; `local` for the built-in hashing embedder. */
  readonly kind: 'remote' | 'local';
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}
