import { Migrator, sql, type Kysely } from 'kysely';
import { colonyMigrations } from '../sql/migrations.js';
import { ADVISORY_LOCK_NAMESPACE, MIGRATION_LOCK_KEY } from './advisory-locks.js';
import { mapPostgresError } from './postgres-errors.js';

/**
 * How long a process waits for another one's migrations before giving up. Migrations may outlast
 * the pool's statement timeout (an index on a large table), so that limit is lifted while they run.
 */
export const MIGRATION_LOCK_TIMEOUT_MS = 10 * 60_000;

/**
 * Applies Colony's migrations (all pending ones, or up to and including `to`) to the schema the
 * connection's search_path selects. Safe when several processes migrate at once: each takes a
 * session advisory lock first, around everything the migrator does (also the creation of its own
 * bookkeeping tables, which Kysely's lock does not cover); the ones that wait then find nothing to do.
 * Each migration runs in a transaction (PostgreSQL's DDL is transactional), so a failed one leaves
 * no trace.
 */
export async function migratePostgres(db: Kysely<unknown>, options: { to?: string } = {}): Promise<void> {
  await db.connection().execute(async (conn) => {
    await sql`select set_config('lock_timeout', ${String(MIGRATION_LOCK_TIMEOUT_MS)}, false), set_config('statement_timeout', '0', false)`.execute(conn);
    try {
      await sql`select pg_advisory_lock(${sql.lit(ADVISORY_LOCK_NAMESPACE)}, ${sql.lit(MIGRATION_LOCK_KEY)})`.execute(conn);
    } catch (error) {
      await resetSession(conn);
      throw mapPostgresError(error, 'migrations: waiting for another process to finish migrating');
    }
    try {
      const schema = await currentSchema(conn);
      // Kysely looks for its bookkeeping table in every schema unless told which: a kysely_migration
      // table of another schema (another Colony, another application) must not pass for ours.
      const migrator = new Migrator({ db: conn, provider: { getMigrations: async () => colonyMigrations('postgres') }, migrationTableSchema: schema });
      const { error, results } = options.to === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(options.to);
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName;
        throw mapPostgresError(error, failed === undefined ? 'migrations failed' : `migration ${failed} failed`);
      }
    } finally {
      await sql`select pg_advisory_unlock(${sql.lit(ADVISORY_LOCK_NAMESPACE)}, ${sql.lit(MIGRATION_LOCK_KEY)})`.execute(conn).catch(() => undefined);
      await resetSession(conn);
    }
  });
}

/** The newest migration applied to the search_path's schema, or null when it was never migrated. */
export async function postgresSchemaVersion(db: Kysely<unknown>): Promise<string | null> {
  const table = await sql<{ found: string | null }>`select to_regclass(format('%I.kysely_migration', current_schema()))::text as found`.execute(db);
  if (table.rows[0]?.found === null || table.rows[0]?.found === undefined) return null;
  const rows = await sql<{ name: string }>`select name from kysely_migration order by name desc limit 1`.execute(db);
  return rows.rows[0]?.name ?? null;
}

async function currentSchema(db: Kysely<unknown>): Promise<string> {
  const schema = (await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db)).rows[0]?.schema;
  if (!schema) throw mapPostgresError(new Error('the search_path names no existing schema'), 'migrations');
  return schema;
}

/** Back to the connection's own settings (its startup statement_timeout) before it returns to the pool. */
async function resetSession(db: Kysely<unknown>): Promise<void> {
  await sql`reset lock_timeout`.execute(db).catch(() => undefined);
  await sql`reset statement_timeout`.execute(db).catch(() => undefined);
}
