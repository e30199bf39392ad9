import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LATEST_MIGRATION } from '../src/adapters/storage/sql/migration-latest.js';
import { createColony, type Colony } from '../src/app/colony.js';
import type { ConfigInput } from '../src/app/config.js';
import type { DatabaseCopyReport } from '../src/app/database-copy.js';
import type { DatabaseMigration, DatabaseStatus } from '../src/app/database-migrate.js';
import type { TaskRecord } from '../src/domain/task.js';
import { removeTempProjects, runCli, runJson, tempProject, type TempProject } from './support/cli.js';
import { createTestDatabase, type TestDatabase } from './support/postgres.js';
import { taskRecord } from './support/task-fixtures.js';

/**
 * `colony db status|migrate|copy` as a person runs them: the real CLI on a project built with the
 * library (a SQLite file), copied into real PostgreSQL databases of their own, then opened there.
 */

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => removeTempProjects());

interface ErrorJson {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

const FAST: ConfigInput = { log: { level: 'silent' }, tasks: { pollIntervalMs: 20, retryBaseDelayMs: 5, retryMaxDelayMs: 20 } };

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  cleanups.push(() => db.drop());
  return db;
}

function project(): TempProject {
  const p = tempProject();
  cleanups.push(() => p.remove());
  return p;
}

async function open(dir: string, url?: string): Promise<Colony> {
  const colony = await createColony({ projectDir: dir, env: {}, config: { ...FAST, ...(url ? { database: { url, poolSize: 4 } } : {}) } });
  cleanups.push(() => colony.close({ drainTimeoutMs: 0 }));
  return colony;
}

async function until<T>(check: () => Promise<T | undefined>): Promise<T> {
  // A hang guard only: the condition is met as soon as the work is done.
  for (let i = 0; i < 3_000; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met');
}

async function pgScalar(url: string, text: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Object.values((await client.query(text)).rows[0] ?? {})[0];
  } finally {
    await client.end();
  }
}

/** Rows per Colony table of a PostgreSQL database, straight from the server. */
async function pgCounts(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(`select tablename as name from pg_tables where schemaname = current_schema() and tablename not like 'kysely%' order by 1`);
    const counts: Record<string, number> = {};
    for (const { name } of rows) counts[name] = Number((await client.query<{ n: string }>(`select count(*) as n from "${name}"`)).rows[0]?.n);
    return counts;
  } finally {
    await client.end();
  }
}

interface Built {
  tasks: TaskRecord[];
  eventIds: number[];
  agentIds: string[];
  /** The highest memory_embeddings id SQLite ever issued: above the rows' own, as the last one was deleted. */
  embeddingsIssued: number;
}

/** A project with real content: a completed fan-out/join DAG, a parent and child task, agents, an API key, memory with embeddings. */
async function buildProject(dir: string): Promise<Built> {
  const colony = await createColony({ projectDir: dir, env: {}, config: FAST });
  try {
    colony.registerExecutor({ type: 'double', execute: async ({ task }) => ({ doubled: 2 * Number((task.input as { n: number }).n), note: 'ünïcode ✓' }) });
    const branches = Array.from({ length: 7 }, (_, i) => ({ type: 'double', name: `b${i}`, input: { n: i } }));
    const submitted = await colony.tasks.submit([...branches, { type: 'double', name: 'join', input: { n: 100 }, dependencies: branches.map((b) => b.name) }]);
    await colony.start();
    await until(async () => ((await colony.store.tasks.countByStatus()).completed === submitted.length ? true : undefined));
    await colony.stop({ drainTimeoutMs: 0 });
    // A child whose id sorts before its parent's: the copy must not depend on id order for the parent link.
    await colony.store.tasks.insert([
      taskRecord('tsk_zz_parent', { status: 'completed', result: { ok: true }, completedAt: 1_750_000_000_100 }),
      taskRecord('tsk_aa_child', { parentId: 'tsk_zz_parent', status: 'cancelled', error: { code: 'cancelled', message: 'cancelled by test', attempt: 1 } }),
    ]);
    const agents = [await colony.agents.spawn({ type: 'coder', name: 'Coder One' }), await colony.agents.spawn({ type: 'tester' })];
    await colony.apiKeys.create({ role: 'viewer', name: 'ci' });

    const memory = await colony.memory();
    await memory.store('notes', 'cache', { text: 'caching layers keep hot reads cheap' }, { tags: ['perf', 'team'] });
    await memory.store('notes', 'pets', { text: 'the unicorn sleeps in the stable' }, { tags: ['zoo'] });
    await memory.store('notes', 'quoted', '42');
    await memory.store('notes', 'number', 42);
    // Over 1 KiB: stored gzip-compressed in memory_blobs.
    await memory.store('archive', 'long', { text: `${'lorem ipsum dolor '.repeat(200)} zeppelin` });
    await memory.store('default', 'same', { text: 'caching layers keep hot reads cheap' });
    expect((await memory.flushEmbeddings()).error).toBeNull();
    // Embedded last, so its embedding has the highest id; then deleted.
    await memory.store('default', 'gone', { text: 'deleted after it was embedded' });
    expect((await memory.flushEmbeddings()).embedded).toBe(1);
    expect(await memory.delete('default', 'gone')).toBe(true);
    await colony.events.flush();
    const tasks = await colony.store.tasks.list({ limit: 1_000 });
    const events = await colony.events.list({ limit: 10_000 });
    return { tasks, eventIds: events.map((e) => e.id), agentIds: agents.map((a) => a.id).sort(), embeddingsIssued: issuedIds(colony.config.database.path, 'memory_embeddings') };
  } finally {
    await colony.close({ drainTimeoutMs: 0 });
  }
}

function issuedIds(file: string, table: string): number {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const seq = (db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').get(table) as { seq: number }).seq;
    const max = (db.prepare(`SELECT max(id) AS n FROM ${table}`).get() as { n: number }).n;
    expect(seq).toBeGreaterThan(max);
    return seq;
  } finally {
    db.close();
  }
}

describe('colony db migrate and db status', () => {
  it('report the schema version before and after, on a new SQLite file and on PostgreSQL', async () => {
    const p = project();
    const fresh = await runJson<DatabaseStatus>(['db', 'status'], { cwd: p.dir });
    expect(fresh.code).toBe(0);
    expect(fresh.data).toMatchObject({ kind: 'sqlite', location: p.path('.colony', 'colony.db'), exists: false, schemaVersion: null, latestVersion: LATEST_MIGRATION });
    expect(fresh.data.pending.at(-1)).toBe(LATEST_MIGRATION);
    expect(fresh.data.pending[0]).toBe('0001_initial');

    const migrated = await runJson<DatabaseMigration>(['db', 'migrate'], { cwd: p.dir });
    expect(migrated.code).toBe(0);
    expect(migrated.data).toMatchObject({ kind: 'sqlite', exists: false, before: null, after: LATEST_MIGRATION, latestVersion: LATEST_MIGRATION });
    expect(migrated.data.applied).toEqual(fresh.data.pending);
    const again = await runJson<DatabaseMigration>(['db', 'migrate'], { cwd: p.dir });
    expect(again.data).toMatchObject({ exists: true, before: LATEST_MIGRATION, after: LATEST_MIGRATION, applied: [] });
    const human = await runCli(['db', 'migrate'], { cwd: p.dir });
    expect(human.stdout).toContain(`is at the latest schema, ${LATEST_MIGRATION}: nothing to do`);
    const status = await runJson<DatabaseStatus>(['db', 'status'], { cwd: p.dir });
    expect(status.data).toMatchObject({ exists: true, schemaVersion: LATEST_MIGRATION, pending: [] });

    // PostgreSQL by --db; the password never shows.
    const db = await database();
    const url = new URL(db.url);
    url.password = 'not-shown';
    const onPg = await runJson<DatabaseMigration>(['--db', url.toString(), 'db', 'migrate'], { cwd: p.dir });
    expect(onPg.code).toBe(0);
    expect(onPg.data).toMatchObject({ kind: 'postgres', before: null, after: LATEST_MIGRATION });
    expect(onPg.data.location).toBe(`postgres://${url.host}/${db.name}`);
    const pgStatus = await runCli(['--db', url.toString(), 'db', 'status'], { cwd: p.dir });
    expect(pgStatus.stdout).toContain(`${LATEST_MIGRATION} (latest)`);
    expect(pgStatus.stdout + pgStatus.stderr).not.toContain('not-shown');
  });
});

describe('colony db copy', () => {
  it('copies a project from its SQLite file into PostgreSQL, where its tasks, events and memory work; a second copy is refused', async () => {
    const p = project();
    const built = await buildProject(p.dir);
    const target = await database();

    // Small batches, so that every table with rows is read in several pages (composite keys too).
    const copied = await runJson<DatabaseCopyReport>(['db', 'copy', '--to', target.url, '--batch-size', '3', '--sample', '1000'], { cwd: p.dir });
    expect(copied.code, copied.stderr).toBe(0);
    const report = copied.data;
    expect(report.verified).toBe(true);
    expect(report.source).toMatchObject({ kind: 'sqlite', location: p.path('.colony', 'colony.db'), schemaVersion: LATEST_MIGRATION });
    expect(report.target).toMatchObject({ kind: 'postgres', schemaVersion: LATEST_MIGRATION, schemaBefore: null });
    const byTable = Object.fromEntries(report.tables.map((t) => [t.table, t]));
    expect(byTable.tasks).toMatchObject({ sourceRows: built.tasks.length, copiedRows: built.tasks.length, targetRows: built.tasks.length, mismatchedRows: 0, ok: true });
    expect(byTable.events).toMatchObject({ sourceRows: built.eventIds.length, targetRows: built.eventIds.length, sampledRows: built.eventIds.length });
    expect(byTable.task_dependencies?.targetRows).toBe(7);
    expect(byTable.memory?.targetRows).toBe(6);
    expect(byTable.memory_embeddings?.targetRows).toBe(6);
    expect(report.tables.every((t) => t.ok && t.sourceRows === t.targetRows)).toBe(true);
    expect(report.derived).toEqual({ keywordIndex: { expected: 6, found: 6 }, vectors: { expected: 6, found: 6 } });
    expect(report.sequences).toContainEqual({ table: 'events', column: 'id', next: Math.max(...built.eventIds) + 1 });
    // An id SQLite issued to a row since deleted is not issued again on PostgreSQL either.
    expect(report.sequences).toContainEqual({ table: 'memory_embeddings', column: 'id', next: built.embeddingsIssued + 1 });
    expect(report.mismatches).toEqual([]);
    // Progress went to stderr, table by table; stdout is the JSON alone.
    expect(copied.stderr).toContain(`copied events: ${built.eventIds.length}/${built.eventIds.length} rows`);
    expect(copied.stderr).toContain('verifying the copy');
    const counts = await pgCounts(target.url);
    for (const t of report.tables) expect(counts[t.table], t.table).toBe(t.sourceRows);

    // The project opened on PostgreSQL: the same tasks, events, agents and memory, and keyword and semantic search.
    const colony = await open(p.dir, target.url);
    const tasks = await colony.store.tasks.list({ limit: 1_000 });
    expect(tasks.map((t) => t.id).sort()).toEqual(built.tasks.map((t) => t.id).sort());
    for (const before of built.tasks) expect(tasks.find((t) => t.id === before.id)).toEqual(before);
    expect((await colony.tasks.get('tsk_aa_child')).parentId).toBe('tsk_zz_parent');
    const join = built.tasks.find((t) => t.name === 'join') as TaskRecord;
    expect((await colony.tasks.get(join.id)).result).toEqual({ doubled: 200, note: 'ünïcode ✓' });
    const events = await colony.events.list({ limit: 10_000 });
    expect(events.map((e) => e.id)).toEqual(built.eventIds);
    expect((await colony.agents.list({})).map((a) => a.id).sort()).toEqual(built.agentIds);
    expect((await colony.apiKeys.list({ includeRevoked: true })).map((k) => k.name)).toEqual(['ci']);

    const memory = await colony.memory();
    expect((await memory.retrieve('notes', 'quoted'))?.value).toBe('42');
    expect((await memory.retrieve('notes', 'number'))?.value).toBe(42);
    expect((await memory.retrieve('archive', 'long'))?.value).toEqual({ text: `${'lorem ipsum dolor '.repeat(200)} zeppelin` });
    expect((await memory.retrieve('notes', 'cache'))?.tags).toEqual(['perf', 'team']);
    const keyword = await memory.search('unicorn', { mode: 'keyword' });
    expect(keyword.hits.map((h) => h.entry.key)).toEqual(['pets']);
    const stemmed = await memory.search('cache', { mode: 'keyword', namespace: 'notes' });
    expect(stemmed.hits.map((h) => h.entry.key)).toEqual(['cache']);
    expect((await memory.search('zeppelin', { mode: 'keyword' })).hits.map((h) => h.entry.key)).toEqual(['long']);
    // The vectors came along: nothing is left to embed, and semantic search ranks the matching entries first.
    expect((await memory.flushEmbeddings()).embedded).toBe(0);
    const semantic = await memory.search('caching layers keep hot reads cheap', { mode: 'semantic', limit: 2 });
    expect(semantic.hits.map((h) => h.entry.key).sort()).toEqual(['cache', 'same']);

    // New work on PostgreSQL gets ids after the copied ones.
    colony.registerExecutor({ type: 'double', execute: async () => 0 });
    const [extra] = await colony.tasks.submit([{ type: 'double', input: { n: 1 } }]);
    await colony.start();
    await until(async () => ((await colony.tasks.get(extra!.id)).status === 'completed' ? true : undefined));
    await colony.events.flush();
    const newer = await colony.events.list({ afterId: Math.max(...built.eventIds), limit: 100 });
    expect(newer.length).toBeGreaterThan(0);
    await memory.store('notes', 'moved', { text: 'written after the move' });
    expect((await memory.flushEmbeddings()).embedded).toBe(1);
    expect(Number(await pgScalar(target.url, 'select max(id) from memory_embeddings'))).toBe(built.embeddingsIssued + 1);
    await colony.stop({ drainTimeoutMs: 0 });

    // A second copy into the now non-empty target: refused, exit 4, nothing changed.
    const before = await pgCounts(target.url);
    const refused = await runJson<ErrorJson>(['db', 'copy', '--to', target.url], { cwd: p.dir });
    expect(refused.code).toBe(4);
    expect(refused.data.error.code).toBe('conflict');
    expect(refused.data.error.message).toMatch(/is not empty: .*tasks \(\d+\).* hold rows\. Copy only into an empty database; nothing was changed/);
    expect(await pgCounts(target.url)).toEqual(before);

    // And back again from PostgreSQL into a new SQLite file, where keyword search runs on FTS5.
    const back = await runJson<DatabaseCopyReport>(['--db', target.url, 'db', 'copy', '--to', 'sqlite:moved/colony.db', '-q'], { cwd: p.dir });
    expect(back.code, JSON.stringify(back.data)).toBe(0);
    expect(back.stderr).toBe('');
    expect(back.data.target).toMatchObject({ kind: 'sqlite', location: p.path('moved', 'colony.db') });
    expect(back.data.derived).toEqual({ keywordIndex: { expected: 7, found: 7 }, vectors: { expected: 7, found: 7 } });
    const found = await runJson<{ hits: { entry: { key: string } }[] }>(['--db', 'sqlite:moved/colony.db', 'memory', 'search', 'unicorn', '--mode', 'keyword'], { cwd: p.dir });
    expect(found.data.hits.map((h) => h.entry.key)).toEqual(['pets']);
    const semanticBack = await runJson<{ hits: { entry: { key: string } }[] }>(['--db', 'sqlite:moved/colony.db', 'memory', 'search', 'the unicorn sleeps', '--mode', 'semantic', '--limit', '1'], { cwd: p.dir });
    expect(semanticBack.data.hits.map((h) => h.entry.key)).toEqual(['pets']);
  });

  it('refuses bad input with a clear error and an exit code, changing nothing', async () => {
    const p = project();
    const target = await database();

    // No database in the project: nothing to copy, and the target is not even migrated.
    const missing = await runJson<ErrorJson>(['db', 'copy', '--to', target.url], { cwd: p.dir });
    expect(missing.code).toBe(3);
    expect(missing.data.error.message).toBe(`no Colony database at ${p.path('.colony', 'colony.db')}: nothing to copy`);
    expect(await pgCounts(target.url)).toEqual({});

    await runCli(['db', 'migrate'], { cwd: p.dir });
    const unsupported = await runJson<ErrorJson>(['db', 'copy', '--to', 'mysql://admin:hunter2@db/colony'], { cwd: p.dir });
    expect(unsupported.code).toBe(2);
    expect(unsupported.data.error).toMatchObject({ code: 'validation', message: 'option --to: expected a database URL (sqlite:, postgres://, postgresql://), got "mysql://admin:***@db/colony"' });

    const unreachable = await runCli(['db', 'copy', '--to', 'postgres://root:hunter2@127.0.0.1:1/nowhere'], { cwd: p.dir });
    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toMatch(/^colony: the target database postgres:\/\/127\.0\.0\.1:1\/nowhere: .*ECONNREFUSED/);
    expect(unreachable.stderr).not.toContain('hunter2');
    expect(unreachable.stderr).not.toMatch(/\n\s+at /);

    const itself = await runJson<ErrorJson>(['db', 'copy', '--to', 'sqlite:.colony/colony.db'], { cwd: p.dir });
    expect(itself.code).toBe(2);
    expect(itself.data.error.message).toMatch(/^the target is the source database/);

    const usage = await runCli(['db', 'copy'], { cwd: p.dir });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("required option '--to <url>' not specified");
    expect(await pgCounts(target.url)).toEqual({});
  });

  it('refuses while work runs on the source unless --force, which copies the running task as it is', async () => {
    const p = project();
    const colony = await open(p.dir);
    let release: () => void = () => undefined;
    colony.registerExecutor({ type: 'hold', execute: () => new Promise<string>((resolve) => (release = () => resolve('released'))) });
    const [held] = await colony.tasks.submit([{ type: 'hold' }]);
    await colony.start();
    await until(async () => ((await colony.tasks.get(held!.id)).status === 'running' ? true : undefined));
    cleanups.push(() => release());

    const target = await database();
    const refused = await runJson<ErrorJson>(['db', 'copy', '--to', target.url], { cwd: p.dir });
    expect(refused.code).toBe(4);
    expect(refused.data.error.message).toMatch(/is in use: 1 task is running; a library process is live \(pid \d+ on .+\)\. Stop those processes first/);
    expect(refused.data.error.message).toContain('--force');
    expect(await pgCounts(target.url)).toEqual({});

    const forced = await runJson<DatabaseCopyReport>(['db', 'copy', '--to', target.url, '--force'], { cwd: p.dir });
    expect(forced.code, JSON.stringify(forced.data)).toBe(0);
    expect(forced.data.verified).toBe(true);
    expect(forced.data.warnings).toEqual(expect.arrayContaining(['1 task is running']));
    const counts = await pgCounts(target.url);
    expect(counts.tasks).toBe(1);
    expect(counts.runners).toBe(1);
    release();
  });
});
