import { existsSync } from 'node:fs';
import type { CopyEndpoint } from '../adapters/storage/copy/copy-endpoint.js';
import { ColonyError, toColonyError } from '../domain/errors.js';
import { databaseKind, type ColonyConfig } from './config.js';

export type DatabaseSettings = ColonyConfig['database'];

/** Where a database is, for messages and reports: the SQLite file, or the server and database without credentials. */
export function databaseLocation(database: DatabaseSettings): string {
  if (databaseKind(database) !== 'postgres' || !database.url) return database.path;
  try {
    const url = new URL(database.url);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return 'postgres (unparsable URL)';
  }
}

/** Whether there is a database to open without creating one: a SQLite file must exist; a server is asked when connecting. */
export function databaseMayExist(database: DatabaseSettings): boolean {
  return databaseKind(database) === 'postgres' || (database.path !== ':memory:' && existsSync(database.path));
}

/**
 * A connection for copying (see CopyEndpoint). The PostgreSQL adapter loads only when named, so a
 * copy between SQLite files never loads `pg`.
 */
export async function openCopyEndpoint(database: DatabaseSettings): Promise<CopyEndpoint> {
  if (databaseKind(database) === 'postgres' && database.url) {
    const { PostgresCopyEndpoint } = await import('../adapters/storage/copy/postgres-copy-endpoint.js');
    return new PostgresCopyEndpoint({
      url: database.url,
      location: databaseLocation(database),
      connectionTimeoutMs: database.connectionTimeoutMs,
      statementTimeoutMs: database.statementTimeoutMs,
    });
  }
  const { SqliteCopyEndpoint } = await import('../adapters/storage/copy/sqlite-copy-endpoint.js');
  return new SqliteCopyEndpoint({ path: database.path, busyTimeoutMs: database.busyTimeoutMs });
}

/** An error of one side of the copy, saying which side and where, with its code kept. */
export function sideError(side: 'source' | 'target', location: string, error: unknown): ColonyError {
  return databaseError(`the ${side} database`, side, location, error);
}

/** An error about a database, naming it (`what` and where), with its code kept. */
export function databaseError(what: string, detail: string, location: string, error: unknown): ColonyError {
  const e = toColonyError(error);
  if (e.message.includes(location)) return e;
  return new ColonyError(e.code, `${what} ${location}: ${e.message}`, { cause: e, details: { ...e.details, [detail]: location }, retryable: e.retryable });
}
