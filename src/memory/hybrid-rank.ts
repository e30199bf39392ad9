import type { MemorySearchHit } from '../ports/memory-store.js';

/**
 * Hybrid ranking: reciprocal rank fusion (RRF, Cormack et al. 2009) of a keyword result list and a
 * vector result list. Each list contributes weight / (k + rank) for every hit it has (rank from 1),
 * so only positions matter, never the lists' incomparable raw scores (BM25 vs cosine). k = 60 is
 * the constant from the paper: it damps the difference between the first few positions so that
 * agreement between the lists counts more than either list's top spot.
 *
 * Deterministic: equal fused scores are ordered by the best position the hit reached in any list,
 * then by (namespace, key).
 */

export const RRF_K = 60;

export interface RankedList<T> {
  hits: readonly T[];
  /** Non-negative; 1 for an equal say. */
  weight: number;
}

export interface FusedHit<T> {
  item: T;
  score: number;
  /** The hit's 1-based position in each input list, or null where it does not appear. */
  ranks: (number | null)[];
}

/** Fuses any number of ranked lists; `idOf` says when two hits are the same item. */
export function reciprocalRankFusion<T>(
  lists: readonly RankedList<T>[],
  idOf: (item: T) => string,
  options: { k?: number; limit?: number } = {},
): FusedHit<T>[] {
  const k = options.k ?? RRF_K;
  if (!(k >= 0)) throw new RangeError('RRF k must be a non-negative number');
  const fused = new Map<string, FusedHit<T> & { id: string; best: number }>();
  lists.forEach((list, l) => {
    if (!(list.weight >= 0)) throw new RangeError('RRF weights must be non-negative numbers');
    const seen = new Set<string>();
    list.hits.forEach((item, i) => {
      const id = idOf(item);
      if (seen.has(id)) return; // A repeated hit counts once, at its best position.
      seen.add(id);
      const rank = i + 1;
      let entry = fused.get(id);
      if (!entry) {
        entry = { id, item, score: 0, ranks: lists.map(() => null), best: Number.POSITIVE_INFINITY };
        fused.set(id, entry);
      }
      entry.score += list.weight / (k + rank);
      entry.ranks[l] = rank;
      entry.best = Math.min(entry.best, rank);
    });
  });
  const ordered = [...fused.values()].sort(
    (a, b) => b.score - a.score || a.best - b.best || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const limited = options.limit === undefined ? ordered : ordered.slice(0, options.limit);
  return limited.map(({ item, score, ranks }) => ({ item, score, ranks }));
}

export interface HybridWeights {
  keyword: number;
  vector: number;
}

export const DEFAULT_HYBRID_WEIGHTS: HybridWeights = { keyword: 1, vector: 1 };

/**
 * Memory search hits from keyword and vector search, fused. The returned hits carry the fused
 * score (comparable within this list only, as the port says of every score).
 */
export function hybridRank(
  keyword: readonly MemorySearchHit[],
  vector: readonly MemorySearchHit[],
  options: { weights?: HybridWeights; k?: number; limit?: number } = {},
): MemorySearchHit[] {
  const weights = options.weights ?? DEFAULT_HYBRID_WEIGHTS;
  const fusionOptions: { k?: number; limit?: number } = {};
  if (options.k !== undefined) fusionOptions.k = options.k;
  if (options.limit !== undefined) fusionOptions.limit = options.limit;
  return reciprocalRankFusion(
    [
      { hits: keyword, weight: weights.keyword },
      { hits: vector, weight: weights.vector },
    ],
    memoryHitId,
    fusionOptions,
  ).map((fused) => ({ entry: fused.item.entry, score: fused.score }));
}

/** (namespace, key): NUL cannot occur in a namespace, so the pair is unambiguous. */
export function memoryHitId(hit: MemorySearchHit): string {
  return `${hit.entry.namespace}\u0000${hit.entry.key}`;
}
