import type { CircuitState, ProviderCircuitRecord } from '../../../ports/provider-circuit-store.js';
import { bytewise, type SqlContext } from './dialect-sql.js';

/** The ProviderCircuitStore port's statements, written once for SQLite and PostgreSQL (see dialect-sql.ts). */

/**
 * Records of processes that never registered as runners, or whose runner row is gone, are removed
 * once they are this old (a report prunes them): nobody reads them, and they must not pile up.
 */
export const ORPHAN_CIRCUIT_RETENTION_MS = 60 * 60_000;

/** Replaces what this process reported before for the provider, then prunes old orphaned records. */
export async function reportCircuit({ db }: SqlContext, circuit: ProviderCircuitRecord): Promise<void> {
  await db
    .insertInto('provider_circuits')
    .values({ runner_id: circuit.runnerId, provider: circuit.provider, state: circuit.state, changed_at: circuit.changedAt })
    .onConflict((oc) => oc.columns(['runner_id', 'provider']).doUpdateSet((eb) => ({ state: eb.ref('excluded.state'), changed_at: eb.ref('excluded.changed_at') })))
    .execute();
  await db
    .deleteFrom('provider_circuits')
    .where('changed_at', '<', circuit.changedAt - ORPHAN_CIRCUIT_RETENTION_MS)
    .where('runner_id', 'not in', (eb) => eb.selectFrom('runners').select('id'))
    .execute();
}

/** Every record, ordered by provider then runner (bytewise on both dialects). */
export async function listCircuits({ db, dialect }: SqlContext): Promise<ProviderCircuitRecord[]> {
  const rows = await db
    .selectFrom('provider_circuits')
    .select(['runner_id', 'provider', 'state', 'changed_at'])
    .orderBy(bytewise(dialect, 'provider'))
    .orderBy(bytewise(dialect, 'runner_id'))
    .execute();
  return rows.map((row) => ({ runnerId: row.runner_id, provider: row.provider, state: row.state as CircuitState, changedAt: Number(row.changed_at) }));
}
