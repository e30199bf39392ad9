import type { MetricQuery, MetricSample, Store } from '../ports/store.js';

/**
 * The recorded metrics of a colony (`colony.metrics`), by every process sharing the store: model
 * usage and cost per task (`llm.*`), agent task outcomes, votes' usage.
 */
export interface MetricLog {
  /** Samples matching the query, oldest first. */
  list(query: MetricQuery): Promise<MetricSample[]>;
}

export function createMetricLog(store: Store): MetricLog {
  return { list: (query) => store.metrics.list(query) };
}
