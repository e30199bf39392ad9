import type { ColonyEvent, StoredEvent } from '../domain/events.js';
import type { JsonValue } from '../domain/json.js';

/**
 * The EventLog port: the durable log every process appends its events to and follows by cursor
 * (`afterId`); the events table is the outbox the WebSocket, the CLI's live views and other processes
 * read. Conformance: `test/conformance/event-log.ts`.
 */
export interface EventLog {
  /**
   * Appends events in order; returns their ids, increasing. An id is a position in the log, not a
   * count: ids may skip values (an insert rolled back, sequence values taken and never used).
   */
  append(events: readonly NewEvent[]): Promise<number[]>;
  /**
   * Reads the log, oldest first (after `afterId`) or newest first, filtered.
   *
   * Every read returns settled events only: an event is returned once no event with a smaller id can
   * still appear, that is once every append that took a smaller id has committed or rolled back. So a
   * reader that pages on with `afterId` set to the last id it was given (by any filtered read) never
   * skips an event, although ids have gaps and several writers commit out of id order, and the newest
   * event of a `newestFirst` read is a safe place to start following from. An appended event is thus
   * readable once its own append and every earlier-id one have ended (an append in flight in another
   * process can hold it back).
   *
   * - SQLite meets this as it is: one writer at a time, and ids are taken inside the write
   *   transaction, so id order is commit order and every committed event is settled.
   * - PostgreSQL takes a `bigserial` id at insert and transactions commit in any order: a plain read
   *   can return 105 while 104 has yet to commit, and a cursor past 105 would skip 104 for ever. That
   *   adapter appends under a transaction-scoped advisory lock held from taking the ids to the commit
   *   (a commit is visible before its locks are released), so appends are serial and id order is
   *   commit order there too.
   */
  list(query: EventQuery): Promise<StoredEvent[]>;
}

export interface NewEvent {
  type: string;
  source: string;
  data: JsonValue;
  correlationId: string | null;
  timestamp: number;
}

/** A published event as the log's row: what a change writes in its own transaction (the bus's outbox). */
export function newEventOf({ type, source, data, correlationId, timestamp }: ColonyEvent): NewEvent {
  return { type, source, data: data as unknown as JsonValue, correlationId, timestamp };
}

export interface EventQuery {
  afterId?: number;
  /** Only events older than this id (to page back through a newest-first read). */
  beforeId?: number;
  /** Exact types, or prefixes ending in `.*` (e.g. `task.*`), as the EventBus filter takes them. */
  types?: readonly string[];
  correlationId?: string;
  source?: string;
  limit?: number;
  /** Newest first instead of oldest first. */
  newestFirst?: boolean;
}
