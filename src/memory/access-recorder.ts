import type { Logger } from '../kernel/logger.js';
import type { MemoryStore } from '../ports/memory-store.js';

export interface AccessRecorderOptions {
  flushMs: number;
  batchSize: number;
  logger: Logger;
}

interface Hit {
  namespace: string;
  key: string;
  at: number;
}

/**
 * Collects memory reads and records them in L3 (`recordAccess`) in batches: at most one write per
 * `flushMs`, or at once when `batchSize` hits are pending. Access statistics are eventually
 * consistent by design: a failed batch is logged and dropped, never retried in a loop.
 */
export class AccessRecorder {
  private readonly store: MemoryStore;
  private readonly options: AccessRecorderOptions;
  private pending: Hit[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(store: MemoryStore, options: AccessRecorderOptions) {
    this.store = store;
    this.options = options;
  }

  record(namespace: string, key: string, at: number): void {
    this.pending.push({ namespace, key, at });
    if (this.pending.length >= this.options.batchSize) {
      void this.flush();
    } else if (this.timer === null) {
      this.timer = setTimeout(() => void this.flush(), this.options.flushMs);
      this.timer.unref();
    }
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** Writes the pending hits; resolves when they (and any batch before them) are written. */
  flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.pending;
    if (batch.length === 0) return this.inFlight;
    this.pending = [];
    this.inFlight = this.inFlight.then(async () => {
      try {
        await this.store.recordAccess(batch);
      } catch (error) {
        this.options.logger.warn({ err: error, hits: batch.length }, 'memory: could not record accesses (dropped)');
      }
    });
    return this.inFlight;
  }
}
