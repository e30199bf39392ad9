import type { AgentTrackRecord } from '../domain/agent.js';
import type { ConsensusSettings, ConsensusStrategy, RoundTally } from '../domain/consensus.js';
import { SHARE_EPSILON } from './consensus-defaults.js';

/** A vote that passed screening, with the weight it counts with. */
export interface CountedVote {
  decision: string;
  weight: number;
}

export interface TallyInput {
  round: number;
  question: string;
  /** Counted votes only: at most one per voter (screening saw to that). */
  votes: readonly CountedVote[];
  options: readonly string[];
  /** Voters asked: the denominator of participation. */
  eligible: number;
  settings: Pick<ConsensusSettings, 'strategy' | 'threshold' | 'quorum'>;
  /** Some voter had not answered when the round's time was up. */
  timedOut: boolean;
}

/**
 * Counts one round. The leading option's share of the counted weight decides:
 * - majority, weighted, quorum: share > threshold (a strict majority at the default 0.5);
 * - supermajority, multi-round: share >= threshold (two thirds by default);
 * - quorum also needs participation (counted voters / eligible voters) >= quorum.
 * A tie for the lead is never a decision, whatever the share.
 */
export function tally(input: TallyInput): RoundTally {
  const support: Record<string, number> = {};
  for (const option of input.options) support[option] = 0;
  let total = 0;
  for (const vote of input.votes) {
    if (!(vote.decision in support) || !(vote.weight > 0)) continue;
    support[vote.decision] = (support[vote.decision] ?? 0) + vote.weight;
    total += vote.weight;
  }
  let best = 0;
  let leading: string | null = null;
  let tied = false;
  for (const option of input.options) {
    const s = support[option] ?? 0;
    if (s > best + SHARE_EPSILON) {
      best = s;
      leading = option;
      tied = false;
    } else if (s > 0 && Math.abs(s - best) <= SHARE_EPSILON) {
      tied = true;
    }
  }
  const ratio = total > 0 ? best / total : 0;
  const participation = input.eligible > 0 ? input.votes.length / input.eligible : 0;
  const quorumMet = participation >= input.settings.quorum - SHARE_EPSILON;
  const lead = tied ? null : leading;
  const achieved = lead !== null && meetsThreshold(input.settings.strategy, ratio, input.settings.threshold) && (input.settings.strategy !== 'quorum' || quorumMet);
  return {
    round: input.round,
    question: input.question,
    support,
    votesCounted: input.votes.length,
    eligible: input.eligible,
    participation,
    ratio,
    leading: lead,
    achieved,
    timedOut: input.timedOut,
    quorumMet,
  };
}

/** Whether a share passes the strategy's threshold: strictly above, or at least (supermajorities). */
export function meetsThreshold(strategy: ConsensusStrategy, share: number, threshold: number): boolean {
  return inclusiveThreshold(strategy) ? share >= threshold - SHARE_EPSILON : share > threshold + SHARE_EPSILON;
}

export function inclusiveThreshold(strategy: ConsensusStrategy): boolean {
  return strategy === 'supermajority' || strategy === 'multi-round';
}

/** A voter's reliability from its track record: the Laplace-smoothed success rate (s+1)/(s+f+2), 0.5 with no history. */
export function reliability(record: AgentTrackRecord | undefined): number {
  const s = record?.tasksCompleted ?? 0;
  const f = record?.tasksFailed ?? 0;
  return (s + 1) / (s + f + 2);
}

/** The weight a vote counts with: reliability × confidence when weighted, else 1. */
export function voteWeight(strategy: ConsensusStrategy, record: AgentTrackRecord | undefined, confidence: number): number {
  return strategy === 'weighted' ? reliability(record) * confidence : 1;
}
