import { L1_ENTRY_OVERHEAD_BYTES } from './memory-defaults.js';

export interface L1CacheOptions {
  /** Bound on the bytes of all entries (each: its JSON length plus `entryOverheadBytes`). */
  maxBytes: number;
  /** TTL of an entry set without its own; null: entries stay until evicted. */
  defaultTtlMs: number | null;
  entryOverheadBytes?: number;
  now?: () => number;
}

export interface L1SetOptions {
  /** Overrides the default TTL; null: no expiry. */
  ttlMs?: number | null;
  /** Absolute expiry (epoch ms); the entry expires at the earlier of this and the TTL. */
  expiresAt?: number | null;
  /** Byte length of the value's JSON when the caller already has it (saves a stringify). */
  jsonBytes?: number;
}

export interface L1Stats {
  hits: number;
  misses: number;
  evictions: number;
  /** Entries dropped because their TTL ran out (found on read or by `prune`). */
  expirations: number;
  bytes: number;
  entries: number;
  maxBytes: number;
}

interface Slot<V> {
  value: V;
  bytes: number;
  /** Epoch ms; Infinity: never. */
  expiresAt: number;
}

/**
 * The in-process tier (L1): an LRU bounded in bytes, with a TTL per entry. A JavaScript Map keeps
 * insertion order, so re-inserting on every hit keeps the least recently used entry first: get, set
 * and delete are O(1), eviction pops from the front. Expired entries are dropped when read, and in
 * bulk by `prune` (the memory GC calls it), so they never outlive their TTL for a reader.
 */
export class L1Cache<V> {
  private readonly slots = new Map<string, Slot<V>>();
  private readonly maxBytes: number;
  private readonly defaultTtlMs: number | null;
  private readonly overhead: number;
  private readonly now: () => number;
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private expirations = 0;

  constructor(options: L1CacheOptions) {
    if (!(options.maxBytes >= 0)) throw new RangeError(`L1 maxBytes must be a non-negative number, got ${options.maxBytes}`);
    if (options.defaultTtlMs !== null && !(options.defaultTtlMs > 0)) {
      throw new RangeError(`L1 defaultTtlMs must be positive or null, got ${options.defaultTtlMs}`);
    }
    this.maxBytes = options.maxBytes;
    this.defaultTtlMs = options.defaultTtlMs;
    this.overhead = options.entryOverheadBytes ?? L1_ENTRY_OVERHEAD_BYTES;
    this.now = options.now ?? Date.now;
  }

  get(key: string): V | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) {
      this.misses++;
      return undefined;
    }
    if (slot.expiresAt <= this.now()) {
      this.remove(key, slot);
      this.expirations++;
      this.misses++;
      return undefined;
    }
    // Move to the back: most recently used.
    this.slots.delete(key);
    this.slots.set(key, slot);
    this.hits++;
    return slot.value;
  }

  /** Whether a live entry exists; does not count as a hit or miss, does not refresh recency. */
  has(key: string): boolean {
    const slot = this.slots.get(key);
    return slot !== undefined && slot.expiresAt > this.now();
  }

  /**
   * Caches `value`. Returns false (and drops any previous entry of the key) when the entry alone
   * exceeds the bound or is already expired.
   */
  set(key: string, value: V, options: L1SetOptions = {}): boolean {
    const now = this.now();
    const ttlMs = options.ttlMs === undefined ? this.defaultTtlMs : options.ttlMs;
    let expiresAt = ttlMs === null ? Infinity : now + ttlMs;
    if (options.expiresAt !== undefined && options.expiresAt !== null) expiresAt = Math.min(expiresAt, options.expiresAt);
    const bytes = (options.jsonBytes ?? jsonBytes(value)) + this.overhead;

    const previous = this.slots.get(key);
    if (previous !== undefined) this.remove(key, previous);
    if (bytes > this.maxBytes || expiresAt <= now) return false;

    this.slots.set(key, { value, bytes, expiresAt });
    this.bytes += bytes;
    while (this.bytes > this.maxBytes) {
      const oldest = this.slots.entries().next();
      if (oldest.done) break;
      const [oldestKey, oldestSlot] = oldest.value;
      this.remove(oldestKey, oldestSlot);
      this.evictions++;
    }
    return true;
  }

  delete(key: string): boolean {
    const slot = this.slots.get(key);
    if (slot === undefined) return false;
    this.remove(key, slot);
    return true;
  }

  /** Deletes every entry whose key starts with `prefix`; returns how many. O(n). */
  deletePrefix(prefix: string): number {
    let removed = 0;
    for (const [key, slot] of this.slots) {
      if (key.startsWith(prefix)) {
        this.remove(key, slot);
        removed++;
      }
    }
    return removed;
  }

  /** Drops every expired entry; returns how many. O(n): for a background sweep, not a hot path. */
  prune(): number {
    const now = this.now();
    let removed = 0;
    for (const [key, slot] of this.slots) {
      if (slot.expiresAt <= now) {
        this.remove(key, slot);
        removed++;
      }
    }
    this.expirations += removed;
    return removed;
  }

  clear(): void {
    this.slots.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.slots.size;
  }

  stats(): L1Stats {
    return {
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      expirations: this.expirations,
      bytes: this.bytes,
      entries: this.slots.size,
      maxBytes: this.maxBytes,
    };
  }

  private remove(key: string, slot: Slot<V>): void {
    this.slots.delete(key);
    this.bytes -= slot.bytes;
  }
}

/** UTF-8 byte length of a value's JSON (0 for undefined). */
export function jsonBytes(value: unknown): number {
  const json = JSON.stringify(value);
  return json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
}
