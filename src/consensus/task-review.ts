import type { ResultReview, ResultVerdict } from '../agents/runtime/agent-executor.js';
import type { AskOptions, ConsensusService } from './consensus-service.js';

/** How much of a result the voters are shown, and how much of each reason goes into a rejection. */
export const REVIEW_RESULT_MAX_CHARS = 20_000;
export const REVIEW_REASON_MAX_CHARS = 500;

/**
 * Puts an agent task's result to a vote (approve or reject) before the task counts as done. The
 * proposal records the task. Not accepted (rejected, or no consensus): the verdict's reason carries
 * the voters' reasons, for the task's error.
 */
export async function reviewTaskResult(consensus: ConsensusService, request: ResultReview, options: Pick<AskOptions, 'onUsage'> = {}): Promise<ResultVerdict> {
  const { task, consensus: wanted } = request;
  const shown = JSON.stringify(request.result, null, 2) ?? 'null';
  const proposal = await consensus.ask(
    {
      question: `Should this result be accepted as completing task ${task.id}? Approve if it does what the task asked, reject if not.`,
      options: ['approve', 'reject'],
      context: `The task:\n${request.prompt}\n\nThe agent's result:\n${shown.length > REVIEW_RESULT_MAX_CHARS ? `${shown.slice(0, REVIEW_RESULT_MAX_CHARS)}\n… (cut)` : shown}`,
      taskId: task.id,
      ...(task.swarmId ? { swarmId: task.swarmId } : {}),
      ...(wanted.voters === undefined ? {} : { voters: wanted.voters }),
      ...(wanted.agentType === undefined ? {} : { agentType: wanted.agentType }),
      ...(wanted.strategy === undefined ? {} : { strategy: wanted.strategy }),
      ...(wanted.threshold === undefined ? {} : { threshold: wanted.threshold }),
      ...(request.provider === undefined ? {} : { provider: request.provider as never }),
      ...(request.model === undefined ? {} : { model: request.model }),
    },
    { signal: request.signal, ...(options.onUsage ? { onUsage: options.onUsage } : {}) },
  );
  const outcome = proposal.outcome;
  const verdict = { proposalId: proposal.id, status: proposal.status, decision: outcome?.decision ?? null, ratio: outcome?.ratio ?? 0 };
  if (proposal.status === 'accepted') return { ...verdict, accepted: true, reason: null };

  const lastRound = outcome?.rounds.at(-1)?.round;
  const votes = (await consensus.votes(proposal.id, lastRound)).filter((v) => v.status === 'counted' && v.decision !== 'approve');
  const reasons = votes.map((v) => `${v.voterId}: ${v.reason.length > REVIEW_REASON_MAX_CHARS ? `${v.reason.slice(0, REVIEW_REASON_MAX_CHARS)}…` : v.reason}`);
  const head =
    proposal.status === 'rejected'
      ? `consensus rejected the result (proposal ${proposal.id}, ${Math.round(verdict.ratio * 100)}% reject)`
      : `the result was not accepted: ${proposal.status.replace('_', ' ')} (proposal ${proposal.id}${outcome?.reason ? `: ${outcome.reason}` : ''})`;
  return { ...verdict, accepted: false, reason: reasons.length > 0 ? `${head}; reasons: ${reasons.join(' | ')}` : head };
}
