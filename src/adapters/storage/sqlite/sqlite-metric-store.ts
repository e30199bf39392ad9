import type { AgentTrackRecord } from '../../../domain/agent.js';
import type { MetricQuery, MetricSample } from '../../../ports/store.js';
import { agentTrackRecordsQuery, listMetricsQuery, sqlitePlaceholder as ph } from '../sql/list-queries.js';
import { metricFromRow } from '../sql/rows.js';
import type { MetricRow } from '../sql/schema.js';
import type { MetricStore, ModelCallTotals } from '../../../ports/metric-store.js';
import { modelCallTotalsOfRow, modelCallTotalsSql } from '../sql/model-call-totals.js';
import { SqliteAggregate } from './sqlite-aggregate.js';

/** Metric samples and the track records derived from them. See `SqliteStore`. */
export class SqliteMetricStore extends SqliteAggregate implements MetricStore {
  record(metrics: readonly MetricSample[]): Promise<void> {
    return this.write('record metrics', () => {
      const insert = this.stmt(
        'INSERT INTO metrics (entity_type, entity_id, metric_name, metric_value, metadata, timestamp) VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (const m of metrics) {
        insert.run(m.entityType, m.entityId, m.name, m.value, m.metadata === null ? null : JSON.stringify(m.metadata), m.timestamp);
      }
    });
  }

  async list(query: MetricQuery): Promise<MetricSample[]> {
    return (this.query(listMetricsQuery(query, ph)) as unknown as MetricRow[]).map((r) => metricFromRow(r));
  }

  async agentTrackRecords(agentIds: readonly string[]): Promise<Map<string, AgentTrackRecord>> {
    const records = new Map<string, AgentTrackRecord>();
    if (agentIds.length === 0) return records;
    for (const r of this.query(agentTrackRecordsQuery(agentIds, ph))) {
      records.set(r.entity_id as string, {
        tasksCompleted: Number(r.completed),
        tasksFailed: Number(r.failed),
        meanDurationMs: r.mean === null ? null : Number(r.mean),
      });
    }
    return records;
  }

  async modelCallTotals(since?: number): Promise<ModelCallTotals[]> {
    const text = modelCallTotalsSql((name) => `json_extract(metadata, '$.${name}')`, since === undefined ? null : '?');
    return this.all(text, ...(since === undefined ? [] : [since])).map(modelCallTotalsOfRow);
  }
}
