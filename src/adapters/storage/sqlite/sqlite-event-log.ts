import type { StatementSync } from 'node:sqlite';
import type { StoredEvent } from '../../../domain/events.js';
import type { EventQuery, NewEvent } from '../../../ports/store.js';
import { listEventsQuery, sqlitePlaceholder as ph } from '../sql/list-queries.js';
import { eventFromRow } from '../sql/rows.js';
import type { EventRow } from '../sql/schema.js';
import type { EventLog } from '../../../ports/event-log.js';
import { SqliteAggregate } from './sqlite-aggregate.js';

/** The event log: one writer at a time, so id order is commit order. See `SqliteStore`. */
export class SqliteEventLog extends SqliteAggregate implements EventLog {
  append(events: readonly NewEvent[]): Promise<number[]> {
    return this.write('append events', () => insertEvents(this.stmt(INSERT_EVENT), events));
  }

  /**
   * Every committed event is settled (see the port): SQLite has one writer at a time and takes ids
   * inside the write transaction, so ids commit in id order, and a read never sees a later id without
   * every earlier one that will ever exist.
   */
  async list(query: EventQuery): Promise<StoredEvent[]> {
    return (this.query(listEventsQuery(query, ph)) as unknown as (Omit<EventRow, 'id'> & { id: number })[]).map((r) => eventFromRow(r));
  }
}

/** One event's row; with insertEvents, also how another aggregate writes events in its own transaction. */
export const INSERT_EVENT = 'INSERT INTO events (type, source, data, correlation_id, timestamp) VALUES (?, ?, ?, ?, ?)';

/** Inserts events in order (inside the caller's write); returns their ids. */
export function insertEvents(insert: StatementSync, events: readonly NewEvent[]): number[] {
  return events.map((e) => Number(insert.run(e.type, e.source, JSON.stringify(e.data), e.correlationId, e.timestamp).lastInsertRowid));
}
