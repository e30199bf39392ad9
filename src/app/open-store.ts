import { LocalChangeNotifier } from '../adapters/notify/local-change-notifier.js';
import { SqliteStore } from '../adapters/storage/sqlite/sqlite-store.js';
import type { Logger } from '../kernel/logger.js';
import type { ChangeNotifier } from '../ports/change-notifier.js';
import type { Store } from '../ports/store.js';
import { databaseKind, type ColonyConfig } from './config.js';

/**
 * The store the configuration names: the SQLite file (the default), or PostgreSQL by
 * `database.url: postgres://...` with its memory tier on the same pool. The PostgreSQL adapters load
 * only when named, so a command on SQLite never pays for `pg`.
 */
export async function openStore(database: ColonyConfig['database']): Promise<Store> {
  if (databaseKind(database) === 'postgres' && database.url) {
    const [{ PostgresStore }, { PostgresMemoryStore }] = await Promise.all([
      import('../adapters/storage/postgres/postgres-store.js'),
      import('../adapters/storage/postgres/postgres-memory-store.js'),
    ]);
    return new PostgresStore({
      url: database.url,
      poolSize: database.poolSize,
      connectionTimeoutMs: database.connectionTimeoutMs,
      statementTimeoutMs: database.statementTimeoutMs,
      memory: (db) => new PostgresMemoryStore(db),
    });
  }
  return new SqliteStore({ path: database.path, busyTimeoutMs: database.busyTimeoutMs });
}

/**
 * Wake-up hints between the processes sharing the configured database: LISTEN/NOTIFY on PostgreSQL
 * (a connection of its own, opened on first use); none on SQLite, whose processes find each other's
 * work by polling the file.
 */
export async function openChangeNotifier(database: ColonyConfig['database'], logger: Logger): Promise<ChangeNotifier> {
  if (databaseKind(database) === 'postgres' && database.url) {
    const { PostgresChangeNotifier } = await import('../adapters/notify/postgres-change-notifier.js');
    return new PostgresChangeNotifier({ url: database.url, connectionTimeoutMs: database.connectionTimeoutMs, logger });
  }
  return new LocalChangeNotifier({ logger });
}

/** A name for the database that is the same in every process using it and holds no secret (a Redis key prefix is derived from it). */
export function databaseIdentity(database: ColonyConfig['database']): string {
  if (databaseKind(database) === 'postgres' && database.url) {
    const url = new URL(database.url);
    url.password = '';
    return url.toString();
  }
  return database.path;
}
