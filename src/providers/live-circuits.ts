import type { CircuitState, ProviderCircuitRecord } from '../ports/provider-circuit-store.js';
import type { RunnerRecord } from '../ports/store.js';

/** A breaker state that a live process reports, with its age and that process. */
export interface LiveCircuit {
  provider: string;
  state: CircuitState;
  /** When the breaker entered this state (epoch ms). */
  since: number;
  ageMs: number;
  runner: { id: string; kind: string; pid: number; host: string };
}

/**
 * Of the recorded circuit states (`store.circuits.list()`), those reported by `liveRunners` (from
 * `RunnerRegistry.liveRunners`), in the records' order. A state reported by a process that has
 * exited, was killed, or stopped its heartbeat is dropped: nothing holds that breaker any more.
 */
export function liveCircuits(records: readonly ProviderCircuitRecord[], liveRunners: readonly RunnerRecord[], now: number): LiveCircuit[] {
  const live = new Map(liveRunners.map((r) => [r.id, r]));
  return records.flatMap((c) => {
    const runner = live.get(c.runnerId);
    if (!runner) return [];
    return [{ provider: c.provider, state: c.state, since: c.changedAt, ageMs: Math.max(0, now - c.changedAt), runner: { id: runner.id, kind: runner.kind, pid: runner.pid, host: runner.hostname } }];
  });
}
