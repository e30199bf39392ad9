import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openPostgres, type PostgresDatabase } from '../src/adapters/storage/postgres/postgres-connection.js';
import { migratePostgres, postgresSchemaVersion } from '../src/adapters/storage/postgres/postgres-migrator.js';
import { PostgresStores } from '../src/adapters/storage/postgres/postgres-stores.js';
import { LATEST_MIGRATION } from '../src/adapters/storage/sql/migration-latest.js';
import { colonyMigrations } from '../src/adapters/storage/sql/migrations.js';
import { ColonyError } from '../src/domain/errors.js';
import { createTestDatabase, databaseExists, type TestDatabase } from './support/postgres.js';
import { rejectionOf } from './support/rejection.js';
import { swarmRecord } from './conformance/swarm-store.js';

const NAMES = Object.keys(colonyMigrations('postgres')).sort();
const OLDER = NAMES.slice(0, -1);

/** Tables, columns with their types, indexes and constraints of a schema: what a migration leaves behind. */
async function schemaShape(db: Kysely<unknown>, schema = 'public'): Promise<string[]> {
  const columns = await sql<{ line: string }>`
    select format('column %s.%s %s null=%s default=%s', table_name, column_name, data_type, is_nullable, coalesce(column_default, '-')) as line
    from information_schema.columns where table_schema = ${schema}`.execute(db);
  const indexes = await sql<{ line: string }>`
    select format('index %s %s', indexname, regexp_replace(indexdef, ' ON [^ ]+\\.', ' ON ')) as line from pg_indexes where schemaname = ${schema}`.execute(db);
  const constraints = await sql<{ line: string }>`
    select format('constraint %s %s', c.conname, pg_get_constraintdef(c.oid)) as line
    from pg_constraint c join pg_namespace n on n.oid = c.connamespace where n.nspname = ${schema}`.execute(db);
  return [...columns.rows, ...indexes.rows, ...constraints.rows].map((r) => r.line).sort();
}

let reference: Promise<string[]> | undefined;

/** The schema of a database migrated in one go from empty, computed once per file. */
function referenceShape(): Promise<string[]> {
  reference ??= (async () => {
    const fresh = await createTestDatabase();
    const pg = openPostgres({ url: fresh.url, poolSize: 1 });
    try {
      await migratePostgres(pg.db as unknown as Kysely<unknown>);
      return await schemaShape(pg.db as unknown as Kysely<unknown>);
    } finally {
      await pg.close();
      await fresh.drop();
    }
  })();
  return reference;
}

async function appliedMigrations(db: Kysely<unknown>): Promise<{ name: string; timestamp: string }[]> {
  return (await sql<{ name: string; timestamp: string }>`select name, timestamp from kysely_migration order by name`.execute(db)).rows;
}

describe('PostgreSQL migrations', () => {
  let database: TestDatabase;
  const opened: PostgresDatabase[] = [];
  const open = (url = database.url, poolSize = 3): Kysely<unknown> => {
    const pg = openPostgres({ url, poolSize });
    opened.push(pg);
    return pg.db as unknown as Kysely<unknown>;
  };

  beforeEach(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((pg) => pg.close()));
    await database.drop();
    expect(await databaseExists(database.name)).toBe(false);
  });

  it('apply in full to an empty database, with PostgreSQL types where SQLite has text and real', async () => {
    const db = open();
    expect(await postgresSchemaVersion(db)).toBeNull();
    await migratePostgres(db);
    expect(await postgresSchemaVersion(db)).toBe(LATEST_MIGRATION);
    expect((await appliedMigrations(db)).map((m) => m.name)).toEqual(NAMES);

    const shape = await schemaShape(db);
    for (const line of [
      'column tasks.input jsonb null=NO default=-',
      'column events.id bigint null=NO default=nextval(\'events_id_seq\'::regclass)',
      'column tasks.created_at bigint null=NO default=-',
      'column memory.search tsvector null=NO default=-',
      'column memory_blobs.data bytea null=NO default=-',
      'column swarms.usage jsonb null=NO default=\'{}\'::jsonb',
      // Doubles, as SQLite's REAL is: PostgreSQL's `real` would round 1/3 to 0.33333334.
      'column swarms.progress double precision null=NO default=0',
      'column consensus_votes.confidence double precision null=NO default=-',
      'column consensus_votes.weight double precision null=NO default=-',
      'column metrics.metric_value double precision null=NO default=-',
      'column agents.failure_streak integer null=NO default=0',
    ]) {
      expect(shape).toContain(line);
    }
    expect(shape.some((l) => l.startsWith('index idx_memory_search CREATE INDEX idx_memory_search ON memory USING gin (search)'))).toBe(true);
    expect(shape.some((l) => l.startsWith('index idx_tasks_ready') && l.includes("WHERE (status = 'queued'::text)"))).toBe(true);
    // No table or column needs the pgvector extension, which this server does not have.
    expect(shape.some((l) => / vector /.test(l) || l.includes('USING hnsw') || l.includes('USING ivfflat'))).toBe(false);
  });

  it('a second run changes nothing', async () => {
    const db = open();
    await migratePostgres(db);
    const before = { applied: await appliedMigrations(db), shape: await schemaShape(db) };
    await migratePostgres(db);
    const stores = new PostgresStores({ url: database.url, poolSize: 1 });
    try {
      await stores.migrate();
    } finally {
      await stores.close();
    }
    expect(await appliedMigrations(db)).toEqual(before.applied);
    expect(await schemaShape(db)).toEqual(before.shape);
  });

  it('several processes migrating one empty database at once: all succeed, the migrations apply once', async () => {
    // One pool each, as separate processes would have.
    const pools = Array.from({ length: 4 }, () => open());
    const outcomes = await Promise.allSettled(pools.map((db) => migratePostgres(db)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect((await appliedMigrations(pools[0]!)).map((m) => m.name)).toEqual(NAMES);
    expect(await schemaShape(pools[0]!)).toEqual(await referenceShape());
  });

  it.each(OLDER)('a database left at %s by an older version upgrades to the same schema as a new one', async (older) => {
    const db = open();
    await migratePostgres(db, { to: older });
    expect(await postgresSchemaVersion(db)).toBe(older);
    expect((await appliedMigrations(db)).map((m) => m.name)).toEqual(NAMES.slice(0, NAMES.indexOf(older) + 1));

    const stores = new PostgresStores({ url: database.url, poolSize: 2 });
    try {
      await stores.migrate();
      expect(await stores.schemaVersion()).toBe(LATEST_MIGRATION);
    } finally {
      await stores.close();
    }
    expect(await schemaShape(db)).toEqual(await referenceShape());
  });

  it('keeps the rows an older version wrote, and fills new columns with their defaults', async () => {
    const db = open();
    await migratePostgres(db, { to: '0005_swarms_consensus' });
    // Rows as the code of 0005's time wrote them: agents had no failure streak yet.
    await sql`insert into agents (id, name, type, status, health, capabilities, config, current_tasks, max_concurrency, created_at, updated_at)
      values ('agt_old', 'old', 'coder', 'idle', 'healthy', '["code"]', '{}', '[]', 2, 1000, 1000)`.execute(db);
    const swarm = swarmRecord('swm_old', { progress: 1 / 3, usage: { inputTokens: 3, outputTokens: 4, costUsd: 0.5, calls: 1 } });
    const stores = new PostgresStores({ url: database.url, poolSize: 2 });
    try {
      await stores.swarms.insert(swarm);
      await stores.migrate();
      expect(await stores.swarms.get('swm_old')).toEqual(swarm);
      const agent = await sql<{ failure_streak: number; capabilities: unknown }>`select failure_streak, capabilities from agents where id = 'agt_old'`.execute(db);
      expect(agent.rows).toEqual([{ failure_streak: 0, capabilities: ['code'] }]);
      // The tables of later migrations are there and work.
      expect(await stores.modelCalls.open({ id: 'c1', swarmId: 'swm_old', taskId: null, agentId: null, runnerId: null, provider: 'p', model: 'm', reservedTokens: 5, reservedCostUsd: null, startedAt: 1 })).toBe(true);
      await stores.taskProcesses.add({ hostname: 'h', pgid: 7, runnerId: 'run_1', taskId: 'tsk_1', attempt: 1, leaderStartTime: null, startedAt: 1 });
      expect(await stores.taskProcesses.listHeldBy(['run_1'])).toHaveLength(1);
    } finally {
      await stores.close();
    }
  });

  it('a migration that fails leaves the schema as it was, and says which one failed', async () => {
    // One connection, so that the last query below runs on the one the migrator used.
    const db = open(database.url, 1);
    await migratePostgres(db, { to: '0008_provider_circuits' });
    // Something else already has the name 0009 wants.
    await sql`create table task_processes (note text)`.execute(db);
    await sql`insert into task_processes values ('not ours')`.execute(db);
    const error = await rejectionOf(migratePostgres(db));
    expect(error).toBeInstanceOf(ColonyError);
    expect((error as ColonyError).message).toMatch(/0009_task_processes/);
    expect(await postgresSchemaVersion(db)).toBe('0008_provider_circuits');
    expect((await sql`select note from task_processes`.execute(db)).rows).toEqual([{ note: 'not ours' }]);
    // The session settings the migrator changed are back to the pool's for whoever gets the connection next.
    const settings = await sql<{ statement_timeout: string; lock_timeout: string }>`select current_setting('statement_timeout') as statement_timeout, current_setting('lock_timeout') as lock_timeout`.execute(db);
    expect(settings.rows[0]).toEqual({ statement_timeout: '30s', lock_timeout: '0' });
  });

  it('migrates each schema of a database on its own, as its search_path selects', async () => {
    const db = open();
    await sql`create schema team_a`.execute(db);
    await sql`create schema team_b`.execute(db);
    const inSchema = (schema: string) => {
      const url = new URL(database.url);
      url.searchParams.set('options', `-c search_path=${schema}`);
      return open(url.toString());
    };
    const a = inSchema('team_a');
    await migratePostgres(a, { to: '0003_memory' });
    // team_a's bookkeeping table must not make team_b look migrated.
    const b = inSchema('team_b');
    expect(await postgresSchemaVersion(b)).toBeNull();
    await migratePostgres(b);
    expect(await postgresSchemaVersion(b)).toBe(LATEST_MIGRATION);
    expect(await postgresSchemaVersion(a)).toBe('0003_memory');
    expect((await schemaShape(b, 'team_b')).length).toBeGreaterThan((await schemaShape(a, 'team_a')).length);
    await migratePostgres(a);
    expect(await schemaShape(a, 'team_a')).toEqual(await schemaShape(b, 'team_b'));
    expect(await schemaShape(db, 'public')).toEqual([]);
  });
});
