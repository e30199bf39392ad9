import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { ProposalRecord, VoteRecord, VoterFlag } from '../../../domain/consensus.js';
import type { ProposalQuery } from '../../../ports/consensus-store.js';
import { bytewise, changedOne, isOneOf, paged, startsWith, type SqlContext } from './dialect-sql.js';
import type { ColonyTables, ConsensusVoteRow, VoterFlagRow } from './schema.js';
import { proposalFromRow, proposalToRow, voteFromRow, voterFlagFromRow } from './swarm-rows.js';

/**
 * The ConsensusStore port's statements, written once for SQLite and PostgreSQL (see dialect-sql.ts).
 * Batches (`insertVotes`, `flagVoters`) are all-or-none only inside the caller's transaction.
 */

/** Rows per multi-row INSERT: 11 columns each stays far below both dialects' parameter limits. */
const INSERT_CHUNK = 500;

export async function insertProposal({ db }: SqlContext, proposal: ProposalRecord): Promise<void> {
  await db.insertInto('consensus_proposals').values(proposalToRow(proposal)).execute();
}

export async function updateProposal({ db }: SqlContext, proposal: ProposalRecord): Promise<boolean> {
  const { id, ...columns } = proposalToRow(proposal);
  return changedOne(await db.updateTable('consensus_proposals').set(columns).where('id', '=', id).executeTakeFirst());
}

export async function getProposal({ db }: SqlContext, id: string): Promise<ProposalRecord | undefined> {
  const row = await db.selectFrom('consensus_proposals').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? proposalFromRow(row) : undefined;
}

export async function proposalIdsByPrefix({ db, dialect }: SqlContext, prefix: string, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('consensus_proposals')
    .select('id')
    .where(startsWith(dialect, 'id', prefix))
    .orderBy(bytewise(dialect, 'id'))
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/** Newest first; ties by id, compared bytewise on both dialects. */
export async function listProposals(ctx: SqlContext, query: ProposalQuery): Promise<ProposalRecord[]> {
  const rows = await paged(
    ctx.dialect,
    ctx.db
      .selectFrom('consensus_proposals')
      .selectAll()
      .where((eb) => proposalFilter(ctx, eb, query))
      .orderBy('created_at', 'desc')
      .orderBy(bytewise(ctx.dialect, 'id'), 'desc'),
    query,
  ).execute();
  return rows.map(proposalFromRow);
}

export async function countProposals(ctx: SqlContext, query: Omit<ProposalQuery, 'limit' | 'offset'>): Promise<number> {
  const row = await ctx.db
    .selectFrom('consensus_proposals')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => proposalFilter(ctx, eb, query))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Appends votes in the order given and returns them with their ids (ids grow in that order). */
export async function insertVotes({ db }: SqlContext, votes: readonly Omit<VoteRecord, 'id'>[]): Promise<VoteRecord[]> {
  const inserted: VoteRecord[] = [];
  for (let i = 0; i < votes.length; i += INSERT_CHUNK) {
    const chunk = votes.slice(i, i + INSERT_CHUNK);
    const rows = await db
      .insertInto('consensus_votes')
      .values(
        chunk.map((v) => ({
          proposal_id: v.proposalId,
          round: v.round,
          voter_id: v.voterId,
          decision: v.decision,
          confidence: v.confidence,
          reason: v.reason,
          signature: v.signature,
          weight: v.weight,
          status: v.status,
          exclusion: v.exclusion,
          created_at: v.createdAt,
        })),
      )
      .returning('id')
      .execute();
    // Both dialects number the rows of one multi-row INSERT in the order of its VALUES, but neither
    // promises RETURNING in that order: sorted ids are matched to the votes in order.
    const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    chunk.forEach((v, k) => inserted.push({ ...v, id: ids[k]! }));
  }
  return inserted;
}

/** In the order cast (by id), optionally of one round. */
export async function listVotes({ db }: SqlContext, query: { proposalId: string; round?: number }): Promise<VoteRecord[]> {
  let select = db.selectFrom('consensus_votes').selectAll().where('proposal_id', '=', query.proposalId);
  if (query.round !== undefined) select = select.where('round', '=', query.round);
  const rows = await select.orderBy('id').execute();
  return rows.map((row) => voteFromRow(row as unknown as ConsensusVoteRow));
}

export async function putVoterKey({ db }: SqlContext, voterId: string, publicKey: string, at: number): Promise<void> {
  await db
    .insertInto('voter_keys')
    .values({ voter_id: voterId, public_key: publicKey, created_at: at })
    .onConflict((oc) => oc.column('voter_id').doUpdateSet((eb) => ({ public_key: eb.ref('excluded.public_key'), created_at: eb.ref('excluded.created_at') })))
    .execute();
}

export async function getVoterKeys({ db, dialect }: SqlContext, voterIds: readonly string[]): Promise<Map<string, string>> {
  const keys = new Map<string, string>();
  // SQLite bounds the parameters of one statement; PostgreSQL takes the whole list as one array.
  const chunk = dialect === 'postgres' ? Math.max(voterIds.length, 1) : INSERT_CHUNK;
  for (let i = 0; i < voterIds.length; i += chunk) {
    const rows = await db
      .selectFrom('voter_keys')
      .select(['voter_id', 'public_key'])
      .where(isOneOf(dialect, 'voter_id', voterIds.slice(i, i + chunk)))
      .execute();
    for (const row of rows) keys.set(row.voter_id, row.public_key);
  }
  return keys;
}

export async function flagVoters({ db }: SqlContext, flags: readonly VoterFlag[]): Promise<void> {
  for (let i = 0; i < flags.length; i += INSERT_CHUNK) {
    await db
      .insertInto('voter_flags')
      .values(flags.slice(i, i + INSERT_CHUNK).map((f) => ({ voter_id: f.voterId, proposal_id: f.proposalId, round: f.round, reason: f.reason, flagged_at: f.flaggedAt })))
      .execute();
  }
}

/** Flags on the given voters (all flags when omitted), oldest first. */
export async function listVoterFlags({ db, dialect }: SqlContext, voterIds?: readonly string[]): Promise<VoterFlag[]> {
  const select = db.selectFrom('voter_flags').selectAll().orderBy('id');
  if (voterIds === undefined) return (await select.execute()).map(flagFromRow);
  // SQLite bounds the parameters of one statement; PostgreSQL takes the whole list as one array.
  const chunk = dialect === 'postgres' ? Math.max(voterIds.length, 1) : INSERT_CHUNK;
  const rows: Awaited<ReturnType<typeof select.execute>> = [];
  for (let i = 0; i < voterIds.length; i += chunk) rows.push(...(await select.where(isOneOf(dialect, 'voter_id', voterIds.slice(i, i + chunk))).execute()));
  if (voterIds.length > chunk) rows.sort((a, b) => Number(a.id) - Number(b.id));
  return rows.map(flagFromRow);
}

function flagFromRow(row: { id: number }): VoterFlag {
  return voterFlagFromRow(row as unknown as VoterFlagRow);
}

function proposalFilter({ dialect }: SqlContext, eb: ExpressionBuilder<ColonyTables, 'consensus_proposals'>, query: Omit<ProposalQuery, 'limit' | 'offset'>): Expression<SqlBool> {
  const clauses: Expression<SqlBool>[] = [];
  if (query.status !== undefined) clauses.push(isOneOf(dialect, 'status', typeof query.status === 'string' ? [query.status] : query.status));
  if (query.swarmId !== undefined) clauses.push(eb('swarm_id', '=', query.swarmId));
  if (query.taskId !== undefined) clauses.push(eb('task_id', '=', query.taskId));
  return eb.and(clauses);
}
