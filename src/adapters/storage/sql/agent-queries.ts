import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { AgentRecord, AgentStatus } from '../../../domain/agent.js';
import type { AgentPatch, AgentQuery, FreeAgentFilter } from '../../../ports/agent-store.js';
import { AGENT_COLUMNS, selection } from './column-lists.js';
import { bytewise, isOneOf, paged, startsWith, type SqlContext } from './dialect-sql.js';
import { agentFromRow, agentToRow } from './rows.js';
import type { AgentRow, ColonyTables } from './schema.js';

/**
 * The AgentStore port's statements that are the same on SQLite and PostgreSQL (see dialect-sql.ts).
 * Each is one statement on the stored record, never a write of a record read earlier. The slot
 * statements work on the JSON array of current tasks, which the dialects spell differently: they
 * live with each adapter.
 */

/** The length of the JSON array of an agent's current tasks. */
export function currentTaskCount(ctx: Pick<SqlContext, 'dialect'>): ReturnType<typeof sql<number>> {
  return ctx.dialect === 'postgres' ? sql<number>`jsonb_array_length(current_tasks)` : sql<number>`json_array_length(current_tasks)`;
}

/**
 * Inserts an agent; with `maxActive`, only while fewer agents than that are not terminated, counted in
 * the same statement. That is atomic on SQLite (one writer at a time); on PostgreSQL two such
 * statements can count at once, so the adapter serialises bounded inserts (postgres-agent-store.ts).
 */
export async function insertAgent({ db, dialect }: SqlContext, agent: AgentRecord, bound?: { maxActive: number }): Promise<boolean> {
  const row = agentToRow(agent);
  if (!bound) {
    await db.insertInto('agents').values(row).execute();
    return true;
  }
  const json = dialect === 'postgres' ? 'jsonb' : 'text';
  const result = await db
    .insertInto('agents')
    .columns(['id', 'name', 'type', 'status', 'health', 'capabilities', 'config', 'current_tasks', 'max_concurrency', 'created_at', 'updated_at', 'terminated_at'])
    .expression(
      db
        .selectNoFrom((eb) => [
          // Typed explicitly: PostgreSQL takes an untyped parameter in a select list for text.
          eb.cast<string>(eb.val(row.id), 'text').as('id'),
          eb.cast<string>(eb.val(row.name), 'text').as('name'),
          eb.cast<string>(eb.val(row.type), 'text').as('type'),
          eb.cast<string>(eb.val(row.status), 'text').as('status'),
          eb.cast<string>(eb.val(row.health), 'text').as('health'),
          eb.cast<string>(eb.val(row.capabilities), json).as('capabilities'),
          eb.cast<string>(eb.val(row.config), json).as('config'),
          eb.cast<string>(eb.val(row.current_tasks), json).as('current_tasks'),
          eb.cast<number>(eb.val(row.max_concurrency), 'integer').as('max_concurrency'),
          eb.cast<number>(eb.val(row.created_at), 'bigint').as('created_at'),
          eb.cast<number>(eb.val(row.updated_at), 'bigint').as('updated_at'),
          eb.cast<number | null>(eb.val(row.terminated_at), 'bigint').as('terminated_at'),
        ])
        .where(sql<SqlBool>`(select count(*) from agents where status <> 'terminated') < ${bound.maxActive}`),
    )
    .executeTakeFirst();
  return result.numInsertedOrUpdatedRows === 1n;
}

/**
 * Changes status, health or termination time, compare-and-set on the stored status and never once
 * terminated; `idle` on an agent that holds tasks is stored as `busy`. Returns the stored record.
 */
export async function patchAgent(
  ctx: SqlContext,
  id: string,
  patch: AgentPatch,
  expected: { status: AgentStatus },
  now: number,
): Promise<AgentRecord | undefined> {
  const { db, dialect } = ctx;
  const row = await db
    .updateTable('agents')
    .set((eb) => ({
      ...(patch.status === undefined
        ? {}
        : { status: patch.status === 'idle' ? sql<string>`case when ${currentTaskCount(ctx)} > 0 then 'busy' else 'idle' end` : eb.val(patch.status) }),
      ...(patch.health === undefined ? {} : { health: patch.health }),
      ...(patch.terminatedAt === undefined ? {} : { terminated_at: patch.terminatedAt }),
      ...(patch.resetFailures ? { failure_streak: 0 } : {}),
      updated_at: now,
    }))
    .where('id', '=', id)
    .where('status', '=', expected.status)
    .where('status', '<>', 'terminated')
    .returning(selection(dialect, AGENT_COLUMNS))
    .executeTakeFirst();
  return row ? agentFromRow(row as unknown as AgentRow) : undefined;
}

export async function getAgent({ db, dialect }: SqlContext, id: string): Promise<AgentRecord | undefined> {
  const row = await db.selectFrom('agents').select(selection(dialect, AGENT_COLUMNS)).where('id', '=', id).executeTakeFirst();
  return row ? agentFromRow(row as unknown as AgentRow) : undefined;
}

export async function agentIdsByPrefix({ db, dialect }: SqlContext, prefix: string, limit: number): Promise<string[]> {
  const rows = await db.selectFrom('agents').select('id').where(startsWith(dialect, 'id', prefix)).orderBy(bytewise(dialect, 'id')).limit(limit).execute();
  return rows.map((r) => r.id);
}

/** Creation order is id order (ids are time-sorted), compared bytewise on both dialects. */
export async function listAgents(ctx: SqlContext, query: AgentQuery): Promise<AgentRecord[]> {
  const { db, dialect } = ctx;
  const rows = await paged(
    dialect,
    db
      .selectFrom('agents')
      .select(selection(dialect, AGENT_COLUMNS))
      .where((eb) => agentFilter(ctx, eb, query))
      .orderBy(bytewise(dialect, 'id'), query.order === 'created_desc' ? 'desc' : 'asc'),
    query,
  ).execute();
  return (rows as unknown as AgentRow[]).map(agentFromRow);
}

/** The agents with a free slot, as the slot statements judge them (idle or busy, not unhealthy), in creation order. */
export async function listFreeAgents(ctx: SqlContext, filter: FreeAgentFilter): Promise<AgentRecord[]> {
  const { db, dialect } = ctx;
  let query = db
    .selectFrom('agents')
    .select(selection(dialect, AGENT_COLUMNS))
    .where(isOneOf(dialect, 'status', ['idle', 'busy']))
    .where('health', '<>', 'unhealthy')
    .where(sql<SqlBool>`${currentTaskCount(ctx)} < max_concurrency`);
  if (filter.ids !== undefined) query = query.where(isOneOf(dialect, 'id', filter.ids));
  if (filter.type !== undefined) query = query.where('type', '=', filter.type);
  const rows = await query.orderBy(bytewise(dialect, 'id')).execute();
  return (rows as unknown as AgentRow[]).map(agentFromRow);
}

export async function countAgents(ctx: SqlContext, query: Omit<AgentQuery, 'limit' | 'offset' | 'order'>): Promise<number> {
  const row = await ctx.db
    .selectFrom('agents')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => agentFilter(ctx, eb, query))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function agentFilter({ dialect }: SqlContext, eb: ExpressionBuilder<ColonyTables, 'agents'>, query: Omit<AgentQuery, 'limit' | 'offset' | 'order'>): Expression<SqlBool> {
  const clauses: Expression<SqlBool>[] = [];
  if (query.status !== undefined) clauses.push(isOneOf(dialect, 'status', typeof query.status === 'string' ? [query.status] : query.status));
  if (query.type !== undefined) clauses.push(eb('type', '=', query.type));
  if (query.name !== undefined) clauses.push(eb('name', '=', query.name));
  if (query.excludeTerminated) clauses.push(eb('status', '<>', 'terminated'));
  return eb.and(clauses);
}
