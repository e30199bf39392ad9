import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { ModelCallBudget, ModelCallUsage, OpenModelCall, ProviderCallSummary, SwarmCallUsage, SwarmUsagePart } from '../../../ports/model-call-ledger.js';
import { isOneOf, type SqlContext } from './dialect-sql.js';
import { summaryOfRow, usagePart } from './model-call-rows.js';

/**
 * The ModelCallLedger port's statements, written once for SQLite and PostgreSQL (see dialect-sql.ts).
 * `openModelCall` checks the budget and inserts in one statement; that alone is atomic on SQLite
 * (one writer at a time), while on PostgreSQL two such statements can read the same usage: the
 * caller serialises a swarm's admissions there (postgres-model-call-ledger.ts).
 */

/** What a call counts for against a budget: closed calls their cost, open and lost ones their reservation. */
const COUNTED_TOKENS = sql`case status when 'closed' then input_tokens + output_tokens when 'refused' then 0 else reserved_tokens end`;
const COUNTED_COST = sql`case status when 'closed' then cost_usd when 'refused' then 0 else reserved_cost_usd end`;

/** Records the call if the budget has room for its reservation; returns whether it did. */
export async function openModelCall({ db }: SqlContext, call: OpenModelCall, budget: ModelCallBudget): Promise<boolean> {
  const room: RawBuilder<SqlBool>[] = [];
  if (budget.maxTokens !== null) {
    room.push(sql<SqlBool>`(select coalesce(sum(${COUNTED_TOKENS}), 0) from model_calls where swarm_id = ${call.swarmId}) + ${call.reservedTokens} <= ${budget.maxTokens}`);
  }
  // An unknown price cannot be held to a cost budget.
  if (budget.maxCostUsd !== null && call.reservedCostUsd !== null) {
    room.push(sql<SqlBool>`(select coalesce(sum(${COUNTED_COST}), 0) from model_calls where swarm_id = ${call.swarmId}) + ${call.reservedCostUsd} <= ${budget.maxCostUsd}`);
  }
  const result = await db
    .insertInto('model_calls')
    .columns(['id', 'swarm_id', 'task_id', 'agent_id', 'runner_id', 'provider', 'model', 'status', 'reserved_tokens', 'reserved_cost_usd', 'started_at'])
    .expression(
      db
        .selectNoFrom((eb) => [
          // Typed explicitly: PostgreSQL takes an untyped parameter in a select list for text.
          eb.cast<string>(eb.val(call.id), 'text').as('id'),
          eb.cast<string>(eb.val(call.swarmId), 'text').as('swarm_id'),
          eb.cast<string | null>(eb.val(call.taskId), 'text').as('task_id'),
          eb.cast<string | null>(eb.val(call.agentId), 'text').as('agent_id'),
          eb.cast<string | null>(eb.val(call.runnerId), 'text').as('runner_id'),
          eb.cast<string>(eb.val(call.provider), 'text').as('provider'),
          eb.cast<string>(eb.val(call.model), 'text').as('model'),
          eb.cast<string>(eb.val('open'), 'text').as('status'),
          eb.cast<number>(eb.val(call.reservedTokens), 'bigint').as('reserved_tokens'),
          eb.cast<number | null>(eb.val(call.reservedCostUsd), 'double precision').as('reserved_cost_usd'),
          eb.cast<number>(eb.val(call.startedAt), 'bigint').as('started_at'),
        ])
        .where((eb) => eb.and(room)),
    )
    .executeTakeFirst();
  return result.numInsertedOrUpdatedRows === 1n;
}

/** A call the budget had no room for: recorded at no cost, so that every process sees the budget spent. */
export async function refuseModelCall({ db }: SqlContext, call: OpenModelCall): Promise<void> {
  await db
    .insertInto('model_calls')
    .values({
      id: call.id,
      swarm_id: call.swarmId,
      task_id: call.taskId,
      agent_id: call.agentId,
      runner_id: call.runnerId,
      provider: call.provider,
      model: call.model,
      status: 'refused',
      reserved_tokens: 0,
      reserved_cost_usd: 0,
      started_at: call.startedAt,
      ended_at: call.startedAt,
    })
    .execute();
}

/** A call marked lost meanwhile (its process was taken for dead) still gets its real figures. */
export async function closeModelCall({ db }: SqlContext, id: string, usage: ModelCallUsage, at: number): Promise<void> {
  await db
    .updateTable('model_calls')
    .set({ status: 'closed', input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, cost_usd: usage.costUsd, ended_at: at })
    .where('id', '=', id)
    .where('status', 'in', ['open', 'lost'])
    .execute();
}

export async function markModelCallsLost({ db, dialect }: SqlContext, runnerIds: readonly string[], at: number): Promise<number> {
  if (runnerIds.length === 0) return 0;
  const result = await db
    .updateTable('model_calls')
    .set({ status: 'lost', ended_at: at })
    .where('status', '=', 'open')
    .where(isOneOf(dialect, 'runner_id', runnerIds))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function modelCallUsage({ db }: SqlContext, swarmId: string): Promise<SwarmCallUsage> {
  // Sums of bigint are numeric on PostgreSQL (text in JavaScript), hence the casts back to bigint.
  const { rows } = await sql<Record<string, number | null>>`
    select
      count(*) filter (where status = 'closed') as calls,
      cast(coalesce(sum(input_tokens) filter (where status = 'closed'), 0) as bigint) as input_tokens,
      cast(coalesce(sum(output_tokens) filter (where status = 'closed'), 0) as bigint) as output_tokens,
      sum(case status when 'closed' then cost_usd when 'lost' then reserved_cost_usd end) as cost_usd,
      count(*) filter (where status in ('closed', 'lost') and (case status when 'closed' then cost_usd else reserved_cost_usd end) is null) as unpriced,
      count(*) filter (where status = 'open') as open_calls,
      cast(coalesce(sum(reserved_tokens) filter (where status = 'open'), 0) as bigint) as open_tokens,
      count(*) filter (where status = 'lost') as lost_calls,
      cast(coalesce(sum(reserved_tokens) filter (where status = 'lost'), 0) as bigint) as lost_tokens,
      count(*) filter (where status = 'refused') as refused_calls
    from model_calls where swarm_id = ${swarmId}`.execute(db);
  const row = rows[0] ?? {};
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

/** A swarm's ended calls summed per task, agent, provider and model (see ModelCallLedger.swarmUsageParts). */
export async function modelCallUsageParts({ db }: SqlContext, swarmId: string): Promise<SwarmUsagePart[]> {
  const { rows } = await sql<Record<string, string | number | null>>`
    select task_id, agent_id, provider, model,
      count(*) as calls,
      cast(coalesce(sum(input_tokens), 0) as bigint) as input_tokens,
      cast(coalesce(sum(output_tokens), 0) as bigint) as output_tokens,
      sum(case status when 'closed' then cost_usd else reserved_cost_usd end) as cost_usd,
      count(*) filter (where (case status when 'closed' then cost_usd else reserved_cost_usd end) is null) as unpriced
    from model_calls where swarm_id = ${swarmId} and status in ('closed', 'lost')
    group by task_id, agent_id, provider, model
    order by task_id nulls first, agent_id nulls first, provider, model`.execute(db);
  return rows.map(usagePart);
}

/** Calls per provider and model (since `since`), ordered by provider then model. */
export async function providerCallSummaries({ db }: SqlContext, since: number | undefined): Promise<ProviderCallSummary[]> {
  // Casts: sums and averages of bigint are numeric on PostgreSQL (text in JavaScript).
  const { rows } = await sql<Record<string, string | number | null>>`
    select
      provider,
      model,
      count(*) filter (where status = 'closed') as calls,
      count(*) filter (where status = 'closed' and input_tokens + output_tokens = 0) as failed,
      count(*) filter (where status = 'open') as open_calls,
      count(*) filter (where status = 'lost') as lost_calls,
      count(*) filter (where status = 'refused') as refused_calls,
      cast(coalesce(sum(input_tokens) filter (where status = 'closed'), 0) as bigint) as input_tokens,
      cast(coalesce(sum(output_tokens) filter (where status = 'closed'), 0) as bigint) as output_tokens,
      cast(coalesce(sum(cost_usd) filter (where status = 'closed'), 0) as double precision) as cost_usd,
      count(*) filter (where status = 'closed' and cost_usd is null) as unpriced_calls,
      cast(avg(ended_at - started_at) filter (where status = 'closed' and input_tokens + output_tokens > 0) as double precision) as mean_latency_ms,
      max(started_at) as last_call_at
    from model_calls
    where ${since === undefined ? sql`true` : sql`started_at >= ${since}`}
    group by provider, model
    order by provider, model`.execute(db);
  return rows.map(summaryOfRow);
}

