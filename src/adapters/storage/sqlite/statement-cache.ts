import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';

export type Row = Record<string, unknown>;

/** Prepared statements by SQL text, prepared once per connection: the hot paths never re-parse SQL. */
export class StatementCache {
  private readonly db: DatabaseSync;
  private readonly statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  get(text: string): StatementSync {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  all(text: string, ...params: SQLInputValue[]): Row[] {
    return this.get(text).all(...params) as Row[];
  }
}
