import { requestPlan, requestReview, requestSynthesis } from '../leader-calls.js';
import { ACCEPT, type TopologyStrategy } from './topology.js';
import { outcomeParts, routeByType } from './shared.js';

/**
 * Queen-led: the queen plans and assigns each task to a worker of the right type, reviews every
 * result (accept, send back with feedback, or add tasks), and synthesizes the answer. When the
 * queen fails or is terminated, the run seats a successor that carries on from the persisted state.
 */
export const centralized: TopologyStrategy = {
  topology: 'centralized',
  leaderSeat: { seat: 'queen', type: 'queen-coordinator' },
  async plan(ctx, maxTasks) {
    const [workerTypes, knownTypes] = [await ctx.workerTypes(), await ctx.knownTypes()];
    const { plan } = await ctx.asSeat('queen', 'queen-coordinator', (leader) =>
      requestPlan(leader, { objective: ctx.swarm.objective, workerTypes, knownTypes, maxTasks }),
    );
    await ctx.staffFor(plan);
    return plan;
  },
  staff: (ctx, plan) => ctx.staffFor(plan),
  route: (ctx, task) => routeByType(ctx, task, ctx.workers()),
  async review(ctx, outcome, planned) {
    if (!ctx.swarm.config.review) return ACCEPT;
    const knownTypes = await ctx.knownTypes();
    return ctx.asSeat('queen', 'queen-coordinator', (leader) =>
      requestReview(leader, { objective: ctx.swarm.objective, task: outcome.task, result: outcome.text, failed: outcome.status !== 'done', planned, knownTypes }),
    );
  },
  async aggregate(ctx, outcomes) {
    const summary = await ctx.asSeat('queen', 'queen-coordinator', (leader) => requestSynthesis(leader, ctx.swarm.objective, outcomeParts(outcomes)));
    return { summary };
  },
};
