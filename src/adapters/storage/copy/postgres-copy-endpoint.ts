import { sql, type Kysely, type Transaction } from 'kysely';
import { StorageError } from '../../../domain/errors.js';
import type { JsonValue } from '../../../domain/json.js';
import { openPostgres, type PostgresConnectionOptions, type PostgresDatabase } from '../postgres/postgres-connection.js';
import { mapPostgresError } from '../postgres/postgres-errors.js';
import { searchDocument } from '../postgres/postgres-memory-store.js';
import { flattenJsonText } from '../sqlite/memory-text.js';
import { decodeValue } from '../sqlite/memory-value-codec.js';
import { VECTOR_TABLE, type AnyDb, type CopyDb, type CopyEndpoint, type CopyRow, type SequenceReport } from './copy-endpoint.js';
import { categoryOf, isMigrationBookkeeping, type ForeignKeyShape, type TableShape } from './copy-schema.js';

/** PostgreSQL's wire protocol counts bound parameters in 16 bits. */
const POSTGRES_MAX_PARAMETERS = 65_535;
const NO_COLUMNS: ReadonlySet<string> = new Set();
/**
 * memory.search: the entry's tsvector (migration 0003); memory_embeddings.embedding: the vector (0011),
 * written from the source's vectors; events.xid: the appending transaction (0010), which only means
 * something in the database that issued it, so a copied event gets the copy's.
 */
const DERIVED: Readonly<Record<string, ReadonlySet<string>>> = {
  memory: new Set(['search']),
  [VECTOR_TABLE]: new Set(['embedding']),
  events: new Set(['xid']),
};

type Row = Record<string, unknown>;

/**
 * A PostgreSQL database (the schema its URL's search_path selects) as one side of a copy, on a small
 * pool of its own.
 */
export class PostgresCopyEndpoint implements CopyEndpoint {
  readonly kind = 'postgres' as const;
  readonly location: string;
  readonly db: Kysely<AnyDb>;
  readonly maxParameters = POSTGRES_MAX_PARAMETERS;
  private readonly database: PostgresDatabase;

  constructor(options: PostgresConnectionOptions & { location: string }) {
    this.location = options.location;
    this.database = openPostgres({ ...options, poolSize: 2, applicationName: 'colony db copy' });
    this.db = this.database.db as unknown as Kysely<AnyDb>;
  }

  async tables(): Promise<TableShape[]> {
    const { rows: tables } = await sql<{ name: string }>`
      select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p') order by c.relname`.execute(this.db);
    const { rows: columns } = await sql<{ table: string; name: string; type: string; serial: boolean }>`
      select table_name as table, column_name as name, data_type as type, coalesce(column_default like 'nextval(%', false) as serial
      from information_schema.columns where table_schema = current_schema() order by table_name, ordinal_position`.execute(this.db);
    const { rows: keys } = await sql<{ table: string; columns: string[] }>`
      select c.relname as table, array(select a.attname::text from unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
                                       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum order by k.ord) as columns
      from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and i.indisprimary`.execute(this.db);
    const { rows: references } = await sql<{ table: string; parent: string; columns: string[] }>`
      select c.relname as table, p.relname as parent,
             array(select a.attname::text from unnest(con.conkey) with ordinality k(attnum, ord)
                   join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum order by k.ord) as columns
      from pg_constraint con join pg_class c on c.oid = con.conrelid join pg_class p on p.oid = con.confrelid
        join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and con.contype = 'f' order by c.relname, con.conname`.execute(this.db);
    return tables
      .filter((t) => !isMigrationBookkeeping(t.name))
      .map((t) => ({
        name: t.name,
        columns: columns.filter((c) => c.table === t.name).map((c) => ({ name: c.name, type: c.type, category: categoryOf(c.type), serial: c.serial })),
        primaryKey: keys.find((k) => k.table === t.name)?.columns ?? [],
        foreignKeys: references.filter((r) => r.table === t.name).map((r): ForeignKeyShape => ({ columns: r.columns, references: r.parent })),
      }));
  }

  derivedColumns(table: string): ReadonlySet<string> {
    return DERIVED[table] ?? NO_COLUMNS;
  }

  snapshot<T>(body: (trx: Transaction<AnyDb>) => Promise<T>): Promise<T> {
    // One snapshot for every read of the copy and its check, however long they take.
    return this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (trx) => {
        await sql`select set_config('statement_timeout', '0', true)`.execute(trx);
        return body(trx);
      });
  }

  transaction<T>(body: (trx: Transaction<AnyDb>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      // A large table's insert or check may outlast the pool's per-statement limit.
      await sql`select set_config('statement_timeout', '0', true)`.execute(trx);
      return body(trx);
    });
  }

  async readVectors(db: CopyDb, rows: readonly { id: number; dims: number }[]): Promise<Map<number, Float32Array>> {
    if (rows.length === 0) return new Map();
    const { rows: found } = await sql<{ id: number; embedding: number[] | null }>`
      select id, embedding from memory_embeddings where id = any(${rows.map((r) => r.id)}::bigint[])`.execute(db);
    return new Map(found.filter((r) => r.embedding !== null).map((r) => [Number(r.id), Float32Array.from(r.embedding as number[])]));
  }

  async derive(trx: Transaction<AnyDb>, table: string, rows: CopyRow[], vectors: ReadonlyMap<number, Float32Array>): Promise<CopyRow[]> {
    if (table === 'memory') return this.indexMemory(trx, rows);
    if (table === VECTOR_TABLE) {
      // float4 components as the embedder produced them: each float32 survives the text form exactly.
      return rows.map((row) => {
        const vector = vectors.get(Number(row.id));
        return { ...row, embedding: vector ? Array.from(vector) : null };
      });
    }
    return rows;
  }

  async derivedCounts(db: CopyDb): Promise<{ keywordIndexed: number; vectors: number }> {
    const { rows } = await sql<{ indexed: number; vectors: number }>`
      select (select count(*) from memory where search is not null) as indexed,
             (select count(*) from memory_embeddings where embedding is not null) as vectors`.execute(db);
    return { keywordIndexed: Number(rows[0]?.indexed ?? 0), vectors: Number(rows[0]?.vectors ?? 0) };
  }

  async issuedIds(db: CopyDb, tables: readonly TableShape[]): Promise<Map<string, number>> {
    const issued = new Map<string, number>();
    for (const table of tables) {
      for (const column of table.columns.filter((c) => c.serial)) {
        const sequence = await this.sequenceOf(db, table.name, column.name);
        if (sequence === null) continue;
        const { rows } = await sql<{ last: number; called: boolean }>`select last_value as last, is_called as called from ${sql.raw(sequence)}`.execute(db);
        const row = rows[0];
        if (row) issued.set(table.name, row.called ? Number(row.last) : Number(row.last) - 1);
      }
    }
    return issued;
  }

  async advanceSequences(trx: Transaction<AnyDb>, tables: readonly TableShape[], issued: ReadonlyMap<string, number>): Promise<SequenceReport[]> {
    const out: SequenceReport[] = [];
    for (const table of tables) {
      for (const column of table.columns.filter((c) => c.serial)) {
        const sequence = await this.sequenceOf(trx, table.name, column.name);
        if (sequence === null) continue;
        const { rows } = await sql<{ max: number }>`select coalesce(max(${sql.ref(column.name)}), 0) as max from ${sql.table(table.name)}`.execute(trx);
        const next = Math.max(Number(rows[0]?.max ?? 0), issued.get(table.name) ?? 0) + 1;
        await sql`select setval(${sequence}::regclass, ${next}, false)`.execute(trx);
        out.push({ table: table.name, column: column.name, next });
      }
    }
    return out;
  }

  mapError(error: unknown, what: string) {
    return mapPostgresError(error, what);
  }

  close(): Promise<void> {
    return this.database.close();
  }

  private async sequenceOf(db: CopyDb, table: string, column: string): Promise<string | null> {
    const { rows } = await sql<{ sequence: string | null }>`select pg_get_serial_sequence(${quoteIdent(table)}, ${column}) as sequence`.execute(db);
    return rows[0]?.sequence ?? null;
  }

  /** Each entry's tsvector, as PostgresMemoryStore writes it, from its value in memory_blobs (copied before). */
  private async indexMemory(trx: Transaction<AnyDb>, rows: CopyRow[]): Promise<CopyRow[]> {
    if (rows.length === 0) return rows;
    const hashes = [...new Set(rows.map((r) => r.value_ref as string))];
    const { rows: blobs } = await sql<Row>`select hash, data, compressed from memory_blobs where hash = any(${hashes}::text[])`.execute(trx);
    const values = new Map(blobs.map((b) => [b.hash as string, JSON.parse(decodeValue(b.data as Uint8Array, Number(b.compressed))) as JsonValue]));
    return rows.map((row) => {
      const value = values.get(row.value_ref as string);
      if (value === undefined) throw new StorageError(`memory ${String(row.namespace)}/${String(row.key)}: its value ${String(row.value_ref)} is missing from memory_blobs`);
      const tags = JSON.parse(row.tags as string) as string[];
      return { ...row, search: searchDocument(row.key as string, tags, flattenJsonText(value)) };
    });
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
