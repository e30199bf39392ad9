import type { ModelCallTotals } from '../../../ports/metric-store.js';

// The model-call totals from agent runs' `llm.*` samples, as SQL text for either dialect and the row
// mapping. Apart from the Kysely queries, so that the SQLite adapter does not load the query builder.

/** The `llm.*` metric names an agent run records per model call (see agents/runtime/run-recorder.ts). */
export const MODEL_CALL_METRICS = ['llm.input_tokens', 'llm.output_tokens', 'llm.cost_usd'] as const;

/** The SQL of modelCallTotals; `field(name)` reads a metadata field as text in the dialect. */
export function modelCallTotalsSql(field: (name: string) => string, sinceParam: string | null): string {
  const count = (name: string) => `sum(CASE WHEN metric_name = '${name}' THEN 1 ELSE 0 END)`;
  const total = (name: string) => `coalesce(sum(CASE WHEN metric_name = '${name}' THEN metric_value END), 0)`;
  return `SELECT ${field('provider')} AS provider, ${field('model')} AS model,
      ${count('llm.input_tokens')} AS calls,
      ${total('llm.input_tokens')} AS input_tokens,
      ${total('llm.output_tokens')} AS output_tokens,
      ${total('llm.cost_usd')} AS cost_usd,
      ${count('llm.input_tokens')} - ${count('llm.cost_usd')} AS unpriced_calls,
      max(timestamp) AS last_call_at
    FROM metrics
    WHERE entity_type = 'task' AND metric_name IN (${MODEL_CALL_METRICS.map((n) => `'${n}'`).join(', ')})${sinceParam === null ? '' : ` AND timestamp >= ${sinceParam}`}
    GROUP BY 1, 2
    ORDER BY 1, 2`;
}

/** A row of modelCallTotalsSql (either dialect: PostgreSQL sums are numeric, text in JavaScript). */
export function modelCallTotalsOfRow(row: Record<string, unknown>): ModelCallTotals {
  return {
    provider: String(row.provider ?? 'unknown'),
    model: String(row.model ?? 'unknown'),
    calls: Number(row.calls),
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    costUsd: Number(row.cost_usd),
    unpricedCalls: Number(row.unpriced_calls),
    lastCallAt: row.last_call_at === null || row.last_call_at === undefined ? null : Number(row.last_call_at),
  };
}
