import type { SQLInputValue } from 'node:sqlite';
import type { StatementCache } from './statement-cache.js';

/** INSERT of a whole row object; the SQL text (and so the prepared statement) depends only on its keys. */
export function insertRow(statements: StatementCache, table: string, row: object): void {
  const columns = Object.keys(row);
  statements
    .get(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
    .run(...(Object.values(row) as SQLInputValue[]));
}

/** UPDATE of every column but `id` of the row with that id, under extra conditions; returns whether a row changed. */
export function updateRowById(statements: StatementCache, table: string, row: { id: string }, extra: { sql: string; params: SQLInputValue[] } = { sql: '', params: [] }): boolean {
  const { id, ...rest } = row;
  const sets = Object.keys(rest)
    .map((c) => `${c} = ?`)
    .join(', ');
  const result = statements.get(`UPDATE ${table} SET ${sets} WHERE id = ?${extra.sql}`).run(...(Object.values(rest) as SQLInputValue[]), id, ...extra.params);
  return Number(result.changes) === 1;
}

/**
 * A WHERE clause from equality filters: a value, or a list (IN; an empty list matches nothing).
 * Undefined filters are left out. Column names come from code, never from input.
 */
export function whereOf(filters: Record<string, string | readonly string[] | undefined>): { where: string; params: SQLInputValue[] } {
  const clauses: string[] = [];
  const params: SQLInputValue[] = [];
  for (const [column, value] of Object.entries(filters)) {
    if (value === undefined) continue;
    if (typeof value === 'string') {
      clauses.push(`${column} = ?`);
      params.push(value);
    } else {
      clauses.push(value.length === 0 ? '1 = 0' : `${column} IN (${value.map(() => '?').join(', ')})`);
      params.push(...value);
    }
  }
  return { where: clauses.length === 0 ? '' : ` WHERE ${clauses.join(' AND ')}`, params };
}
