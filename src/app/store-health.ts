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
}

/** Reads the store's schema version (a round trip) and compares it with `latestSchema`; never throws. */
export async function checkStoreHealth(store: Store, latestSchema: string): Promise<StoreHealth> {
  const started = performance.now();
  try {
    const schemaVersion = await store.schemaVersion();
    return { ok: schemaVersion === latestSchema, location: store.location, schemaVersion, latestSchema, latencyMs: elapsedMs(started) };
  } catch (error) {
    return { ok: false, location: store.location, schemaVersion: null, latestSchema, latencyMs: elapsedMs(started), error: (error as Error).message };
  }
}

function elapsedMs(started: number): number {
  const scale = 10 ** LATENCY_DECIMALS;
  return Math.round((performance.now() - started) * scale) / scale;
}
