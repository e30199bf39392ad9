import type { Kysely, Transaction } from 'kysely';
import type { ColonyError } from '../../../domain/errors.js';
import type { TableShape } from './copy-schema.js';

/** Tables are read from the database, so the copy's query builder is untyped. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDb = any;
export type CopyDb = Kysely<AnyDb> | Transaction<AnyDb>;
export type CopyRow = Record<string, unknown>;

/** The table whose vectors live outside its rows on SQLite (sqlite-vec tables) and in them on PostgreSQL. */
export const VECTOR_TABLE = 'memory_embeddings';

export interface SequenceReport {
  table: string;
  column: string;
  /** The id the database issues next. */
  next: number;
}

/**
 * One side of a database copy: a connection of its own (not a store's), the schema as the database
 * reports it, and what differs between dialects. Data moves through Kysely on both sides; each
 * dialect only answers for what it derives or keeps elsewhere:
 * - keyword search: SQLite's FTS5 table (memory.fts_rowid), PostgreSQL's tsvector (memory.search);
 * - vectors: sqlite-vec tables on SQLite, memory_embeddings.embedding on PostgreSQL;
 * - ids: AUTOINCREMENT's sqlite_sequence, or bigserial sequences;
 * - PostgreSQL's events.xid, the appending transaction, which a copied row gets anew.
 */
export interface CopyEndpoint {
  readonly kind: 'sqlite' | 'postgres';
  /** Where, without credentials. */
  readonly location: string;
  readonly db: Kysely<AnyDb>;
  /** Colony's tables: no migration bookkeeping, no search index tables of this dialect. */
  tables(): Promise<TableShape[]>;
  /** Columns this dialect derives from others: never copied as they are; `derive` fills them. */
  derivedColumns(table: string): ReadonlySet<string>;
  /** Runs `body` in one consistent read snapshot (the source side). */
  snapshot<T>(body: (trx: Transaction<AnyDb>) => Promise<T>): Promise<T>;
  /** Runs `body` in one write transaction (the target side). */
  transaction<T>(body: (trx: Transaction<AnyDb>) => Promise<T>): Promise<T>;
  /** The vectors of memory_embeddings rows, by id; a row whose vector cannot be read is left out. */
  readVectors(db: CopyDb, rows: readonly { id: number; dims: number }[]): Promise<Map<number, Float32Array>>;
  /**
   * Rows about to be inserted into `table`, with this dialect's derived columns filled (and its
   * derived rows written: FTS5 entries, sqlite-vec vectors). Blobs are read from `trx`: memory_blobs
   * is copied before memory.
   */
  derive(trx: Transaction<AnyDb>, table: string, rows: CopyRow[], vectors: ReadonlyMap<number, Float32Array>): Promise<CopyRow[]>;
  /** Derived data present: memory entries in the keyword index, and embeddings with a vector. */
  derivedCounts(db: CopyDb): Promise<{ keywordIndexed: number; vectors: number }>;
  /** The highest id each serial column has ever issued, by table (above the rows' when some were deleted). */
  issuedIds(db: CopyDb, tables: readonly TableShape[]): Promise<Map<string, number>>;
  /** Moves each serial column's next id past its rows and past `issued`. */
  advanceSequences(trx: Transaction<AnyDb>, tables: readonly TableShape[], issued: ReadonlyMap<string, number>): Promise<SequenceReport[]>;
  /** Most bound parameters one statement may carry here. */
  readonly maxParameters: number;
  mapError(error: unknown, what: string): ColonyError;
  close(): Promise<void>;
}
