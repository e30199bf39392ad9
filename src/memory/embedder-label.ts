import type { EmbedderInfo } from './memory-manager.js';

/**
 * How search results name their embedder to people: the built-in local one is flagged as lexical,
 * so that nobody reads its similarity scores as meaning.
 */
export function embedderLabel(embedder: EmbedderInfo): string {
  return embedder.local
    ? `${embedder.model} (local lexical embedder: it matches shared words, not meaning)`
    : `${embedder.model} (${embedder.dimensions} dimensions)`;
}
