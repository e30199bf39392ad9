import { QUORUM_DEFAULT, SUPERMAJORITY_DEFAULT, type ConsensusStrategy } from '../domain/consensus.js';

/** Consensus defaults and bounds: every count, limit and timeout of a vote in one place. */
export const CONSENSUS_DEFAULTS = {
  /** The seed's BFT rule: a decision needs two thirds of the valid votes. */
  strategy: 'supermajority' as ConsensusStrategy,
  /** A yes/no question when no options are given. */
  options: ['approve', 'reject'] as readonly string[],
  /** Agents spawned to vote when none are named. */
  voters: 3,
  agentType: 'consensus-voter',
  /** How long voters have to answer in each round (the seed's 30 s). */
  timeoutMs: 30_000,
  /** Rounds of the multi-round strategy (every other strategy has one). */
  multiRoundMaxRounds: 3,
  quorum: QUORUM_DEFAULT,
} as const;

/** The share a decision needs when no threshold is given: strict majority, or two thirds. */
export const DEFAULT_THRESHOLDS: Record<ConsensusStrategy, number> = {
  majority: 0.5,
  weighted: 0.5,
  quorum: 0.5,
  supermajority: SUPERMAJORITY_DEFAULT,
  'multi-round': SUPERMAJORITY_DEFAULT,
};

/** Input bounds, the same for the CLI, REST and MCP. */
export const CONSENSUS_LIMITS = {
  questionMaxChars: 20_000,
  contextMaxChars: 200_000,
  minOptions: 2,
  maxOptions: 20,
  optionMaxChars: 200,
  /** Agents one request may spawn to vote (each makes model calls). */
  maxSpawnedVoters: 50,
  /** Voters of one proposal (named agents or custom voters). */
  maxVoters: 10_000,
  maxRounds: 10,
  maxTimeoutMs: 60 * 60_000,
  /** A vote's reason, as the model may write it. */
  reasonMaxChars: 2_000,
} as const;

/** Generated-token bound of one model vote (a decision, a confidence and a short reason). */
export const VOTE_MAX_TOKENS = 2_048;

/** What a ballot of a later round carries about the round before: at most this many dissenting reasons, each cut. */
export const BALLOT_DISSENT_MAX_REASONS = 20;
export const BALLOT_DISSENT_REASON_MAX_CHARS = 500;

/** Tolerance when comparing a share with a threshold (2 of 3 votes meets a two-thirds threshold). */
export const SHARE_EPSILON = 1e-9;
