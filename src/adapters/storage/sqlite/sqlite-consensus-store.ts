import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { ProposalRecord, VoteRecord, VoterFlag } from '../../../domain/consensus.js';
import type { ConsensusStore, ProposalQuery } from '../../../ports/consensus-store.js';
import { proposalFromRow, proposalToRow, voteFromRow, voterFlagFromRow } from '../sql/swarm-rows.js';
import type { ConsensusProposalRow, ConsensusVoteRow, VoterFlagRow } from '../sql/schema.js';
import { insertRow, updateRowById, whereOf } from './row-statements.js';
import { StatementCache } from './statement-cache.js';
import type { WriteBatcher } from './write-batcher.js';

/** Proposals, votes, voter keys and flags on the shared SQLite connection (see SqliteStore). */
export class SqliteConsensusStore implements ConsensusStore {
  private readonly writes: WriteBatcher;
  private readonly statements: StatementCache;

  constructor(db: DatabaseSync, writes: WriteBatcher) {
    this.writes = writes;
    this.statements = new StatementCache(db);
  }

  insertProposal(proposal: ProposalRecord): Promise<void> {
    return this.writes.write(`insert proposal ${proposal.id}`, () => insertRow(this.statements, 'consensus_proposals', proposalToRow(proposal)));
  }

  updateProposal(proposal: ProposalRecord): Promise<boolean> {
    return this.writes.write(`update proposal ${proposal.id}`, () => updateRowById(this.statements, 'consensus_proposals', proposalToRow(proposal)));
  }

  async getProposal(id: string): Promise<ProposalRecord | undefined> {
    const row = this.statements.get('SELECT * FROM consensus_proposals WHERE id = ?').get(id) as ConsensusProposalRow | undefined;
    return row ? proposalFromRow(row) : undefined;
  }

  async findProposalIdsByPrefix(prefix: string, limit: number): Promise<string[]> {
    return this.statements
      .all('SELECT id FROM consensus_proposals WHERE id >= ? AND id < ? ORDER BY id LIMIT ?', prefix, `${prefix}\uffff`, limit)
      .map((r) => r.id as string);
  }

  async listProposals(query: ProposalQuery): Promise<ProposalRecord[]> {
    const { where, params } = filter(query);
    const rows = this.statements.all(
      `SELECT * FROM consensus_proposals${where} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`,
      ...params,
      query.limit ?? -1,
      query.offset ?? 0,
    );
    return (rows as unknown as ConsensusProposalRow[]).map(proposalFromRow);
  }

  async countProposals(query: Omit<ProposalQuery, 'limit' | 'offset'>): Promise<number> {
    const { where, params } = filter(query);
    return Number(this.statements.all(`SELECT count(*) AS n FROM consensus_proposals${where}`, ...params)[0]?.n ?? 0);
  }

  insertVotes(votes: readonly Omit<VoteRecord, 'id'>[]): Promise<VoteRecord[]> {
    return this.writes.write('insert votes', () =>
      this.writes.atomically(() => {
        const insert = this.statements.get(
          `INSERT INTO consensus_votes (proposal_id, round, voter_id, decision, confidence, reason, signature, weight, status, exclusion, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        return votes.map((v) => {
          const result = insert.run(v.proposalId, v.round, v.voterId, v.decision, v.confidence, v.reason, v.signature, v.weight, v.status, v.exclusion, v.createdAt);
          return { ...v, id: Number(result.lastInsertRowid) };
        });
      }),
    );
  }

  async listVotes(query: { proposalId: string; round?: number }): Promise<VoteRecord[]> {
    const rows =
      query.round === undefined
        ? this.statements.all('SELECT * FROM consensus_votes WHERE proposal_id = ? ORDER BY id', query.proposalId)
        : this.statements.all('SELECT * FROM consensus_votes WHERE proposal_id = ? AND round = ? ORDER BY id', query.proposalId, query.round);
    return (rows as unknown as ConsensusVoteRow[]).map(voteFromRow);
  }

  putVoterKey(voterId: string, publicKey: string, at: number): Promise<void> {
    return this.writes.write(`register key of voter ${voterId}`, () => {
      this.statements
        .get('INSERT INTO voter_keys (voter_id, public_key, created_at) VALUES (?, ?, ?) ON CONFLICT (voter_id) DO UPDATE SET public_key = excluded.public_key, created_at = excluded.created_at')
        .run(voterId, publicKey, at);
    });
  }

  async getVoterKeys(voterIds: readonly string[]): Promise<Map<string, string>> {
    const keys = new Map<string, string>();
    // In chunks: SQLite bounds the number of parameters of one statement.
    for (let i = 0; i < voterIds.length; i += 500) {
      const chunk = voterIds.slice(i, i + 500);
      const rows = this.statements.all(`SELECT voter_id, public_key FROM voter_keys WHERE voter_id IN (${chunk.map(() => '?').join(', ')})`, ...chunk);
      for (const row of rows) keys.set(row.voter_id as string, row.public_key as string);
    }
    return keys;
  }

  flagVoters(flags: readonly VoterFlag[]): Promise<void> {
    return this.writes.write('flag voters', () =>
      this.writes.atomically(() => {
        const insert = this.statements.get('INSERT INTO voter_flags (voter_id, proposal_id, round, reason, flagged_at) VALUES (?, ?, ?, ?, ?)');
        for (const f of flags) insert.run(f.voterId, f.proposalId, f.round, f.reason, f.flaggedAt);
      }),
    );
  }

  async listVoterFlags(voterIds?: readonly string[]): Promise<VoterFlag[]> {
    if (voterIds === undefined) {
      return (this.statements.all('SELECT * FROM voter_flags ORDER BY id') as unknown as VoterFlagRow[]).map(voterFlagFromRow);
    }
    const flags: VoterFlag[] = [];
    for (let i = 0; i < voterIds.length; i += 500) {
      const chunk = voterIds.slice(i, i + 500);
      const rows = this.statements.all(`SELECT * FROM voter_flags WHERE voter_id IN (${chunk.map(() => '?').join(', ')}) ORDER BY id`, ...chunk);
      flags.push(...(rows as unknown as VoterFlagRow[]).map(voterFlagFromRow));
    }
    return flags;
  }
}

function filter(query: Omit<ProposalQuery, 'limit' | 'offset'>): { where: string; params: SQLInputValue[] } {
  return whereOf({ status: typeof query.status === 'string' ? [query.status] : query.status, swarm_id: query.swarmId, task_id: query.taskId });
}
