/**
 * The shape of a Colony database as the copy reads it from the database itself (never from a list
 * kept here), so that a migration added later is copied without a change to this code.
 */

/** How values of a column are converted between dialects and compared after the copy. */
export type ColumnCategory = 'json' | 'bytes' | 'number' | 'boolean' | 'text' | 'other';

export interface ColumnShape {
  name: string;
  /** The declared type as the database reports it (`jsonb`, `bigint`, `text`, `blob`, `ARRAY`...). */
  type: string;
  category: ColumnCategory;
  /** An id the database issues (PostgreSQL bigserial, SQLite AUTOINCREMENT). */
  serial: boolean;
}

export interface ForeignKeyShape {
  columns: string[];
  references: string;
}

export interface TableShape {
  name: string;
  columns: ColumnShape[];
  /** Primary key columns, in key order: the copy reads rows in this order, in pages. */
  primaryKey: string[];
  foreignKeys: ForeignKeyShape[];
}

/** Kysely's migration bookkeeping: never copied (the target is migrated by the same migrations). */
export function isMigrationBookkeeping(table: string): boolean {
  return table === 'kysely_migration' || table === 'kysely_migration_lock';
}

/** The category of a declared column type (PostgreSQL's data_type or SQLite's declared type). */
export function categoryOf(type: string): ColumnCategory {
  const t = type.toLowerCase();
  if (t === 'json' || t === 'jsonb') return 'json';
  if (t === 'bytea' || t === 'blob') return 'bytes';
  if (t === 'boolean' || t === 'bool') return 'boolean';
  if (/^(integer|int|int2|int4|int8|bigint|smallint|real|double precision|float\d*|numeric|decimal)\b/.test(t)) return 'number';
  if (t === 'text' || t.startsWith('character') || t.startsWith('varchar')) return 'text';
  return 'other';
}

/**
 * Tables in an order where every table comes after the tables it references, so that foreign keys
 * hold at each insert. A table referencing itself (a task's parent) is handled by the copy, not here.
 * Ties keep alphabetical order, so that runs are repeatable.
 */
export function dependencyOrder(tables: readonly TableShape[]): TableShape[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const out: TableShape[] = [];
  const visit = (table: TableShape): void => {
    if (placed.has(table.name)) return;
    if (visiting.has(table.name)) throw new Error(`tables reference each other in a cycle through ${table.name}`);
    visiting.add(table.name);
    for (const fk of table.foreignKeys) {
      const parent = byName.get(fk.references);
      if (parent && parent.name !== table.name) visit(parent);
    }
    visiting.delete(table.name);
    placed.add(table.name);
    out.push(table);
  };
  for (const table of [...tables].sort((a, b) => (a.name < b.name ? -1 : 1))) visit(table);
  return out;
}

/** Columns of a table that reference the table itself (copied as null, then set once every row is in). */
export function selfReferences(table: TableShape): string[] {
  return table.foreignKeys.filter((fk) => fk.references === table.name).flatMap((fk) => fk.columns);
}
