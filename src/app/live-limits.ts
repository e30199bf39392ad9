import type { StoredEvent } from '../domain/events.js';
import type { RunnerRecord } from '../ports/store.js';

/** The newest limit events read to judge which limits hold work back now. */
export const LIMIT_EVENTS_SCANNED = 1_000;

/** A limit of a live process that is holding ready work back now (its latest event is `limit.reached`). */
export interface LiveLimit {
  /** The configuration key that sets it: `tasks.concurrency`, `tasks.shellConcurrency`, `providers.<id>.maxConcurrency`. */
  limit: string;
  value: number;
  provider: string | null;
  /** When it was reached (epoch ms). */
  since: number;
  ageMs: number;
  runner: { id: string; kind: string; pid: number; host: string };
}

/**
 * Of the newest `limit.reached` / `limit.cleared` events (newest first), the limits whose latest word
 * is "reached", of processes that are still live: what holds ready work back now, and where.
 */
export function liveLimits(newestFirst: readonly StoredEvent[], liveRunners: readonly RunnerRecord[], now: number): LiveLimit[] {
  const live = new Map(liveRunners.map((r) => [r.id, r]));
  const decided = new Set<string>();
  const holding: LiveLimit[] = [];
  for (const event of newestFirst) {
    const data = event.data as { limit?: unknown; value?: unknown; runnerId?: unknown; provider?: unknown };
    if (typeof data.limit !== 'string' || typeof data.runnerId !== 'string') continue;
    const key = `${data.runnerId}\u0000${data.limit}`;
    if (decided.has(key)) continue;
    decided.add(key);
    const runner = live.get(data.runnerId);
    if (event.type !== 'limit.reached' || !runner) continue;
    holding.push({
      limit: data.limit,
      value: typeof data.value === 'number' ? data.value : 0,
      provider: typeof data.provider === 'string' ? data.provider : null,
      since: event.timestamp,
      ageMs: Math.max(0, now - event.timestamp),
      runner: { id: runner.id, kind: runner.kind, pid: runner.pid, host: runner.hostname },
    });
  }
  return holding;
}
