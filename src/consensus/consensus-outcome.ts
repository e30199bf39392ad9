import type { Abstention, ByzantineVoter, ConsensusOutcome, ConsensusSettings, ProposalStatus, RoundTally } from '../domain/consensus.js';
import { formatDuration } from '../tasks/duration.js';
import { inclusiveThreshold } from './tally.js';

export interface DecisionInput {
  settings: ConsensusSettings;
  options: readonly string[];
  rounds: readonly RoundTally[];
  byzantine: readonly ByzantineVoter[];
}

/** A yes/no question: its options are exactly approve and reject. */
export function isYesNo(options: readonly string[]): boolean {
  return options.length === 2 && options.includes('approve') && options.includes('reject');
}

/**
 * The proposal's status and outcome after its last round (pure): accepted (or rejected, when a
 * yes/no question decided reject), quorum_failed (quorum strategy, too few voters), or no_consensus,
 * with the reason in words.
 */
export function decideOutcome(input: DecisionInput): { status: ProposalStatus; outcome: ConsensusOutcome } {
  const last = input.rounds.at(-1);
  const base = {
    ratio: last?.ratio ?? 0,
    participation: last?.participation ?? 0,
    rounds: [...input.rounds],
    byzantine: [...input.byzantine],
  };
  if (last?.achieved && last.leading !== null) {
    const status = isYesNo(input.options) && last.leading === 'reject' ? 'rejected' : 'accepted';
    return { status, outcome: { ...base, achieved: true, decision: last.leading, reason: null } };
  }
  const { settings } = input;
  if (settings.strategy === 'quorum' && last && !last.quorumMet) {
    const voted = `${last.votesCounted} of ${last.eligible} voter${last.eligible === 1 ? '' : 's'} (${pct(last.participation)}) voted, ${pct(settings.quorum)} needed`;
    const reason = last.timedOut ? `quorum timed out after ${formatDuration(settings.timeoutMs)}: only ${voted}` : `quorum not met: ${voted}`;
    return { status: 'quorum_failed', outcome: { ...base, achieved: false, decision: null, reason } };
  }
  return { status: 'no_consensus', outcome: { ...base, achieved: false, decision: null, reason: noDecisionReason(input, last) } };
}

/** The outcome of a proposal that could not be completed (an error, a cancellation). */
export function failedOutcome(rounds: readonly RoundTally[], byzantine: readonly ByzantineVoter[], reason: string): ConsensusOutcome {
  const last = rounds.at(-1);
  return {
    achieved: false,
    decision: null,
    ratio: last?.ratio ?? 0,
    participation: last?.participation ?? 0,
    rounds: [...rounds],
    byzantine: [...byzantine],
    reason,
  };
}

function noDecisionReason(input: DecisionInput, last: RoundTally | undefined): string {
  const after = input.rounds.length > 1 ? ` after ${input.rounds.length} rounds` : '';
  if (!last || last.votesCounted === 0) {
    const why = abstentionText(last?.abstentions ?? []);
    if (why !== '') return `no valid votes${after}: ${why}`;
    return `no valid votes${after}${last?.timedOut ? `: the voters did not answer within ${formatDuration(input.settings.timeoutMs)}` : ''}`;
  }
  if (last.leading === null) {
    const top = Math.max(...Object.values(last.support));
    const tied = Object.entries(last.support).filter(([, s]) => Math.abs(s - top) < 1e-9 && s > 0).map(([option]) => option);
    return `tie between ${tied.join(' and ')}${after}`;
  }
  const rule = inclusiveThreshold(input.settings.strategy) ? `at least ${pct(input.settings.threshold)}` : `more than ${pct(input.settings.threshold)}`;
  const weighted = input.settings.strategy === 'weighted' ? ' of the weighted votes' : ' of the votes';
  return `${last.leading} had ${pct(last.ratio)}${weighted}, ${rule} needed${after}`;
}

/** Why votes are missing, voters grouped by reason: `agt_a, agt_b: anthropic 401: invalid x-api-key`. */
export function abstentionText(abstentions: readonly Abstention[]): string {
  const byReason = new Map<string, string[]>();
  for (const a of abstentions) byReason.set(a.reason, [...(byReason.get(a.reason) ?? []), a.voterId]);
  return [...byReason]
    .map(([reason, voters]) => `${voters.length === 1 ? `voter ${voters[0]}` : `${voters.length} voters (${voters.join(', ')})`} cast no vote: ${reason}`)
    .join('; ');
}

function pct(share: number): string {
  return `${Math.round(share * 100)}%`;
}
