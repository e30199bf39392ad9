/** Defaults of the embedders, in one place. */

/** Per HTTP request to an embeddings endpoint (one batch). */
export const DEFAULT_EMBEDDING_TIMEOUT_MS = 60_000;
/** Texts per request. OpenAI accepts up to 2048; smaller batches keep one failure cheap. */
export const DEFAULT_EMBEDDING_BATCH_SIZE = 128;
/**
 * Characters per request, so that a batch of long texts stays well under OpenAI's limit of 300k
 * tokens per request (about 4 characters a token in English). A single longer text goes alone.
 */
export const MAX_EMBEDDING_BATCH_CHARACTERS = 400_000;

/** OpenAI's small embedding model, and its native vector length. */
export const DEFAULT_OPENAI_EMBEDDING_MODEL = 'text-embedding-3-small';
export const DEFAULT_OPENAI_EMBEDDING_DIMENSIONS = 1536;
