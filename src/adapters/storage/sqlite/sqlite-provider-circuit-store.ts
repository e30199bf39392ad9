import type { DatabaseSync } from 'node:sqlite';
import type { CircuitState, ProviderCircuitRecord, ProviderCircuitStore } from '../../../ports/provider-circuit-store.js';
import { StatementCache } from './statement-cache.js';
import type { WriteBatcher } from './write-batcher.js';

/**
 * Records of processes that never registered as runners, or whose runner row is gone, are removed
 * once they are this old (a report prunes them): nobody reads them, and they must not pile up.
 */
const ORPHAN_RETENTION_MS = 60 * 60_000;

interface CircuitRow {
  runner_id: string;
  provider: string;
  state: string;
  changed_at: number;
}

/** Provider circuit states on the shared SQLite connection and write batcher (see SqliteStore). */
export class SqliteProviderCircuitStore implements ProviderCircuitStore {
  private readonly writes: WriteBatcher;
  private readonly statements: StatementCache;

  constructor(db: DatabaseSync, writes: WriteBatcher) {
    this.writes = writes;
    this.statements = new StatementCache(db);
  }

  report(circuit: ProviderCircuitRecord): Promise<void> {
    return this.writes.write(`report ${circuit.provider} circuit`, () => {
      this.statements
        .get(
          `INSERT INTO provider_circuits (runner_id, provider, state, changed_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (runner_id, provider) DO UPDATE SET state = excluded.state, changed_at = excluded.changed_at`,
        )
        .run(circuit.runnerId, circuit.provider, circuit.state, circuit.changedAt);
      this.statements
        .get('DELETE FROM provider_circuits WHERE changed_at < ? AND runner_id NOT IN (SELECT id FROM runners)')
        .run(circuit.changedAt - ORPHAN_RETENTION_MS);
    });
  }

  async list(): Promise<ProviderCircuitRecord[]> {
    const rows = this.statements.all('SELECT runner_id, provider, state, changed_at FROM provider_circuits ORDER BY provider, runner_id') as unknown as CircuitRow[];
    return rows.map((row) => ({ runnerId: row.runner_id, provider: row.provider, state: row.state as CircuitState, changedAt: Number(row.changed_at) }));
  }
}
