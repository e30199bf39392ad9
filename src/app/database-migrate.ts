import { LATEST_MIGRATION } from '../adapters/storage/sql/migration-latest.js';
import { databaseKind } from './config.js';
import { databaseError, databaseLocation, databaseMayExist, type DatabaseSettings } from './database-copy-endpoints.js';
import { openStore } from './open-store.js';

export interface DatabaseStatus {
  kind: 'sqlite' | 'postgres';
  /** The SQLite file, or the server and database without credentials. */
  location: string;
  /** False only for a SQLite file that is not there yet. */
  exists: boolean;
  /** The newest migration applied; null for a database never migrated. */
  schemaVersion: string | null;
  /** The newest migration this build knows. */
  latestVersion: string;
  /** Migrations this build would apply, oldest first. */
  pending: string[];
}

export interface DatabaseMigration extends Omit<DatabaseStatus, 'pending' | 'schemaVersion'> {
  before: string | null;
  after: string | null;
  /** Migrations applied now, oldest first (none when the schema was already the latest). */
  applied: string[];
}

/** Which migrations the database has and lacks, without changing it (a missing SQLite file is not created). */
export async function databaseStatus(database: DatabaseSettings): Promise<DatabaseStatus> {
  const kind = databaseKind(database);
  const location = databaseLocation(database);
  if (!databaseMayExist(database)) return { kind, location, exists: false, schemaVersion: null, latestVersion: LATEST_MIGRATION, pending: await migrationsAfter(kind, null) };
  const store = await openStore(database).catch((error: unknown) => {
    throw databaseError('the database', 'database', location, error);
  });
  try {
    const schemaVersion = await store.schemaVersion();
    return { kind, location, exists: true, schemaVersion, latestVersion: LATEST_MIGRATION, pending: await migrationsAfter(kind, schemaVersion) };
  } catch (error) {
    throw databaseError('the database', 'database', location, error);
  } finally {
    await store.close();
  }
}

/** Applies the pending migrations (creating a SQLite file that is not there yet) and reports the versions before and after. */
export async function migrateDatabase(database: DatabaseSettings): Promise<DatabaseMigration> {
  const kind = databaseKind(database);
  const location = databaseLocation(database);
  const existed = databaseMayExist(database);
  const store = await openStore(database).catch((error: unknown) => {
    throw databaseError('the database', 'database', location, error);
  });
  try {
    const before = await store.schemaVersion();
    const pending = await migrationsAfter(kind, before);
    await store.migrate();
    const after = await store.schemaVersion();
    return { kind, location, exists: existed, latestVersion: LATEST_MIGRATION, before, after, applied: pending.filter((name) => after !== null && name <= after) };
  } catch (error) {
    throw databaseError('the database', 'database', location, error);
  } finally {
    await store.close();
  }
}

/** Names of this build's migrations newer than `version` (all of them for null). */
async function migrationsAfter(kind: 'sqlite' | 'postgres', version: string | null): Promise<string[]> {
  // The migrations (and Kysely) load only here: listing them is the one reason to.
  const { colonyMigrations } = await import('../adapters/storage/sql/migrations.js');
  return Object.keys(colonyMigrations(kind))
    .sort()
    .filter((name) => version === null || name > version);
}
