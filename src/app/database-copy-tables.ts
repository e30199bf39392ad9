import { sql, type Transaction } from 'kysely';
import { VECTOR_TABLE, type AnyDb, type CopyDb, type CopyEndpoint, type CopyRow } from '../adapters/storage/copy/copy-endpoint.js';
import { dependencyOrder, selfReferences, type ColumnShape, type TableShape } from '../adapters/storage/copy/copy-schema.js';
import { rowBytes, toTarget } from '../adapters/storage/copy/copy-values.js';
import { StorageError } from '../domain/errors.js';
import { sideError } from './database-copy-endpoints.js';

/** A page read from the source holds at most about this many bytes (memory values can be 1 MiB each). */
const PAGE_BYTES = 8 * 1024 * 1024;
/** Room left in a statement's parameters for the expressions a dialect derives per row (a tsvector). */
const DERIVED_PARAMETERS_PER_ROW = 8;

export interface CopiedColumn {
  name: string;
  from: ColumnShape;
  to: ColumnShape;
}

/** One table to copy: the columns both sides keep as they are, and how rows are paged. */
export interface TablePlan {
  name: string;
  columns: CopiedColumn[];
  primaryKey: string[];
  /** Columns referencing the table itself: inserted as null, set once every row is in. */
  selfReferences: string[];
  target: TableShape;
}

export interface TableCopy {
  table: string;
  sourceRows: number;
  copiedRows: number;
  /** Rows left out: memory embeddings whose vector the source could not give (the target embeds them again). */
  skippedRows: number;
  /** Primary keys (as JSON) of the rows left out. */
  skippedKeys: Set<string>;
}

export interface CopyProgress {
  table: string;
  copied: number;
  total: number;
  done: boolean;
}

/**
 * The tables to copy, in dependency order, from the two schemas as the databases report them: every
 * table of the source (a Colony database at this build's schema), which the migrated target has
 * too, with the same columns less what each dialect derives; anything else is a schema this build
 * does not understand, and nothing is copied. Tables of the target's own (another application's)
 * are left alone.
 */
export function planCopy(source: CopyEndpoint, sourceTables: readonly TableShape[], target: CopyEndpoint, targetTables: readonly TableShape[]): TablePlan[] {
  const sources = new Map(sourceTables.map((t) => [t.name, t]));
  const missing = sourceTables.filter((t) => !targetTables.some((x) => x.name === t.name)).map((t) => t.name);
  if (missing.length > 0) throw new StorageError(`the target has no table for ${missing.join(', ')} of the source: their schemas differ`, { details: { tables: missing } });
  return dependencyOrder(targetTables.filter((t) => sources.has(t.name))).map((table) => {
    const from = sources.get(table.name) as TableShape;
    const derived = (name: string) => source.derivedColumns(table.name).has(name) || target.derivedColumns(table.name).has(name);
    const kept = (t: TableShape) => t.columns.filter((c) => !derived(c.name));
    const fromColumns = new Map(kept(from).map((c) => [c.name, c]));
    const toColumns = kept(table);
    const differing = [...toColumns.filter((c) => !fromColumns.has(c.name)).map((c) => c.name), ...[...fromColumns.keys()].filter((n) => !toColumns.some((c) => c.name === n))];
    if (differing.length > 0) {
      throw new StorageError(`table ${table.name} has columns on one side only (${differing.join(', ')}): the schemas differ`, { details: { table: table.name, columns: differing } });
    }
    if (table.primaryKey.length === 0) throw new StorageError(`table ${table.name} has no primary key to copy it in order by`, { details: { table: table.name } });
    return {
      name: table.name,
      columns: toColumns.map((to) => ({ name: to.name, from: fromColumns.get(to.name) as ColumnShape, to })),
      primaryKey: table.primaryKey,
      selfReferences: selfReferences(table),
      target: table,
    };
  });
}

export interface CopyTableContext {
  source: CopyEndpoint;
  target: CopyEndpoint;
  src: Transaction<AnyDb>;
  dst: Transaction<AnyDb>;
  /** Most rows per page read and per insert. */
  batchSize: number;
  onProgress?: (progress: CopyProgress) => void;
}

/**
 * Copies one table: pages in primary key order (each page after the last key read, so every page
 * costs the same however deep), converted, with the target's derived columns filled, inserted in
 * statements that fit the target's parameter limit.
 */
export async function copyTable(plan: TablePlan, context: CopyTableContext): Promise<TableCopy> {
  const { source, target, src, dst } = context;
  const table = plan.name;
  const fromSource = (error: unknown) => sideError('source', source.location, source.mapError(error, `reading ${table}`));
  const intoTarget = (error: unknown) => sideError('target', target.location, target.mapError(error, `writing ${table}`));
  const total = await countRows(src, table).catch((error: unknown) => {
    throw fromSource(error);
  });
  const result: TableCopy = { table, sourceRows: total, copiedRows: 0, skippedRows: 0, skippedKeys: new Set() };
  const selfLinks: { key: CopyRow; values: CopyRow }[] = [];
  const perStatement = Math.max(1, Math.floor(target.maxParameters / (plan.columns.length + DERIVED_PARAMETERS_PER_ROW)));
  let after: unknown[] | null = null;
  let limit = context.batchSize;
  context.onProgress?.({ table, copied: 0, total, done: false });
  for (;;) {
    const rows = await readPage(src, plan, after, limit).catch((error: unknown) => {
      throw fromSource(error);
    });
    if (rows.length === 0) break;
    const last = rows[rows.length - 1] as CopyRow;
    after = plan.primaryKey.map((c) => last[c]);

    let batch = rows;
    let vectors: ReadonlyMap<number, Float32Array> = new Map();
    if (table === VECTOR_TABLE) {
      vectors = await source.readVectors(src, rows.map((r) => ({ id: Number(r.id), dims: Number(r.dims) }))).catch((error: unknown) => {
        throw fromSource(error);
      });
      batch = rows.filter((r) => vectors.has(Number(r.id)));
      for (const r of rows) if (!vectors.has(Number(r.id))) result.skippedKeys.add(keyOf(plan, r));
      result.skippedRows += rows.length - batch.length;
    }
    let converted = batch.map((row) => {
      const out: CopyRow = {};
      for (const c of plan.columns) out[c.name] = toTarget(row[c.name], c.from, c.to, target.kind);
      const links = plan.selfReferences.filter((c) => out[c] !== null);
      if (links.length > 0) {
        selfLinks.push({ key: Object.fromEntries(plan.primaryKey.map((c) => [c, out[c]])), values: Object.fromEntries(links.map((c) => [c, out[c]])) });
        for (const c of links) out[c] = null;
      }
      return out;
    });
    try {
      converted = await target.derive(dst, table, converted, vectors);
      for (let i = 0; i < converted.length; i += perStatement) {
        await dst.insertInto(table).values(converted.slice(i, i + perStatement)).execute();
      }
    } catch (error) {
      throw intoTarget(error);
    }
    result.copiedRows += batch.length;
    context.onProgress?.({ table, copied: result.copiedRows + result.skippedRows, total, done: false });
    // The next page holds about PAGE_BYTES, by this page's average row.
    const average = Math.max(1, rows.reduce((sum, r) => sum + rowBytes(r), 0) / rows.length);
    limit = Math.max(1, Math.min(context.batchSize, Math.floor(PAGE_BYTES / average)));
  }
  try {
    for (const link of selfLinks) {
      let update = dst.updateTable(table).set(link.values);
      for (const c of plan.primaryKey) update = update.where(c, '=', link.key[c]);
      await update.execute();
    }
  } catch (error) {
    throw intoTarget(error);
  }
  context.onProgress?.({ table, copied: result.copiedRows + result.skippedRows, total, done: true });
  return result;
}

export async function countRows(db: CopyDb, table: string): Promise<number> {
  const row = await db.selectFrom(table).select((eb: AnyDb) => eb.fn.countAll().as('n')).executeTakeFirst();
  return Number((row as { n: unknown } | undefined)?.n ?? 0);
}

/** A row's primary key, as one string (for sets of keys). */
export function keyOf(plan: Pick<TablePlan, 'primaryKey'>, row: CopyRow): string {
  return JSON.stringify(plan.primaryKey.map((c) => (typeof row[c] === 'bigint' ? Number(row[c]) : row[c])));
}

async function readPage(db: CopyDb, plan: TablePlan, after: unknown[] | null, limit: number): Promise<CopyRow[]> {
  let query = db.selectFrom(plan.name).select(plan.columns.map((c) => c.name));
  if (after !== null) {
    // A row-value comparison: the next rows in key order, whatever the key's width (both dialects have it).
    const key = sql.join(plan.primaryKey.map((c) => sql.ref(c)));
    const values = sql.join(after.map((v) => sql`${v}`));
    query = query.where(sql<boolean>`(${key}) > (${values})`);
  }
  for (const c of plan.primaryKey) query = query.orderBy(c);
  return (await query.limit(limit).execute()) as CopyRow[];
}
