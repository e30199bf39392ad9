import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { seededRandom } from '../src/testing/seeded-random.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import { LocalEmbedder } from '../src/adapters/embedders/local-embedder.js';
import { hybridRank } from '../src/memory/hybrid-rank.js';
import type { MemorySearchHit, MemoryStore } from '../src/ports/memory-store.js';
import { T, write } from './conformance/memory-store.js';

/**
 * Search quality, measured: (a) the vec0 index against exact brute-force cosine in JS, and (b)
 * keyword, vector (local embedder) and hybrid ranking on a small labelled relevance set
 * (test/fixtures/memory-relevance.json). The numbers are printed; the assertions are floors.
 */

interface RelevanceSet {
  documents: { id: string; text: string }[];
  queries: { id: string; text: string; relevant: string[] }[];
}

let dir: string;
const stores: SqliteStore[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'colony-memory-quality-'));
});

afterAll(async () => {
  for (const store of stores) await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh database file per measurement. */
async function openMemory(name: string): Promise<MemoryStore> {
  const store = new SqliteStore({ path: join(dir, `${name}.db`), busyTimeoutMs: 5_000 });
  stores.push(store);
  await store.migrate();
  return store.memory;
}

describe('vector index recall', () => {
  it('vec0 KNN finds the same top 10 as exact brute-force cosine over 2,000 random vectors', async () => {
    const dims = 384;
    const count = 2_000;
    const queries = 50;
    const k = 10;
    const memory = await openMemory('recall');
    const random = seededRandom(20_261_101);
    const vectors = Array.from({ length: count }, () => gaussianVector(dims, random));
    await Promise.all(vectors.map((_, i) => memory.put(write({ namespace: 'recall', key: `v${i}`, value: i }))));
    await Promise.all(vectors.map((v, i) => memory.setEmbedding('recall', `v${i}`, 1, 'random-384', v)));

    let found = 0;
    for (let q = 0; q < queries; q++) {
      const query = gaussianVector(dims, random);
      const exact = vectors
        .map((v, i) => ({ key: `v${i}`, similarity: cosine(query, v) }))
        .sort((a, b) => b.similarity - a.similarity)
        .slice(0, k)
        .map((h) => h.key);
      const hits = await memory.searchVector(query, 'random-384', { namespace: 'recall', now: T, limit: k });
      expect(hits).toHaveLength(k);
      const got = new Set(hits.map((h) => h.entry.key));
      found += exact.filter((key) => got.has(key)).length;
    }
    const recall = found / (queries * k);
    // vec0 searches exhaustively (no approximate index), so recall should be 1.0; only float32
    // rounding at the 10th place could ever swap a neighbour.
    console.log(`memory search quality: vec0 recall@${k} vs exact cosine = ${recall.toFixed(4)} (${count} vectors x ${dims} dims, ${queries} queries)`);
    expect(recall).toBeGreaterThanOrEqual(0.95);
  });
});

describe('ranking on a labelled relevance set', () => {
  const set = JSON.parse(readFileSync(new URL('./fixtures/memory-relevance.json', import.meta.url), 'utf8')) as RelevanceSet;
  const embedder = new LocalEmbedder();
  const namespace = 'relevance';
  const depth = 5;
  /** Candidates taken from each list before fusion. */
  const candidates = 20;

  it('hybrid ranking is at least as good as keyword-only or vector-only search', async () => {
    expect(set.documents.length).toBeGreaterThanOrEqual(30);
    expect(set.queries.length).toBeGreaterThanOrEqual(10);
    const memory = await openMemory('relevance');
    await Promise.all(set.documents.map((d) => memory.put(write({ namespace, key: d.id, value: { text: d.text } }))));
    // Embedded the way Colony's backfill does it: whatever listUnembedded says is missing.
    const pending = await memory.listUnembedded(embedder.model, 1_000);
    expect(pending.map((p) => p.key).sort()).toEqual(set.documents.map((d) => d.id).sort());
    const vectors = await embedder.embed(pending.map((p) => p.text));
    await Promise.all(pending.map((p, i) => memory.setEmbedding(p.namespace, p.key, p.version, embedder.model, vectors[i] as Float32Array)));

    const scores = { keyword: { ndcg: 0, mrr: 0 }, vector: { ndcg: 0, mrr: 0 }, hybrid: { ndcg: 0, mrr: 0 } };
    for (const query of set.queries) {
      const filter = { namespace, now: T, limit: candidates };
      const keyword = await memory.searchText(query.text, filter);
      const [queryVector] = await embedder.embed([query.text]);
      const vector = await memory.searchVector(queryVector as Float32Array, embedder.model, filter);
      const hybrid = hybridRank(keyword, vector, { limit: candidates });
      const relevant = new Set(query.relevant);
      for (const [name, hits] of [['keyword', keyword], ['vector', vector], ['hybrid', hybrid]] as const) {
        const ids = keys(hits);
        scores[name].ndcg += ndcgAt(ids, relevant, depth);
        scores[name].mrr += reciprocalRank(ids, relevant);
      }
    }
    const n = set.queries.length;
    const table = Object.entries(scores).map(([name, s]) => `${name} nDCG@${depth} ${(s.ndcg / n).toFixed(3)} MRR ${(s.mrr / n).toFixed(3)}`);
    console.log(`memory search quality (${set.documents.length} docs, ${n} queries, local embedder): ${table.join(' | ')}`);

    const best = Math.max(scores.keyword.ndcg, scores.vector.ndcg) / n;
    expect(scores.hybrid.ndcg / n).toBeGreaterThanOrEqual(best - 0.03);
    // Both single methods find something: the set is not trivially solved by either alone.
    expect(scores.keyword.ndcg / n).toBeGreaterThan(0.3);
    expect(scores.vector.ndcg / n).toBeGreaterThan(0.3);
  });
});

function keys(hits: readonly MemorySearchHit[]): string[] {
  return hits.map((h) => h.entry.key);
}

/** Binary-relevance nDCG at `depth`. */
function ndcgAt(ranked: readonly string[], relevant: ReadonlySet<string>, depth: number): number {
  let dcg = 0;
  ranked.slice(0, depth).forEach((id, i) => {
    if (relevant.has(id)) dcg += 1 / Math.log2(i + 2);
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(depth, relevant.size); i++) ideal += 1 / Math.log2(i + 2);
  return ideal === 0 ? 0 : dcg / ideal;
}

function reciprocalRank(ranked: readonly string[], relevant: ReadonlySet<string>): number {
  const at = ranked.findIndex((id) => relevant.has(id));
  return at < 0 ? 0 : 1 / (at + 1);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / Math.sqrt(na * nb);
}

function gaussianVector(dims: number, random: () => number): Float32Array {
  const v = new Float32Array(dims);
  for (let i = 0; i < dims; i++) {
    const u = 1 - random();
    v[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  }
  return v;
}
