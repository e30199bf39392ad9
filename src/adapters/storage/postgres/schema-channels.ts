import { sql, type RawBuilder } from 'kysely';

/**
 * NOTIFY channels are the database's, not a schema's: Colonies in several schemas of one database
 * (teams, tests) would wake each other on shared names. Each channel's name therefore ends in a hash
 * of the connection's schema (`current_schema()`), computed by the server, so the listener and every
 * statement that notifies agree on it. Names stay identifiers (a-z, 0-9, _) well under 63 bytes.
 */
export const CHANNEL_PREFIXES = { tasks: 'colony_tasks_', events: 'colony_events_' } as const;

/** The schema's suffix, as SQL: 16 hex digits of md5(current_schema()). */
const SCHEMA_SUFFIX = sql<string>`left(md5(current_schema()), 16)`;

/** The channel of `topic` in the schema of the connection running the statement. */
export function schemaChannelSql(topic: keyof typeof CHANNEL_PREFIXES): RawBuilder<string> {
  return sql<string>`${sql.lit(CHANNEL_PREFIXES[topic])} || ${SCHEMA_SUFFIX}`;
}

/** A query a listener runs once connected: the names of its schema's channels. */
export const SCHEMA_CHANNELS_QUERY = `select '${CHANNEL_PREFIXES.tasks}' || left(md5(current_schema()), 16) as tasks, '${CHANNEL_PREFIXES.events}' || left(md5(current_schema()), 16) as events`;
