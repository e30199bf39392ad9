import type { AgentQuery, EventQuery, MetricQuery, TaskQuery } from '../../../ports/store.js';

/**
 * The listing queries of the Store port as parameterised SQL, shared by the SQL adapters. Each adapter
 * supplies its placeholder style (`?` for SQLite, `$1…` for PostgreSQL). Hand-written rather than
 * built with Kysely so that a short-lived CLI command does not pay Kysely's import cost on every run.
 */
export type Placeholder = (index: number) => string;

export const sqlitePlaceholder: Placeholder = () => '?';
export const postgresPlaceholder: Placeholder = (i) => `$${i}`;

export interface SqlQuery {
  text: string;
  params: (string | number | null)[];
}

class Where {
  readonly clauses: string[] = [];
  readonly params: (string | number | null)[] = [];
  private readonly ph: Placeholder;

  constructor(ph: Placeholder) {
    this.ph = ph;
  }

  add(column: string, op: string, value: string | number): void {
    this.params.push(value);
    this.clauses.push(`${column} ${op} ${this.ph(this.params.length)}`);
  }

  in(column: string, values: readonly (string | number)[]): void {
    if (values.length === 0) {
      this.clauses.push('1 = 0');
      return;
    }
    const marks = values.map((v) => {
      this.params.push(v);
      return this.ph(this.params.length);
    });
    this.clauses.push(`${column} IN (${marks.join(', ')})`);
  }

  /**
   * Event types: exact names, or prefixes ending in `.*`, matched as a range on the type index
   * (`task.*` is `type >= 'task.' AND type < 'task/'`) rather than with LIKE, which needs escaping.
   */
  types(types: readonly string[]): void {
    const exact = types.filter((t) => !t.endsWith('.*'));
    const prefixes = [...new Set(types.filter((t) => t.endsWith('.*')).map((t) => t.slice(0, -1)))];
    const alternatives: string[] = [];
    if (exact.length > 0) {
      const marks = exact.map((t) => {
        this.params.push(t);
        return this.ph(this.params.length);
      });
      alternatives.push(`type IN (${marks.join(', ')})`);
    }
    for (const prefix of prefixes) {
      // The prefix ends in '.', so the next code point after it bounds the range.
      this.params.push(prefix);
      const low = this.ph(this.params.length);
      this.params.push(`${prefix.slice(0, -1)}/`);
      const high = this.ph(this.params.length);
      alternatives.push(`(type >= ${low} AND type < ${high})`);
    }
    this.clauses.push(alternatives.length === 1 ? (alternatives[0] as string) : `(${alternatives.join(' OR ')})`);
  }

  /** Any of the columns contains `text`, letter case ignored: LIKE with the pattern's wildcards escaped. */
  contains(columns: readonly string[], text: string): void {
    const alternatives = columns.map((column) => {
      this.params.push(likeContains(text));
      return `lower(coalesce(${column}, '')) LIKE lower(${this.ph(this.params.length)}) ESCAPE '\\'`;
    });
    this.clauses.push(`(${alternatives.join(' OR ')})`);
  }

  raw(clause: string): void {
    this.clauses.push(clause);
  }

  toString(): string {
    return this.clauses.length ? ` WHERE ${this.clauses.join(' AND ')}` : '';
  }

  page(limit: number | undefined, offset: number | undefined): string {
    // SQLite accepts OFFSET only after LIMIT; -1 means no limit there, and PostgreSQL takes ALL.
    if (limit === undefined && offset === undefined) return '';
    const lim = limit === undefined ? (this.ph(1) === '?' ? '-1' : 'ALL') : String(Math.trunc(limit));
    return ` LIMIT ${lim}${offset === undefined ? '' : ` OFFSET ${Math.trunc(offset)}`}`;
  }
}

/** A LIKE pattern for "contains `text`", with `\`, `%` and `_` escaped by `\`. */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function list<T>(value: T | readonly T[]): T[] {
  return Array.isArray(value) ? [...(value as T[])] : [value as T];
}

export function taskWhere(query: Omit<TaskQuery, 'limit' | 'offset' | 'order'>, ph: Placeholder): Where {
  const w = new Where(ph);
  if (query.ids !== undefined) w.in('id', query.ids);
  if (query.status !== undefined) w.in('status', list(query.status));
  if (query.type !== undefined) w.add('type', '=', query.type);
  if (query.workflowId !== undefined) w.add('workflow_id', '=', query.workflowId);
  if (query.swarmId !== undefined) w.add('swarm_id', '=', query.swarmId);
  if (query.parentId !== undefined) w.add('parent_id', '=', query.parentId);
  if (query.assignedAgent !== undefined) w.add('assigned_agent', '=', query.assignedAgent);
  if (query.pool === null) w.raw('pool IS NULL');
  else if (query.pool !== undefined) w.add('pool', '=', query.pool);
  if (query.text !== undefined) w.contains(['name', 'description'], query.text);
  return w;
}

export function listTasksQuery(columns: string, query: TaskQuery, ph: Placeholder): SqlQuery {
  const w = taskWhere(query, ph);
  const order = query.order === 'priority' ? 'priority DESC, id ASC' : query.order === 'created_desc' ? 'id DESC' : 'id ASC';
  return { text: `SELECT ${columns} FROM tasks${w} ORDER BY ${order}${w.page(query.limit, query.offset)}`, params: w.params };
}

export function countTasksQuery(query: Omit<TaskQuery, 'limit' | 'offset' | 'order'>, ph: Placeholder): SqlQuery {
  const w = taskWhere(query, ph);
  return { text: `SELECT count(*) AS n FROM tasks${w}`, params: w.params };
}

function agentWhere(query: Omit<AgentQuery, 'limit' | 'offset' | 'order'>, ph: Placeholder): Where {
  const w = new Where(ph);
  if (query.status !== undefined) w.in('status', list(query.status));
  if (query.type !== undefined) w.add('type', '=', query.type);
  if (query.name !== undefined) w.add('name', '=', query.name);
  if (query.excludeTerminated) w.raw(`status <> 'terminated'`);
  return w;
}

export function listAgentsQuery(query: AgentQuery, ph: Placeholder): SqlQuery {
  const w = agentWhere(query, ph);
  const order = query.order === 'created_desc' ? 'id DESC' : 'id ASC';
  return { text: `SELECT * FROM agents${w} ORDER BY ${order}${w.page(query.limit, query.offset)}`, params: w.params };
}

export function countAgentsQuery(query: Omit<AgentQuery, 'limit' | 'offset' | 'order'>, ph: Placeholder): SqlQuery {
  const w = agentWhere(query, ph);
  return { text: `SELECT count(*) AS n FROM agents${w}`, params: w.params };
}

export function listEventsQuery(query: EventQuery, ph: Placeholder): SqlQuery {
  const w = new Where(ph);
  if (query.afterId !== undefined) w.add('id', '>', query.afterId);
  if (query.beforeId !== undefined) w.add('id', '<', query.beforeId);
  if (query.types && query.types.length > 0) w.types(query.types);
  if (query.correlationId !== undefined) w.add('correlation_id', '=', query.correlationId);
  if (query.source !== undefined) w.add('source', '=', query.source);
  return {
    text: `SELECT * FROM events${w} ORDER BY id ${query.newestFirst ? 'DESC' : 'ASC'}${w.page(query.limit, undefined)}`,
    params: w.params,
  };
}

export function listMetricsQuery(query: MetricQuery, ph: Placeholder): SqlQuery {
  const w = new Where(ph);
  if (query.entityType !== undefined) w.add('entity_type', '=', query.entityType);
  if (query.entityId !== undefined) w.add('entity_id', '=', query.entityId);
  if (query.name !== undefined) w.add('metric_name', '=', query.name);
  if (query.since !== undefined) w.add('timestamp', '>=', query.since);
  return { text: `SELECT * FROM metrics${w} ORDER BY id ASC${w.page(query.limit, undefined)}`, params: w.params };
}

export function agentTrackRecordsQuery(agentIds: readonly string[], ph: Placeholder): SqlQuery {
  const w = new Where(ph);
  w.raw(`entity_type = 'agent'`);
  w.in('entity_id', agentIds);
  w.raw(`metric_name IN ('task.completed', 'task.failed')`);
  return {
    text: `SELECT entity_id,
             sum(CASE WHEN metric_name = 'task.completed' THEN 1 ELSE 0 END) AS completed,
             sum(CASE WHEN metric_name = 'task.failed' THEN 1 ELSE 0 END) AS failed,
             avg(CASE WHEN metric_name = 'task.completed' THEN metric_value END) AS mean
           FROM metrics${w} GROUP BY entity_id`,
    params: w.params,
  };
}
