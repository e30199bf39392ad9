import { MAX_QUERY_TERMS } from '../sqlite/memory-text.js';

/**
 * The words PostgreSQL's keyword search sees, for memory entries and for queries. Both sides go
 * through the same folding, so that they match the way SQLite's FTS5 tokenizer (`unicode61
 * remove_diacritics 2`) matches: words are runs of letters and digits (punctuation, `/`, `-`, `@`
 * split them, and PostgreSQL's parser never sees a URL, a path or an e-mail address as one token),
 * case and diacritics do not count. The text search configuration then stems them (migration 0011).
 */

const WORD = /[\p{L}\p{N}]+/gu;
const MARKS = /\p{M}+/gu;

/** PostgreSQL's parser drops longer words (with a notice); they are left out here instead. */
const MAX_WORD_BYTES = 2046;
/**
 * Occurrences of one word kept in a document. ts_rank adds the n-th occurrence of a term with weight
 * 1/n², so occurrences past the eighth change a rank by under 2%.
 */
const MAX_OCCURRENCES = 8;
/**
 * Bytes a document's words may take in its tsvector, which PostgreSQL limits to 1 MB: a lexeme costs
 * its bytes plus an 8-byte entry, each kept occurrence a 2-byte position. A 1 MiB value of distinct
 * words would overflow it; the words past the budget are not indexed (the value is stored whole).
 */
const DOCUMENT_BUDGET_BYTES = 512 * 1024;

/** Case, compatibility forms and diacritics folded away, as FTS5's `remove_diacritics 2` does. */
export function foldText(text: string): string {
  return text.normalize('NFKC').toLowerCase().normalize('NFKD').replace(MARKS, '').normalize('NFC');
}

/**
 * The words of a document, separated by spaces, for `to_tsvector`: every word in order, each at most
 * MAX_OCCURRENCES times, within DOCUMENT_BUDGET_BYTES.
 */
export function documentWords(text: string): string {
  const seen = new Map<string, number>();
  const kept: string[] = [];
  let budget = DOCUMENT_BUDGET_BYTES;
  for (const match of foldText(text).matchAll(WORD)) {
    const word = match[0];
    const count = seen.get(word) ?? 0;
    if (count >= MAX_OCCURRENCES) continue;
    const cost = count === 0 ? Buffer.byteLength(word, 'utf8') + 10 : 2;
    if (count === 0 && cost - 10 > MAX_WORD_BYTES) continue;
    if (cost > budget) break;
    budget -= cost;
    seen.set(word, count + 1);
    kept.push(word);
  }
  return kept.join(' ');
}

/**
 * The distinct words of a query, at most MAX_QUERY_TERMS (as on SQLite): plain words, so that no
 * operator or punctuation of the input means anything. Empty when the query has no words.
 */
export function queryWords(query: string): string[] {
  const words = new Set<string>();
  for (const match of foldText(query).matchAll(WORD)) {
    if (Buffer.byteLength(match[0], 'utf8') > MAX_WORD_BYTES) continue;
    words.add(match[0]);
    if (words.size >= MAX_QUERY_TERMS) break;
  }
  return [...words];
}
