import { createHash } from 'node:crypto';

/**
 * Deterministic stand-in embeddings: a unit vector derived from SHA-256 of the text, so the same
 * text always gets the same vector (across runs and processes) and different texts get unrelated
 * ones. Good for exercising storage and KNN plumbing; it carries no meaning, so similar texts are
 * not close.
 */

export const DEFAULT_FAKE_EMBEDDING_DIMENSIONS = 384;

/** One SHA-256 digest yields 8 uint32 components. */
const COMPONENTS_PER_DIGEST = 8;

export function fakeEmbedding(text: string, dimensions: number = DEFAULT_FAKE_EMBEDDING_DIMENSIONS): number[] {
  const vector: number[] = [];
  for (let block = 0; vector.length < dimensions; block += 1) {
    const digest = createHash('sha256').update(`${block}\u0000${text}`).digest();
    for (let i = 0; i < COMPONENTS_PER_DIGEST && vector.length < dimensions; i += 1) {
      vector.push(digest.readUInt32LE(i * 4) / 0xffff_ffff - 0.5);
    }
  }
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0)) || 1;
  return vector.map((value) => value / norm);
}

/** OpenAI's base64 encoding_format (the openai SDK's default): little-endian float32s. */
export function toBase64Float32(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}
