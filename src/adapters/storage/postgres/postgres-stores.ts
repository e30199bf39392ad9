import type { Kysely } from 'kysely';
import { LATEST_MIGRATION } from '../sql/migration-latest.js';
import { openPostgres, type PostgresConnectionOptions, type PostgresDatabase } from './postgres-connection.js';
import { PostgresConsensusStore } from './postgres-consensus-store.js';
import { migratePostgres, postgresSchemaVersion } from './postgres-migrator.js';
import { PostgresModelCallLedger } from './postgres-model-call-ledger.js';
import { PostgresProviderCircuitStore } from './postgres-provider-circuit-store.js';
import { PostgresSwarmStore } from './postgres-swarm-store.js';
import { PostgresTaskProcessStore } from './postgres-task-process-store.js';
import { mapped } from './postgres-errors.js';

/**
 * The PostgreSQL adapters of the ports that stood on their own first (swarms, consensus, model calls,
 * provider circuits, task processes) over one connection pool, with the schema's migrations.
 * PostgresStore (postgres-store.ts) adds the other aggregates' adapters on the same pool.
 */
export class PostgresStores {
  /** Where the data lives, without credentials, for status output. */
  readonly location: string;
  readonly swarms: PostgresSwarmStore;
  readonly consensus: PostgresConsensusStore;
  readonly modelCalls: PostgresModelCallLedger;
  readonly circuits: PostgresProviderCircuitStore;
  readonly taskProcesses: PostgresTaskProcessStore;
  protected readonly database: PostgresDatabase;

  constructor(options: PostgresConnectionOptions) {
    this.location = locationOf(options.url);
    this.database = openPostgres(options);
    const db = this.database.db;
    this.swarms = new PostgresSwarmStore(db);
    this.consensus = new PostgresConsensusStore(db);
    this.modelCalls = new PostgresModelCallLedger(db);
    this.circuits = new PostgresProviderCircuitStore(db);
    this.taskProcesses = new PostgresTaskProcessStore(db);
  }

  /** Applies pending migrations (up to and including `to`, when given); idempotent, and safe when processes race. */
  async migrate(options: { to?: string } = {}): Promise<void> {
    if (options.to === undefined && (await this.schemaVersion()) === LATEST_MIGRATION) return;
    await migratePostgres(this.database.db as unknown as Kysely<unknown>, options);
  }

  schemaVersion(): Promise<string | null> {
    return mapped('read the schema version', () => postgresSchemaVersion(this.database.db as unknown as Kysely<unknown>));
  }

  close(): Promise<void> {
    return this.database.close();
  }
}

function locationOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return 'postgres (unparsable URL)';
  }
}
