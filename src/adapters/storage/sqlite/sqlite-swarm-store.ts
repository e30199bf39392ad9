import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { SwarmRecord, SwarmStatus } from '../../../domain/swarm.js';
import type { SwarmQuery, SwarmStore } from '../../../ports/swarm-store.js';
import { swarmFromRow, swarmToRow } from '../sql/swarm-rows.js';
import type { SwarmRow } from '../sql/schema.js';
import { StatementCache } from './statement-cache.js';
import type { WriteBatcher } from './write-batcher.js';

/** Swarms on the shared SQLite connection and write batcher (see SqliteStore). */
export class SqliteSwarmStore implements SwarmStore {
  private readonly writes: WriteBatcher;
  private readonly statements: StatementCache;

  constructor(db: DatabaseSync, writes: WriteBatcher) {
    this.writes = writes;
    this.statements = new StatementCache(db);
  }

  insert(swarm: SwarmRecord): Promise<void> {
    return this.writes.write(`insert swarm ${swarm.id}`, () => {
      const row = swarmToRow(swarm);
      const columns = Object.keys(row);
      this.statements
        .get(`INSERT INTO swarms (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`)
        .run(...(Object.values(row) as SQLInputValue[]));
    });
  }

  update(next: SwarmRecord, expected: { status: SwarmStatus; updatedAt: number }): Promise<boolean> {
    return this.writes.write(`update swarm ${next.id}`, () => {
      const row = swarmToRow(next);
      const { id, ...rest } = row;
      const sets = Object.keys(rest).map((c) => `${c} = ?`).join(', ');
      const result = this.statements
        .get(`UPDATE swarms SET ${sets} WHERE id = ? AND status = ? AND updated_at = ?`)
        .run(...(Object.values(rest) as SQLInputValue[]), id, expected.status, expected.updatedAt);
      return Number(result.changes) === 1;
    });
  }

  async get(id: string): Promise<SwarmRecord | undefined> {
    const row = this.statements.get('SELECT * FROM swarms WHERE id = ?').get(id) as SwarmRow | undefined;
    return row ? swarmFromRow(row) : undefined;
  }

  async findIdsByPrefix(prefix: string, limit: number): Promise<string[]> {
    return this.statements
      .all('SELECT id FROM swarms WHERE id >= ? AND id < ? ORDER BY id LIMIT ?', prefix, `${prefix}\uffff`, limit)
      .map((r) => r.id as string);
  }

  async list(query: SwarmQuery): Promise<SwarmRecord[]> {
    const { where, params } = filter(query);
    const rows = this.statements.all(
      `SELECT * FROM swarms${where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
      ...params,
      query.limit ?? -1,
      query.offset ?? 0,
    );
    return (rows as unknown as SwarmRow[]).map(swarmFromRow);
  }

  async count(query: Omit<SwarmQuery, 'limit' | 'offset'>): Promise<number> {
    const { where, params } = filter(query);
    return Number(this.statements.all(`SELECT count(*) AS n FROM swarms${where}`, ...params)[0]?.n ?? 0);
  }
}

function filter(query: Omit<SwarmQuery, 'limit' | 'offset'>): { where: string; params: SQLInputValue[] } {
  const clauses: string[] = [];
  const params: SQLInputValue[] = [];
  if (query.status !== undefined) {
    const statuses = typeof query.status === 'string' ? [query.status] : [...query.status];
    clauses.push(statuses.length === 0 ? '1 = 0' : `status IN (${statuses.map(() => '?').join(', ')})`);
    params.push(...statuses);
  }
  if (query.topology !== undefined) {
    clauses.push('topology = ?');
    params.push(query.topology);
  }
  return { where: clauses.length === 0 ? '' : ` WHERE ${clauses.join(' AND ')}`, params };
}
