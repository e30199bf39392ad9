import { sql, type Kysely } from 'kysely';
import type { AgentHealth, AgentRecord, AgentStatus } from '../../../domain/agent.js';
import type { AgentPatch, AgentQuery, AgentStore, FreeAgentFilter, HealthThresholds, SlotOutcome } from '../../../ports/agent-store.js';
import * as q from '../sql/agent-queries.js';
import { AGENT_COLUMNS, columnSql } from '../sql/column-lists.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import { agentFromRow } from '../sql/rows.js';
import type { AgentRow, ColonyTables } from '../sql/schema.js';
import { mapped } from './postgres-errors.js';
import { AGENT_POOL_LOCK_NAMESPACE, schemaLock } from './postgres-store-locks.js';

/**
 * Agents on PostgreSQL. Every change is one statement on the stored row, its conditions checked in
 * the statement: under READ COMMITTED an UPDATE that waited for the row re-checks them against the
 * committed row, so slots are never lost or overbooked whichever processes claim and release at once.
 * An insert under a pool bound counts the pool, which two statements could do at the same moment: those
 * inserts take a transaction advisory lock first, so each counts what the ones before it committed.
 */
export class PostgresAgentStore implements AgentStore {
  private readonly db: Kysely<ColonyTables>;
  private readonly sql: SqlContext;

  constructor(db: Kysely<ColonyTables>) {
    this.db = db;
    this.sql = { db, dialect: 'postgres' };
  }

  insert(agent: AgentRecord, bound?: { maxActive: number }): Promise<boolean> {
    if (!bound) return mapped(`insert agent ${agent.id}`, () => q.insertAgent(this.sql, agent));
    return mapped(`insert agent ${agent.id}`, () =>
      this.db.transaction().execute(async (trx) => {
        await sql`select ${schemaLock(AGENT_POOL_LOCK_NAMESPACE)}`.execute(trx);
        return q.insertAgent({ db: trx, dialect: 'postgres' }, agent, bound);
      }),
    );
  }

  patch(id: string, patch: AgentPatch, expected: { status: AgentStatus }, now: number): Promise<AgentRecord | undefined> {
    return mapped(`patch agent ${id}`, () => q.patchAgent(this.sql, id, patch, expected, now));
  }

  claimSlot(agentId: string, taskId: string, now: number): Promise<AgentRecord | undefined> {
    return mapped(`claim a slot of agent ${agentId}`, () => claimSlot(this.db, agentId, taskId, now));
  }

  /**
   * One statement: `previous` locks the row (waiting for a writer in progress, then reading what it
   * committed) and the UPDATE changes that same row, so `previous` is exactly what the release replaced.
   */
  releaseSlot(
    agentId: string,
    taskId: string,
    outcome: SlotOutcome,
    thresholds: HealthThresholds,
    now: number,
  ): Promise<{ agent: AgentRecord; previous: Pick<AgentRecord, 'status' | 'health'> } | undefined> {
    return mapped(`release a slot of agent ${agentId}`, async () => {
      const { rows } = await sql<AgentRow & { previous_status: AgentStatus; previous_health: AgentHealth }>`
        with previous as materialized (select id, status, health from agents where id = ${agentId} for no key update)
        update agents a set
          current_tasks = coalesce(
            (select jsonb_agg(e.value order by e.ord) from jsonb_array_elements(a.current_tasks) with ordinality as e(value, ord)
             where e.value <> to_jsonb(${taskId}::text)),
            '[]'::jsonb),
          status = case when a.status = 'busy' and jsonb_array_length(a.current_tasks) <= 1 then 'idle' else a.status end,
          failure_streak = case ${outcome}::text when 'success' then 0 when 'failure' then a.failure_streak + 1 else a.failure_streak end,
          health = case ${outcome}::text
            when 'success' then 'healthy'
            when 'failure' then case when a.failure_streak + 1 >= ${thresholds.unhealthy} then 'unhealthy'
                                     when a.failure_streak + 1 >= ${thresholds.degraded} then 'degraded' else 'healthy' end
            else a.health end,
          updated_at = ${now}
        from previous
        where a.id = previous.id and a.status <> 'terminated' and a.current_tasks @> jsonb_build_array(${taskId}::text)
        returning ${columnSql('postgres', AGENT_COLUMNS, 'a')}, previous.status as previous_status, previous.health as previous_health`.execute(this.db);
      const [row] = rows;
      return row ? { agent: agentFromRow(row), previous: { status: row.previous_status, health: row.previous_health } } : undefined;
    });
  }

  get(id: string): Promise<AgentRecord | undefined> {
    return mapped(`read agent ${id}`, () => q.getAgent(this.sql, id));
  }

  listFree(filter: FreeAgentFilter): Promise<AgentRecord[]> {
    return mapped('list free agents', () => q.listFreeAgents(this.sql, filter));
  }

  findIdsByPrefix(prefix: string, limit: number): Promise<string[]> {
    return mapped('find agents by id prefix', () => q.agentIdsByPrefix(this.sql, prefix, limit));
  }

  list(query: AgentQuery): Promise<AgentRecord[]> {
    return mapped('list agents', () => q.listAgents(this.sql, query));
  }

  count(query: Omit<AgentQuery, 'limit' | 'offset' | 'order'>): Promise<number> {
    return mapped('count agents', () => q.countAgents(this.sql, query));
  }
}

/**
 * One of the agent's slots for the task, if it is idle or busy, not unhealthy, has a slot free and does
 * not hold the task already: checked and written in one UPDATE, re-checked against the committed row
 * by a writer that had to wait for it.
 */
export async function claimSlot(db: Kysely<ColonyTables>, agentId: string, taskId: string, now: number): Promise<AgentRecord | undefined> {
  const { rows } = await sql<AgentRow>`
    update agents set current_tasks = current_tasks || jsonb_build_array(${taskId}::text), status = 'busy', updated_at = ${now}
    where id = ${agentId} and status in ('idle', 'busy') and health <> 'unhealthy'
      and jsonb_array_length(current_tasks) < max_concurrency
      and not (current_tasks @> jsonb_build_array(${taskId}::text))
    returning ${columnSql('postgres', AGENT_COLUMNS)}`.execute(db);
  const [row] = rows;
  return row ? agentFromRow(row) : undefined;
}
