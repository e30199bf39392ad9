import type { Kysely } from 'kysely';
import type { JsonValue } from '../../../domain/json.js';
import type { AgentTurn, NewAgentTurn, TranscriptStore } from '../../../ports/transcript-store.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import type { ColonyTables } from '../sql/schema.js';
import * as q from '../sql/transcript-queries.js';
import { mapped } from './postgres-errors.js';

/** Agent transcripts and file journals on PostgreSQL; a batch of turns is all or none. */
export class PostgresTranscriptStore implements TranscriptStore {
  private readonly db: Kysely<ColonyTables>;
  private readonly sql: SqlContext;

  constructor(db: Kysely<ColonyTables>) {
    this.db = db;
    this.sql = { db, dialect: 'postgres' };
  }

  async appendTurns(turns: readonly NewAgentTurn[]): Promise<number[]> {
    if (turns.length === 0) return [];
    // One INSERT is atomic on its own; more need a transaction.
    if (turns.length <= q.TURN_INSERT_CHUNK) return mapped('append agent turns', () => q.appendTurns(this.sql, turns));
    return mapped('append agent turns', () => this.db.transaction().execute((trx) => q.appendTurns({ db: trx, dialect: 'postgres' }, turns)));
  }

  listTurns(query: { taskId: string; attempt?: number }): Promise<AgentTurn[]> {
    return mapped(`list turns of task ${query.taskId}`, () => q.listTurns(this.sql, query));
  }

  saveJournal(taskId: string, journal: JsonValue, updatedAt: number): Promise<void> {
    return mapped(`save journal of task ${taskId}`, () => q.saveJournal(this.sql, taskId, journal, updatedAt));
  }

  getJournal(taskId: string): Promise<JsonValue | undefined> {
    return mapped(`read journal of task ${taskId}`, () => q.getJournal(this.sql, taskId));
  }

  deleteJournal(taskId: string): Promise<void> {
    return mapped(`delete journal of task ${taskId}`, () => q.deleteJournal(this.sql, taskId));
  }
}
