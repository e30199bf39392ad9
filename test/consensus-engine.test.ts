import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Ballot, Voter } from '../src/consensus/ballot.js';
import { VoterKeyring, verifyVote } from '../src/consensus/vote-signing.js';
import type { ColonyEvent, ColonyEventMap, ColonyEventType } from '../src/domain/events.js';
import type { SignedVote } from '../src/domain/consensus.js';
import { CancelledError, ValidationError } from '../src/domain/errors.js';
import { rejectionOf } from './support/rejection.js';
import { delay, eventually, tempColony, type TempColony } from './support/temp-colony.js';

let temp: TempColony;
let events: ColonyEvent[];

beforeEach(async () => {
  temp = await tempColony();
  events = [];
  temp.colony.events.subscribe({}, (e) => {
    events.push(e);
  });
});

afterEach(async () => {
  await temp.cleanup();
});

const consensus = () => temp.colony.consensus;

function eventsOf<T extends ColonyEventType>(type: T): ColonyEventMap[T][] {
  return events.filter((e) => e.type === type).map((e) => e.data as ColonyEventMap[T]);
}

/** An honest voter: one signed vote, from a fixed decision or one computed from the ballot. */
function honest(id: string, decide: string | ((ballot: Ballot) => string), options: { delayMs?: number; confidence?: number; seen?: Ballot[] } = {}): Voter {
  return {
    id,
    async vote(ballot) {
      options.seen?.push(ballot);
      if (options.delayMs) await delay(options.delayMs);
      const decision = typeof decide === 'string' ? decide : decide(ballot);
      return [await consensus().keyring.sign({ proposalId: ballot.proposalId, round: ballot.round, voterId: id, decision, confidence: options.confidence ?? 0.9, reason: `${id} says ${decision}` })];
    },
  };
}

/** Signs two different votes in one round. */
function equivocator(id: string): Voter {
  return {
    id,
    async vote(ballot) {
      const body = { proposalId: ballot.proposalId, round: ballot.round, voterId: id, confidence: 1, reason: 'both' };
      return [await consensus().keyring.sign({ ...body, decision: 'approve' }), await consensus().keyring.sign({ ...body, decision: 'reject' })];
    },
  };
}

/** Registers a key, then hands in a vote signed with another one. */
function forger(id: string): Voter {
  const other = new VoterKeyring({ store: { putVoterKey: async () => undefined }, now: Date.now });
  return {
    id,
    async vote(ballot) {
      await consensus().keyring.publicKey(id);
      return [await other.sign({ proposalId: ballot.proposalId, round: ballot.round, voterId: id, decision: 'reject', confidence: 1, reason: 'forged' })];
    },
  };
}

/** Never answers; records whether its signal was aborted. */
function silent(id: string, aborted: string[] = []): Voter {
  return {
    id,
    vote: (_ballot, signal) =>
      new Promise<SignedVote[]>(() => {
        signal.addEventListener('abort', () => aborted.push(id), { once: true });
      }),
  };
}

describe('consensus engine with custom voters', () => {
  it('an honest majority decides while an equivocating and a forging voter are excluded and flagged', async () => {
    const voters = [honest('v1', 'approve'), honest('v2', 'approve'), honest('v3', 'approve'), equivocator('liar'), forger('forger')];
    const proposal = await consensus().propose({ question: 'Ship release 1.2?', strategy: 'supermajority' }, voters);

    expect(proposal.status).toBe('accepted');
    expect(proposal.outcome).toMatchObject({ achieved: true, decision: 'approve', ratio: 1, participation: 3 / 5, reason: null });
    expect([...(proposal.outcome?.byzantine ?? [])].sort((a, b) => a.voterId.localeCompare(b.voterId))).toEqual([
      { voterId: 'forger', reason: 'bad_signature', round: 1 },
      { voterId: 'liar', reason: 'equivocation', round: 1 },
    ]);
    expect(proposal.voterIds).toEqual(['v1', 'v2', 'v3', 'liar', 'forger']);

    // Every vote is persisted, counted or excluded, with why.
    const votes = await consensus().votes(proposal.id);
    expect(votes).toHaveLength(6);
    const byVoter = (id: string) => votes.filter((v) => v.voterId === id);
    for (const id of ['v1', 'v2', 'v3']) expect(byVoter(id)).toEqual([expect.objectContaining({ status: 'counted', decision: 'approve', weight: 1, exclusion: null })]);
    expect(byVoter('liar').map((v) => [v.decision, v.status, v.exclusion])).toEqual([
      ['approve', 'excluded', 'equivocation'],
      ['reject', 'excluded', 'equivocation'],
    ]);
    expect(byVoter('forger')).toEqual([expect.objectContaining({ status: 'excluded', exclusion: 'bad_signature', weight: 0 })]);

    // Counted votes verify against the registered keys; the forged one does not.
    const keys = await temp.colony.store.consensus.getVoterKeys(['v1', 'forger']);
    expect(verifyVote(byVoter('v1')[0]!, byVoter('v1')[0]!.signature, keys.get('v1')!)).toBe(true);
    expect(verifyVote(byVoter('forger')[0]!, byVoter('forger')[0]!.signature, keys.get('forger')!)).toBe(false);

    // Flags are persisted and announced.
    const flags = await consensus().flags();
    expect(flags.map((f) => [f.voterId, f.reason, f.proposalId, f.round]).sort()).toEqual([
      ['forger', 'bad_signature', proposal.id, 1],
      ['liar', 'equivocation', proposal.id, 1],
    ]);
    await temp.colony.events.flush();
    expect(eventsOf('voter.flagged').map((e) => e.voterId).sort()).toEqual(['forger', 'liar']);
    expect(eventsOf('vote.cast')).toHaveLength(6);
    expect(eventsOf('vote.cast').filter((e) => e.counted).map((e) => e.voterId).sort()).toEqual(['v1', 'v2', 'v3']);
    expect(eventsOf('consensus.proposed')).toEqual([expect.objectContaining({ proposalId: proposal.id, strategy: 'supermajority', voters: 5, options: ['approve', 'reject'] })]);
    expect(eventsOf('consensus.round_finished')).toEqual([expect.objectContaining({ proposalId: proposal.id, round: 1, achieved: true, leading: 'approve', timedOut: false })]);
    expect(eventsOf('consensus.decided')).toEqual([expect.objectContaining({ proposalId: proposal.id, status: 'accepted', decision: 'approve', rounds: 1 })]);

    // The stored proposal is the returned one.
    expect(await consensus().get(proposal.id.slice(0, 12))).toEqual(proposal);
  });

  it('the Byzantine voters tip a close vote only when they are not caught', async () => {
    // Two honest approve, two honest reject: the equivocator's and forger's reject votes would decide it.
    const voters = [honest('a1', 'approve'), honest('a2', 'approve'), honest('r1', 'reject'), honest('r2', 'reject'), equivocator('liar'), forger('forger')];
    const proposal = await consensus().propose({ question: 'Merge?', strategy: 'majority' }, voters);
    expect(proposal.status).toBe('no_consensus');
    expect(proposal.outcome?.reason).toBe('tie between approve and reject');
  });

  it('a voter flagged before is left out of later proposals unless asked to count it', async () => {
    await consensus().propose({ question: 'first' }, [honest('v1', 'approve'), equivocator('liar')]);
    const voters = () => [honest('v1', 'approve'), honest('v2', 'approve'), honest('liar', 'reject'), honest('v3', 'reject')];
    const later = await consensus().propose({ question: 'second', strategy: 'majority' }, voters());
    // Without the liar's vote: approve 2 : reject 1.
    expect(later.outcome?.decision).toBe('approve');
    const votes = await consensus().votes(later.id);
    expect(votes.find((v) => v.voterId === 'liar')).toMatchObject({ status: 'excluded', exclusion: 'flagged' });
    expect(later.outcome?.byzantine).toEqual([{ voterId: 'liar', reason: 'flagged', round: 1 }]);
    // No new flag for merely being flagged before.
    expect((await consensus().flags(['liar'])).length).toBe(1);

    const counted = await consensus().propose({ question: 'third', strategy: 'majority' }, voters(), { includeFlagged: true });
    expect((await consensus().votes(counted.id)).find((v) => v.voterId === 'liar')?.status).toBe('counted');
    expect(counted.outcome?.reason).toBe('tie between approve and reject');
  });

  it('a quorum vote whose voters do not answer in time is quorum_failed, timed out', async () => {
    const aborted: string[] = [];
    const started = Date.now();
    const proposal = await consensus().propose({ question: 'Rotate the keys tonight?', strategy: 'quorum', timeout: '500ms' }, [
      honest('fast', 'approve'),
      silent('slow1', aborted),
      silent('slow2', aborted),
    ]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(proposal.status).toBe('quorum_failed');
    const round = proposal.outcome?.rounds[0];
    expect(round).toMatchObject({ timedOut: true, quorumMet: false, votesCounted: 1, eligible: 3, leading: 'approve', ratio: 1, achieved: false });
    expect(proposal.outcome?.reason).toBe('quorum timed out after 500ms: only 1 of 3 voters (33%) voted, 51% needed');
    // The voters still working were told to stop.
    expect(aborted.sort()).toEqual(['slow1', 'slow2']);
    await temp.colony.events.flush();
    expect(eventsOf('consensus.round_finished')[0]).toMatchObject({ timedOut: true, participation: 1 / 3 });
  });

  it('a late answer is ignored; a voter that throws abstains without failing the round', async () => {
    const failing: Voter = {
      id: 'broken',
      vote: async () => {
        throw new Error('model exploded');
      },
    };
    // The late voter answers only after the round has timed out (its signal aborted), and ignores that.
    let lateAnswered!: () => void;
    const answered = new Promise<void>((resolve) => (lateAnswered = resolve));
    const late: Voter = {
      id: 'late',
      vote: (ballot, signal) =>
        new Promise<SignedVote[]>((resolve) => {
          signal.addEventListener('abort', () => {
            void consensus()
              .keyring.sign({ proposalId: ballot.proposalId, round: ballot.round, voterId: 'late', decision: 'reject', confidence: 1, reason: 'too late' })
              .then((vote) => resolve([vote]))
              .finally(() => setImmediate(lateAnswered));
          }, { once: true });
        }),
    };
    const proposal = await consensus().propose({ question: 'q', strategy: 'majority', timeout: 400 }, [honest('v1', 'approve'), late, failing]);
    expect(proposal.status).toBe('accepted');
    expect(proposal.outcome?.rounds[0]).toMatchObject({ timedOut: true, votesCounted: 1 });
    await answered;
    expect((await consensus().votes(proposal.id)).map((v) => v.voterId)).toEqual(['v1']);
  });

  it('multi-round: a refined question reaches agreement in round 2, with the first round\'s tally on the ballot', async () => {
    const seen: Ballot[] = [];
    const picky = (ballot: Ballot) => (ballot.question.includes('with tests') ? 'approve' : 'reject');
    // Round 1: reject 3 of 5 (60%), short of two thirds.
    const voters = [honest('v1', 'approve', { seen }), honest('v2', 'approve'), honest('v3', picky), honest('v4', picky), honest('v5', picky)];
    const refinements: { question: string; reasons: string[] }[] = [];
    const proposal = await consensus().propose({ question: 'Adopt the new parser', strategy: 'multi-round' }, voters, {
      refine: async (question, _tally, reasons) => {
        refinements.push({ question, reasons });
        return `${question}, with tests`;
      },
    });
    expect(proposal.status).toBe('accepted');
    expect(proposal.question).toBe('Adopt the new parser, with tests');
    expect(proposal.outcome?.rounds.map((r) => [r.round, r.achieved, r.leading, r.question])).toEqual([
      [1, false, 'reject', 'Adopt the new parser'],
      [2, true, 'approve', 'Adopt the new parser, with tests'],
    ]);
    expect(refinements).toEqual([{ question: 'Adopt the new parser', reasons: ['v1 says approve', 'v2 says approve'] }]);
    expect(seen.map((b) => b.round)).toEqual([1, 2]);
    expect(seen[0]?.previous).toBeNull();
    expect(seen[1]?.previous).toMatchObject({ round: 1, leading: 'reject', ratio: 0.6, support: { approve: 2, reject: 3 }, dissent: [{ decision: 'approve', reason: 'v1 says approve' }, { decision: 'approve', reason: 'v2 says approve' }] });
    const votes = await consensus().votes(proposal.id);
    expect(votes.map((v) => `${v.round}:${v.voterId}:${v.decision}`).sort()).toEqual([
      '1:v1:approve', '1:v2:approve', '1:v3:reject', '1:v4:reject', '1:v5:reject',
      '2:v1:approve', '2:v2:approve', '2:v3:approve', '2:v4:approve', '2:v5:approve',
    ]);
    expect(await consensus().votes(proposal.id, 2)).toHaveLength(5);
  });

  it('multi-round without a refiner: voters see the previous tally and may change their minds; no agreement is no_consensus after every round', async () => {
    const follow = (ballot: Ballot) => ballot.previous?.leading ?? 'reject';
    // Round 1: approve 3 of 5 (60%); round 2 the follower joins the lead: 80%.
    const agreed = await consensus().propose({ question: 'q', strategy: 'multi-round', maxRounds: 2 }, [
      honest('v1', 'approve'), honest('v2', 'approve'), honest('v3', 'approve'), honest('v4', 'reject'), honest('v5', follow),
    ]);
    expect(agreed.outcome?.rounds.map((r) => [r.achieved, r.ratio])).toEqual([[false, 0.6], [true, 0.8]]);
    expect(agreed.status).toBe('accepted');
    const stuck = await consensus().propose({ question: 'q2', strategy: 'multi-round' }, [honest('v1', 'approve'), honest('v2', 'reject')]);
    expect(stuck.status).toBe('no_consensus');
    expect(stuck.outcome?.rounds).toHaveLength(3);
    expect(stuck.outcome?.reason).toBe('tie between approve and reject after 3 rounds');
  });

  it('weighted: a voter with a good track record outweighs two with poor ones', async () => {
    const t = Date.now();
    const metric = (agentId: string, name: string) => ({ entityType: 'agent', entityId: agentId, name, value: 1, metadata: null, timestamp: t });
    await temp.colony.store.metrics.record([
      ...Array.from({ length: 18 }, () => metric('expert', 'task.completed')),
      ...Array.from({ length: 8 }, () => metric('novice1', 'task.failed')),
      ...Array.from({ length: 8 }, () => metric('novice2', 'task.failed')),
    ]);
    const proposal = await consensus().propose({ question: 'q', strategy: 'weighted' }, [honest('expert', 'approve', { confidence: 1 }), honest('novice1', 'reject'), honest('novice2', 'reject')]);
    expect(proposal.outcome?.decision).toBe('approve');
    const votes = await consensus().votes(proposal.id);
    expect(votes.find((v) => v.voterId === 'expert')?.weight).toBeCloseTo(0.95);
    expect(votes.find((v) => v.voterId === 'novice1')?.weight).toBeCloseTo(0.09);
  });

  it('malformed but validly signed votes are excluded without flagging; duplicates count once; impersonation flags the impersonator', async () => {
    const keyring = consensus().keyring;
    const sloppy: Voter = {
      id: 'sloppy',
      vote: async (b) => [await keyring.sign({ proposalId: b.proposalId, round: b.round, voterId: 'sloppy', decision: 'maybe', confidence: 0.5, reason: 'unsure' })],
    };
    const stutter: Voter = {
      id: 'stutter',
      vote: async (b) => {
        const vote = await keyring.sign({ proposalId: b.proposalId, round: b.round, voterId: 'stutter', decision: 'approve', confidence: 0.5, reason: 'yes' });
        return [vote, { ...vote }];
      },
    };
    const impostor: Voter = {
      id: 'impostor',
      vote: async (b) => [await keyring.sign({ proposalId: b.proposalId, round: b.round, voterId: 'v1', decision: 'reject', confidence: 1, reason: 'in v1\'s name' })],
    };
    const garbage: Voter = { id: 'garbage', vote: async () => [{ decision: 42, confidence: 7 }] as unknown as SignedVote[] };
    const proposal = await consensus().propose({ question: 'q', strategy: 'majority' }, [honest('v1', 'approve'), sloppy, stutter, impostor, garbage]);
    expect(proposal.outcome?.decision).toBe('approve');
    const votes = await consensus().votes(proposal.id);
    const of = (id: string) => votes.filter((v) => v.voterId === id).map((v) => [v.status, v.exclusion]);
    expect(of('sloppy')).toEqual([['excluded', 'invalid: decision "maybe" is not an option']]);
    expect(of('stutter')).toEqual([['counted', null], ['excluded', 'duplicate']]);
    expect(of('impostor')).toEqual([['excluded', 'bad_signature: handed in by impostor in the name of v1']]);
    expect(of('garbage')).toEqual([['excluded', 'unknown_voter: no registered key']]);
    expect(votes.find((v) => v.voterId === 'garbage')).toMatchObject({ confidence: 1, decision: '42' });
    expect(of('v1')).toEqual([['counted', null]]);
    expect((await consensus().flags()).map((f) => `${f.voterId}:${f.reason}`).sort()).toEqual(['garbage:unknown_voter', 'impostor:bad_signature']);
  });

  it('a voter with no registered key is an unknown voter', async () => {
    const keyless: Voter = {
      id: 'keyless',
      vote: async (b) => [{ proposalId: b.proposalId, round: b.round, voterId: 'keyless', decision: 'approve', confidence: 1, reason: 'trust me', signature: 'A'.repeat(86) + '==' }],
    };
    const proposal = await consensus().propose({ question: 'q', strategy: 'majority' }, [honest('v1', 'reject'), keyless]);
    expect(proposal.outcome?.decision).toBe('reject');
    expect(proposal.outcome?.byzantine).toEqual([{ voterId: 'keyless', reason: 'unknown_voter', round: 1 }]);
    expect((await consensus().votes(proposal.id)).find((v) => v.voterId === 'keyless')?.exclusion).toBe('unknown_voter: no registered key');
  });

  it('a key registered again (a restarted process) replaces the old one: old signatures stop verifying', async () => {
    const first = new VoterKeyring({ store: temp.colony.store.consensus, now: Date.now });
    const body = { proposalId: 'prp_x', round: 1, voterId: 'agt_1', decision: 'approve', confidence: 0.5, reason: 'r' };
    const old = await first.sign(body);
    const oldKey = (await temp.colony.store.consensus.getVoterKeys(['agt_1'])).get('agt_1')!;
    expect(verifyVote(old, old.signature, oldKey)).toBe(true);
    const restarted = new VoterKeyring({ store: temp.colony.store.consensus, now: Date.now });
    const fresh = await restarted.sign(body);
    const newKey = (await temp.colony.store.consensus.getVoterKeys(['agt_1'])).get('agt_1')!;
    expect(newKey).not.toBe(oldKey);
    expect(verifyVote(fresh, fresh.signature, newKey)).toBe(true);
    expect(verifyVote(old, old.signature, newKey)).toBe(false);
    // The signature covers every field.
    expect(verifyVote({ ...fresh, decision: 'reject' }, fresh.signature, newKey)).toBe(false);
    expect(verifyVote({ ...fresh, round: 2 }, fresh.signature, newKey)).toBe(false);
    expect(verifyVote(fresh, 'not base64!', newKey)).toBe(false);
    expect(verifyVote(fresh, fresh.signature, 'bm90IGEga2V5')).toBe(false);
  });

  it('cancelling a proposal records it as failed', async () => {
    const controller = new AbortController();
    const running = consensus().propose({ question: 'q', timeout: '10s' }, [silent('s1'), honest('v1', 'approve')], { signal: controller.signal });
    await delay(50);
    controller.abort();
    const error = await rejectionOf(running);
    expect(error).toBeInstanceOf(CancelledError);
    const [stored] = await consensus().list();
    expect(stored).toMatchObject({ status: 'failed', outcome: { achieved: false, reason: expect.stringMatching(/^cancelled: /) } });
    expect(stored?.decidedAt).not.toBeNull();
  });

  it('closing the colony cancels running proposals', async () => {
    const running = consensus().propose({ question: 'q', timeout: '10s' }, [silent('s1')]);
    running.catch(() => undefined);
    // Once it is stored (a fixed delay was too short on a loaded machine).
    await eventually(async () => (await consensus().list()).length === 1);
    await consensus().close();
    expect(await rejectionOf(running)).toBeInstanceOf(CancelledError);
    expect((await consensus().list())[0]?.status).toBe('failed');
    expect(await rejectionOf(consensus().propose({ question: 'q' }, [honest('v1', 'approve')]))).toBeInstanceOf(CancelledError);
  });

  it('a proposal still being opened when the colony closes is cancelled too, not left to run', async () => {
    const running = consensus().propose({ question: 'q', timeout: '10s' }, [silent('s1')]);
    running.catch(() => undefined);
    await consensus().close();
    expect(await rejectionOf(running)).toBeInstanceOf(CancelledError);
    for (const proposal of await consensus().list()) expect(proposal.status).toBe('failed');
  });

  it('bad input is refused naming the field, and stores nothing', async () => {
    const v = [honest('v1', 'approve')];
    const cases: [unknown, RegExp][] = [
      [{ question: '' }, /^question: must not be empty/],
      [{ question: 'q', options: ['only'] }, /^options: at least 2 options/],
      [{ question: 'q', options: ['a', 'a'] }, /^options: options must be distinct/],
      [{ question: 'q', strategy: 'dictator' }, /^strategy: unknown strategy "dictator"/],
      [{ question: 'q', threshold: 1.5 }, /^threshold: /],
      [{ question: 'q', threshold: 0 }, /^threshold: /],
      [{ question: 'q', quorum: -1 }, /^quorum: /],
      [{ question: 'q', timeout: '5 fortnights' }, /^timeout: invalid duration/],
      [{ question: 'q', timeout: '2h' }, /^timeout: at most 60 minutes/],
      [{ question: 'q', maxRounds: 3 }, /^maxRounds: only the multi-round strategy/],
      [{ question: 'q', strategy: 'multi-round', maxRounds: 11 }, /^maxRounds: /],
      [{ question: 'q', taskId: 'tsk_nothing_here' }, /task not found/],
      [{ question: 'q', voters: 3 }, /^input: unknown field "voters"/],
    ];
    for (const [input, message] of cases) {
      const error = await rejectionOf(consensus().propose(input as never, v));
      expect(error, JSON.stringify(input)).toBeInstanceOf(Error);
      expect((error as Error).message, JSON.stringify(input)).toMatch(message);
    }
    const dup = await rejectionOf(consensus().propose({ question: 'q' }, [honest('v1', 'approve'), honest('v1', 'reject')]));
    expect(dup).toBeInstanceOf(ValidationError);
    expect((dup as Error).message).toMatch(/v1 is listed twice/);
    expect(await rejectionOf(consensus().propose({ question: 'q' }, []))).toBeInstanceOf(ValidationError);
    expect(await consensus().count()).toBe(0);
    expect(await temp.colony.store.consensus.listVoterFlags()).toEqual([]);
  });

  it('get resolves unique id prefixes and refuses unknown or malformed ids', async () => {
    const proposal = await consensus().propose({ question: 'q', strategy: 'majority' }, [honest('v1', 'approve')]);
    expect((await consensus().get(proposal.id)).id).toBe(proposal.id);
    expect((await rejectionOf(consensus().get('prp_nothing_here')) as Error).message).toMatch(/proposal not found/);
    expect((await rejectionOf(consensus().get('bad id!')) as Error).message).toMatch(/invalid proposal id/);
    expect(await consensus().list({ status: 'accepted' })).toHaveLength(1);
    expect(await consensus().list({ status: 'rejected' })).toHaveLength(0);
  });
});
