import type { ConsensusService } from '../consensus/consensus-service.js';
import type { ProviderId } from '../providers/provider-registry.js';
import type { SwarmRunDeps } from './swarm-run.js';

/**
 * A swarm's vote on a result (mesh review) through the consensus engine: the peers vote by simple
 * majority, and only an explicit rejection sends the result back, with the dissenters' reasons.
 */
export function peerReviewVote(consensus: ConsensusService): SwarmRunDeps['vote'] {
  return async (input) => {
    const proposal = await consensus.ask({
      question: input.question,
      context: input.context,
      agentIds: input.voterIds,
      strategy: 'majority',
      swarmId: input.swarmId,
      ...(input.taskId === null ? {} : { taskId: input.taskId }),
      ...(input.provider === null ? {} : { provider: input.provider as ProviderId }),
      ...(input.model === null ? {} : { model: input.model }),
    });
    const dissent = (await consensus.votes(proposal.id)).filter((v) => v.status === 'counted' && v.decision !== 'approve');
    return { accepted: proposal.status !== 'rejected', reasons: dissent.map((v) => `${v.voterId}: ${v.reason}`) };
  };
}
