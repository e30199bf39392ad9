import { describe, expect, it } from 'vitest';
import { decideOutcome } from '../src/consensus/consensus-outcome.js';
import { settingsOf } from '../src/consensus/consensus-input.js';
import { reliability, tally, voteWeight, type CountedVote } from '../src/consensus/tally.js';
import type { ConsensusSettings, ConsensusStrategy } from '../src/domain/consensus.js';

const YES_NO = ['approve', 'reject'];

function settings(strategy: ConsensusStrategy, overrides: Partial<ConsensusSettings> = {}): ConsensusSettings {
  return { ...settingsOf({ strategy }), ...overrides };
}

function votes(...decisions: string[]): CountedVote[] {
  return decisions.map((decision) => ({ decision, weight: 1 }));
}

function count(strategy: ConsensusStrategy, counted: CountedVote[], options: { eligible?: number; timedOut?: boolean; choices?: string[] } & Partial<ConsensusSettings> = {}) {
  const { eligible, timedOut, choices, ...overrides } = options;
  return tally({
    round: 1,
    question: 'q',
    votes: counted,
    options: choices ?? YES_NO,
    eligible: eligible ?? counted.length,
    settings: settings(strategy, overrides),
    timedOut: timedOut ?? false,
  });
}

describe('tally: majority', () => {
  it('decides on a strict majority of the counted votes', () => {
    const t = count('majority', votes('approve', 'approve', 'reject'));
    expect(t).toMatchObject({ achieved: true, leading: 'approve', votesCounted: 3, participation: 1, quorumMet: true });
    expect(t.ratio).toBeCloseTo(2 / 3);
    expect(t.support).toEqual({ approve: 2, reject: 1 });
  });

  it('half is not a majority, and a tie is never a decision', () => {
    const t = count('majority', votes('approve', 'reject'));
    expect(t).toMatchObject({ achieved: false, leading: null, ratio: 0.5 });
    // Three options: a two-way tie at the top with a third option behind it.
    const three = count('majority', votes('a', 'a', 'b', 'b', 'c'), { choices: ['a', 'b', 'c'], threshold: 0.3 });
    expect(three).toMatchObject({ achieved: false, leading: null });
  });

  it('a plurality below the threshold leads but does not decide', () => {
    const p = count('majority', votes('a', 'a', 'b', 'c'), { choices: ['a', 'b', 'c'] });
    expect(p).toMatchObject({ leading: 'a', ratio: 0.5, achieved: false });
  });

  it('counts nothing from no votes', () => {
    expect(count('majority', [], { eligible: 3 })).toMatchObject({ achieved: false, leading: null, ratio: 0, participation: 0, votesCounted: 0 });
  });
});

describe('tally: supermajority', () => {
  it('two of three meets the default two-thirds threshold exactly; three of five does not', () => {
    expect(count('supermajority', votes('approve', 'approve', 'reject')).achieved).toBe(true);
    const t = count('supermajority', votes('approve', 'approve', 'approve', 'reject', 'reject'));
    expect(t).toMatchObject({ achieved: false, leading: 'approve', ratio: 0.6 });
  });

  it('honours a custom threshold, inclusively', () => {
    const choices = ['a', 'b'];
    expect(count('supermajority', votes('a', 'a', 'a', 'b'), { threshold: 0.75, choices }).achieved).toBe(true);
    expect(count('supermajority', votes('a', 'a', 'a', 'b', 'b'), { threshold: 0.75, choices }).achieved).toBe(false);
    expect(count('supermajority', votes('a', 'a', 'a', 'a'), { threshold: 1, choices }).achieved).toBe(true);
    // Votes for something that is not an option are not counted (screening excludes them before).
    expect(count('supermajority', votes('x', 'x', 'a'), { choices }).support).toEqual({ a: 1, b: 0 });
  });
});

describe('tally: weighted', () => {
  it('weight is the Laplace-smoothed success rate times confidence', () => {
    expect(reliability(undefined)).toBe(0.5);
    expect(reliability({ tasksCompleted: 8, tasksFailed: 0, meanDurationMs: 1 })).toBeCloseTo(0.9);
    expect(reliability({ tasksCompleted: 0, tasksFailed: 8, meanDurationMs: null })).toBeCloseTo(0.1);
    expect(voteWeight('weighted', { tasksCompleted: 8, tasksFailed: 0, meanDurationMs: 1 }, 0.5)).toBeCloseTo(0.45);
    expect(voteWeight('majority', { tasksCompleted: 0, tasksFailed: 8, meanDurationMs: null }, 0.1)).toBe(1);
  });

  it('one reliable, confident voter outweighs two unreliable ones', () => {
    const strong = voteWeight('weighted', { tasksCompleted: 18, tasksFailed: 0, meanDurationMs: 1 }, 1); // 0.95
    const weak = voteWeight('weighted', { tasksCompleted: 0, tasksFailed: 8, meanDurationMs: null }, 0.9); // 0.09
    const t = count('weighted', [
      { decision: 'approve', weight: strong },
      { decision: 'reject', weight: weak },
      { decision: 'reject', weight: weak },
    ]);
    expect(t).toMatchObject({ achieved: true, leading: 'approve' });
    expect(t.ratio).toBeCloseTo(0.95 / (0.95 + 0.18));
    // The same votes unweighted: the two win.
    expect(count('majority', votes('approve', 'reject', 'reject')).leading).toBe('reject');
  });

  it('zero-weight votes count for participation but not for support', () => {
    const t = count('weighted', [
      { decision: 'approve', weight: 0 },
      { decision: 'reject', weight: 0.3 },
    ]);
    expect(t).toMatchObject({ leading: 'reject', ratio: 1, participation: 1, achieved: true });
  });
});

describe('tally: quorum', () => {
  it('needs enough voters as well as a majority', () => {
    const met = count('quorum', votes('approve', 'approve'), { eligible: 3 });
    expect(met).toMatchObject({ achieved: true, quorumMet: true });
    expect(met.participation).toBeCloseTo(2 / 3);
    const low = count('quorum', votes('approve'), { eligible: 3 });
    expect(low).toMatchObject({ achieved: false, quorumMet: false, leading: 'approve', ratio: 1 });
  });

  it('honours a custom quorum; other strategies only report it', () => {
    expect(count('quorum', votes('approve', 'approve'), { eligible: 4, quorum: 0.5 })).toMatchObject({ achieved: true, quorumMet: true });
    expect(count('quorum', votes('approve', 'approve'), { eligible: 4, quorum: 0.75 })).toMatchObject({ achieved: false, quorumMet: false });
    expect(count('majority', votes('approve'), { eligible: 4 })).toMatchObject({ achieved: true, quorumMet: false });
  });
});

describe('settings and outcome', () => {
  it('fills in defaults per strategy', () => {
    expect(settingsOf({})).toEqual({ strategy: 'supermajority', threshold: 2 / 3, quorum: 0.51, timeoutMs: 30_000, maxRounds: 1 });
    expect(settingsOf({ strategy: 'multi-round' })).toMatchObject({ threshold: 2 / 3, maxRounds: 3 });
    expect(settingsOf({ strategy: 'weighted' }).threshold).toBe(0.5);
    expect(settingsOf({ strategy: 'quorum', quorum: 0.8, timeout: 5_000 })).toMatchObject({ threshold: 0.5, quorum: 0.8, timeoutMs: 5_000, maxRounds: 1 });
  });

  it('a reject decision on a yes/no question is `rejected`; on other options a decision is `accepted`', () => {
    const s = settings('majority');
    const rejected = decideOutcome({ settings: s, options: YES_NO, rounds: [count('majority', votes('reject', 'reject', 'approve'))], byzantine: [] });
    expect(rejected.status).toBe('rejected');
    expect(rejected.outcome).toMatchObject({ achieved: true, decision: 'reject', reason: null });
    const picked = decideOutcome({ settings: s, options: ['red', 'reject'], rounds: [count('majority', votes('reject', 'reject'), { choices: ['red', 'reject'] })], byzantine: [] });
    expect(picked.status).toBe('accepted');
  });

  it('explains why there was no decision', () => {
    const s = settings('supermajority');
    const short = decideOutcome({ settings: s, options: YES_NO, rounds: [count('supermajority', votes('approve', 'approve', 'approve', 'reject', 'reject'))], byzantine: [] });
    expect(short).toMatchObject({ status: 'no_consensus', outcome: { achieved: false, decision: null } });
    expect(short.outcome.reason).toBe('approve had 60% of the votes, at least 67% needed');
    const tie = decideOutcome({ settings: s, options: YES_NO, rounds: [count('supermajority', votes('approve', 'reject'))], byzantine: [] });
    expect(tie.outcome.reason).toBe('tie between approve and reject');
    const none = decideOutcome({ settings: s, options: YES_NO, rounds: [count('supermajority', [], { eligible: 3, timedOut: true })], byzantine: [] });
    expect(none.outcome.reason).toBe('no valid votes: the voters did not answer within 30s');
  });

  it('a quorum that was not met is quorum_failed, and says when it timed out', () => {
    const s = settings('quorum', { timeoutMs: 200 });
    const timedOut = decideOutcome({ settings: s, options: YES_NO, rounds: [count('quorum', votes('approve'), { eligible: 3, timedOut: true })], byzantine: [] });
    expect(timedOut.status).toBe('quorum_failed');
    expect(timedOut.outcome.reason).toBe('quorum timed out after 200ms: only 1 of 3 voters (33%) voted, 51% needed');
    const abstained = decideOutcome({ settings: s, options: YES_NO, rounds: [count('quorum', votes('approve'), { eligible: 3 })], byzantine: [] });
    expect(abstained.outcome.reason).toBe('quorum not met: 1 of 3 voters (33%) voted, 51% needed');
  });
});
