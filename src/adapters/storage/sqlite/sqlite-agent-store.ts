import type { SQLInputValue } from 'node:sqlite';
import type { AgentHealth, AgentRecord, AgentStatus } from '../../../domain/agent.js';
import type { AgentPatch, AgentQuery, HealthThresholds, SlotOutcome } from '../../../ports/store.js';
import { countAgentsQuery, listAgentsQuery, sqlitePlaceholder as ph } from '../sql/list-queries.js';
import { agentFromRow, agentToRow } from '../sql/rows.js';
import type { AgentRow } from '../sql/schema.js';
import type { AgentStore, FreeAgentFilter } from '../../../ports/agent-store.js';
import { SqliteAggregate } from './sqlite-aggregate.js';

/** Agents decoded by `listFree` kept at most; past it, the cache starts again. */
const LISTED_AGENTS_MAX = 10_000;

/** Agents: every change one atomic statement on the stored record. See `SqliteStore`. */
export class SqliteAgentStore extends SqliteAggregate implements AgentStore {
  /**
   * What `listFree` decoded, by id, with the row it came from. The pool is listed for every claimed task
   * and most of its rows have not changed since: a row equal in every column gives the same record, not
   * decoded again. The records are shared between calls, so they are not to be changed.
   */
  private readonly listed = new Map<string, { row: AgentRow; agent: AgentRecord }>();

  insert(agent: AgentRecord, bound?: { maxActive: number }): Promise<boolean> {
    const row = agentToRow(agent);
    const columns = 'id, name, type, status, health, capabilities, config, current_tasks, max_concurrency, created_at, updated_at, terminated_at';
    return this.write('insert agent', () => {
      const values = Object.values(row) as SQLInputValue[];
      const result = bound
        ? this.stmt(
            `INSERT INTO agents (${columns}) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
             WHERE (SELECT count(*) FROM agents WHERE status <> 'terminated') < ?`,
          ).run(...values, bound.maxActive)
        : this.stmt(`INSERT INTO agents (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(...values);
      return Number(result.changes) === 1;
    });
  }

  patch(id: string, patch: AgentPatch, expected: { status: AgentStatus }, now: number): Promise<AgentRecord | undefined> {
    const sets: string[] = [];
    const params: SQLInputValue[] = [];
    if (patch.status !== undefined) {
      sets.push(`status = CASE WHEN ? = 'idle' AND json_array_length(current_tasks) > 0 THEN 'busy' ELSE ? END`);
      params.push(patch.status, patch.status);
    }
    if (patch.health !== undefined) {
      sets.push('health = ?');
      params.push(patch.health);
    }
    if (patch.terminatedAt !== undefined) {
      sets.push('terminated_at = ?');
      params.push(patch.terminatedAt);
    }
    if (patch.resetFailures) sets.push('failure_streak = 0');
    sets.push('updated_at = ?');
    params.push(now);
    return this.write(`patch agent ${id}`, () => {
      const row = this.stmt(`UPDATE agents SET ${sets.join(', ')} WHERE id = ? AND status = ? AND status <> 'terminated' RETURNING *`).get(
        ...params,
        id,
        expected.status,
      ) as AgentRow | undefined;
      return row ? agentFromRow(row) : undefined;
    });
  }

  claimSlot(agentId: string, taskId: string, now: number): Promise<AgentRecord | undefined> {
    return this.write(`claim a slot of agent ${agentId}`, () => {
      const row = this.stmt(
        `UPDATE agents SET current_tasks = json_insert(current_tasks, '$[#]', ?), status = 'busy', updated_at = ?
         WHERE id = ? AND status IN ('idle', 'busy') AND health <> 'unhealthy' AND json_array_length(current_tasks) < max_concurrency
           AND NOT EXISTS (SELECT 1 FROM json_each(agents.current_tasks) WHERE value = ?)
         RETURNING *`,
      ).get(taskId, now, agentId, taskId) as AgentRow | undefined;
      return row ? agentFromRow(row) : undefined;
    });
  }

  releaseSlot(
    agentId: string,
    taskId: string,
    outcome: SlotOutcome,
    thresholds: HealthThresholds,
    now: number,
  ): Promise<{ agent: AgentRecord; previous: Pick<AgentRecord, 'status' | 'health'> } | undefined> {
    return this.write(`release a slot of agent ${agentId}`, () => {
      // Read and update in one transaction (the batch holds the write lock): `previous` is exact.
      const before = this.stmt('SELECT status, health FROM agents WHERE id = ?').get(agentId) as { status: AgentStatus; health: AgentHealth } | undefined;
      if (!before) return undefined;
      const row = this.stmt(
        `UPDATE agents SET
           current_tasks = (SELECT json_group_array(value) FROM json_each(agents.current_tasks) WHERE value <> ?1),
           status = CASE WHEN status = 'busy' AND json_array_length(current_tasks) <= 1 THEN 'idle' ELSE status END,
           failure_streak = CASE ?2 WHEN 'success' THEN 0 WHEN 'failure' THEN failure_streak + 1 ELSE failure_streak END,
           health = CASE ?2
             WHEN 'success' THEN 'healthy'
             WHEN 'failure' THEN CASE WHEN failure_streak + 1 >= ?3 THEN 'unhealthy' WHEN failure_streak + 1 >= ?4 THEN 'degraded' ELSE 'healthy' END
             ELSE health END,
           updated_at = ?5
         WHERE id = ?6 AND status <> 'terminated' AND EXISTS (SELECT 1 FROM json_each(agents.current_tasks) WHERE value = ?1)
         RETURNING *`,
      ).get(taskId, outcome, thresholds.unhealthy, thresholds.degraded, now, agentId) as AgentRow | undefined;
      return row ? { agent: agentFromRow(row), previous: { status: before.status, health: before.health } } : undefined;
    });
  }

  async get(id: string): Promise<AgentRecord | undefined> {
    const row = this.stmt('SELECT * FROM agents WHERE id = ?').get(id) as AgentRow | undefined;
    return row ? agentFromRow(row) : undefined;
  }

  async listFree(filter: FreeAgentFilter): Promise<AgentRecord[]> {
    if (filter.ids?.length === 0) return [];
    // The same conditions as claimSlot's; the ids go as one JSON array, so any number is one prepared statement.
    const where = [`status IN ('idle', 'busy')`, `health <> 'unhealthy'`, 'json_array_length(current_tasks) < max_concurrency'];
    const params: SQLInputValue[] = [];
    if (filter.ids !== undefined) {
      where.push('id IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(filter.ids));
    }
    if (filter.type !== undefined) {
      where.push('type = ?');
      params.push(filter.type);
    }
    const rows = this.all(`SELECT * FROM agents WHERE ${where.join(' AND ')} ORDER BY id`, ...params) as unknown as AgentRow[];
    if (this.listed.size > LISTED_AGENTS_MAX) this.listed.clear();
    return rows.map((row) => {
      const known = this.listed.get(row.id);
      if (known && sameRow(known.row, row)) return known.agent;
      const agent = agentFromRow(row);
      this.listed.set(row.id, { row, agent });
      return agent;
    });
  }

  async findIdsByPrefix(prefix: string, limit: number): Promise<string[]> {
    return this.all('SELECT id FROM agents WHERE id >= ? AND id < ? ORDER BY id LIMIT ?', prefix, `${prefix}\uffff`, limit).map(
      (r) => r.id as string,
    );
  }

  async list(query: AgentQuery): Promise<AgentRecord[]> {
    return (this.query(listAgentsQuery(query, ph)) as unknown as AgentRow[]).map(agentFromRow);
  }

  async count(query: Omit<AgentQuery, 'limit' | 'offset' | 'order'>): Promise<number> {
    return Number(this.query(countAgentsQuery(query, ph))[0]?.n ?? 0);
  }
}

function sameRow(a: AgentRow, b: AgentRow): boolean {
  for (const column of Object.keys(b) as (keyof AgentRow)[]) if (a[column] !== b[column]) return false;
  return true;
}
