/**
 * The ProviderCircuitStore port: the state of each process's circuit breaker per LLM provider, as
 * that process last reported it. Breakers live in the processes that call providers; this is where
 * other processes (`colony status`, the API) read them from, with their age and the process that
 * owns them. A state is worth showing only while its process lives: readers keep the records of
 * live runners and ignore the rest. Adapters: SQLite (`adapters/storage/sqlite/sqlite-provider-circuit-store.ts`).
 */
export interface ProviderCircuitStore {
  /** Records a process's breaker state for a provider, replacing what that process reported before. */
  report(circuit: ProviderCircuitRecord): Promise<void>;
  /** Every record, of live and dead processes alike, ordered by provider then runner. */
  list(): Promise<ProviderCircuitRecord[]>;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface ProviderCircuitRecord {
  /** The runner id of the process whose breaker this is. */
  runnerId: string;
  provider: string;
  state: CircuitState;
  /** When the breaker entered this state (epoch ms). */
  changedAt: number;
}
