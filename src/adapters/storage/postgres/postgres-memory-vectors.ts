import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { ColonyTables } from '../sql/schema.js';
import { ADVISORY_LOCK_NAMESPACE } from './advisory-locks.js';

/**
 * How the PostgreSQL memory store searches vectors, and the pieces of SQL for each way.
 *
 * Vectors are stored once, as `real[]` in `memory_embeddings.embedding` (migration 0011), whatever
 * the server has:
 * - With pgvector (the `vector` extension in the database, or on the server and creatable), each
 *   vector length gets an HNSW index on first use: an expression index `(embedding::vector(n))
 *   vector_cosine_ops`, partial on `dims = n` (pgvector's documented way of indexing vectors of
 *   several lengths in one column). Nothing is copied: writers store the array, the index follows.
 *   Searches walk the index (approximate), and fall back to an exact scan when filtering leaves fewer
 *   hits than asked for. HNSW indexes at most 2,000 dimensions; longer vectors are searched exactly.
 * - Without it, searches are exact: cosine similarity computed by PostgreSQL over the stored arrays of
 *   the model's entries that pass the filters, keeping the best `limit` (a top-N sort: bounded memory
 *   in the server, and only the hits reach this process). Its cost grows with the number of vectors
 *   (about 50 µs per 384-dimension vector on this 2-core machine), which is why it is labelled wherever it shows.
 * A server that gains pgvector later needs no migration: the first search builds the index over the
 * arrays already stored.
 */

/** What vector search runs on, for status output (`label` says it in a sentence). */
export type PostgresVectorSearch =
  | { available: true; exact: false; engine: 'pgvector'; version: string; schema: string; label: string }
  | { available: true; exact: true; engine: 'exact'; reason: string; label: string };

export interface PostgresVectorOptions {
  /** `auto` (default): pgvector when the database has it or can create it; `off`: always exact. */
  pgvector?: 'auto' | 'off';
  /**
   * Whether to `CREATE EXTENSION vector` when the server has pgvector but this database does not
   * have it yet (needs the privilege to; a failure means exact search, with the reason). Default true.
   */
  createExtension?: boolean;
}

/** pgvector's HNSW indexes take vectors of at most this many dimensions. */
export const HNSW_MAX_DIMENSIONS = 2000;
/** pgvector's range for `hnsw.ef_search`, the candidates an index scan keeps. */
const EF_SEARCH_MIN = 40;
const EF_SEARCH_MAX = 1000;
/** Candidates asked of the index per requested hit, so that filters rarely leave too few. */
const EF_SEARCH_FACTOR = 4;

/**
 * Transaction advisory locks of the memory store, continuing the namespaces of advisory-locks.ts
 * and postgres-store-locks.ts (+2, +3). Writes of one entry (namespace, key) take turns under the
 * first; DDL done on first use (the extension, an index) under the second.
 */
export const MEMORY_ENTRY_LOCK_NAMESPACE = ADVISORY_LOCK_NAMESPACE + 4;
export const MEMORY_DDL_LOCK_NAMESPACE = ADVISORY_LOCK_NAMESPACE + 5;

type Db = Kysely<ColonyTables> | Transaction<ColonyTables>;

export function exactSearch(reason: string): PostgresVectorSearch {
  return { available: true, exact: true, engine: 'exact', reason, label: `exact cosine scan, no index (${reason})` };
}

/** Finds out (once per store) whether pgvector can be used, creating the extension when allowed. */
export async function detectVectorSearch(db: Kysely<ColonyTables>, options: PostgresVectorOptions): Promise<PostgresVectorSearch> {
  if (options.pgvector === 'off') return exactSearch('pgvector is turned off for this store');
  let installed = await installedPgvector(db);
  if (!installed) {
    const available = await sql<{ found: number }>`select 1 as found from pg_available_extensions where name = 'vector'`.execute(db);
    if (available.rows.length === 0) return exactSearch('the vector extension (pgvector) is not installed on this PostgreSQL server');
    if (options.createExtension === false) {
      return exactSearch('the server has the vector extension (pgvector), but this database does not, and creating it is turned off');
    }
    try {
      await db.transaction().execute(async (trx) => {
        await ddlLock(trx);
        await sql`create extension if not exists vector`.execute(trx);
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return exactSearch(`the vector extension (pgvector) could not be created in this database: ${message}`);
    }
    installed = await installedPgvector(db);
    if (!installed) return exactSearch('the vector extension (pgvector) could not be created in this database');
  }
  return {
    available: true,
    exact: false,
    engine: 'pgvector',
    version: installed.version,
    schema: installed.schema,
    label: `pgvector ${installed.version}: HNSW index, approximate (exact beyond ${HNSW_MAX_DIMENSIONS.toLocaleString('en-US')} dimensions)`,
  };
}

async function installedPgvector(db: Db): Promise<{ version: string; schema: string } | undefined> {
  const { rows } = await sql<{ version: string; schema: string }>`
    select e.extversion as version, n.nspname as schema
    from pg_extension e join pg_namespace n on n.oid = e.extnamespace where e.extname = 'vector'`.execute(db);
  return rows[0];
}

function ddlLock(trx: Db): Promise<unknown> {
  return sql`select pg_advisory_xact_lock(${sql.lit(MEMORY_DDL_LOCK_NAMESPACE)}, 0)`.execute(trx);
}

/** The SQL names of pgvector's objects, qualified by the schema the extension lives in. */
export class PgvectorSql {
  readonly search: Extract<PostgresVectorSearch, { engine: 'pgvector' }>;
  private readonly schema: string;

  constructor(search: Extract<PostgresVectorSearch, { engine: 'pgvector' }>) {
    this.search = search;
    this.schema = quoteIdent(search.schema);
  }

  /** `vector(dims)`, schema-qualified. */
  type(dims: number): RawBuilder<unknown> {
    return sql.raw(`${this.schema}.vector(${checkedDims(dims)})`);
  }

  /** The stored array as a pgvector value, exactly as the index expression has it. */
  column(dims: number): RawBuilder<unknown> {
    return sql`(e.embedding::${this.type(dims)})`;
  }

  /** A query vector as a parameter of type vector(dims). */
  literal(vector: Float32Array): RawBuilder<unknown> {
    return sql`${vectorText(vector)}::${this.type(vector.length)}`;
  }

  /**
   * Cosine distance through the operator the HNSW index orders by; parenthesized, since an operator
   * of an extension binds more loosely than `-` (`1 - a <=> b` would read `(1 - a) <=> b`).
   */
  distanceOperator(dims: number, query: Float32Array): RawBuilder<number> {
    return sql<number>`(${this.column(dims)} ${sql.raw(`operator(${this.schema}.<=>)`)} ${this.literal(query)})`;
  }

  /** The same distance through the function: never answered from the index (an exact scan). */
  distanceFunction(dims: number, query: Float32Array): RawBuilder<number> {
    return sql<number>`${sql.raw(`${this.schema}.cosine_distance`)}(${this.column(dims)}, ${this.literal(query)})`;
  }

  indexName(dims: number): string {
    return `idx_memory_embeddings_hnsw_${checkedDims(dims)}`;
  }

  /** Creates the HNSW index of one vector length if it is missing (builds over the vectors stored). */
  async ensureIndex(db: Kysely<ColonyTables>, dims: number): Promise<void> {
    await db.transaction().execute(async (trx) => {
      await ddlLock(trx);
      // A build over many stored vectors may outlast the pool's statement timeout.
      await sql`select set_config('statement_timeout', '0', true)`.execute(trx);
      await sql`create index if not exists ${sql.id(this.indexName(dims))} on memory_embeddings
        using hnsw (${sql.raw(`(embedding::${this.schema}.vector(${checkedDims(dims)}))`)} ${sql.raw(`${this.schema}.vector_cosine_ops`)})
        where dims = ${sql.lit(checkedDims(dims))}`.execute(trx);
    });
  }

  /**
   * Settings of an index scan, for the transaction it runs in: enough candidates for `limit` hits,
   * and (pgvector 0.8 and later) an iterative scan, which goes on past them while filters reject
   * neighbours.
   */
  async tuneScan(trx: Transaction<ColonyTables>, limit: number): Promise<void> {
    const ef = Math.min(EF_SEARCH_MAX, Math.max(EF_SEARCH_MIN, limit * EF_SEARCH_FACTOR));
    await sql`select set_config('hnsw.ef_search', ${String(ef)}, true)`.execute(trx);
    if (versionAtLeast(this.search.version, [0, 8, 0])) {
      await sql`select set_config('hnsw.iterative_scan', 'strict_order', true)`.execute(trx);
    }
  }
}

/**
 * Exact cosine similarity of the stored array `e.embedding` with a query, computed in SQL in double
 * precision. The two arrays (of equal length: a check constraint and the model's length) are
 * unnested side by side in a select list, which PostgreSQL streams; `unnest(a, b)` in FROM would
 * materialize each pair of arrays first and takes twice as long.
 */
export function exactSimilarity(query: Float32Array): RawBuilder<number> {
  let norm = 0;
  for (const x of query) norm += x * x;
  return sql<number>`(select sum(a::float8 * b) / (sqrt(sum(a::float8 * a)) * ${Math.sqrt(norm)}::float8)
    from (select unnest(e.embedding) as a, unnest(${Array.from(query)}::float8[]) as b) as pairs)`;
}

/** pgvector's text form of a vector: `[x,y,…]`, each float32 written so that it reads back exactly. */
export function vectorText(vector: Float32Array): string {
  return `[${Array.from(vector, (x) => String(x)).join(',')}]`;
}

function checkedDims(dims: number): number {
  if (!Number.isInteger(dims) || dims <= 0) throw new RangeError(`bad vector length ${dims}`);
  return dims;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Whether a version such as `0.8.0` is at least `minimum`. */
export function versionAtLeast(version: string, minimum: readonly number[]): boolean {
  const parts = version.split('.').map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < minimum.length; i++) {
    const have = Number.isFinite(parts[i]) ? (parts[i] as number) : 0;
    const want = minimum[i] as number;
    if (have !== want) return have > want;
  }
  return true;
}
