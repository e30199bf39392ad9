import type { ProviderCallSummary, SwarmUsagePart } from '../../../ports/model-call-ledger.js';

// Rows of the model-call ledger's sums as the port's types, for both dialects. Apart from the queries,
// so that the SQLite adapter does not load the query builder those need.

/** A row of the per-part sums (either dialect) as a SwarmUsagePart. */
export function usagePart(row: Record<string, string | number | null>): SwarmUsagePart {
  return {
    taskId: row.task_id === null ? null : String(row.task_id),
    agentId: row.agent_id === null ? null : String(row.agent_id),
    provider: String(row.provider),
    model: String(row.model),
    calls: Number(row.calls),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    costUsd: row.cost_usd === null ? null : Number(row.cost_usd),
    unpricedCalls: Number(row.unpriced),
  };
}

/** A row of the per-provider sums (either dialect) as the port's summary. */
export function summaryOfRow(row: Record<string, string | number | null>): ProviderCallSummary {
  const n = (value: string | number | null | undefined) => Number(value ?? 0);
  return {
    provider: String(row.provider),
    model: String(row.model),
    calls: n(row.calls),
    failed: n(row.failed),
    openCalls: n(row.open_calls),
    lostCalls: n(row.lost_calls),
    refusedCalls: n(row.refused_calls),
    inputTokens: n(row.input_tokens),
    outputTokens: n(row.output_tokens),
    costUsd: n(row.cost_usd),
    unpricedCalls: n(row.unpriced_calls),
    meanLatencyMs: row.mean_latency_ms === null || row.mean_latency_ms === undefined ? null : Math.round(n(row.mean_latency_ms)),
    lastCallAt: row.last_call_at === null || row.last_call_at === undefined ? null : n(row.last_call_at),
  };
}
