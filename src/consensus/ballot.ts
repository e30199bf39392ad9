import type { SignedVote } from '../domain/consensus.js';

/** What a voter is asked in one round. */
export interface Ballot {
  proposalId: string;
  round: number;
  /** The question (refined, in later rounds of a multi-round vote). */
  question: string;
  options: readonly string[];
  context: string | null;
  /** The round before, for later rounds of a multi-round vote; null in round 1. */
  previous: PreviousRound | null;
}

export interface PreviousRound {
  round: number;
  question: string;
  /** Weighted support per option. */
  support: Record<string, number>;
  leading: string | null;
  ratio: number;
  participation: number;
  /** Reasons given by voters who did not vote for the leading option (all reasons if none led), cut. */
  dissent: { decision: string; reason: string }[];
}

/**
 * One voter of a proposal. `id` is its identity (an agent id for agent voters); its votes must be
 * signed with its key (`VoterKeyring.sign`). An honest voter returns one signed vote per ballot, or
 * none to abstain (or throws: it abstains, and the error's message is recorded as why); whatever
 * else it returns (two votes, forged ones) is screened out and flagged.
 * The signal is aborted when the round's time is up or the proposal is cancelled.
 */
export interface Voter {
  readonly id: string;
  vote(ballot: Ballot, signal: AbortSignal): Promise<SignedVote[]>;
}
