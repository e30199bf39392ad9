import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { SwarmRecord, SwarmStatus } from '../../../domain/swarm.js';
import type { SwarmQuery, SwarmStore } from '../../../ports/swarm-store.js';
import { swarmFromRow, swarmToRow } from '../sql/swarm-rows.js';
import type { SwarmRow } from '../sql/schema.js';
import { insertRow, updateRowById, whereOf } from './row-statements.js';
import { StatementCache } from './statement-cache.js';
import type { WriteBatcher } from './write-batcher.js';
import type { NewEvent } from '../../../ports/event-log.js';
import { INSERT_EVENT, insertEvents } from './sqlite-event-log.js';

/** Swarms on the shared SQLite connection and write batcher (see SqliteStore). */
export class SqliteSwarmStore implements SwarmStore {
  private readonly writes: WriteBatcher;
  private readonly statements: StatementCache;

  constructor(db: DatabaseSync, writes: WriteBatcher) {
    this.writes = writes;
    this.statements = new StatementCache(db);
  }

  insert(swarm: SwarmRecord): Promise<void> {
    return this.writes.write(`insert swarm ${swarm.id}`, () => insertRow(this.statements, 'swarms', swarmToRow(swarm)));
  }

  update(next: SwarmRecord, expected: { status: SwarmStatus; updatedAt: number }, events: readonly NewEvent[] = []): Promise<boolean> {
    const replace = () => updateRowById(this.statements, 'swarms', swarmToRow(next), { sql: ' AND status = ? AND updated_at = ?', params: [expected.status, expected.updatedAt] });
    if (events.length === 0) return this.writes.write(`update swarm ${next.id}`, replace);
    return this.writes.write(`update swarm ${next.id}`, () =>
      this.writes.atomically(() => {
        const replaced = replace();
        if (replaced) insertEvents(this.statements.get(INSERT_EVENT), events);
        return replaced;
      }),
    );
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
  return whereOf({ status: typeof query.status === 'string' ? [query.status] : query.status, topology: query.topology });
}
