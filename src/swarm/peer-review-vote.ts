import type { ConsensusService } from '../consensus/consensus-service.js';
import type { ProposalRecord, ProposalStatus } from '../domain/consensus.js';
import type { ProviderId } from '../providers/provider-registry.js';
import type { SwarmRunDeps } from './swarm-run.js';

/** Proposals that were decided: a vote that only failed (or never finished) decided nothing. */
const DECIDED: readonly ProposalStatus[] = ['accepted', 'rejected', 'no_consensus', 'quorum_failed'];

/**
 * A swarm's vote on a result (mesh review) through the consensus engine: the peers vote by simple
 * majority, and only an explicit rejection sends the result back, with the dissenters' reasons.
 * A result is voted on once: when the swarm's proposals already hold a decided vote on it (its
 * coordinator died after the vote, before recording it), that vote is the answer.
 */
export function peerReviewVote(consensus: ConsensusService): SwarmRunDeps['vote'] {
  return async (input) => {
    const [held] = input.taskId === null ? [] : await consensus.list({ swarmId: input.swarmId, taskId: input.taskId, status: DECIDED, limit: 1 });
    const proposal =
      held ??
      (await consensus.ask({
        question: input.question,
        context: input.context,
        agentIds: input.voterIds,
        strategy: 'majority',
        swarmId: input.swarmId,
        ...(input.taskId === null ? {} : { taskId: input.taskId }),
        ...(input.provider === null ? {} : { provider: input.provider as ProviderId }),
        ...(input.model === null ? {} : { model: input.model }),
      }));
    return verdictOf(consensus, proposal);
  };
}

async function verdictOf(consensus: ConsensusService, proposal: ProposalRecord): Promise<{ accepted: boolean; reasons: string[] }> {
  const dissent = (await consensus.votes(proposal.id)).filter((v) => v.status === 'counted' && v.decision !== 'approve');
  return { accepted: proposal.status !== 'rejected', reasons: dissent.map((v) => `${v.voterId}: ${v.reason}`) };
}
