import { requestPlan, requestSynthesis } from '../leader-calls.js';
import { SWARM_DEFAULTS } from '../swarm-defaults.js';
import { ACCEPT, type TopologyStrategy } from './topology.js';
import { outcomeParts } from './shared.js';

/** The review of a result no peer but its author could vote on. */
export const UNREVIEWED = 'accepted without a vote: no peer other than its author to review it';

/**
 * Peer to peer: every task goes on a shared board that any peer may claim (the task engine's
 * compare-and-set claim among the swarm's agents), peers can message each other, and the other
 * peers (never the result's author) vote on each result; a rejected result goes back with the voters' reasons.
 */
export const mesh: TopologyStrategy = {
  topology: 'mesh',
  leaderSeat: null,
  async plan(ctx, maxTasks) {
    const [workerTypes, knownTypes] = [await ctx.workerTypes(), await ctx.knownTypes()];
    const { plan } = await ctx.asSeat('planner', 'mesh-coordinator', (seat) =>
      requestPlan(seat, { objective: ctx.swarm.objective, workerTypes, knownTypes, maxTasks }),
    );
    await ctx.staffFor(plan);
    return plan;
  },
  staff: (ctx, plan) => ctx.staffFor(plan),
  route: (ctx) => ({ agentIds: ctx.workers().map((w) => w.id), pool: null }),
  async review(ctx, outcome) {
    if (!ctx.swarm.config.review || outcome.status !== 'done') return ACCEPT;
    // The other peers vote: an author never votes on its own work.
    const voters = ctx
      .workers()
      .map((w) => w.id)
      .filter((id) => id !== outcome.agentId)
      .slice(0, SWARM_DEFAULTS.meshReviewers);
    // A swarm of one peer has nobody to review: the result is taken, and the review says so.
    if (voters.length === 0) return { verdict: 'accept', feedback: UNREVIEWED };
    const vote = await ctx.vote({
      question: `Does this result accomplish the task "${outcome.task.title}" well enough to build on?`,
      context: `Task prompt: ${outcome.task.prompt}\n\nResult:\n${outcome.text}`,
      voterIds: voters,
      taskId: outcome.taskId,
    });
    return vote.accepted ? ACCEPT : { verdict: 'revise', feedback: vote.reasons.join('\n') };
  },
  async aggregate(ctx, outcomes) {
    const summary = await ctx.asSeat('aggregator', 'aggregator', (seat) => requestSynthesis(seat, ctx.swarm.objective, outcomeParts(outcomes)));
    return { summary };
  },
};
