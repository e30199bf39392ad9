import type { PlanTask } from '../../domain/swarm.js';
import { requestPlan, requestSynthesis } from '../leader-calls.js';
import { ACCEPT, type Route, type SwarmRunContext, type TopologyStrategy } from './topology.js';
import { outcomeParts, routeByType } from './shared.js';

/**
 * Agent pools by label (a region or a worker group): a task goes to the pool it has affinity for,
 * else to the least loaded pool, and runs on one of that pool's agents.
 */
export const distributed: TopologyStrategy = {
  topology: 'distributed',
  leaderSeat: null,
  async plan(ctx, maxTasks) {
    const [workerTypes, knownTypes] = [await ctx.workerTypes(), await ctx.knownTypes()];
    const pools = poolsOf(ctx).map((p) => p.label);
    const { plan } = await ctx.asSeat('planner', 'planner', (seat) =>
      requestPlan(seat, { objective: ctx.swarm.objective, workerTypes, knownTypes, pools, maxTasks }),
    );
    await ctx.staffFor(plan, poolsOf(ctx));
    return plan;
  },
  staff: (ctx, plan) => ctx.staffFor(plan, poolsOf(ctx)),
  route: (ctx, task) => routeToPool(ctx, task),
  review: async () => ACCEPT,
  async aggregate(ctx, outcomes) {
    const summary = await ctx.asSeat('aggregator', 'aggregator', (seat) => requestSynthesis(seat, ctx.swarm.objective, outcomeParts(outcomes)));
    return { summary };
  },
};

/** The pools of the roster (labels and sizes), in roster order. */
function poolsOf(ctx: SwarmRunContext): { label: string; share: number }[] {
  return Object.entries(ctx.swarm.config.pools ?? { default: ctx.swarm.config.workers }).map(([label, share]) => ({ label, share }));
}

function routeToPool(ctx: SwarmRunContext, task: PlanTask): Route {
  const byPool = new Map<string, ReturnType<SwarmRunContext['workers']>>();
  for (const worker of ctx.workers()) {
    const label = ctx.groupOf(worker.id) ?? 'default';
    byPool.set(label, [...(byPool.get(label) ?? []), worker]);
  }
  if (task.affinity !== undefined && byPool.has(task.affinity)) {
    return routeByType(ctx, task, byPool.get(task.affinity) ?? [], task.affinity);
  }
  // Least loaded: tasks in flight per agent of the pool; ties go to the first pool.
  const inflight = ctx.inflightByGroup();
  let best: string | null = null;
  let bestLoad = Infinity;
  for (const [label, workers] of byPool) {
    const load = (inflight.get(label) ?? 0) / workers.length;
    if (load < bestLoad) {
      best = label;
      bestLoad = load;
    }
  }
  return best === null ? { agentIds: [], pool: null } : routeByType(ctx, task, byPool.get(best) ?? [], best);
}
