import type { AgentTrackRecord } from '../domain/agent.js';
import type { JsonValue } from '../domain/json.js';

/** The MetricStore port: samples per entity, and the agents' track records derived from them. Conformance: `test/conformance/metric-store.ts`. */
export interface MetricStore {
  record(metrics: readonly MetricSample[]): Promise<void>;
  list(query: MetricQuery): Promise<MetricSample[]>;
  /** Task outcomes per agent from the samples: the selector's track record. */
  agentTrackRecords(agentIds: readonly string[]): Promise<Map<string, AgentTrackRecord>>;
  /**
   * The model calls agent runs recorded (a task's `llm.*` samples, one set per call, every process),
   * summed per provider and model from each sample's metadata, since `since` when given; by provider, then model.
   */
  modelCallTotals(since?: number): Promise<ModelCallTotals[]>;
}

export interface ModelCallTotals {
  provider: string;
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** The priced calls' estimated cost. */
  costUsd: number;
  /** Calls of a model with no known price (not in `costUsd`). */
  unpricedCalls: number;
  lastCallAt: number | null;
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
