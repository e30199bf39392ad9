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
 * - Input is checked before anything is written (namespace, key, value, tags, metadata, times: see the
 *   limits below); bad input rejects with ValidationError naming the problem and changes nothing.
 * - An expired entry counts as absent for writes too: `put` with `expectedVersion: null` succeeds over
 *   it and starts again at version 1, as after a delete.
 * - `list` returns entries ordered by namespace, then key.
 * - `searchText` takes plain words, not a query language: punctuation is ignored, any word may match
 *   (BM25 ranks entries matching more and rarer words first); a query without words finds nothing.
 * - An entry's embedding belongs to one version of its value. Writing a different value drops the
 *   entry's embeddings (it shows up in `listUnembedded` again); rewriting the same value with other
 *   tags or metadata keeps them. `setEmbedding` for a version that is no longer current (or for an
 *   entry that is gone) is ignored: the caller embedded stale text. A model's vectors all have one
 *   length; a vector of another length, empty, with a non-finite component, or all zeros, is refused.
 */
export interface MemoryStore {
  get(namespace: string, key: string, now: number): Promise<MemoryEntry | undefined>;
  /**
   * The stored entry's stamp (version and updatedAt), or undefined when there is none; reads no
   * value and takes no clock (an expired entry not yet collected still has a stamp). A cached copy
   * whose stamp still matches is current: every write changes the version or, after a delete, starts
   * again at version 1 with a new updatedAt. Cheap: one index lookup, done on every L1 hit.
   */
  stamp(namespace: string, key: string): Promise<MemoryStamp | undefined>;
  put(entry: MemoryWrite, expectedVersion?: number | null): Promise<MemoryEntry>;
  /**
   * Writes an entry exactly as exported (an import): value, version, timestamps and access count.
   * Over a live entry, `skip` leaves it and resolves null; `overwrite` replaces it with a version
   * above the current one (so writers holding the old version still conflict).
   */
  restore(entry: MemoryEntry, mode: 'skip' | 'overwrite', now: number): Promise<MemoryEntry | null>;
  /**
   * Writes many entries in one transaction, each exactly as an unconditional `put` of it would, in
   * the order given; resolves with the written entries in that order. An address given more than
   * once is written once per occurrence: the last one wins and the versions count up in order (the
   * results say which version each occurrence got). All or nothing: a bad entry rejects the whole
   * batch with a ValidationError whose message and `details.index` name the entry (and
   * `details.field` what is wrong), and nothing is written. At most MAX_MEMORY_BATCH_ENTRIES
   * entries and MAX_MEMORY_BATCH_BYTES of values per call. The entries resolved are new objects,
   * sharing nothing with the input (callers may freeze and cache them without copying).
   */
  putMany(entries: readonly MemoryWrite[]): Promise<MemoryEntry[]>;
  /** `restore` of many entries in one transaction (as `putMany`): null for each entry skipped. */
  restoreMany(entries: readonly MemoryEntry[], mode: 'skip' | 'overwrite', now: number): Promise<(MemoryEntry | null)[]>;
  /**
   * Deletes; with `expectedVersion`, only that version (ConflictError otherwise). Returns whether it
   * existed. A delete takes no clock: an entry that has expired but is not yet collected is removed
   * too (and counts as existing).
   */
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
  /**
   * Entries (namespace, key, version, text) that have no embedding for `model` yet, least recently
   * written first. `text` is the value's strings, one per line (the key when the value has none).
   * Takes no clock: expired entries not yet collected may be listed.
   */
  listUnembedded(model: string, limit: number): Promise<{ namespace: string; key: string; version: number; text: string }[]>;
  /** Removes up to `limit` expired entries; returns how many. */
  deleteExpired(now: number, limit: number): Promise<number>;
  stats(now: number): Promise<MemoryStoreStats>;
}

/** Namespaces: lowercase letters, digits and `_ . : -`, starting with a letter or digit, at most 64. */
export const MEMORY_NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9_.:-]{0,63}$/;
/** Keys: 1 to this many characters (code points), no control characters. */
export const MAX_MEMORY_KEY_LENGTH = 512;
/** Largest value accepted: bytes of its JSON text (UTF-8). */
export const MAX_MEMORY_VALUE_BYTES = 1024 * 1024;
/** Tags per entry; each tag is 1 to MAX_MEMORY_TAG_LENGTH characters without control characters. */
export const MAX_MEMORY_TAGS = 64;
export const MAX_MEMORY_TAG_LENGTH = 128;
/** Largest metadata object accepted: bytes of its JSON text. */
export const MAX_MEMORY_METADATA_BYTES = 64 * 1024;
/** Entries one `putMany` / `restoreMany` may write (one transaction: bounded so that it holds locks briefly). */
export const MAX_MEMORY_BATCH_ENTRIES = 10_000;
/** Bytes of values (their JSON) one batch may write. */
export const MAX_MEMORY_BATCH_BYTES = 64 * 1024 * 1024;

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

/** What tells two versions of an entry apart without reading its value (see `MemoryStore.stamp`). */
export interface MemoryStamp {
  version: number;
  updatedAt: number;
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
  /** Several namespaces (e.g. a swarm's own plus `shared`); ignored when `namespace` is set; `[]` matches nothing. */
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
  /** Live entries (not expired). */
  entries: number;
  /** Expired entries not yet removed by `deleteExpired`. */
  expired: number;
  /**
   * Bytes of values as stored (after compression and deduplication). Both byte counts include
   * expired entries not yet removed, so their ratio is the storage saving.
   */
  storedBytes: number;
  /** Bytes of values as callers see them (each entry's JSON, counted once per entry). */
  logicalBytes: number;
  /** Live entries per namespace, ordered by namespace. */
  namespaces: { namespace: string; entries: number }[];
  /** Stored vectors, over all models. */
  embeddings: number;
}
