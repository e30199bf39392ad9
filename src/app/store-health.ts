import { isStoreUnavailable } from '../domain/errors.js';
import type { Store } from '../ports/store.js';

/** Latencies are reported to the microsecond (in ms, three decimals). */
const LATENCY_DECIMALS = 3;

/** The store as the engine sees it: whether a read answers, and whether its schema is the latest. */
export interface StoreHealth {
  /** Reachable and at the latest schema. */
  ok: boolean;
  /** Where the store keeps its data (the database file path, for SQLite). */
  location: string;
  /** The schema's current migration, or null when there is none (or the store did not answer). */
  schemaVersion: string | null;
  /** The newest migration this build of Colony knows. */
  latestSchema: string;
  /** How long the read took, in milliseconds. */
  latencyMs: number;
  /** Why the store did not answer, when it did not. */
  error?: string;
  /**
   * Why `ok` is false: the database is not there (`unavailable`: down, restarting, unreachable; it
   * comes back by itself and the engine retries meanwhile), the read failed otherwise (`error`), or
   * the schema is not the latest (`schema`: a migration is needed).
   */
  reason?: 'unavailable' | 'error' | 'schema';
}

/** Reads the store's schema version (a round trip) and compares it with `latestSchema`; never throws. */
export async function checkStoreHealth(store: Store, latestSchema: string): Promise<StoreHealth> {
  const started = performance.now();
  try {
    const schemaVersion = await store.schemaVersion();
    const ok = schemaVersion === latestSchema;
    return { ok, location: store.location, schemaVersion, latestSchema, latencyMs: elapsedMs(started), ...(ok ? {} : { reason: 'schema' as const }) };
  } catch (error) {
    const reason = isStoreUnavailable(error) ? ('unavailable' as const) : ('error' as const);
    return { ok: false, location: store.location, schemaVersion: null, latestSchema, latencyMs: elapsedMs(started), error: (error as Error).message, reason };
  }
}

function elapsedMs(started: number): number {
  const scale = 10 ** LATENCY_DECIMALS;
  return Math.round((performance.now() - started) * scale) / scale;
}
