import type { ProposalRecord, ProposalStatus, VoteRecord, VoterFlag } from '../domain/consensus.js';

/**
 * The ConsensusStore port: proposals, the votes cast on them (counted or excluded), the voters'
 * public keys, and the flags on voters caught misbehaving. Adapters: SQLite
 * (`adapters/storage/sqlite/sqlite-consensus-store.ts`). Conformance:
 * `test/support/consensus-store-conformance.ts`.
 */
export interface ConsensusStore {
  insertProposal(proposal: ProposalRecord): Promise<void>;
  /** Replaces the proposal (status, question, outcome, timestamps); false when there is none. */
  updateProposal(proposal: ProposalRecord): Promise<boolean>;
  getProposal(id: string): Promise<ProposalRecord | undefined>;
  findProposalIdsByPrefix(prefix: string, limit: number): Promise<string[]>;
  /** Newest first. */
  listProposals(query: ProposalQuery): Promise<ProposalRecord[]>;
  countProposals(query: Omit<ProposalQuery, 'limit' | 'offset'>): Promise<number>;

  /** Appends votes in order (all or none); returns them with ids. */
  insertVotes(votes: readonly Omit<VoteRecord, 'id'>[]): Promise<VoteRecord[]>;
  /** In the order cast, optionally of one round. */
  listVotes(query: { proposalId: string; round?: number }): Promise<VoteRecord[]>;

  /** Registers (or replaces) a voter's Ed25519 public key (SPKI DER, base64). */
  putVoterKey(voterId: string, publicKey: string, at: number): Promise<void>;
  getVoterKeys(voterIds: readonly string[]): Promise<Map<string, string>>;

  flagVoters(flags: readonly VoterFlag[]): Promise<void>;
  /** Flags on the given voters (all flags when omitted), oldest first. */
  listVoterFlags(voterIds?: readonly string[]): Promise<VoterFlag[]>;
}

export interface ProposalQuery {
  status?: ProposalStatus | readonly ProposalStatus[];
  swarmId?: string;
  taskId?: string;
  limit?: number;
  offset?: number;
}
