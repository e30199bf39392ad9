import type { Embedder } from '../../ports/embedder.js';

export const LOCAL_EMBEDDER_MODEL = 'colony-local-hash-384';
export const LOCAL_EMBEDDER_DIMENSIONS = 384;
/** Bigrams count for less than single words: they add word order, not new words. */
const BIGRAM_WEIGHT = 0.5;

/**
 * The built-in embedder, for when no embedding model is configured. It is LEXICAL, NOT SEMANTIC:
 * it hashes words and word pairs into a vector (feature hashing), so texts sharing words come out
 * close and texts about the same thing in different words do not ("car" is no closer to
 * "automobile" than to "banana"). Results made with it are labelled `kind: 'local'`.
 *
 * What it does, deterministically and with nothing to download: Unicode-normalise and lowercase
 * the text, split it into words (letters and digits), drop a short list of English stop words,
 * strip plural endings (Harman's S-stemmer), then add each word (weight 1) and each pair of
 * adjacent words (weight 0.5) with sublinear term frequency (1 + ln tf) into one of 384 buckets
 * chosen by a hash, with a hashed sign so that collisions cancel out on average instead of piling
 * up. The vector is L2-normalised, so cosine similarity is a dot product. A text without words gets
 * one fixed unit vector.
 */
export class LocalEmbedder implements Embedder {
  readonly model = LOCAL_EMBEDDER_MODEL;
  readonly dimensions = LOCAL_EMBEDDER_DIMENSIONS;
  readonly kind = 'local' as const;

  async embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    return texts.map((text) => localEmbedding(text));
  }
}

export function localEmbedding(text: string, dimensions: number = LOCAL_EMBEDDER_DIMENSIONS): Float32Array {
  const words = localTokens(text);
  const counts = new Map<string, number>();
  const add = (feature: string) => counts.set(feature, (counts.get(feature) ?? 0) + 1);
  words.forEach((word, i) => {
    add(`w ${word}`);
    const next = words[i + 1];
    if (next !== undefined) add(`b ${word} ${next}`);
  });
  if (counts.size === 0) add('empty');

  const vector = new Float32Array(dimensions);
  for (const [feature, tf] of counts) {
    const h = fnv1a(feature);
    const bucket = mix(h) % dimensions;
    const sign = mix(h ^ 0x9e3779b9) & 1 ? -1 : 1;
    const weight = feature.startsWith('b ') ? BIGRAM_WEIGHT : 1;
    vector[bucket] = (vector[bucket] as number) + sign * weight * (1 + Math.log(tf));
  }
  let norm = 0;
  for (const x of vector) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm === 0) {
    // Every feature cancelled out (possible, if very unlikely): fall back to the empty text's vector.
    return localEmbedding('', dimensions);
  }
  for (let i = 0; i < vector.length; i++) vector[i] = (vector[i] as number) / norm;
  return vector;
}

/** The words the local embedder sees: normalised, without stop words, plurals stripped. */
export function localTokens(text: string): string[] {
  const words = text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.filter((w) => !STOP_WORDS.has(w)).map(stripPlural);
}

/** Harman's S-stemmer: ies→y, es→e, s→'' with the usual exceptions. */
function stripPlural(word: string): string {
  if (word.length <= 3) return word;
  if (word.endsWith('ies') && !word.endsWith('eies') && !word.endsWith('aies')) return `${word.slice(0, -3)}y`;
  if (word.endsWith('es') && !word.endsWith('aes') && !word.endsWith('ees') && !word.endsWith('oes')) return word.slice(0, -1);
  if (word.endsWith('s') && !word.endsWith('us') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** MurmurHash3's finaliser: spreads every input bit over the output. */
function mix(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an and are as at be been but by can could did do does for from had has have he her his how i if in into is it its ' +
    'may me might my no not of on or our should so than that the their them then there these they this those to too us ' +
    'was we were what when where which while who why will with would you your'
  ).split(' '),
);
