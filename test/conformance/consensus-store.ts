import type { TaskStore } from '../../src/ports/task-store.js';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ProposalRecord, VoteRecord, VoterFlag } from '../../src/domain/consensus.js';
import { useMigratedStore } from './use-migrated-store.js';
import type { ConsensusStore } from '../../src/ports/consensus-store.js';
import { rejectionOf } from '../support/rejection.js';
import { T, taskRecord } from '../support/task-fixtures.js';

/**
 * What the suite needs of a store: the port, `migrate` and `close`, and a way to insert tasks (which
 * proposals may refer to). A whole Store has them all.
 */
export interface ConsensusStoreHost {
  consensus: ConsensusStore;
  migrate(): Promise<void>;
  close(): Promise<void>;
  tasks: Pick<TaskStore, 'insert'>;
}

/**
 * The ConsensusStore port's conformance suite (`store.consensus`): every Store adapter runs it.
 * `create` returns a fresh, not yet migrated store and a cleanup for after it is closed.
 */
export function runConsensusStoreConformance(name: string, create: () => Promise<{ store: ConsensusStoreHost; cleanup: () => Promise<void> }>): void {
  describe(`ConsensusStore conformance: ${name}`, () => {
    // useMigratedStore calls only migrate and close.
    const current = useMigratedStore(create);
    // Each test's own store (see useMigratedStore).
    let store: ConsensusStoreHost;
    beforeEach(() => {
      store = current();
    });

    const c = () => store.consensus;

    it('round-trips every field of a proposal, and replaces it on update', async () => {
      await store.tasks.insert([taskRecord('tsk_reviewed')]);
      const full = proposal('prp_full', {
        question: 'Ship it? — with ünïcödé',
        options: ['approve', 'reject'],
        context: 'the result: {"ok": true}',
        settings: { strategy: 'multi-round', threshold: 2 / 3, quorum: 0.51, timeoutMs: 30_000, maxRounds: 3 },
        taskId: 'tsk_reviewed',
        voterIds: ['agt_1', 'agt_2', 'agt_3'],
      });
      await c().insertProposal(full);
      expect(await c().getProposal('prp_full')).toEqual(full);
      expect(await c().getProposal('prp_nothing')).toBeUndefined();

      const decided: ProposalRecord = {
        ...full,
        question: 'Ship it, with tests?',
        status: 'accepted',
        outcome: {
          achieved: true,
          decision: 'approve',
          ratio: 2 / 3,
          participation: 1,
          rounds: [
            {
              round: 1,
              question: 'Ship it? — with ünïcödé',
              support: { approve: 1.5, reject: 0.75 },
              votesCounted: 3,
              eligible: 3,
              participation: 1,
              ratio: 2 / 3,
              leading: 'approve',
              achieved: true,
              timedOut: false,
              quorumMet: true,
            },
          ],
          byzantine: [{ voterId: 'agt_3', reason: 'equivocation', round: 1 }],
          reason: null,
        },
        updatedAt: T + 10,
        decidedAt: T + 10,
      };
      expect(await c().updateProposal(decided)).toBe(true);
      expect(await c().getProposal('prp_full')).toEqual(decided);
      expect(await c().updateProposal(proposal('prp_nothing'))).toBe(false);
      expect(await c().getProposal('prp_nothing')).toBeUndefined();
    });

    it('refuses a second proposal with the same id, keeping the first', async () => {
      await c().insertProposal(proposal('prp_dup', { question: 'first' }));
      expect(await rejectionOf(c().insertProposal(proposal('prp_dup', { question: 'second' })))).toBeInstanceOf(Error);
      expect((await c().getProposal('prp_dup'))?.question).toBe('first');
    });

    it('finds ids by prefix, lists newest first with filters and pages, and counts', async () => {
      await store.tasks.insert([taskRecord('tsk_a')]);
      await c().insertProposal(proposal('prp_01aa', { createdAt: T + 1, status: 'accepted' }));
      await c().insertProposal(proposal('prp_01ab', { createdAt: T + 2, status: 'rejected', taskId: 'tsk_a' }));
      await c().insertProposal(proposal('prp_01b0', { createdAt: T + 3, status: 'open' }));
      expect((await c().findProposalIdsByPrefix('prp_01a', 10)).sort()).toEqual(['prp_01aa', 'prp_01ab']);
      expect(await c().findProposalIdsByPrefix('prp_01a', 1)).toHaveLength(1);
      expect(await c().findProposalIdsByPrefix('prp_zz', 10)).toEqual([]);

      expect((await c().listProposals({})).map((p) => p.id)).toEqual(['prp_01b0', 'prp_01ab', 'prp_01aa']);
      expect((await c().listProposals({ limit: 1, offset: 1 })).map((p) => p.id)).toEqual(['prp_01ab']);
      expect((await c().listProposals({ status: 'accepted' })).map((p) => p.id)).toEqual(['prp_01aa']);
      expect((await c().listProposals({ status: ['accepted', 'open'] })).map((p) => p.id)).toEqual(['prp_01b0', 'prp_01aa']);
      expect(await c().listProposals({ status: [] })).toEqual([]);
      expect((await c().listProposals({ taskId: 'tsk_a' })).map((p) => p.id)).toEqual(['prp_01ab']);
      expect(await c().countProposals({})).toBe(3);
      expect(await c().countProposals({ status: ['rejected', 'open'] })).toBe(2);
      expect(await c().countProposals({ taskId: 'tsk_a' })).toBe(1);
    });

    it('appends votes in order with ids, lists them by round, and writes all or none', async () => {
      await c().insertProposal(proposal('prp_v'));
      const inserted = await c().insertVotes([vote('agt_1', 1), vote('agt_2', 1, { status: 'excluded', exclusion: 'bad_signature', weight: 0 }), vote('agt_1', 2)]);
      expect(inserted.map((v) => v.voterId)).toEqual(['agt_1', 'agt_2', 'agt_1']);
      expect(new Set(inserted.map((v) => v.id)).size).toBe(3);
      expect(inserted[0]!.id).toBeLessThan(inserted[2]!.id);
      expect(await c().listVotes({ proposalId: 'prp_v' })).toEqual(inserted);
      expect(await c().listVotes({ proposalId: 'prp_v', round: 2 })).toEqual([inserted[2]]);
      expect(await c().listVotes({ proposalId: 'prp_none' })).toEqual([]);
      expect(await c().insertVotes([])).toEqual([]);

      // A batch with one bad vote (a confidence out of range) writes nothing.
      const error = await rejectionOf(c().insertVotes([vote('agt_3', 3), vote('agt_4', 3, { confidence: 2 })]));
      expect(error).toBeInstanceOf(Error);
      expect(await c().listVotes({ proposalId: 'prp_v', round: 3 })).toEqual([]);
      // A vote on a proposal that does not exist is refused.
      expect(await rejectionOf(c().insertVotes([{ ...vote('agt_1', 1), proposalId: 'prp_none' }]))).toBeInstanceOf(Error);
    });

    it('registers, replaces and reads voter keys, in any number', async () => {
      await c().putVoterKey('agt_1', 'key-one', T);
      await c().putVoterKey('agt_2', 'key-two', T);
      await c().putVoterKey('agt_1', 'key-one-again', T + 1);
      expect(await c().getVoterKeys(['agt_1', 'agt_2', 'agt_missing'])).toEqual(
        new Map([
          ['agt_1', 'key-one-again'],
          ['agt_2', 'key-two'],
        ]),
      );
      expect(await c().getVoterKeys([])).toEqual(new Map());
      const many = Array.from({ length: 1_200 }, (_, i) => `agt_${String(i).padStart(5, '0')}`);
      for (const id of many) await c().putVoterKey(id, `key-${id}`, T);
      const keys = await c().getVoterKeys(many);
      expect(keys.size).toBe(1_200);
      expect(keys.get('agt_01199')).toBe('key-agt_01199');
    });

    it('records flags on voters and lists them oldest first, all or by voter', async () => {
      await c().insertProposal(proposal('prp_f'));
      const flags: VoterFlag[] = [
        { voterId: 'agt_1', proposalId: 'prp_f', round: 1, reason: 'equivocation', flaggedAt: T },
        { voterId: 'agt_2', proposalId: 'prp_f', round: 1, reason: 'bad_signature', flaggedAt: T + 1 },
        { voterId: 'agt_1', proposalId: 'prp_f', round: 2, reason: 'bad_signature', flaggedAt: T + 2 },
      ];
      await c().flagVoters(flags);
      await c().flagVoters([]);
      expect(await c().listVoterFlags()).toEqual(flags);
      expect(await c().listVoterFlags(['agt_1'])).toEqual([flags[0], flags[2]]);
      expect(await c().listVoterFlags(['agt_none'])).toEqual([]);
      expect(await c().listVoterFlags([])).toEqual([]);
    });
  });
}

function proposal(id: string, overrides: Partial<ProposalRecord> = {}): ProposalRecord {
  return {
    id,
    question: `question of ${id}`,
    options: ['approve', 'reject'],
    context: null,
    settings: { strategy: 'supermajority', threshold: 2 / 3, quorum: 0.51, timeoutMs: 30_000, maxRounds: 1 },
    status: 'open',
    swarmId: null,
    taskId: null,
    voterIds: ['agt_1', 'agt_2'],
    outcome: null,
    createdAt: T,
    updatedAt: T,
    decidedAt: null,
    ...overrides,
  };
}

function vote(voterId: string, round: number, overrides: Partial<Omit<VoteRecord, 'id'>> = {}): Omit<VoteRecord, 'id'> {
  return {
    proposalId: 'prp_v',
    round,
    voterId,
    decision: 'approve',
    confidence: 0.75,
    reason: `${voterId} agrees`,
    signature: 'c2lnbmF0dXJl',
    weight: 1,
    status: 'counted',
    exclusion: null,
    createdAt: T,
    ...overrides,
  };
}
