import type { ByzantineReason, ByzantineVoter, SignedVote } from '../domain/consensus.js';
import { canonicalVote } from './vote-signing.js';

/** A vote as handed in, with the voter that handed it in (the engine knows who answered). */
export interface Submission {
  by: string;
  vote: SignedVote;
}

/** Why a vote was not counted: a Byzantine reason, or an honest mistake that flags nobody. */
export type ExclusionCode = ByzantineReason | 'invalid' | 'duplicate';

export interface ScreenedVote {
  submission: Submission;
  counted: boolean;
  /** `code` or `code: detail`; null when counted. */
  exclusion: string | null;
}

export interface ScreenInput {
  proposalId: string;
  round: number;
  options: readonly string[];
  /** The proposal's voters. */
  voterIds: ReadonlySet<string>;
  /** Registered public keys by voter id. */
  keys: ReadonlyMap<string, string>;
  /** Voters flagged before (in earlier proposals or rounds). */
  flagged: ReadonlySet<string>;
  /** Whether votes of flagged voters are left out (default true). */
  excludeFlagged?: boolean;
  reasonMaxChars: number;
  submissions: readonly Submission[];
  /** Whether the vote's signature verifies against the public key. */
  verify(vote: SignedVote, publicKey: string): boolean;
}

export interface ScreenResult {
  /** One per submission, in the same order. */
  votes: ScreenedVote[];
  /**
   * Voters caught this round (one entry each), plus previously flagged voters whose votes were left
   * out (reason `flagged`): only the others are new flags.
   */
  byzantine: ByzantineVoter[];
}

/** When a voter is caught for several reasons in one round, the one reported. */
const SEVERITY: readonly ByzantineReason[] = ['equivocation', 'bad_signature', 'unknown_voter'];

/**
 * Screens one round's votes before they are counted (pure):
 * - bad_signature: the signature does not verify against the voter's registered key, or the vote
 *   was handed in by one voter in another's name;
 * - unknown_voter: the voter has no registered key or is not one of the proposal's voters;
 * - equivocation: two different validly signed votes by one voter in one round;
 * - flagged: the voter was flagged before (left out by default).
 * A voter caught this round has ALL its votes of the round excluded. Identical duplicates count once;
 * a validly signed vote that is malformed (an option that does not exist, a confidence outside 0..1,
 * signed for another proposal or round) is excluded as `invalid` without flagging anyone.
 */
export function screenVotes(input: ScreenInput): ScreenResult {
  const excludeFlagged = input.excludeFlagged ?? true;
  const verdicts: (ExclusionCode | 'ok')[] = [];
  const details: (string | null)[] = [];
  const caught = new Map<string, ByzantineReason>();
  const catchVoter = (voterId: string, reason: ByzantineReason) => {
    const before = caught.get(voterId);
    if (before === undefined || SEVERITY.indexOf(reason) < SEVERITY.indexOf(before)) caught.set(voterId, reason);
  };

  // Signatures and identities, vote by vote.
  for (const { by, vote } of input.submissions) {
    const key = input.keys.get(by);
    if (vote.voterId !== by) {
      verdicts.push('bad_signature');
      details.push(`handed in by ${by} in the name of ${vote.voterId}`);
      catchVoter(by, 'bad_signature');
    } else if (!input.voterIds.has(by) || key === undefined) {
      verdicts.push('unknown_voter');
      details.push(input.voterIds.has(by) ? 'no registered key' : 'not a voter of this proposal');
      catchVoter(by, 'unknown_voter');
    } else if (!input.verify(vote, key)) {
      verdicts.push('bad_signature');
      details.push(null);
      catchVoter(by, 'bad_signature');
    } else {
      verdicts.push('ok');
      details.push(null);
    }
  }

  // Equivocation: different validly signed votes by one voter.
  const bodies = new Map<string, Set<string>>();
  input.submissions.forEach(({ by, vote }, i) => {
    if (verdicts[i] !== 'ok') return;
    const seen = bodies.get(by) ?? new Set<string>();
    seen.add(canonicalVote(vote));
    bodies.set(by, seen);
  });
  for (const [voterId, seen] of bodies) if (seen.size > 1) catchVoter(voterId, 'equivocation');

  const counted = new Set<string>();
  const votes = input.submissions.map((submission, i): ScreenedVote => {
    const { by, vote } = submission;
    const own = verdicts[i] as ExclusionCode | 'ok';
    const reason = caught.get(by);
    if (own !== 'ok') return excluded(submission, own, details[i] ?? null);
    if (reason !== undefined) return excluded(submission, reason, reason === 'equivocation' ? null : 'the voter was caught in this round');
    if (excludeFlagged && input.flagged.has(by)) return excluded(submission, 'flagged', null);
    const problem = invalidity(vote, input);
    if (problem !== null) return excluded(submission, 'invalid', problem);
    if (counted.has(by)) return excluded(submission, 'duplicate', null);
    counted.add(by);
    return { submission, counted: true, exclusion: null };
  });

  const byzantine: ByzantineVoter[] = [...caught].map(([voterId, reason]) => ({ voterId, reason, round: input.round }));
  if (excludeFlagged) {
    const left = new Set(votes.filter((v) => v.exclusion === 'flagged').map((v) => v.submission.by));
    for (const voterId of left) byzantine.push({ voterId, reason: 'flagged', round: input.round });
  }
  return { votes, byzantine };
}

function excluded(submission: Submission, code: ExclusionCode, detail: string | null): ScreenedVote {
  return { submission, counted: false, exclusion: detail === null ? code : `${code}: ${detail}` };
}

/** What is wrong with a validly signed vote, or null. */
function invalidity(vote: SignedVote, input: ScreenInput): string | null {
  if (vote.proposalId !== input.proposalId || vote.round !== input.round) {
    return `signed for proposal ${String(vote.proposalId)} round ${String(vote.round)}`;
  }
  if (!input.options.includes(vote.decision)) return `decision ${JSON.stringify(vote.decision)} is not an option`;
  if (typeof vote.confidence !== 'number' || !Number.isFinite(vote.confidence) || vote.confidence < 0 || vote.confidence > 1) {
    return 'confidence must be from 0 to 1';
  }
  if (typeof vote.reason !== 'string' || vote.reason.length > input.reasonMaxChars) return `reason must be text of at most ${input.reasonMaxChars} characters`;
  return null;
}
