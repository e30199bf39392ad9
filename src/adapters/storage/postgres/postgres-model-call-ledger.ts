import { sql, type Kysely } from 'kysely';
import type { ModelCallBudget, ModelCallLedger, ModelCallUsage, OpenModelCall, ProviderCallSummary, SwarmCallUsage, SwarmUsagePart } from '../../../ports/model-call-ledger.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import { closeModelCall, markModelCallsLost, modelCallUsage, modelCallUsageParts, openModelCall, providerCallSummaries, refuseModelCall } from '../sql/model-call-queries.js';
import type { ColonyTables } from '../sql/schema.js';
import { MODEL_CALL_ADMISSION_LOCK_NAMESPACE } from './advisory-locks.js';
import { mapped } from './postgres-errors.js';

/**
 * Model calls on PostgreSQL. Admission reads the swarm's usage and inserts in one statement, but
 * under READ COMMITTED two such statements running at once would both read the usage before the
 * other's row and could overshoot the budget together. So each admission holds a transaction
 * advisory lock on its swarm: admissions of one swarm run one after another, each seeing the rows
 * of those before it (the lock is released at their commit), and other swarms are not held up.
 * Closing or losing a call never raises a swarm's usage, so those need no lock.
 */
export class PostgresModelCallLedger implements ModelCallLedger {
  private readonly db: Kysely<ColonyTables>;
  private readonly sql: SqlContext;

  constructor(db: Kysely<ColonyTables>) {
    this.db = db;
    this.sql = { db, dialect: 'postgres' };
  }

  open(call: OpenModelCall, budget: ModelCallBudget = { maxTokens: null, maxCostUsd: null }): Promise<boolean> {
    return mapped(`open model call ${call.id}`, () =>
      this.db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(${sql.lit(MODEL_CALL_ADMISSION_LOCK_NAMESPACE)}, hashtext(${call.swarmId}))`.execute(trx);
        return openModelCall({ db: trx, dialect: 'postgres' }, call, budget);
      }),
    );
  }

  refuse(call: OpenModelCall): Promise<void> {
    return mapped(`refuse model call ${call.id}`, () => refuseModelCall(this.sql, call));
  }

  close(id: string, usage: ModelCallUsage, at: number): Promise<void> {
    return mapped(`close model call ${id}`, () => closeModelCall(this.sql, id, usage, at));
  }

  markLost(runnerIds: readonly string[], at: number): Promise<number> {
    return mapped('mark model calls lost', () => markModelCallsLost(this.sql, runnerIds, at));
  }

  swarmUsage(swarmId: string): Promise<SwarmCallUsage> {
    return mapped(`read usage of swarm ${swarmId}`, () => modelCallUsage(this.sql, swarmId));
  }

  swarmUsageParts(swarmId: string): Promise<SwarmUsagePart[]> {
    return mapped(`read usage parts of swarm ${swarmId}`, () => modelCallUsageParts(this.sql, swarmId));
  }

  providerUsage(since?: number): Promise<ProviderCallSummary[]> {
    return mapped('read model calls per provider', () => providerCallSummaries(this.sql, since));
  }
}
