import type { AgentTrackRecord } from '../domain/agent.js';
import type { JsonValue } from '../domain/json.js';

/** The MetricStore port: samples per entity, and the agents' track records derived from them. Conformance: `test/conformance/metric-store.ts`. */
export interface MetricStore {
  record(metrics: readonly MetricSample[]): Promise<void>;
  list(query: MetricQuery): Promise<MetricSample[]>;
  /** Task outcomes per agent from the samples: the selector's track record. */
  agentTrackRecords(agentIds: readonly string[]): Promise<Map<string, AgentTrackRecord>>;
}

export interface MetricSample {
  entityType: string;
  entityId: string;
  name: string;
  value: number;
  metadata: Record<string, JsonValue> | null;
  timestamp: number;
}

export interface MetricQuery {
  entityType?: string;
  entityId?: string;
  name?: string;
  since?: number;
  limit?: number;
}
