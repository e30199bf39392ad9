import type { Kysely } from 'kysely';
import type { AgentTrackRecord } from '../../../domain/agent.js';
import type { MetricQuery, MetricSample, MetricStore, ModelCallTotals } from '../../../ports/metric-store.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import * as q from '../sql/metric-queries.js';
import type { ColonyTables } from '../sql/schema.js';
import { mapped } from './postgres-errors.js';

/** Metric samples on PostgreSQL; a batch larger than one INSERT commits in one transaction. */
export class PostgresMetricStore implements MetricStore {
  private readonly db: Kysely<ColonyTables>;
  private readonly sql: SqlContext;

  constructor(db: Kysely<ColonyTables>) {
    this.db = db;
    this.sql = { db, dialect: 'postgres' };
  }

  async record(metrics: readonly MetricSample[]): Promise<void> {
    if (metrics.length === 0) return;
    if (metrics.length <= q.METRIC_INSERT_CHUNK) return mapped('record metrics', () => q.recordMetrics(this.sql, metrics));
    return mapped('record metrics', () => this.db.transaction().execute((trx) => q.recordMetrics({ db: trx, dialect: 'postgres' }, metrics)));
  }

  list(query: MetricQuery): Promise<MetricSample[]> {
    return mapped('list metrics', () => q.listMetrics(this.sql, query));
  }

  agentTrackRecords(agentIds: readonly string[]): Promise<Map<string, AgentTrackRecord>> {
    return mapped('read agent track records', () => q.agentTrackRecords(this.sql, agentIds));
  }

  modelCallTotals(since?: number): Promise<ModelCallTotals[]> {
    return mapped('read model calls per provider', () => q.modelCallTotals(this.sql, since));
  }
}
