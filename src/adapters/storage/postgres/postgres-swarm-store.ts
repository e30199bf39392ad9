import type { Kysely } from 'kysely';
import type { SwarmRecord, SwarmStatus } from '../../../domain/swarm.js';
import type { SwarmQuery, SwarmStore } from '../../../ports/swarm-store.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import type { ColonyTables } from '../sql/schema.js';
import { countSwarms, getSwarm, insertSwarm, listSwarms, swarmIdsByPrefix, updateSwarm } from '../sql/swarm-queries.js';
import { mapped } from './postgres-errors.js';
import type { NewEvent } from '../../../ports/event-log.js';
import { appendEventsIn } from './postgres-event-log.js';

/**
 * Swarms on PostgreSQL. `update` is one conditional UPDATE: under READ COMMITTED a writer that waited
 * for the row re-checks the condition against the committed row, so of two racing writers one wins.
 */
export class PostgresSwarmStore implements SwarmStore {
  private readonly sql: SqlContext;

  constructor(db: Kysely<ColonyTables>) {
    this.sql = { db, dialect: 'postgres' };
  }

  insert(swarm: SwarmRecord): Promise<void> {
    return mapped(`insert swarm ${swarm.id}`, () => insertSwarm(this.sql, swarm));
  }

  update(next: SwarmRecord, expected: { status: SwarmStatus; updatedAt: number }, events: readonly NewEvent[] = []): Promise<boolean> {
    if (events.length === 0) return mapped(`update swarm ${next.id}`, () => updateSwarm(this.sql, next, expected));
    return mapped(`update swarm ${next.id}`, () =>
      this.sql.db.transaction().execute(async (trx) => {
        const replaced = await updateSwarm({ db: trx, dialect: 'postgres' }, next, expected);
        if (replaced) await appendEventsIn(trx, events);
        return replaced;
      }),
    );
  }

  get(id: string): Promise<SwarmRecord | undefined> {
    return mapped(`read swarm ${id}`, () => getSwarm(this.sql, id));
  }

  findIdsByPrefix(prefix: string, limit: number): Promise<string[]> {
    return mapped('find swarms by id prefix', () => swarmIdsByPrefix(this.sql, prefix, limit));
  }

  list(query: SwarmQuery): Promise<SwarmRecord[]> {
    return mapped('list swarms', () => listSwarms(this.sql, query));
  }

  count(query: Omit<SwarmQuery, 'limit' | 'offset'>): Promise<number> {
    return mapped('count swarms', () => countSwarms(this.sql, query));
  }
}
