import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { DEFAULTS } from '../../../kernel/constants.js';
import type { ColonyTables } from '../sql/schema.js';

/** Connections each process keeps open at most (pg's pool default is also 10). */
export const DEFAULT_POSTGRES_POOL_SIZE = DEFAULTS.postgresPoolSize;
/** How long a query waits for a connection (a free one from the pool, or a new one) before failing. */
export const DEFAULT_POSTGRES_CONNECTION_TIMEOUT_MS = DEFAULTS.postgresConnectionTimeoutMs;
/** The server cancels any one statement that runs longer than this. */
export const DEFAULT_POSTGRES_STATEMENT_TIMEOUT_MS = DEFAULTS.postgresStatementTimeoutMs;
/** An idle connection is closed after this long, so a quiet process holds few server connections. */
export const DEFAULT_POSTGRES_IDLE_TIMEOUT_MS = 10_000;

export interface PostgresConnectionOptions {
  /** `postgres://user:password@host:port/database`; `?options=-csearch_path%3Dname` selects a schema. */
  url: string;
  /** Default: DEFAULT_POSTGRES_POOL_SIZE. */
  poolSize?: number;
  /** Default: DEFAULT_POSTGRES_CONNECTION_TIMEOUT_MS. */
  connectionTimeoutMs?: number;
  /** Default: DEFAULT_POSTGRES_STATEMENT_TIMEOUT_MS; 0 turns the limit off. */
  statementTimeoutMs?: number;
  /** Default: DEFAULT_POSTGRES_IDLE_TIMEOUT_MS. */
  idleTimeoutMs?: number;
  /** Shown in pg_stat_activity. Default: `colony`. */
  applicationName?: string;
  /**
   * An idle pooled connection failed (the server restarted, the network dropped): the pool has
   * already discarded it and the next query opens a new one. Without a listener such an error would
   * end the process, so there always is one; pass this to log it.
   */
  onIdleConnectionError?: (error: Error) => void;
}

/** A pool of connections to one PostgreSQL database, and the typed query layer over it. */
export interface PostgresDatabase {
  readonly db: Kysely<ColonyTables>;
  readonly pool: pg.Pool;
  /** Ends every connection; queries after it fail. Idempotent. */
  close(): Promise<void>;
}

/**
 * 64-bit integers (timestamps in epoch ms, ids, counts) come back as JavaScript numbers rather than
 * pg's default strings. Colony's values stay far below 2^53; one that does not is an error, never a
 * silently rounded number. Per pool, not pg's global type table: nothing else in the process changes.
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === pg.types.builtins.INT8 && format !== 'binary') return parseInt8;
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} does not fit in a JavaScript number`);
  return value;
}

/** Opens a pool (connections are made on first use) with its limits and timeouts. */
export function openPostgres(options: PostgresConnectionOptions): PostgresDatabase {
  const statementTimeoutMs = options.statementTimeoutMs ?? DEFAULT_POSTGRES_STATEMENT_TIMEOUT_MS;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? DEFAULT_POSTGRES_POOL_SIZE,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? DEFAULT_POSTGRES_CONNECTION_TIMEOUT_MS,
    idleTimeoutMillis: options.idleTimeoutMs ?? DEFAULT_POSTGRES_IDLE_TIMEOUT_MS,
    // Sent as a startup parameter, so it is each session's default (`RESET statement_timeout` returns to it).
    statement_timeout: statementTimeoutMs > 0 ? statementTimeoutMs : false,
    application_name: options.applicationName ?? 'colony',
    keepAlive: true,
    types: TYPES,
  });
  const onIdleError = options.onIdleConnectionError ?? (() => undefined);
  pool.on('error', onIdleError);
  // A connection in use (by a query, or a transaction between its statements) that the server ends
  // (a restart's fast shutdown, a crash) emits 'error' on its client as well as failing the query;
  // the pool listens only while a connection is idle, and an 'error' nobody hears ends the process.
  // The query's own failure reports it, so this listener only keeps the process alive.
  pool.on('connect', (client) => client.on('error', () => undefined));
  const db = new Kysely<ColonyTables>({ dialect: new PostgresDialect({ pool }) });
  let closing: Promise<void> | undefined;
  return {
    db,
    pool,
    close() {
      // Kysely's destroy ends the pool it was given.
      closing ??= db.destroy();
      return closing;
    },
  };
}
