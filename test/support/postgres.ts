import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { afterAll } from 'vitest';

/**
 * Real PostgreSQL for tests. `scripts/test-prerequisites.mjs` makes sure a server answers at
 * 127.0.0.1:5432 (trust auth for root, database `test`); COLONY_TEST_POSTGRES_URL points elsewhere.
 * That database is only where the helper connects to create and drop others: every test gets a
 * database of its own, created empty and dropped afterwards.
 */
export const TEST_POSTGRES_URL = process.env.COLONY_TEST_POSTGRES_URL ?? 'postgres://root@127.0.0.1:5432/test';

/** Every test database is named `colony_test_<host>_<pid>_<random>`, so that leftovers can be told apart. */
const NAME_PREFIX = 'colony_test_';
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 6);
/** CREATE DATABASE fails while another session is connected to template1 (a psql, a createdb): tried again. */
const CREATE_ATTEMPTS = 5;

export interface TestDatabase {
  readonly name: string;
  /** The new database's URL: the server and user of TEST_POSTGRES_URL. */
  readonly url: string;
  /** Drops the database, ending connections still open to it. Idempotent. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /**
   * An ICU locale for the database's collation (e.g. `en-US`, where `B` sorts after `a`), to test
   * that queries do not depend on the server's default collation. Default: the server's.
   */
  icuLocale?: string;
}

let swept = false;

/**
 * Creates an empty database with a unique name. Drop it with `drop()` in an `afterEach`/`afterAll`
 * (those run when a test fails too). Databases left by a test process that was killed are dropped by
 * the next call of a process on this host: their name carries the pid that created them.
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  if (!swept) {
    swept = true;
    await dropLeftovers();
  }
  const name = testDatabaseName(process.pid);
  const locale = options.icuLocale === undefined ? '' : ` template template0 locale_provider icu icu_locale ${quoteLiteral(options.icuLocale)}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await admin((client) => client.query(`create database ${quoteIdent(name)}${locale}`));
      break;
    } catch (error) {
      const sourceInUse = (error as { code?: string }).code === '55006';
      if (!sourceInUse || attempt >= CREATE_ATTEMPTS) throw error;
      await new Promise((done) => setTimeout(done, 100 * attempt));
    }
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  let dropping: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    drop() {
      dropping ??= admin(async (client) => {
        await client.query(`drop database if exists ${quoteIdent(name)} with (force)`);
      });
      return dropping;
    },
  };
}

export interface TestSchema {
  readonly name: string;
  /** The database's URL with `options=-c search_path=<name>`: everything unqualified happens in the schema. */
  readonly url: string;
  /** Drops the schema and everything in it. Idempotent. */
  drop(): Promise<void>;
}

/**
 * One database for a test file (or a suite), created on first use and dropped after the file's
 * tests (an `afterAll`, registered by this call), with a fresh schema in it for each test that asks:
 * an empty place per test, without paying for a CREATE DATABASE each time. Call at a file's top level
 * or inside a `describe`.
 */
export function useTestDatabase(options: TestDatabaseOptions = {}): { database(): Promise<TestDatabase>; freshSchema(): Promise<TestSchema> } {
  let created: Promise<TestDatabase> | undefined;
  let schemas = 0;
  afterAll(async () => {
    const database = await created?.catch(() => undefined);
    await database?.drop();
  });
  const database = () => (created ??= createTestDatabase(options));
  return {
    database,
    async freshSchema() {
      const { url: databaseUrl } = await database();
      const name = `test_${++schemas}`;
      await admin((client) => client.query(`create schema ${quoteIdent(name)}`), databaseUrl);
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${name}`);
      let dropping: Promise<void> | undefined;
      return {
        name,
        url: url.toString(),
        drop() {
          dropping ??= admin(async (client) => {
            await client.query(`drop schema if exists ${quoteIdent(name)} cascade`);
          }, databaseUrl);
          return dropping;
        },
      };
    },
  };
}

/** Whether a database of this name exists on the test server (to check that a test cleaned up). */
export async function databaseExists(name: string): Promise<boolean> {
  return admin(async (client) => (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);
}

/** A new test database name for a process of this host. */
export function testDatabaseName(pid: number): string {
  return `${NAME_PREFIX}${HOST_TAG}_${pid}_${randomBytes(5).toString('hex')}`;
}

/** Drops test databases of this host whose process is gone (killed before its cleanup ran). */
export async function dropLeftovers(): Promise<void> {
  const names = await admin(async (client) => (await client.query<{ datname: string }>(`select datname from pg_database where datname like $1`, [`${NAME_PREFIX}${HOST_TAG}\\_%`])).rows.map((r) => r.datname));
  for (const name of names) {
    const pid = Number(name.slice(`${NAME_PREFIX}${HOST_TAG}_`.length).split('_')[0]);
    if (Number.isInteger(pid) && !processAlive(pid)) {
      await admin((client) => client.query(`drop database if exists ${quoteIdent(name)} with (force)`)).catch(() => undefined);
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function admin<T>(run: (client: pg.Client) => Promise<T>, url = TEST_POSTGRES_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`PostgreSQL for tests does not answer at ${url} (${reason}): run \`node scripts/test-prerequisites.mjs\`, or set COLONY_TEST_POSTGRES_URL`, { cause: error });
  }
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
