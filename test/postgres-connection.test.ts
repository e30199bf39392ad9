import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_POSTGRES_STATEMENT_TIMEOUT_MS, openPostgres, type PostgresConnectionOptions, type PostgresDatabase } from '../src/adapters/storage/postgres/postgres-connection.js';
import { mapPostgresError } from '../src/adapters/storage/postgres/postgres-errors.js';
import { databaseExists, dropLeftovers, TEST_POSTGRES_URL, testDatabaseName, useTestDatabase, type TestSchema } from './support/postgres.js';
import { rejectionOf } from './support/rejection.js';

describe('PostgreSQL connection pool', () => {
  const place = useTestDatabase();
  let schema: TestSchema;
  const opened: PostgresDatabase[] = [];
  const open = (options: Omit<PostgresConnectionOptions, 'url'> = {}): PostgresDatabase => {
    const pg = openPostgres({ url: schema.url, ...options });
    opened.push(pg);
    return pg;
  };
  const value = async <T>(db: Kysely<unknown>, query: ReturnType<typeof sql<{ v: T }>>): Promise<T> => (await query.execute(db)).rows[0]!.v;

  beforeEach(async () => {
    schema = await place.freshSchema();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((pg) => pg.close()));
    await schema.drop();
  });

  it('hands out at most poolSize connections; a query that finds none free within the timeout fails, retryably', async () => {
    const pg = open({ poolSize: 2, connectionTimeoutMs: 200 });
    const held = [await pg.pool.connect(), await pg.pool.connect()];
    const error = await rejectionOf(sql`select 1`.execute(pg.db));
    const mapped = mapPostgresError(error, 'query');
    expect(mapped).toMatchObject({ code: 'storage', retryable: true });
    expect(pg.pool.totalCount).toBe(2);
    held[0]!.release();
    expect(await value<number>(pg.db as Kysely<unknown>, sql<{ v: number }>`select 1 as v`)).toBe(1);
    held[1]!.release();
  });

  it('has the server cancel a statement that runs past the statement timeout, retryably', async () => {
    const pg = open({ statementTimeoutMs: 100 });
    const error = await rejectionOf(sql`select pg_sleep(30)`.execute(pg.db));
    expect((error as { code?: string }).code).toBe('57014');
    expect(mapPostgresError(error, 'query')).toMatchObject({ code: 'storage', retryable: true });
    expect(await value<string>(pg.db as Kysely<unknown>, sql<{ v: string }>`select current_setting('statement_timeout') as v`)).toBe('100ms');
  });

  it('sets the default statement timeout and the application name, and no timeout when told 0', async () => {
    const defaults = open();
    expect(await value<string>(defaults.db as Kysely<unknown>, sql<{ v: string }>`select current_setting('statement_timeout') as v`)).toBe(`${DEFAULT_POSTGRES_STATEMENT_TIMEOUT_MS / 1000}s`);
    expect(await value<string>(defaults.db as Kysely<unknown>, sql<{ v: string }>`select current_setting('application_name') as v`)).toBe('colony');
    const unlimited = open({ statementTimeoutMs: 0, applicationName: 'colony-worker' });
    expect(await value<string>(unlimited.db as Kysely<unknown>, sql<{ v: string }>`select current_setting('statement_timeout') as v`)).toBe('0');
    expect(await value<string>(unlimited.db as Kysely<unknown>, sql<{ v: string }>`select current_setting('application_name') as v`)).toBe('colony-worker');
  });

  it('reads 64-bit integers as numbers, and refuses one a number cannot hold exactly', async () => {
    const pg = open({ poolSize: 1 });
    const db = pg.db as Kysely<unknown>;
    expect(await value<number>(db, sql<{ v: number }>`select 9007199254740991::bigint as v`)).toBe(Number.MAX_SAFE_INTEGER);
    expect(await value<number>(db, sql<{ v: number }>`select count(*) as v from generate_series(1, 3)`)).toBe(3);
    const error = await rejectionOf(sql`select 9007199254740993::bigint as v`.execute(db));
    expect(String(error)).toMatch(/9007199254740993 does not fit/);
    // The connection is still good.
    expect(await value<number>(db, sql<{ v: number }>`select 2::bigint as v`)).toBe(2);
  });

  it('survives the server ending an idle connection: reports it, and the next query opens a new one', async () => {
    const errors: Error[] = [];
    const pg = open({ poolSize: 1, onIdleConnectionError: (e) => errors.push(e) });
    const db = pg.db as Kysely<unknown>;
    const pid = await value<number>(db, sql<{ v: number }>`select pg_backend_pid() as v`);
    const admin = openPostgres({ url: TEST_POSTGRES_URL, poolSize: 1 });
    try {
      expect(await value<boolean>(admin.db as Kysely<unknown>, sql<{ v: boolean }>`select pg_terminate_backend(${pid}) as v`)).toBe(true);
    } finally {
      await admin.close();
    }
    await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 10_000 });
    const next = await value<number>(db, sql<{ v: number }>`select pg_backend_pid() as v`);
    expect(next).not.toBe(pid);
  });

  it('closes idempotently, and fails queries after', async () => {
    const pg = open();
    await sql`select 1`.execute(pg.db);
    await Promise.all([pg.close(), pg.close()]);
    expect(await rejectionOf(sql`select 1`.execute(pg.db))).toBeInstanceOf(Error);
  });
});

describe('test databases', () => {
  let name = '';
  describe('a suite with a database of its own', () => {
    const place = useTestDatabase();

    it('gets a fresh schema per test in one database, each dropped with its contents', async () => {
      const first = await place.freshSchema();
      const second = await place.freshSchema();
      name = (await place.database()).name;
      expect(first.name).not.toBe(second.name);
      const a = openPostgres({ url: first.url, poolSize: 1 });
      const b = openPostgres({ url: second.url, poolSize: 1 });
      try {
        await sql`create table t (x int)`.execute(a.db);
        await sql`insert into t values (1)`.execute(a.db);
        // Unqualified names resolve in each URL's own schema.
        expect(await rejectionOf(sql`select x from t`.execute(b.db))).toBeInstanceOf(Error);
        await a.close();
        await first.drop();
        const left = await sql<{ n: number }>`select count(*) as n from pg_namespace where nspname = ${first.name}`.execute(b.db);
        expect(left.rows[0]!.n).toBe(0);
      } finally {
        await a.close();
        await b.close();
        await second.drop();
      }
      expect(await databaseExists(name)).toBe(true);
    });
  });

  it('drops the suite\'s database after its tests', async () => {
    expect(name).toMatch(/^colony_test_/);
    expect(await databaseExists(name)).toBe(false);
  });

  it('drops databases left by test processes of this host that are gone, and only those', async () => {
    let deadPid = 4_000_000;
    while (isAlive(deadPid)) deadPid++;
    const orphan = testDatabaseName(deadPid);
    const mine = testDatabaseName(process.pid);
    const admin = openPostgres({ url: TEST_POSTGRES_URL, poolSize: 1 });
    try {
      await sql`create database ${sql.id(orphan)}`.execute(admin.db);
      await sql`create database ${sql.id(mine)}`.execute(admin.db);
      await dropLeftovers();
      expect(await databaseExists(orphan)).toBe(false);
      expect(await databaseExists(mine)).toBe(true);
    } finally {
      await sql`drop database if exists ${sql.id(orphan)}`.execute(admin.db);
      await sql`drop database if exists ${sql.id(mine)}`.execute(admin.db);
      await admin.close();
    }
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
