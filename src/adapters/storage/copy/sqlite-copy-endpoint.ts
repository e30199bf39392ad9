import { createRequire } from 'node:module';
import type * as NodeSqlite from 'node:sqlite';
import type { DatabaseSync } from 'node:sqlite';
import { Kysely, SqliteDialect, type Transaction } from 'kysely';
import { StorageError } from '../../../domain/errors.js';
import type { JsonValue } from '../../../domain/json.js';
import { flattenJsonText } from '../sqlite/memory-text.js';
import { decodeValue } from '../sqlite/memory-value-codec.js';
import { kyselyDatabaseFor } from '../sqlite/node-sqlite-kysely.js';
import { mapSqliteError } from '../sqlite/sqlite-errors.js';
import { createVecTableSql, vecTable, vectorBytes } from '../sqlite/sqlite-memory-store.js';
import { loadSqliteVec, type VectorExtensionStatus } from '../sqlite/sqlite-vec-loader.js';
import { VECTOR_TABLE, type AnyDb, type CopyDb, type CopyEndpoint, type CopyRow, type SequenceReport } from './copy-endpoint.js';
import { categoryOf, isMigrationBookkeeping, type ForeignKeyShape, type TableShape } from './copy-schema.js';

/** SQLite's limit on bound parameters per statement (SQLITE_MAX_VARIABLE_NUMBER since 3.32). */
const SQLITE_MAX_PARAMETERS = 32_766;
const NO_COLUMNS: ReadonlySet<string> = new Set();
/** memory.fts_rowid points at the entry's row in the FTS5 table memory_fts (migration 0003). */
const DERIVED: Readonly<Record<string, ReadonlySet<string>>> = { memory: new Set(['fts_rowid']) };

type Row = Record<string, unknown>;

/**
 * A SQLite file as one side of a copy, on a connection of its own with sqlite-vec loaded (vectors
 * live in its vec0 tables). The file must exist: the copy opens a store first, which creates and
 * migrates a target.
 */
export class SqliteCopyEndpoint implements CopyEndpoint {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  readonly db: Kysely<AnyDb>;
  readonly maxParameters = SQLITE_MAX_PARAMETERS;
  private readonly raw: DatabaseSync;
  private readonly vectors: VectorExtensionStatus;

  constructor(options: { path: string; busyTimeoutMs: number }) {
    this.location = options.path;
    const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as typeof NodeSqlite;
    this.raw = new DatabaseSync(options.path, { timeout: options.busyTimeoutMs, allowExtension: true });
    this.raw.enableLoadExtension(false);
    this.raw.exec('PRAGMA foreign_keys = ON');
    this.vectors = loadSqliteVec(this.raw);
    this.db = new Kysely<AnyDb>({ dialect: new SqliteDialect({ database: kyselyDatabaseFor(this.raw) }) });
  }

  async tables(): Promise<TableShape[]> {
    const listed = this.raw.prepare(`SELECT name, type FROM pragma_table_list WHERE schema = 'main'`).all() as { name: string; type: string }[];
    // Virtual tables (FTS5, sqlite-vec) and the tables they keep their data in are derived, not copied.
    const virtual = listed.filter((t) => t.type === 'virtual').map((t) => t.name);
    const names = listed
      .filter((t) => t.type === 'table' && !t.name.startsWith('sqlite_') && !isMigrationBookkeeping(t.name))
      .filter((t) => !virtual.some((v) => t.name.startsWith(`${v}_`)))
      .map((t) => t.name)
      .sort();
    return names.map((name) => this.tableShape(name));
  }

  derivedColumns(table: string): ReadonlySet<string> {
    return DERIVED[table] ?? NO_COLUMNS;
  }

  snapshot<T>(body: (trx: Transaction<AnyDb>) => Promise<T>): Promise<T> {
    // WAL mode: a read transaction sees the file as of its first read, whatever other processes write.
    return this.db.transaction().execute(body);
  }

  transaction<T>(body: (trx: Transaction<AnyDb>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(body);
  }

  async readVectors(_db: CopyDb, rows: readonly { id: number; dims: number }[]): Promise<Map<number, Float32Array>> {
    const found = new Map<number, Float32Array>();
    // Without sqlite-vec the vectors cannot be read: those rows are left out (the target embeds again).
    if (!this.vectors.available) return found;
    for (const { id, dims } of rows) {
      if (!this.tableExists(vecTable(dims))) continue;
      // The same connection as the snapshot's transaction: these reads see the same state.
      const row = this.raw.prepare(`SELECT embedding FROM ${vecTable(dims)} WHERE rowid = ?`).get(BigInt(id)) as { embedding: Uint8Array } | undefined;
      if (!row) continue;
      const bytes = Uint8Array.from(row.embedding);
      found.set(id, new Float32Array(bytes.buffer, 0, bytes.byteLength / Float32Array.BYTES_PER_ELEMENT));
    }
    return found;
  }

  async derive(trx: Transaction<AnyDb>, table: string, rows: CopyRow[], vectors: ReadonlyMap<number, Float32Array>): Promise<CopyRow[]> {
    if (table === 'memory') return this.indexMemory(trx, rows);
    if (table === VECTOR_TABLE) this.writeVectors(rows, vectors);
    return rows;
  }

  async derivedCounts(): Promise<{ keywordIndexed: number; vectors: number }> {
    const indexed = this.raw
      .prepare('SELECT count(*) AS n FROM memory m WHERE m.fts_rowid IS NOT NULL AND EXISTS (SELECT 1 FROM memory_fts f WHERE f.rowid = m.fts_rowid)')
      .get() as { n: number };
    let vectors = 0;
    if (this.vectors.available) {
      const lengths = this.raw.prepare('SELECT DISTINCT dims FROM memory_embeddings').all() as { dims: number }[];
      for (const { dims } of lengths) {
        if (!this.tableExists(vecTable(dims))) continue;
        const n = this.raw.prepare(`SELECT count(*) AS n FROM memory_embeddings e WHERE e.dims = ? AND EXISTS (SELECT 1 FROM ${vecTable(dims)} v WHERE v.rowid = e.id)`).get(dims) as { n: number };
        vectors += Number(n.n);
      }
    }
    return { keywordIndexed: Number(indexed.n), vectors };
  }

  async issuedIds(): Promise<Map<string, number>> {
    if (!this.tableExists('sqlite_sequence')) return new Map();
    const rows = this.raw.prepare('SELECT name, seq FROM sqlite_sequence').all() as { name: string; seq: number }[];
    return new Map(rows.map((r) => [r.name, Number(r.seq)]));
  }

  async advanceSequences(_trx: Transaction<AnyDb>, tables: readonly TableShape[], issued: ReadonlyMap<string, number>): Promise<SequenceReport[]> {
    const out: SequenceReport[] = [];
    for (const table of tables) {
      for (const column of table.columns.filter((c) => c.serial)) {
        // AUTOINCREMENT already counts past every id inserted; only ids issued and deleted at the source are added.
        const max = Number((this.raw.prepare(`SELECT coalesce(max(${quote(column.name)}), 0) AS n FROM ${quote(table.name)}`).get() as { n: number }).n);
        const seq = Math.max(max, issued.get(table.name) ?? 0);
        const changed = this.raw.prepare('UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?').run(seq, table.name);
        if (Number(changed.changes) === 0 && seq > 0) this.raw.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(table.name, seq);
        out.push({ table: table.name, column: column.name, next: seq + 1 });
      }
    }
    return out;
  }

  mapError(error: unknown, what: string) {
    return mapSqliteError(error, what);
  }

  async close(): Promise<void> {
    await this.db.destroy();
    if (this.raw.isOpen) this.raw.close();
  }

  private tableShape(name: string): TableShape {
    const columns = this.raw.prepare('SELECT name, type, pk FROM pragma_table_xinfo(?) WHERE hidden = 0 ORDER BY cid').all(name) as { name: string; type: string; pk: number }[];
    const ddl = (this.raw.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) as { sql: string } | undefined)?.sql ?? '';
    const primaryKey = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name);
    const autoincrement = /\bautoincrement\b/i.test(ddl);
    const references = this.raw.prepare('SELECT id, "table" AS parent, "from" AS child FROM pragma_foreign_key_list(?) ORDER BY id, seq').all(name) as { id: number; parent: string; child: string }[];
    const foreignKeys = new Map<number, ForeignKeyShape>();
    for (const r of references) {
      const fk = foreignKeys.get(r.id) ?? { columns: [], references: r.parent };
      fk.columns.push(r.child);
      foreignKeys.set(r.id, fk);
    }
    return {
      name,
      columns: columns.map((c) => ({
        name: c.name,
        type: c.type.toLowerCase(),
        category: categoryOf(c.type),
        // Only an INTEGER PRIMARY KEY declared AUTOINCREMENT issues ids that are never reused.
        serial: autoincrement && primaryKey.length === 1 && primaryKey[0] === c.name,
      })),
      primaryKey,
      foreignKeys: [...foreignKeys.values()],
    };
  }

  private tableExists(name: string): boolean {
    return this.raw.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(name) !== undefined;
  }

  /** Each entry's FTS5 row, as SqliteMemoryStore writes it: key, the value's strings, tags. */
  private indexMemory(_trx: Transaction<AnyDb>, rows: CopyRow[]): CopyRow[] {
    const blob = this.raw.prepare('SELECT data, compressed FROM memory_blobs WHERE hash = ?');
    const insert = this.raw.prepare('INSERT INTO memory_fts (namespace, key, text, tags) VALUES (?, ?, ?, ?)');
    return rows.map((row) => {
      const stored = blob.get(row.value_ref as string) as Row | undefined;
      if (!stored) throw new StorageError(`memory ${String(row.namespace)}/${String(row.key)}: its value ${String(row.value_ref)} is missing from memory_blobs`);
      const value = JSON.parse(decodeValue(stored.data as Uint8Array, Number(stored.compressed))) as JsonValue;
      const tags = JSON.parse(row.tags as string) as string[];
      const ftsRowid = insert.run(row.namespace as string, row.key as string, flattenJsonText(value), tags.join(' ')).lastInsertRowid;
      return { ...row, fts_rowid: Number(ftsRowid) };
    });
  }

  private writeVectors(rows: readonly CopyRow[], vectors: ReadonlyMap<number, Float32Array>): void {
    if (rows.length === 0) return;
    if (!this.vectors.available) {
      throw new StorageError(`cannot write memory vectors into ${this.location}: sqlite-vec (the vector search extension) could not be loaded (${this.vectors.reason})`);
    }
    for (const row of rows) {
      const id = Number(row.id);
      const vector = vectors.get(id);
      if (!vector) continue;
      this.raw.exec(createVecTableSql(vector.length));
      this.raw.prepare(`INSERT INTO ${vecTable(vector.length)} (rowid, embedding, model, namespace) VALUES (?, ?, ?, ?)`).run(
        BigInt(id),
        vectorBytes(vector),
        row.model as string,
        row.namespace as string,
      );
    }
  }
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
