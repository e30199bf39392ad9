import type { Logger } from '../kernel/logger.js';
import type { Cache } from '../ports/cache.js';
import type { MemoryEntry } from '../ports/memory-store.js';
import { decodeEntry, encodeEntry } from './entry-codec.js';

export interface L2TierOptions {
  ttlMs: number;
  compressAboveBytes: number;
  raceWindowMs: number;
  pendingDeletesMax: number;
  /** How long the first write waits for a cache that is still connecting (once per tier). */
  connectWaitMs: number;
  logger: Logger;
  now: () => number;
}

/**
 * Memory's use of the shared Cache (L2): entries encoded with their TTL capped at the L2 TTL, hit
 * counters, and the coherence rules that keep L2 from serving stale values for long.
 *
 * - A write sets the new value and publishes an invalidation (other processes drop their L1 copy).
 * - A set may land out of order: a reader that read L3 before another process's write can put the
 *   old value back after that write's set. Both ends of such a race set the key shortly before
 *   hearing the other's invalidation, so an invalidation from another process for a key this process
 *   set within `raceWindowMs` deletes the key from L2. Deletes are always safe; the next read
 *   back-fills from L3.
 * - While L2 is down, writes cannot reach it: their keys are remembered (up to a bound) and deleted
 *   from L2, with an invalidation, when it comes back. `checkRecovery` reports the moment it comes
 *   back, so that the caller can drop its L1 too (invalidations were missed meanwhile).
 */
export class L2Tier {
  hits = 0;
  misses = 0;
  private readonly cache: Cache;
  private readonly options: L2TierOptions;
  /** Key → when this process last set it in L2, oldest first. */
  private readonly recentSets = new Map<string, number>();
  private readonly pendingDeletes = new Set<string>();
  private pendingOverflowLogged = false;
  private wasHealthy: boolean;
  private replaying: Promise<void> | null = null;
  /** Set once a write has waited for the first connection (it is never waited for again). */
  private connectWaited = false;

  constructor(cache: Cache, options: L2TierOptions) {
    this.cache = cache;
    this.options = options;
    this.wasHealthy = cache.healthy;
  }

  get healthy(): boolean {
    return this.cache.healthy;
  }

  get description(): string {
    return this.cache.description;
  }

  /** The cached entry, or undefined (a miss, an expired entry, or L2 unreachable: not counted). */
  async get(cacheKey: string): Promise<MemoryEntry | undefined> {
    this.checkRecovery();
    if (!this.cache.healthy) return undefined;
    const data = await this.cache.get(cacheKey);
    const entry = data === undefined ? undefined : decodeEntry(data);
    if (entry === undefined || (entry.expiresAt !== null && entry.expiresAt <= this.options.now())) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry;
  }

  /** Caches `entry` (a write or a back-fill). `publish`: tell other processes (a write). */
  async put(cacheKey: string, entry: MemoryEntry, publish: boolean, valueJson?: string): Promise<void> {
    if (publish) await this.awaitFirstConnection();
    this.checkRecovery();
    const now = this.options.now();
    const ttl = entry.expiresAt === null ? this.options.ttlMs : Math.min(this.options.ttlMs, entry.expiresAt - now);
    if (!this.cache.healthy) {
      if (publish) this.rememberPendingDelete(cacheKey);
      return;
    }
    this.noteSet(cacheKey, now);
    const sets: Promise<void>[] = [];
    if (ttl >= 1) sets.push(this.cache.set(cacheKey, encodeEntry(entry, this.options.compressAboveBytes, valueJson), ttl));
    else sets.push(this.cache.delete(cacheKey));
    if (publish) sets.push(this.cache.publishInvalidation(cacheKey));
    await Promise.all(sets);
    if (publish && !this.cache.healthy) this.rememberPendingDelete(cacheKey);
  }

  /** Removes the key from L2 and tells other processes. */
  async remove(cacheKey: string): Promise<void> {
    await this.awaitFirstConnection();
    this.checkRecovery();
    if (!this.cache.healthy) {
      this.rememberPendingDelete(cacheKey);
      return;
    }
    this.recentSets.delete(cacheKey);
    await Promise.all([this.cache.delete(cacheKey), this.cache.publishInvalidation(cacheKey)]);
    if (!this.cache.healthy) this.rememberPendingDelete(cacheKey);
  }

  /** Another process changed `cacheKey`: drop it from L2 if this process may have raced it. */
  onRemoteInvalidation(cacheKey: string): void {
    const setAt = this.recentSets.get(cacheKey);
    if (setAt !== undefined && this.options.now() - setAt <= this.options.raceWindowMs) {
      this.recentSets.delete(cacheKey);
      void this.cache.delete(cacheKey);
    }
  }

  /**
   * True exactly once each time L2 has come back (or come up) since last looked at; then replays
   * the deletes remembered while it was down.
   */
  checkRecovery(): boolean {
    const healthy = this.cache.healthy;
    const recovered = healthy && !this.wasHealthy;
    this.wasHealthy = healthy;
    if (recovered && this.pendingDeletes.size > 0 && !this.replaying) {
      this.replaying = this.replayPendingDeletes().finally(() => {
        this.replaying = null;
      });
    }
    return recovered;
  }

  /** Waits for a replay of pending deletes in progress (tests, shutdown). */
  async settle(): Promise<void> {
    await this.replaying;
  }

  get pendingDeleteCount(): number {
    return this.pendingDeletes.size;
  }

  /** Forgets race-window entries older than the window. */
  prune(): void {
    const horizon = this.options.now() - this.options.raceWindowMs;
    for (const [key, at] of this.recentSets) {
      if (at > horizon) break;
      this.recentSets.delete(key);
    }
  }

  /**
   * A process that writes right after it starts (a CLI command) would otherwise find the cache still
   * connecting, skip the invalidation, and exit with it only remembered. The first write waits for
   * the connection, bounded; a cache that was up before, or did not come up in time, is not waited for.
   */
  private async awaitFirstConnection(): Promise<void> {
    if (this.connectWaited) return;
    this.connectWaited = true;
    if (this.cache.healthy || this.wasHealthy) return;
    await this.cache.ready(this.options.connectWaitMs);
  }

  private noteSet(cacheKey: string, now: number): void {
    this.recentSets.delete(cacheKey);
    this.recentSets.set(cacheKey, now);
    // Amortised O(1): drop expired window entries from the front.
    for (const [key, at] of this.recentSets) {
      if (now - at <= this.options.raceWindowMs) break;
      this.recentSets.delete(key);
    }
  }

  private rememberPendingDelete(cacheKey: string): void {
    if (this.pendingDeletes.size >= this.options.pendingDeletesMax && !this.pendingDeletes.has(cacheKey)) {
      if (!this.pendingOverflowLogged) {
        this.pendingOverflowLogged = true;
        this.options.logger.warn(
          { max: this.options.pendingDeletesMax, ttlMs: this.options.ttlMs },
          'L2 cache down during many writes: some L2 entries may be stale until their TTL runs out',
        );
      }
      return;
    }
    this.pendingDeletes.add(cacheKey);
  }

  private async replayPendingDeletes(): Promise<void> {
    const keys = [...this.pendingDeletes];
    this.pendingDeletes.clear();
    this.pendingOverflowLogged = false;
    const CHUNK = 100;
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      await Promise.all(chunk.flatMap((key) => [this.cache.delete(key), this.cache.publishInvalidation(key)]));
      if (!this.cache.healthy) {
        // Down again: keep the rest (and this chunk: its deletes may not have landed) for next time.
        for (const key of keys.slice(i)) this.rememberPendingDelete(key);
        return;
      }
    }
  }
}
