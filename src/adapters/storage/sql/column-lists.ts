import { sql, type AliasedRawBuilder, type RawBuilder } from 'kysely';
import type { SqlDialectName } from './migrations.js';

/**
 * The columns the row readers in rows.ts take, per table, and how to select them on either dialect.
 *
 * JSON columns are selected as text on PostgreSQL (`col::text`): pg would otherwise hand back jsonb
 * already parsed, and a JSON string (a task input `"just a string"`) would then reach `readJson` as
 * a bare string that it parses again and fails on. As text, both dialects give the readers the same thing.
 */
export interface ColumnList {
  readonly columns: readonly string[];
  readonly json: ReadonlySet<string>;
}

export const TASK_COLUMNS: ColumnList = {
  columns: [
    'id', 'name', 'type', 'description', 'status', 'priority', 'input', 'dependencies', 'parent_id', 'workflow_id', 'swarm_id',
    'requirements', 'assigned_agent', 'timeout_ms', 'max_retries', 'max_attempts', 'attempts', 'result', 'error', 'runner_id',
    'not_before', 'created_at', 'updated_at', 'started_at', 'completed_at', 'pool', 'trace_parent',
  ],
  json: new Set(['input', 'dependencies', 'requirements', 'result', 'error']),
};

export const AGENT_COLUMNS: ColumnList = {
  columns: ['id', 'name', 'type', 'status', 'health', 'capabilities', 'config', 'current_tasks', 'max_concurrency', 'created_at', 'updated_at', 'terminated_at'],
  json: new Set(['capabilities', 'config', 'current_tasks']),
};

export const EVENT_COLUMNS: ColumnList = {
  columns: ['id', 'type', 'source', 'data', 'correlation_id', 'timestamp'],
  json: new Set(['data']),
};

export const METRIC_COLUMNS: ColumnList = {
  columns: ['entity_type', 'entity_id', 'metric_name', 'metric_value', 'metadata', 'timestamp'],
  json: new Set(['metadata']),
};

export const AGENT_TURN_COLUMNS: ColumnList = {
  columns: ['id', 'task_id', 'agent_id', 'attempt', 'turn', 'role', 'content', 'usage', 'model', 'provider', 'created_at'],
  json: new Set(['content', 'usage']),
};

export const AGENT_MESSAGE_COLUMNS: ColumnList = {
  columns: ['id', 'from_agent', 'to_agent', 'task_id', 'body', 'created_at', 'read_at'],
  json: new Set(),
};

/** For Kysely's `select(...)` and `returning(...)`: each column by name, JSON ones as text on PostgreSQL. */
export function selection(dialect: SqlDialectName, list: ColumnList, alias?: string): AliasedRawBuilder<unknown, string>[] {
  return list.columns.map((column) => {
    const ref = sql.ref(alias === undefined ? column : `${alias}.${column}`);
    return (dialect === 'postgres' && list.json.has(column) ? sql`${ref}::text` : sql`${ref}`).as(column);
  });
}

/** The same selection as one piece of raw SQL, for statements written as SQL templates. */
export function columnSql(dialect: SqlDialectName, list: ColumnList, alias?: string): RawBuilder<unknown> {
  return sql.join(selection(dialect, list, alias).map((column) => sql`${column}`));
}
