import { sql } from 'kysely';
import type { AgentTrackRecord } from '../../../domain/agent.js';
import type { MetricQuery, MetricSample, ModelCallTotals } from '../../../ports/metric-store.js';
import { modelCallTotalsOfRow, modelCallTotalsSql } from './model-call-totals.js';
import { METRIC_COLUMNS, selection } from './column-lists.js';
import { isOneOf, type SqlContext } from './dialect-sql.js';
import { metricFromRow } from './rows.js';
import type { MetricRow } from './schema.js';

/** The MetricStore port's statements, written once for SQLite and PostgreSQL (see dialect-sql.ts). */

/** Rows per multi-row INSERT (6 columns each). Atomic across chunks only inside the caller's transaction. */
export const METRIC_INSERT_CHUNK = 2_000;

export async function recordMetrics({ db }: SqlContext, metrics: readonly MetricSample[]): Promise<void> {
  const rows = metrics.map((m) => ({
    entity_type: m.entityType,
    entity_id: m.entityId,
    metric_name: m.name,
    metric_value: m.value,
    metadata: m.metadata === null ? null : JSON.stringify(m.metadata),
    timestamp: m.timestamp,
  }));
  for (let i = 0; i < rows.length; i += METRIC_INSERT_CHUNK) {
    await db.insertInto('metrics').values(rows.slice(i, i + METRIC_INSERT_CHUNK)).execute();
  }
}

/** In recording order. */
export async function listMetrics({ db, dialect }: SqlContext, query: MetricQuery): Promise<MetricSample[]> {
  let select = db.selectFrom('metrics').select(selection(dialect, METRIC_COLUMNS));
  if (query.entityType !== undefined) select = select.where('entity_type', '=', query.entityType);
  if (query.entityId !== undefined) select = select.where('entity_id', '=', query.entityId);
  if (query.name !== undefined) select = select.where('metric_name', '=', query.name);
  if (query.since !== undefined) select = select.where('timestamp', '>=', query.since);
  select = select.orderBy('id', 'asc');
  if (query.limit !== undefined) select = select.limit(query.limit);
  return ((await select.execute()) as unknown as Omit<MetricRow, 'id'>[]).map(metricFromRow);
}

/** Task outcomes per agent: counts of `task.completed` and `task.failed`, and the mean duration of completions. */
export async function agentTrackRecords({ db, dialect }: SqlContext, agentIds: readonly string[]): Promise<Map<string, AgentTrackRecord>> {
  const records = new Map<string, AgentTrackRecord>();
  if (agentIds.length === 0) return records;
  const rows = await db
    .selectFrom('metrics')
    .select([
      'entity_id',
      sql<number>`sum(case when metric_name = 'task.completed' then 1 else 0 end)`.as('completed'),
      sql<number>`sum(case when metric_name = 'task.failed' then 1 else 0 end)`.as('failed'),
      // numeric on PostgreSQL (a string in JavaScript), a double on SQLite: read with Number().
      sql<number | string | null>`avg(case when metric_name = 'task.completed' then metric_value end)`.as('mean'),
    ])
    .where('entity_type', '=', 'agent')
    .where(isOneOf(dialect, 'entity_id', agentIds))
    .where('metric_name', 'in', ['task.completed', 'task.failed'])
    .groupBy('entity_id')
    .execute();
  for (const r of rows) {
    records.set(r.entity_id, {
      tasksCompleted: Number(r.completed),
      tasksFailed: Number(r.failed),
      meanDurationMs: r.mean === null ? null : Number(r.mean),
    });
  }
  return records;
}

const SINCE = '__since__';

export async function modelCallTotals({ db }: SqlContext, since: number | undefined): Promise<ModelCallTotals[]> {
  const [head, tail] = modelCallTotalsSql((name) => `(metadata ->> '${name}')`, since === undefined ? null : SINCE).split(SINCE) as [string, string?];
  const query = since === undefined ? sql.raw<Record<string, unknown>>(head) : sql<Record<string, unknown>>`${sql.raw(head)}${since}${sql.raw(tail ?? '')}`;
  const { rows } = await query.execute(db);
  return rows.map(modelCallTotalsOfRow);
}
