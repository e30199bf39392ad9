/**
 * The Cache port: a shared cache between processes (memory's L2). Adapter: `adapters/cache/redis`.
 * Every adapter runs `test/cache-conformance.ts`.
 *
 * Contract: a cache may lose anything at any time, and may be unreachable; callers treat every
 * failure as a miss. Methods never throw for an unreachable backend: they report it through
 * `healthy` and resolve as a miss / no-op. Invalidations published by one process reach the
 * subscribers of every other process connected to the same backend (best effort).
 */
export interface Cache {
  get(key: string): Promise<Buffer | undefined>;
  set(key: string, value: Buffer, ttlMs: number | null): Promise<void>;
  delete(key: string): Promise<void>;
  publishInvalidation(key: string): Promise<void>;
  onInvalidation(listener: (key: string) => void): () => void;
  /**
   * Resolves true once the backend is reachable, false after `timeoutMs` (or when closed). A
   * short-lived writer waits for it so that its invalidation goes out before it exits.
   */
  ready(timeoutMs: number): Promise<boolean>;
  /** False while the backend is unreachable (the cache then behaves as always empty). */
  readonly healthy: boolean;
  readonly description: string;
  close(): Promise<void>;
}
