import type { Kysely } from 'kysely';
import type { ProviderCircuitRecord, ProviderCircuitStore } from '../../../ports/provider-circuit-store.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import { listCircuits, reportCircuit } from '../sql/provider-circuit-queries.js';
import type { ColonyTables } from '../sql/schema.js';
import { mapped } from './postgres-errors.js';

/** Provider circuit states on PostgreSQL; a report and its pruning of orphans commit together. */
export class PostgresProviderCircuitStore implements ProviderCircuitStore {
  private readonly db: Kysely<ColonyTables>;
  private readonly sql: SqlContext;

  constructor(db: Kysely<ColonyTables>) {
    this.db = db;
    this.sql = { db, dialect: 'postgres' };
  }

  report(circuit: ProviderCircuitRecord): Promise<void> {
    return mapped(`report ${circuit.provider} circuit`, () => this.db.transaction().execute((trx) => reportCircuit({ db: trx, dialect: 'postgres' }, circuit)));
  }

  list(): Promise<ProviderCircuitRecord[]> {
    return mapped('list provider circuits', () => listCircuits(this.sql));
  }
}
