import { sql, type Kysely, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { SqlDialectName } from './migrations.js';
import type { ColonyTables } from './schema.js';

/**
 * The pieces of SQL that differ between SQLite and PostgreSQL, for queries written once with Kysely
 * and run on both (the `*-queries.ts` files beside this one). A `SqlDb` is a Kysely instance or a
 * transaction of one.
 */
export type SqlDb = Kysely<ColonyTables>;

export interface SqlContext {
  readonly db: SqlDb;
  readonly dialect: SqlDialectName;
}

/**
 * A text column compared byte by byte, as SQLite compares text. On PostgreSQL the order of text
 * depends on the database's collation (`en_US` puts `B` after `a`), so the ids found by a prefix and
 * the order of ties would differ from SQLite's without `COLLATE "C"`.
 */
export function bytewise(dialect: SqlDialectName, column: string): RawBuilder<string> {
  return dialect === 'postgres' ? sql<string>`${sql.ref(column)} collate "C"` : sql<string>`${sql.ref(column)}`;
}

/**
 * Values of `column` that start with `prefix`: a range rather than LIKE, which would need escaping
 * of `_` and `%`. U+FFFF bounds every id made of characters of the basic plane (ids are ASCII).
 */
export function startsWith(dialect: SqlDialectName, column: string, prefix: string): RawBuilder<SqlBool> {
  const value = bytewise(dialect, column);
  return sql<SqlBool>`(${value} >= ${prefix} and ${value} < ${`${prefix}\uffff`})`;
}

/**
 * `column` equals one of `values`; an empty list matches nothing. PostgreSQL gets one array
 * parameter (`= any($1)`), so any number of values is one statement with one prepared plan; SQLite
 * gets `in (?, ?, …)`, bounded by its 32,766 parameters.
 */
export function isOneOf(dialect: SqlDialectName, column: string, values: readonly (string | number)[]): RawBuilder<SqlBool> {
  if (values.length === 0) return sql<SqlBool>`1 = 0`;
  if (dialect === 'postgres') return sql<SqlBool>`${sql.ref(column)} = any(${[...values]})`;
  return sql<SqlBool>`${sql.ref(column)} in (${sql.join(values)})`;
}

/** LIMIT and OFFSET for an optional page; SQLite accepts OFFSET only after a LIMIT (-1: none). */
export function paged<DB, TB extends keyof DB, O>(
  dialect: SqlDialectName,
  query: SelectQueryBuilder<DB, TB, O>,
  page: { limit?: number; offset?: number },
): SelectQueryBuilder<DB, TB, O> {
  let paged = query;
  if (page.limit !== undefined) paged = paged.limit(page.limit);
  else if (page.offset && dialect === 'sqlite') paged = paged.limit(-1);
  if (page.offset) paged = paged.offset(page.offset);
  return paged;
}

/** Whether an UPDATE or DELETE changed exactly one row (Kysely reports counts as bigint). */
export function changedOne(result: { numUpdatedRows?: bigint; numDeletedRows?: bigint }): boolean {
  return (result.numUpdatedRows ?? result.numDeletedRows) === 1n;
}
