import type { JsonValue } from '../../../domain/json.js';

/**
 * The searchable text of a memory entry and the keyword query syntax, shared by the keyword index
 * (FTS5 here) and the embedding backfill (`listUnembedded`).
 */

/** Words of a query beyond this many are ignored (a pasted page is not a useful keyword query). */
export const MAX_QUERY_TERMS = 64;

const WORD = /[\p{L}\p{N}]+/gu;

/** The strings of a JSON value, in document order, one per line (numbers, booleans and keys are left out). */
export function flattenJsonText(value: JsonValue): string {
  const parts: string[] = [];
  const walk = (v: JsonValue): void => {
    if (typeof v === 'string') {
      if (v.length > 0) parts.push(v);
    } else if (Array.isArray(v)) {
      for (const item of v) walk(item);
    } else if (v !== null && typeof v === 'object') {
      for (const item of Object.values(v)) walk(item);
    }
  };
  walk(value);
  return parts.join('\n');
}

/**
 * Turns free text into an FTS5 query: each word quoted (so punctuation and FTS5 operators in the
 * input are inert), any word may match, restricted to the key, text and tags columns. BM25 then
 * ranks entries matching more, rarer words first. Null when the text has no words.
 */
export function ftsMatchExpression(query: string): string | null {
  const words = [...new Set(query.normalize('NFKC').toLowerCase().match(WORD) ?? [])].slice(0, MAX_QUERY_TERMS);
  if (words.length === 0) return null;
  return `{key text tags} : (${words.map((w) => `"${w}"`).join(' OR ')})`;
}
