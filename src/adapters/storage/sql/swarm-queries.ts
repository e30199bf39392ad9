import type { ExpressionBuilder, SqlBool, Expression } from 'kysely';
import type { SwarmRecord, SwarmStatus } from '../../../domain/swarm.js';
import type { SwarmQuery } from '../../../ports/swarm-store.js';
import { bytewise, changedOne, isOneOf, paged, startsWith, type SqlContext } from './dialect-sql.js';
import type { ColonyTables } from './schema.js';
import { swarmFromRow, swarmToRow } from './swarm-rows.js';

/** The SwarmStore port's statements, written once for SQLite and PostgreSQL (see dialect-sql.ts). */

export async function insertSwarm({ db }: SqlContext, swarm: SwarmRecord): Promise<void> {
  await db.insertInto('swarms').values(swarmToRow(swarm)).execute();
}

/** Compare-and-set on (status, updated_at): one statement, so of two racing writers exactly one wins. */
export async function updateSwarm({ db }: SqlContext, next: SwarmRecord, expected: { status: SwarmStatus; updatedAt: number }): Promise<boolean> {
  const { id, ...columns } = swarmToRow(next);
  const result = await db
    .updateTable('swarms')
    .set(columns)
    .where('id', '=', id)
    .where('status', '=', expected.status)
    .where('updated_at', '=', expected.updatedAt)
    .executeTakeFirst();
  return changedOne(result);
}

export async function getSwarm({ db }: SqlContext, id: string): Promise<SwarmRecord | undefined> {
  const row = await db.selectFrom('swarms').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? swarmFromRow(row) : undefined;
}

export async function swarmIdsByPrefix({ db, dialect }: SqlContext, prefix: string, limit: number): Promise<string[]> {
  const rows = await db.selectFrom('swarms').select('id').where(startsWith(dialect, 'id', prefix)).orderBy(bytewise(dialect, 'id')).limit(limit).execute();
  return rows.map((r) => r.id);
}

/** Newest first; ties by id, compared bytewise on both dialects. */
export async function listSwarms(ctx: SqlContext, query: SwarmQuery): Promise<SwarmRecord[]> {
  const { db, dialect } = ctx;
  const rows = await paged(
    dialect,
    db
      .selectFrom('swarms')
      .selectAll()
      .where((eb) => swarmFilter(ctx, eb, query))
      .orderBy('created_at', 'desc')
      .orderBy(bytewise(dialect, 'id'), 'desc'),
    query,
  ).execute();
  return rows.map(swarmFromRow);
}

export async function countSwarms(ctx: SqlContext, query: Omit<SwarmQuery, 'limit' | 'offset'>): Promise<number> {
  const row = await ctx.db
    .selectFrom('swarms')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => swarmFilter(ctx, eb, query))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

function swarmFilter({ dialect }: SqlContext, eb: ExpressionBuilder<ColonyTables, 'swarms'>, query: Omit<SwarmQuery, 'limit' | 'offset'>): Expression<SqlBool> {
  const clauses: Expression<SqlBool>[] = [];
  if (query.status !== undefined) clauses.push(isOneOf(dialect, 'status', typeof query.status === 'string' ? [query.status] : query.status));
  if (query.topology !== undefined) clauses.push(eb('topology', '=', query.topology));
  return eb.and(clauses);
}
