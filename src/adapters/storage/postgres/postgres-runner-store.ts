import { sql, type Kysely } from 'kysely';
import type { RunnerRecord, RunnerRegistration, RunnerStore } from '../../../ports/runner-store.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import * as q from '../sql/runner-queries.js';
import type { ColonyTables } from '../sql/schema.js';
import { mapped } from './postgres-errors.js';

export interface PostgresRunnerStoreOptions {
  /** Replaces the server's clock, for tests that control time. Absent: the server's. */
  clock?: () => number;
}

/**
 * Runners on PostgreSQL, with the server's clock: every process on every host stamps and judges
 * heartbeats by the same clock, the database server's, whatever its own says.
 */
export class PostgresRunnerStore implements RunnerStore {
  private readonly db: Kysely<ColonyTables>;
  private readonly sql: SqlContext;
  private readonly fixedClock: (() => number) | undefined;

  constructor(db: Kysely<ColonyTables>, options: PostgresRunnerStoreOptions = {}) {
    this.db = db;
    this.sql = { db, dialect: 'postgres' };
    this.fixedClock = options.clock;
  }

  upsert(runner: RunnerRegistration): Promise<void> {
    return mapped(`register runner ${runner.id}`, () => q.upsertRunner(this.sql, runner));
  }

  delete(id: string): Promise<void> {
    return mapped(`remove runner ${id}`, () => q.deleteRunner(this.sql, id));
  }

  list(): Promise<RunnerRecord[]> {
    return mapped('list runners', () => q.listRunners(this.sql));
  }

  /** The server's time as it reads it now (`clock_timestamp()`, not the transaction's `now()`), in whole epoch ms. */
  async clock(): Promise<number> {
    if (this.fixedClock) return this.fixedClock();
    const { rows } = await mapped('read the database clock', () =>
      sql<{ now: number }>`select (extract(epoch from clock_timestamp()) * 1000)::bigint as now`.execute(this.db),
    );
    return Number(rows[0]?.now);
  }
}
