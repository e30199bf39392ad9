import type { Kysely } from 'kysely';
import type { ProposalRecord, VoteRecord, VoterFlag } from '../../../domain/consensus.js';
import type { ConsensusStore, ProposalQuery } from '../../../ports/consensus-store.js';
import * as q from '../sql/consensus-queries.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import type { ColonyTables } from '../sql/schema.js';
import { mapped } from './postgres-errors.js';

/** Proposals, votes, voter keys and flags on PostgreSQL; batches are written in one transaction each. */
export class PostgresConsensusStore implements ConsensusStore {
  private readonly db: Kysely<ColonyTables>;
  private readonly sql: SqlContext;

  constructor(db: Kysely<ColonyTables>) {
    this.db = db;
    this.sql = { db, dialect: 'postgres' };
  }

  insertProposal(proposal: ProposalRecord): Promise<void> {
    return mapped(`insert proposal ${proposal.id}`, () => q.insertProposal(this.sql, proposal));
  }

  updateProposal(proposal: ProposalRecord): Promise<boolean> {
    return mapped(`update proposal ${proposal.id}`, () => q.updateProposal(this.sql, proposal));
  }

  getProposal(id: string): Promise<ProposalRecord | undefined> {
    return mapped(`read proposal ${id}`, () => q.getProposal(this.sql, id));
  }

  findProposalIdsByPrefix(prefix: string, limit: number): Promise<string[]> {
    return mapped('find proposals by id prefix', () => q.proposalIdsByPrefix(this.sql, prefix, limit));
  }

  listProposals(query: ProposalQuery): Promise<ProposalRecord[]> {
    return mapped('list proposals', () => q.listProposals(this.sql, query));
  }

  countProposals(query: Omit<ProposalQuery, 'limit' | 'offset'>): Promise<number> {
    return mapped('count proposals', () => q.countProposals(this.sql, query));
  }

  async insertVotes(votes: readonly Omit<VoteRecord, 'id'>[]): Promise<VoteRecord[]> {
    if (votes.length === 0) return [];
    return mapped('insert votes', () => this.db.transaction().execute((trx) => q.insertVotes({ db: trx, dialect: 'postgres' }, votes)));
  }

  listVotes(query: { proposalId: string; round?: number }): Promise<VoteRecord[]> {
    return mapped(`list votes on ${query.proposalId}`, () => q.listVotes(this.sql, query));
  }

  putVoterKey(voterId: string, publicKey: string, at: number): Promise<void> {
    return mapped(`register key of voter ${voterId}`, () => q.putVoterKey(this.sql, voterId, publicKey, at));
  }

  getVoterKeys(voterIds: readonly string[]): Promise<Map<string, string>> {
    return mapped('read voter keys', () => q.getVoterKeys(this.sql, voterIds));
  }

  async flagVoters(flags: readonly VoterFlag[]): Promise<void> {
    if (flags.length === 0) return;
    await mapped('flag voters', () => this.db.transaction().execute((trx) => q.flagVoters({ db: trx, dialect: 'postgres' }, flags)));
  }

  listVoterFlags(voterIds?: readonly string[]): Promise<VoterFlag[]> {
    return mapped('list voter flags', () => q.listVoterFlags(this.sql, voterIds));
  }
}
