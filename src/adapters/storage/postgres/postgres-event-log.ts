import { sql, type Kysely } from 'kysely';
import type { StoredEvent } from '../../../domain/events.js';
import type { EventLog, EventQuery, NewEvent } from '../../../ports/event-log.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import { listEvents } from '../sql/event-queries.js';
import type { ColonyTables } from '../sql/schema.js';
import { mapped } from './postgres-errors.js';
import { EVENT_APPEND_LOCK_NAMESPACE, schemaLock } from './postgres-store-locks.js';
import { schemaChannelSql } from './schema-channels.js';


/**
 * The event log on PostgreSQL, where ids are taken at insert and transactions commit in any order
 * (see EventLog.list). Appends take a transaction-scoped advisory lock before they take their ids and
 * hold it to their commit; PostgreSQL makes a commit visible before it releases the transaction's
 * locks, so appends run one at a time and a reader that sees id 105 already sees every smaller id:
 * id order is commit order, and a cursor never skips one. (Filtering reads by the snapshot's xmin
 * instead was measured and dropped: the xmin is the whole server's, so any long transaction in any
 * database held every newer event back.) Each event still records its transaction (`xid`, migration
 * 0010), for diagnosis. Each append notifies its schema's events channel (schema-channels.ts) with its
 * highest id, delivered at its commit, so that readers elsewhere can wake on it.
 */
export class PostgresEventLog implements EventLog {
  private readonly db: Kysely<ColonyTables>;
  private readonly sql: SqlContext;

  constructor(db: Kysely<ColonyTables>) {
    this.db = db;
    this.sql = { db, dialect: 'postgres' };
  }

  async append(events: readonly NewEvent[]): Promise<number[]> {
    if (events.length === 0) return [];
    // One statement, its own transaction: the lock is held from the ids to the commit with no round trip
    // to this process in between, so appends from many processes queue for as short a time as can be.
    return mapped('append events', () => appendEventsIn(this.db, events));
  }

  list(query: EventQuery): Promise<StoredEvent[]> {
    return mapped('list events', () => listEvents(this.sql, query));
  }
}

/**
 * Appends events in one statement, in the caller's transaction (one that writes the change the events
 * report: TaskStore.updateMany) or as a transaction of its own: the append lock, then the rows in
 * order, notified at the commit. The lock is held to the commit, so a transaction that also locks rows
 * must lock them first.
 */
export async function appendEventsIn(db: Kysely<ColonyTables>, events: readonly NewEvent[]): Promise<number[]> {
  if (events.length === 0) return [];
  // The lock is taken in the statement, before the first id: the join's one-row side yields before any
  // row reaches the sort, and the rows take their ids after it. One array per column, whatever the
  // batch's size; the ordinality keeps the batch's order, in which the rows take their ids.
  const { rows } = await sql<{ ids: (number | string)[]; xid: string }>`
    with append_lock as (select ${schemaLock(EVENT_APPEND_LOCK_NAMESPACE)}),
    appended as (
      insert into events (type, source, data, correlation_id, timestamp)
      select v.type, v.source, v.data::jsonb, v.correlation_id, v.ts
      from unnest(${events.map((e) => e.type)}::text[], ${events.map((e) => e.source)}::text[],
                  ${events.map((e) => JSON.stringify(e.data))}::text[], ${events.map((e) => e.correlationId)}::text[],
                  ${events.map((e) => e.timestamp)}::bigint[])
        with ordinality as v(type, source, data, correlation_id, ts, ord)
        cross join append_lock
      order by v.ord
      returning id)
    select array_agg(id order by id) as ids, pg_current_xact_id()::text as xid, pg_notify(${schemaChannelSql('events')}, max(id)::text) as notified
    from appended`.execute(db);
  const [row] = rows;
  if (!row) throw new Error('the insert of events returned nothing');
  return row.ids.map(Number);
}
