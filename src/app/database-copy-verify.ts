import { sql, type Transaction } from 'kysely';
import { VECTOR_TABLE, type AnyDb, type CopyEndpoint, type CopyRow } from '../adapters/storage/copy/copy-endpoint.js';
import { comparable, comparisonCategory } from '../adapters/storage/copy/copy-values.js';
import { countRows, keyOf, type TableCopy, type TablePlan } from './database-copy-tables.js';

/** Mismatches listed in a report at most (each table still counts all of its own). */
const MAX_LISTED_MISMATCHES = 20;

export interface TableCheck {
  table: string;
  sourceRows: number;
  copiedRows: number;
  skippedRows: number;
  targetRows: number;
  /** Source rows read again and compared field by field with the target's. */
  sampledRows: number;
  mismatchedRows: number;
  ok: boolean;
}

export interface Mismatch {
  table: string;
  /** The row's primary key values, as JSON. */
  key: string;
  /** The column that differs, `vector` for an embedding's vector, or `(row)` for a row missing from the target. */
  column: string;
  source: unknown;
  target: unknown;
}

export interface DerivedCheck {
  /** Memory entries that keyword search finds on the target, against memory rows there. */
  keywordIndex: { expected: number; found: number };
  /** Embeddings with a vector on the target, against embeddings copied. */
  vectors: { expected: number; found: number };
}

export interface CopyCheck {
  tables: TableCheck[];
  derived: DerivedCheck;
  mismatches: Mismatch[];
  ok: boolean;
}

/**
 * Checks a committed copy against the source snapshot it was read from: row counts per table, a
 * random sample of rows per table compared field by field (JSON by meaning, vectors component by
 * component), and the target's derived data (keyword index, vectors) complete.
 */
export async function verifyCopy(
  source: CopyEndpoint,
  src: Transaction<AnyDb>,
  target: CopyEndpoint,
  plans: readonly TablePlan[],
  copies: ReadonlyMap<string, TableCopy>,
  sampleSize: number,
): Promise<CopyCheck> {
  const tables: TableCheck[] = [];
  const mismatches: Mismatch[] = [];
  for (const plan of plans) {
    const copy = copies.get(plan.name) as TableCopy;
    const targetRows = await countRows(target.db, plan.name);
    const found = sampleSize === 0 ? [] : await compareSample(source, src, target, plan, copy, sampleSize);
    const mismatchedRows = new Set(found.map((m) => m.key)).size;
    for (const m of found) if (mismatches.length < MAX_LISTED_MISMATCHES) mismatches.push(m);
    const sampledRows = sampleSize === 0 ? 0 : Math.min(sampleSize, copy.sourceRows);
    const ok = targetRows === copy.copiedRows && copy.copiedRows + copy.skippedRows === copy.sourceRows && mismatchedRows === 0;
    tables.push({ table: plan.name, sourceRows: copy.sourceRows, copiedRows: copy.copiedRows, skippedRows: copy.skippedRows, targetRows, sampledRows, mismatchedRows, ok });
  }
  const counts = await target.derivedCounts(target.db);
  const derived: DerivedCheck = {
    keywordIndex: { expected: tables.find((t) => t.table === 'memory')?.targetRows ?? 0, found: counts.keywordIndexed },
    vectors: { expected: copies.get(VECTOR_TABLE)?.copiedRows ?? 0, found: counts.vectors },
  };
  const derivedOk = derived.keywordIndex.expected === derived.keywordIndex.found && derived.vectors.expected === derived.vectors.found;
  return { tables, derived, mismatches, ok: derivedOk && tables.every((t) => t.ok) };
}

async function compareSample(source: CopyEndpoint, src: Transaction<AnyDb>, target: CopyEndpoint, plan: TablePlan, copy: TableCopy, sampleSize: number): Promise<Mismatch[]> {
  const columns = plan.columns.map((c) => c.name);
  const sample = ((await src.selectFrom(plan.name).select(columns).orderBy(sql`random()`).limit(sampleSize).execute()) as CopyRow[]).filter(
    (row) => !copy.skippedKeys.has(keyOf(plan, row)),
  );
  if (sample.length === 0) return [];
  const copied = (await target.db
    .selectFrom(plan.name)
    .select(columns)
    .where((eb: AnyDb) => eb.or(sample.map((row) => eb.and(plan.primaryKey.map((c) => eb(c, '=', row[c]))))))
    .execute()) as CopyRow[];
  const byKey = new Map(copied.map((row) => [comparableKey(plan, row, 'to'), row]));
  const found: Mismatch[] = [];
  for (const row of sample) {
    const key = comparableKey(plan, row, 'from');
    const other = byKey.get(key);
    if (!other) {
      found.push({ table: plan.name, key, column: '(row)', source: 'present', target: 'missing' });
      continue;
    }
    for (const c of plan.columns) {
      const category = comparisonCategory(c.from, c.to);
      const a = comparable(row[c.name], c.from, category);
      const b = comparable(other[c.name], c.to, category);
      if (a !== b) found.push({ table: plan.name, key, column: c.name, source: a, target: b });
    }
  }
  if (plan.name === VECTOR_TABLE) {
    const ids = sample.map((r) => ({ id: Number(r.id), dims: Number(r.dims) }));
    const [before, after] = await Promise.all([source.readVectors(src, ids), target.readVectors(target.db, ids)]);
    for (const [id, vector] of before) {
      const copiedVector = after.get(id);
      if (!copiedVector || copiedVector.length !== vector.length || vector.some((x, i) => x !== copiedVector[i])) {
        found.push({ table: plan.name, key: JSON.stringify([id]), column: 'vector', source: `${vector.length} components`, target: copiedVector ? `${copiedVector.length} components, differing` : 'missing' });
      }
    }
  }
  return found;
}

/** A row's key in a form both sides agree on (a bigint id may be a number on one side, a string on no side). */
function comparableKey(plan: TablePlan, row: CopyRow, side: 'from' | 'to'): string {
  return JSON.stringify(
    plan.primaryKey.map((name) => {
      const c = plan.columns.find((x) => x.name === name);
      return c ? comparable(row[name], c[side], comparisonCategory(c.from, c.to)) : row[name];
    }),
  );
}
