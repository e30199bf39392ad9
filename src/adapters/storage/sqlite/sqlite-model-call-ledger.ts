import type { DatabaseSync } from 'node:sqlite';
import type { ModelCallBudget, ModelCallLedger, ModelCallUsage, OpenModelCall, ProviderCallSummary, SwarmCallUsage, SwarmUsagePart } from '../../../ports/model-call-ledger.js';
import { summaryOfRow, usagePart } from '../sql/model-call-rows.js';
import { StatementCache } from './statement-cache.js';
import type { WriteBatcher } from './write-batcher.js';

/** What a call counts for against a budget: closed calls their cost, open and lost ones their reservation. */
const COUNTED_TOKENS = `CASE status WHEN 'closed' THEN input_tokens + output_tokens WHEN 'refused' THEN 0 ELSE reserved_tokens END`;
const COUNTED_COST = `CASE status WHEN 'closed' THEN cost_usd WHEN 'refused' THEN 0 ELSE reserved_cost_usd END`;

/** Model calls on the shared SQLite connection and write batcher (see SqliteStore). */
export class SqliteModelCallLedger implements ModelCallLedger {
  private readonly writes: WriteBatcher;
  private readonly statements: StatementCache;

  constructor(db: DatabaseSync, writes: WriteBatcher) {
    this.writes = writes;
    this.statements = new StatementCache(db);
  }

  open(call: OpenModelCall, budget: ModelCallBudget = { maxTokens: null, maxCostUsd: null }): Promise<boolean> {
    return this.writes.write(`open model call ${call.id}`, () => {
      const result = this.statements
        .get(
          `INSERT INTO model_calls (id, swarm_id, task_id, agent_id, runner_id, provider, model, status, reserved_tokens, reserved_cost_usd, started_at)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'open', ?8, ?9, ?10
           WHERE (?11 IS NULL OR (SELECT coalesce(sum(${COUNTED_TOKENS}), 0) FROM model_calls WHERE swarm_id = ?2) + ?8 <= ?11)
             AND (?12 IS NULL OR ?9 IS NULL OR (SELECT coalesce(sum(${COUNTED_COST}), 0) FROM model_calls WHERE swarm_id = ?2) + ?9 <= ?12)`,
        )
        .run(
          call.id,
          call.swarmId,
          call.taskId,
          call.agentId,
          call.runnerId,
          call.provider,
          call.model,
          call.reservedTokens,
          call.reservedCostUsd,
          call.startedAt,
          budget.maxTokens,
          budget.maxCostUsd,
        );
      return Number(result.changes) === 1;
    });
  }

  refuse(call: OpenModelCall): Promise<void> {
    return this.writes.write(`refuse model call ${call.id}`, () => {
      this.statements
        .get(
          `INSERT INTO model_calls (id, swarm_id, task_id, agent_id, runner_id, provider, model, status, reserved_tokens, reserved_cost_usd, started_at, ended_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'refused', 0, 0, ?, ?)`,
        )
        .run(call.id, call.swarmId, call.taskId, call.agentId, call.runnerId, call.provider, call.model, call.startedAt, call.startedAt);
    });
  }

  close(id: string, usage: ModelCallUsage, at: number): Promise<void> {
    return this.writes.write(`close model call ${id}`, () => {
      // A call marked lost meanwhile (its process was taken for dead) still gets its real figures.
      this.statements
        .get(`UPDATE model_calls SET status = 'closed', input_tokens = ?, output_tokens = ?, cost_usd = ?, ended_at = ? WHERE id = ? AND status IN ('open', 'lost')`)
        .run(usage.inputTokens, usage.outputTokens, usage.costUsd, at, id);
    });
  }

  markLost(runnerIds: readonly string[], at: number): Promise<number> {
    if (runnerIds.length === 0) return Promise.resolve(0);
    return this.writes.write('mark model calls lost', () => {
      const marks = runnerIds.map(() => '?').join(', ');
      const result = this.statements
        .get(`UPDATE model_calls SET status = 'lost', ended_at = ? WHERE status = 'open' AND runner_id IN (${marks})`)
        .run(at, ...runnerIds);
      return Number(result.changes);
    });
  }

  async swarmBudget(swarmId: string): Promise<ModelCallBudget> {
    const row = this.statements
      .get(`SELECT json_extract(config, '$.limits.maxTokens') AS max_tokens, json_extract(config, '$.limits.maxCostUsd') AS max_cost_usd FROM swarms WHERE id = ?`)
      .get(swarmId) as { max_tokens: number | null; max_cost_usd: number | null } | undefined;
    return { maxTokens: row?.max_tokens ?? null, maxCostUsd: row?.max_cost_usd ?? null };
  }

  async swarmUsage(swarmId: string): Promise<SwarmCallUsage> {
    const row = this.statements
      .get(
        `SELECT
           sum(status = 'closed') AS calls,
           coalesce(sum(CASE status WHEN 'closed' THEN input_tokens END), 0) AS input_tokens,
           coalesce(sum(CASE status WHEN 'closed' THEN output_tokens END), 0) AS output_tokens,
           sum(CASE status WHEN 'closed' THEN cost_usd WHEN 'lost' THEN reserved_cost_usd END) AS cost_usd,
           sum(status IN ('closed', 'lost') AND (CASE status WHEN 'closed' THEN cost_usd ELSE reserved_cost_usd END) IS NULL) AS unpriced,
           sum(status = 'open') AS open_calls,
           coalesce(sum(CASE status WHEN 'open' THEN reserved_tokens END), 0) AS open_tokens,
           sum(status = 'lost') AS lost_calls,
           coalesce(sum(CASE status WHEN 'lost' THEN reserved_tokens END), 0) AS lost_tokens,
           sum(status = 'refused') AS refused_calls
         FROM model_calls WHERE swarm_id = ?`,
      )
      .get(swarmId) as Record<string, number | null>;
    const n = (value: number | null | undefined) => Number(value ?? 0);
    return {
      calls: n(row.calls),
      inputTokens: n(row.input_tokens),
      outputTokens: n(row.output_tokens),
      costUsd: n(row.unpriced) > 0 ? null : n(row.cost_usd),
      openCalls: n(row.open_calls),
      openTokens: n(row.open_tokens),
      lostCalls: n(row.lost_calls),
      lostTokens: n(row.lost_tokens),
      refusedCalls: n(row.refused_calls),
    };
  }

  async swarmUsageParts(swarmId: string): Promise<SwarmUsagePart[]> {
    const rows = this.statements
      .get(
        `SELECT task_id, agent_id, provider, model,
           count(*) AS calls,
           coalesce(sum(input_tokens), 0) AS input_tokens,
           coalesce(sum(output_tokens), 0) AS output_tokens,
           sum(CASE status WHEN 'closed' THEN cost_usd ELSE reserved_cost_usd END) AS cost_usd,
           sum((CASE status WHEN 'closed' THEN cost_usd ELSE reserved_cost_usd END) IS NULL) AS unpriced
         FROM model_calls WHERE swarm_id = ? AND status IN ('closed', 'lost')
         GROUP BY task_id, agent_id, provider, model
         ORDER BY task_id NULLS FIRST, agent_id NULLS FIRST, provider, model`,
      )
      .all(swarmId) as Record<string, string | number | null>[];
    return rows.map(usagePart);
  }

  async providerUsage(since?: number): Promise<ProviderCallSummary[]> {
    const rows = this.statements
      .get(
        `SELECT
           provider,
           model,
           sum(status = 'closed') AS calls,
           sum(status = 'closed' AND input_tokens + output_tokens = 0) AS failed,
           sum(status = 'open') AS open_calls,
           sum(status = 'lost') AS lost_calls,
           sum(status = 'refused') AS refused_calls,
           coalesce(sum(CASE status WHEN 'closed' THEN input_tokens END), 0) AS input_tokens,
           coalesce(sum(CASE status WHEN 'closed' THEN output_tokens END), 0) AS output_tokens,
           coalesce(sum(CASE status WHEN 'closed' THEN cost_usd END), 0) AS cost_usd,
           sum(status = 'closed' AND cost_usd IS NULL) AS unpriced_calls,
           avg(CASE WHEN status = 'closed' AND input_tokens + output_tokens > 0 THEN ended_at - started_at END) AS mean_latency_ms,
           max(started_at) AS last_call_at
         FROM model_calls
         WHERE ?1 IS NULL OR started_at >= ?1
         GROUP BY provider, model
         ORDER BY provider, model`,
      )
      .all(since ?? null) as Record<string, number | null>[];
    return rows.map(summaryOfRow);
  }
}
