import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import type * as NodeSqlite from 'node:sqlite';
import type { DatabaseSync } from 'node:sqlite';
import type { MemoryStore } from '../../../ports/memory-store.js';
import type { Store } from '../../../ports/store.js';
import { LATEST_MIGRATION } from '../sql/migration-latest.js';
import { SqliteAgentStore } from './sqlite-agent-store.js';
import { SqliteApiKeyStore } from './sqlite-api-key-store.js';
import { SqliteConsensusStore } from './sqlite-consensus-store.js';
import { mapSqliteError } from './sqlite-errors.js';
import { SqliteEventLog } from './sqlite-event-log.js';
import { SqliteMemoryStore } from './sqlite-memory-store.js';
import { SqliteMessageStore } from './sqlite-message-store.js';
import { SqliteMetricStore } from './sqlite-metric-store.js';
import { SqliteModelCallLedger } from './sqlite-model-call-ledger.js';
import { SqliteProviderCircuitStore } from './sqlite-provider-circuit-store.js';
import { SqliteRunnerStore } from './sqlite-runner-store.js';
import { SqliteSwarmStore } from './sqlite-swarm-store.js';
import { SqliteTaskProcessStore } from './sqlite-task-process-store.js';
import { SqliteTaskStore } from './sqlite-task-store.js';
import { SqliteTranscriptStore } from './sqlite-transcript-store.js';
import { loadSqliteVec } from './sqlite-vec-loader.js';
import { SqliteWorkflowStore } from './sqlite-workflow-store.js';
import { WriteBatcher } from './write-batcher.js';

export interface SqliteStoreOptions {
  /** A file path, or `:memory:`. */
  path: string;
  busyTimeoutMs: number;
  /**
   * Replaces the database's clock (`runners.clock()`, what runner liveness is judged by), for tests
   * that control time. Absent: SQLite's own, `unixepoch('subsec')`.
   */
  clock?: () => number;
}

/** Tries of `migrate` when another process is migrating the same file at the same moment. */
const MIGRATE_ATTEMPTS = 5;

/**
 * The embedded store: one SQLite file in WAL mode, shared safely by every Colony process of a
 * project (CLI, server, MCP server). One adapter per aggregate port, all on one connection and one
 * write batcher, so writes group-commit together. Hot paths use cached prepared statements; listing
 * and migrations use SQL shared with the PostgreSQL adapter; migrations run on Kysely, loaded only
 * when needed.
 */
export class SqliteStore implements Store {
  readonly location: string;
  private readonly db: DatabaseSync;
  private readonly writes: WriteBatcher;
  private memoryStore: SqliteMemoryStore | undefined;
  readonly tasks: SqliteTaskStore;
  readonly workflows: SqliteWorkflowStore;
  readonly agents: SqliteAgentStore;
  readonly events: SqliteEventLog;
  readonly metrics: SqliteMetricStore;
  readonly runners: SqliteRunnerStore;
  readonly transcripts: SqliteTranscriptStore;
  readonly messages: SqliteMessageStore;
  readonly apiKeys: SqliteApiKeyStore;
  readonly swarms: SqliteSwarmStore;
  readonly consensus: SqliteConsensusStore;
  readonly modelCalls: SqliteModelCallLedger;
  readonly circuits: SqliteProviderCircuitStore;
  readonly taskProcesses: SqliteTaskProcessStore;
  private closed = false;

  constructor(options: SqliteStoreOptions) {
    this.location = options.path;
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    // Extensions are allowed at open only so that sqlite-vec can be loaded (by `memory`); loading
    // stays switched off except for that moment.
    this.db = new (loadNodeSqlite().DatabaseSync)(options.path, { timeout: options.busyTimeoutMs, allowExtension: true });
    this.db.enableLoadExtension(false);
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = NORMAL');
    // Writes run inside savepoints (the batcher's `atomically`), and SQLite keeps each page's
    // before-image for a savepoint in a sub-journal: a temporary file by default, so the first change
    // to every page in a transaction went through the file system (an event insert cost 4x). In
    // memory, the sub-journal lives only as long as its transaction.
    this.db.exec('PRAGMA temp_store = MEMORY');
    this.db.exec('PRAGMA foreign_keys = ON');
    const { db } = this;
    const writes = (this.writes = new WriteBatcher(db));
    this.tasks = new SqliteTaskStore(db, writes);
    this.workflows = new SqliteWorkflowStore(db, writes);
    this.agents = new SqliteAgentStore(db, writes);
    this.events = new SqliteEventLog(db, writes);
    this.metrics = new SqliteMetricStore(db, writes);
    this.runners = new SqliteRunnerStore(db, writes, options.clock);
    this.transcripts = new SqliteTranscriptStore(db, writes);
    this.messages = new SqliteMessageStore(db, writes);
    this.apiKeys = new SqliteApiKeyStore(db, writes);
    this.swarms = new SqliteSwarmStore(db, writes);
    this.consensus = new SqliteConsensusStore(db, writes);
    this.modelCalls = new SqliteModelCallLedger(db, writes);
    this.circuits = new SqliteProviderCircuitStore(db, writes);
    this.taskProcesses = new SqliteTaskProcessStore(db, writes);
  }

  /**
   * Memory's durable tier on this same file and write batcher. Created on first use, which is also
   * when sqlite-vec is loaded (once per connection): commands that never touch memory do not pay
   * for it. If it cannot be loaded, vector search says so and everything else works.
   */
  get memory(): MemoryStore {
    this.memoryStore ??= new SqliteMemoryStore(this.db, this.writes, { vectors: loadSqliteVec(this.db) });
    return this.memoryStore;
  }

  async migrate(): Promise<void> {
    if ((await this.schemaVersion()) === LATEST_MIGRATION) return;
    // Kysely and the migrations load only when the schema is behind: a short CLI command on an
    // up-to-date database does not pay for them.
    const [{ Kysely, Migrator, SqliteDialect }, { colonyMigrations }, { kyselyDatabaseFor }] = await Promise.all([
      import('kysely'),
      import('../sql/migrations.js'),
      import('./node-sqlite-kysely.js'),
    ]);
    // Migration 0013 rebuilds sqlite-vec tables, which needs the extension on this connection.
    loadSqliteVec(this.db);
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: kyselyDatabaseFor(this.db) }) });
    const migrator = new Migrator({
      db: kysely,
      provider: { getMigrations: async () => colonyMigrations('sqlite') },
    });
    // Kysely's SQLite adapter takes no migration lock, so two processes migrating one new file at the
    // same time collide: the loser's transaction fails and rolls back. Running again finds the work done.
    for (let attempt = 1; ; attempt++) {
      const { error, results } = await migrator.migrateToLatest();
      if (!error) return;
      if (attempt >= MIGRATE_ATTEMPTS) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName;
        throw mapSqliteError(error, `migration ${failed ?? ''} failed`.trim());
      }
      await new Promise((done) => setTimeout(done, 20 * attempt));
    }
  }

  async schemaVersion(): Promise<string | null> {
    const table = this.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'`).get();
    if (!table) return null; // Never migrated.
    const row = this.db.prepare(`SELECT name FROM kysely_migration ORDER BY name DESC LIMIT 1`).get() as { name: string } | undefined;
    return row?.name ?? null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.writes.flush();
    this.closed = true;
    this.db.close();
  }
}

/**
 * `node:sqlite`, loaded on first use rather than imported: a static import fails at link time on a
 * Node without it, before the entry points can say that Colony needs Node 24 (src/kernel/node-version.ts).
 */
function loadNodeSqlite(): typeof NodeSqlite {
  return createRequire(import.meta.url)('node:sqlite') as typeof NodeSqlite;
}
