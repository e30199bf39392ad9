import { beforeAll, describe, expect, it } from 'vitest';
import { screenVotes, type ScreenInput, type Submission } from '../src/consensus/byzantine.js';
import { VoterKeyring, verifyVote } from '../src/consensus/vote-signing.js';
import type { SignedVote } from '../src/domain/consensus.js';

// screenVotes is pure: real Ed25519 signatures, keys held in a map instead of a store.
const registered = new Map<string, string>();
const keyring = new VoterKeyring({ store: { putVoterKey: async (id, key) => void registered.set(id, key) }, now: () => 0 });
const stranger = new VoterKeyring({ store: { putVoterKey: async () => undefined }, now: () => 0 });

const P = 'prp_test';
const sign = (voterId: string, decision: string, extra: Partial<SignedVote> = {}) =>
  keyring.sign({ proposalId: P, round: 1, voterId, decision, confidence: 0.5, reason: `${voterId}: ${decision}`, ...extra });

function screen(submissions: Submission[], overrides: Partial<ScreenInput> = {}) {
  return screenVotes({
    proposalId: P,
    round: 1,
    options: ['approve', 'reject'],
    voterIds: new Set(['a', 'b', 'c', 'd']),
    keys: registered,
    flagged: new Set(),
    reasonMaxChars: 2_000,
    submissions,
    verify: (vote, key) => verifyVote(vote, vote.signature, key),
    ...overrides,
  });
}

beforeAll(async () => {
  for (const id of ['a', 'b', 'c', 'd']) await keyring.publicKey(id);
});

describe('screenVotes', () => {
  it('counts valid votes, one per voter, in submission order', async () => {
    const a = await sign('a', 'approve');
    const b = await sign('b', 'reject');
    const result = screen([{ by: 'a', vote: a }, { by: 'b', vote: b }, { by: 'a', vote: { ...a } }]);
    expect(result.votes.map((v) => [v.submission.by, v.counted, v.exclusion])).toEqual([
      ['a', true, null],
      ['b', true, null],
      ['a', false, 'duplicate'],
    ]);
    expect(result.byzantine).toEqual([]);
  });

  it('a voter caught once this round loses every vote of the round, and is reported once with the worst reason', async () => {
    const good = await sign('c', 'approve');
    const forged = await stranger.sign({ proposalId: P, round: 1, voterId: 'c', decision: 'reject', confidence: 1, reason: 'x' });
    const other = await sign('c', 'reject');
    const result = screen([{ by: 'c', vote: good }, { by: 'c', vote: forged }, { by: 'c', vote: other }]);
    expect(result.votes.map((v) => v.exclusion)).toEqual(['equivocation', 'bad_signature', 'equivocation']);
    expect(result.byzantine).toEqual([{ voterId: 'c', reason: 'equivocation', round: 1 }]);
    const onlyForged = screen([{ by: 'c', vote: good }, { by: 'c', vote: forged }]);
    expect(onlyForged.votes.map((v) => v.exclusion)).toEqual(['bad_signature: the voter was caught in this round', 'bad_signature']);
  });

  it('a tampered vote no longer verifies', async () => {
    const vote = await sign('a', 'reject');
    const result = screen([{ by: 'a', vote: { ...vote, decision: 'approve' } }]);
    expect(result.votes[0]).toMatchObject({ counted: false, exclusion: 'bad_signature' });
  });

  it('outsiders and keyless voters are unknown voters', async () => {
    const outsider = await sign('zed', 'approve');
    expect(screen([{ by: 'zed', vote: outsider }]).byzantine).toEqual([{ voterId: 'zed', reason: 'unknown_voter', round: 1 }]);
    const a = await sign('a', 'approve');
    expect(screen([{ by: 'a', vote: a }], { keys: new Map() }).votes[0]?.exclusion).toBe('unknown_voter: no registered key');
  });

  it('previously flagged voters are left out by default, counted when asked', async () => {
    const d = await sign('d', 'approve');
    const left = screen([{ by: 'd', vote: d }], { flagged: new Set(['d']) });
    expect(left.votes[0]).toMatchObject({ counted: false, exclusion: 'flagged' });
    expect(left.byzantine).toEqual([{ voterId: 'd', reason: 'flagged', round: 1 }]);
    const counted = screen([{ by: 'd', vote: d }], { flagged: new Set(['d']), excludeFlagged: false });
    expect(counted.votes[0]?.counted).toBe(true);
    expect(counted.byzantine).toEqual([]);
  });

  it('validly signed but malformed votes are invalid, and flag nobody', async () => {
    const cases: [SignedVote, RegExp][] = [
      [await sign('a', 'maybe'), /^invalid: decision "maybe" is not an option$/],
      [await sign('a', 'approve', { confidence: 1.5 }), /^invalid: confidence must be from 0 to 1$/],
      [await sign('a', 'approve', { round: 2 }), /^invalid: signed for proposal prp_test round 2$/],
      [await sign('a', 'approve', { reason: 'x'.repeat(2_001) }), /^invalid: reason must be text of at most 2000 characters$/],
    ];
    for (const [vote, exclusion] of cases) {
      const result = screen([{ by: 'a', vote }]);
      expect(result.votes[0]?.exclusion).toMatch(exclusion);
      expect(result.byzantine).toEqual([]);
    }
  });
});
