import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { StoredEvent } from '../../../domain/events.js';
import type { EventQuery } from '../../../ports/event-log.js';
import { EVENT_COLUMNS, selection } from './column-lists.js';
import { bytewise, isOneOf, type SqlContext } from './dialect-sql.js';
import { eventFromRow } from './rows.js';
import type { ColonyTables, EventRow } from './schema.js';

/**
 * Reading the event log, written once for SQLite and PostgreSQL (see dialect-sql.ts). Both adapters
 * append in commit order (SQLite has one writer; PostgreSQL appends under an advisory lock), so every
 * committed event is settled. Appending is each adapter's own.
 */

export async function listEvents({ db, dialect }: SqlContext, query: EventQuery): Promise<StoredEvent[]> {
  let select = db
    .selectFrom('events')
    .select(selection(dialect, EVENT_COLUMNS))
    .where((eb) => eventFilter(dialect, eb, query));
  select = select.orderBy('id', query.newestFirst ? 'desc' : 'asc');
  if (query.limit !== undefined) select = select.limit(query.limit);
  const rows = await select.execute();
  return (rows as unknown as (Omit<EventRow, 'id'> & { id: number })[]).map((r) => eventFromRow(r));
}

function eventFilter(dialect: SqlContext['dialect'], eb: ExpressionBuilder<ColonyTables, 'events'>, query: EventQuery): Expression<SqlBool> {
  const clauses: Expression<SqlBool>[] = [];
  if (query.afterId !== undefined) clauses.push(eb('id', '>', query.afterId));
  if (query.beforeId !== undefined) clauses.push(eb('id', '<', query.beforeId));
  if (query.types && query.types.length > 0) clauses.push(typeFilter(dialect, eb, query.types));
  if (query.correlationId !== undefined) clauses.push(eb('correlation_id', '=', query.correlationId));
  if (query.source !== undefined) clauses.push(eb('source', '=', query.source));
  return eb.and(clauses);
}

/**
 * Exact types, or prefixes ending in `.*`, matched as a range (`task.*` is `type >= 'task.' and type <
 * 'task/'`) rather than with LIKE, which needs escaping. The range compares bytewise: under a
 * linguistic collation (en_US ignores punctuation at first) it would not hold.
 */
function typeFilter(dialect: SqlContext['dialect'], eb: ExpressionBuilder<ColonyTables, 'events'>, types: readonly string[]): Expression<SqlBool> {
  const exact = types.filter((t) => !t.endsWith('.*'));
  const prefixes = [...new Set(types.filter((t) => t.endsWith('.*')).map((t) => t.slice(0, -1)))];
  const alternatives: Expression<SqlBool>[] = [];
  if (exact.length > 0) alternatives.push(isOneOf(dialect, 'type', exact));
  const type = bytewise(dialect, 'type');
  // The prefix ends in '.', so the next code point after it bounds the range.
  for (const prefix of prefixes) alternatives.push(sql<SqlBool>`(${type} >= ${prefix} and ${type} < ${`${prefix.slice(0, -1)}/`})`);
  return eb.or(alternatives);
}
