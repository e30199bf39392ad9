import type { Logger } from '../kernel/logger.js';
import type { Embedder } from '../ports/embedder.js';
import type { MemoryStore } from '../ports/memory-store.js';

export interface EmbeddingWorkerOptions {
  delayMs: number;
  batchSize: number;
  logger: Logger;
}

export interface EmbeddingRun {
  embedded: number;
  /** Why the run stopped early (the embedder failed), if it did. */
  error: string | null;
}

/**
 * Embeds memory entries in the background: after a write (`schedule`), after a short delay that
 * coalesces bursts, it asks L3 for entries without a vector for the embedder's model and embeds them
 * in batches until none are left. Works for entries written by any process. One run at a time; a
 * failing embedder stops the run (logged once per streak of failures) until the next schedule.
 */
export class EmbeddingWorker {
  private readonly store: MemoryStore;
  private readonly embedder: Embedder;
  private readonly options: EmbeddingWorkerOptions;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<EmbeddingRun> | null = null;
  private rerun = false;
  private failing = false;
  private closed = false;
  private readonly abort = new AbortController();

  constructor(store: MemoryStore, embedder: Embedder, options: EmbeddingWorkerOptions) {
    this.store = store;
    this.embedder = embedder;
    this.options = options;
  }

  schedule(): void {
    if (this.closed) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.start();
    }, this.options.delayMs);
    this.timer.unref();
  }

  /** Embeds everything not yet embedded, now; resolves when done (the total of the runs it waited for). */
  async flush(): Promise<EmbeddingRun> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const total: EmbeddingRun = { embedded: 0, error: null };
    if (this.running) add(total, await this.running);
    if (!this.closed && total.error === null) add(total, await this.start());
    return total;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.running;
  }

  private start(): Promise<EmbeddingRun> {
    if (this.running) return this.running;
    this.running = this.run().finally(() => {
      this.running = null;
      if (this.rerun) {
        this.rerun = false;
        this.schedule();
      }
    });
    return this.running;
  }

  private async run(): Promise<EmbeddingRun> {
    const model = this.embedder.model;
    const attempted = new Set<string>();
    let failed = 0;
    let embedded = 0;
    while (!this.closed) {
      let batch: { namespace: string; key: string; version: number; text: string }[];
      try {
        // Ask for room past entries that failed this run, so that they cannot starve the rest.
        batch = await this.store.listUnembedded(model, this.options.batchSize + failed);
      } catch (error) {
        return this.failed(error, embedded);
      }
      const fresh = batch.filter((item) => !attempted.has(id(item)));
      if (fresh.length === 0) break;
      for (const item of fresh) attempted.add(id(item));

      let vectors: Float32Array[];
      try {
        vectors = await this.embedder.embed(
          fresh.map((item) => item.text),
          this.abort.signal,
        );
      } catch (error) {
        return this.failed(error, embedded);
      }
      let batchFailures = 0;
      let firstError: unknown;
      for (let i = 0; i < fresh.length; i++) {
        const item = fresh[i] as (typeof fresh)[number];
        const vector = vectors[i];
        try {
          if (vector === undefined) throw new Error(`the embedder returned ${vectors.length} vectors for ${fresh.length} texts`);
          await this.store.setEmbedding(item.namespace, item.key, item.version, model, vector);
          embedded++;
        } catch (error) {
          batchFailures++;
          firstError ??= error;
        }
      }
      failed += batchFailures;
      // Nothing of a whole batch could be stored: something systemic (no vector support, a model
      // whose vectors changed length). Stop here rather than fail through the backlog.
      if (batchFailures === fresh.length) return this.failed(firstError, embedded);
      if (batchFailures > 0) {
        this.options.logger.warn({ err: firstError, failures: batchFailures, model }, 'memory: some embeddings could not be stored');
      }
    }
    if (this.failing) this.options.logger.info({ model }, 'memory: embedding works again');
    this.failing = false;
    return { embedded, error: null };
  }

  private failed(error: unknown, embedded: number): EmbeddingRun {
    if (!this.failing && !this.closed) {
      this.options.logger.warn({ err: error, model: this.embedder.model }, 'memory: embedding failed; semantic search misses new entries until it works');
    }
    this.failing = true;
    return { embedded, error: error instanceof Error ? error.message : String(error) };
  }
}

function id(item: { namespace: string; key: string; version: number }): string {
  return `${item.namespace}/${item.key}@${item.version}`;
}

function add(total: EmbeddingRun, run: EmbeddingRun): void {
  total.embedded += run.embedded;
  total.error ??= run.error;
}
