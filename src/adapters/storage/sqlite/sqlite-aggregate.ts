import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import type { SqlQuery } from '../sql/list-queries.js';
import { StatementCache } from './statement-cache.js';
import type { WriteBatcher } from './write-batcher.js';

export type Row = Record<string, unknown>;

/**
 * What each aggregate's SQLite adapter shares: the one connection and its write batcher (so writes of
 * every aggregate group-commit together, and one transaction can span two), with its own cache of
 * prepared statements.
 */
export abstract class SqliteAggregate {
  private readonly statements: StatementCache;
  protected readonly db: DatabaseSync;
  protected readonly writes: WriteBatcher;

  constructor(db: DatabaseSync, writes: WriteBatcher) {
    this.db = db;
    this.writes = writes;
    this.statements = new StatementCache(db);
  }

  protected stmt(text: string): StatementSync {
    return this.statements.get(text);
  }

  protected query(q: SqlQuery): Row[] {
    return this.all(q.text, ...q.params);
  }

  protected all(text: string, ...params: SQLInputValue[]): Row[] {
    return this.statements.all(text, ...params);
  }

  protected write<T>(what: string, run: () => T): Promise<T> {
    return this.writes.write(what, run);
  }
}
