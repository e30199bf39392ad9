import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { SqliteDatabase } from 'kysely';

/**
 * Lets Kysely's SqliteDialect drive `node:sqlite` (it expects better-sqlite3's shape). Closing is left
 * to the store, which owns the connection.
 */
export function kyselyDatabaseFor(db: DatabaseSync): SqliteDatabase {
  return {
    close: () => undefined,
    prepare(sqlText: string) {
      const statement = db.prepare(sqlText);
      const params = (p: ReadonlyArray<unknown>) => p as SQLInputValue[];
      return {
        reader: statement.columns().length > 0,
        all: (p) => statement.all(...params(p)),
        run: (p) => {
          const r = statement.run(...params(p));
          return { changes: r.changes, lastInsertRowid: r.lastInsertRowid };
        },
        iterate: (p) => statement.iterate(...params(p)),
      };
    },
  };
}
