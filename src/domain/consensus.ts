import type { ProviderFailure } from './provider-failure.js';

export const CONSENSUS_STRATEGIES = ['majority', 'supermajority', 'weighted', 'quorum', 'multi-round'] as const;
export type ConsensusStrategy = (typeof CONSENSUS_STRATEGIES)[number];

export const PROPOSAL_STATUSES = ['open', 'accepted', 'rejected', 'no_consensus', 'quorum_failed', 'failed'] as const;
export type ProposalStatus = (typeof PROPOSAL_STATUSES)[number];

/** The seed's BFT threshold: a supermajority is two thirds. */
export const SUPERMAJORITY_DEFAULT = 2 / 3;
/** Quorum: at least this share of the eligible voters must vote. */
export const QUORUM_DEFAULT = 0.51;

export interface ConsensusSettings {
  strategy: ConsensusStrategy;
  /** Share of the (weighted) valid votes a decision needs: majority > 0.5, supermajority >= threshold. */
  threshold: number;
  /** Share of eligible voters that must vote (quorum strategy; other strategies report it only). */
  quorum: number;
  /** How long voters have to answer in each round. */
  timeoutMs: number;
  /** Rounds with refinement in between; 1 for single-round strategies. */
  maxRounds: number;
}

export interface ProposalRecord {
  id: string;
  /** The question or the text being voted on (the latest refinement for multi-round). */
  question: string;
  /** The choices; `approve` and `reject` for a yes/no question. */
  options: string[];
  /** Context for the voters: e.g. the task result under review. */
  context: string | null;
  settings: ConsensusSettings;
  status: ProposalStatus;
  swarmId: string | null;
  taskId: string | null;
  /** The voters asked (agent ids). */
  voterIds: string[];
  outcome: ConsensusOutcome | null;
  createdAt: number;
  updatedAt: number;
  decidedAt: number | null;
}

/** What a voter signs: everything that makes up its vote. */
export interface VoteBody {
  proposalId: string;
  round: number;
  voterId: string;
  decision: string;
  /** 0..1. */
  confidence: number;
  reason: string;
}

export interface SignedVote extends VoteBody {
  /** Ed25519 signature over the canonical JSON of the body, base64. */
  signature: string;
}

export type VoteStatus = 'counted' | 'excluded';

export interface VoteRecord extends SignedVote {
  id: number;
  /** Weight the vote counted with (1 unless weighted). */
  weight: number;
  status: VoteStatus;
  /** Why an excluded vote was excluded. */
  exclusion: string | null;
  createdAt: number;
}

export type ByzantineReason = 'bad_signature' | 'equivocation' | 'unknown_voter' | 'flagged';

export interface ByzantineVoter {
  voterId: string;
  reason: ByzantineReason;
  round: number;
}

export interface RoundTally {
  round: number;
  question: string;
  /** Weighted support per option among counted votes. */
  support: Record<string, number>;
  votesCounted: number;
  eligible: number;
  participation: number;
  /** The leading option's share of the counted weight. */
  ratio: number;
  leading: string | null;
  achieved: boolean;
  timedOut: boolean;
  quorumMet: boolean;
  /** Voters who cast no vote this round, and why (their provider failed, they did not answer in time). */
  abstentions?: Abstention[];
}

/** A voter that cast no vote in a round, and why. */
export interface Abstention {
  voterId: string;
  reason: string;
  /** When the voter's model provider failed: which provider and what it said. */
  provider?: ProviderFailure;
}

export interface ConsensusOutcome {
  achieved: boolean;
  /** The option decided, or null. */
  decision: string | null;
  ratio: number;
  participation: number;
  rounds: RoundTally[];
  byzantine: ByzantineVoter[];
  /** Why there was no decision, in words. */
  reason: string | null;
}

export interface VoterFlag {
  voterId: string;
  proposalId: string;
  round: number;
  reason: ByzantineReason;
  flaggedAt: number;
}
