import type { JsonValue } from '../domain/json.js';

/**
 * The MemoryStore port: the durable tier (L3) of Colony's memory. Adapters:
 * `adapters/storage/sqlite/sqlite-memory-store.ts` (shares the colony's SQLite file). Every adapter
 * runs `test/memory-store-conformance.ts`.
 *
 * Contract:
 * - Entries are addressed by (namespace, key). `version` starts at 1 and increases by one per write.
 * - `put` with `expectedVersion`: a number must equal the stored version; `null` means "must not
 *   exist"; undefined writes unconditionally. A mismatch rejects with ConflictError and writes nothing.
 * - Expired entries (expiresAt <= now) are never returned by reads or searches, even before GC.
 * - Values are stored however the adapter likes (compressed, deduplicated by content hash); callers
 *   always get back exactly the JSON they stored.
 */
export interface MemoryStore {
  get(namespace: string, key: string, now: number): Promise<MemoryEntry | undefined>;
  put(entry: MemoryWrite, expectedVersion?: number | null): Promise<MemoryEntry>;
  /** Deletes; with `expectedVersion`, only that version (ConflictError otherwise). Returns whether it existed. */
  delete(namespace: string, key: string, expectedVersion?: number): Promise<boolean>;
  list(query: MemoryListQuery): Promise<MemoryEntry[]>;
  count(query: Omit<MemoryListQuery, 'limit' | 'offset'>): Promise<number>;
  /** Records reads (access count, accessed-at) in bulk; cheap and eventually consistent. */
  recordAccess(hits: readonly { namespace: string; key: string; at: number }[]): Promise<void>;
  /** Keyword search (BM25 over key, value text and tags), best first. */
  searchText(query: string, filter: MemorySearchFilter): Promise<MemorySearchHit[]>;
  /** Nearest neighbours of `vector` among entries embedded with `model`, best first. */
  searchVector(vector: Float32Array, model: string, filter: MemorySearchFilter): Promise<MemorySearchHit[]>;
  setEmbedding(namespace: string, key: string, version: number, model: string, vector: Float32Array): Promise<void>;
  /** Entries (namespace, key, version, text) that have no embedding for `model` yet. */
  listUnembedded(model: string, limit: number): Promise<{ namespace: string; key: string; version: number; text: string }[]>;
  /** Removes up to `limit` expired entries; returns how many. */
  deleteExpired(now: number, limit: number): Promise<number>;
  stats(now: number): Promise<MemoryStoreStats>;
}

export interface MemoryWrite {
  namespace: string;
  key: string;
  value: JsonValue;
  tags: string[];
  metadata: Record<string, JsonValue>;
  /** Epoch ms after which the entry is gone; null: never. */
  expiresAt: number | null;
  at: number;
}

export interface MemoryEntry {
  namespace: string;
  key: string;
  value: JsonValue;
  version: number;
  tags: string[];
  metadata: Record<string, JsonValue>;
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  accessedAt: number;
  accessCount: number;
  /** Bytes of the value's JSON (before compression). */
  size: number;
}

export interface MemoryListQuery {
  namespace?: string;
  /** Entries having every one of these tags. */
  tags?: readonly string[];
  keyPrefix?: string;
  now: number;
  limit?: number;
  offset?: number;
}

export interface MemorySearchFilter {
  namespace?: string;
  /** Several namespaces (e.g. a swarm's own plus `shared`); ignored when `namespace` is set. */
  namespaces?: readonly string[];
  tags?: readonly string[];
  now: number;
  limit: number;
}

export interface MemorySearchHit {
  entry: MemoryEntry;
  /** Higher is better; comparable within one result list only. */
  score: number;
}

export interface MemoryStoreStats {
  entries: number;
  expired: number;
  /** Bytes of values as stored (after compression and deduplication). */
  storedBytes: number;
  /** Bytes of values as callers see them. */
  logicalBytes: number;
  namespaces: { namespace: string; entries: number }[];
  embeddings: number;
}
