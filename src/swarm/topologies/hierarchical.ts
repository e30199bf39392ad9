import type { PlanTask, SwarmPlan } from '../../domain/swarm.js';
import { requestDomains, requestPlan, requestReview, requestSynthesis } from '../leader-calls.js';
import { planProblem } from '../plan-check.js';
import { SWARM_DEFAULTS } from '../swarm-defaults.js';
import { ACCEPT, type TaskOutcome, type TopologyStrategy } from './topology.js';
import { outcomeParts, routeByType } from './shared.js';

const MAIN_DOMAIN = 'main';

/**
 * Root coordinator, domain managers, workers: the root splits the objective into domains, each
 * domain's manager decomposes its part into tasks for the domain's own workers, reviews them when
 * review is on, and synthesizes the domain's result; the root synthesizes the domains'.
 */
export const hierarchical: TopologyStrategy = {
  topology: 'hierarchical',
  leaderSeat: { seat: 'root', type: 'hierarchical-coordinator' },
  async plan(ctx, maxTasks) {
    const [workerTypes, knownTypes] = [await ctx.workerTypes(), await ctx.knownTypes()];
    const domains = await ctx.asSeat('root', 'hierarchical-coordinator', (root) => requestDomains(root, ctx.swarm.objective, SWARM_DEFAULTS.maxDomains));
    const perDomain = Math.max(1, Math.floor(maxTasks / domains.length));
    const tasks: PlanTask[] = [];
    const summaries: string[] = [];
    for (const domain of domains) {
      const { plan } = await ctx.asSeat(`manager:${domain.name}`, 'domain-manager', (manager) =>
        requestPlan(manager, { objective: domain.objective, workerTypes, knownTypes, domain: domain.name, maxTasks: perDomain }),
      );
      summaries.push(`${domain.name}: ${plan.summary}`);
      // Ids are the manager's own; prefixed with the domain they stay unique across managers.
      for (const task of plan.tasks) {
        tasks.push({ ...task, id: `${domain.name}.${task.id}`, dependsOn: task.dependsOn.map((d) => `${domain.name}.${d}`), domain: domain.name });
      }
    }
    const problem = planProblem(tasks, { knownTypes });
    if (problem !== undefined) throw new Error(`the managers' plans do not fit together: ${problem}`);
    const plan: SwarmPlan = { summary: summaries.join('\n'), tasks, domains };
    await ctx.staffFor(plan, groupsOf(plan));
    return plan;
  },
  staff: (ctx, plan) => ctx.staffFor(plan, groupsOf(plan)),
  route(ctx, task) {
    const domain = task.domain ?? MAIN_DOMAIN;
    const own = ctx.workers().filter((w) => ctx.groupOf(w.id) === domain);
    return routeByType(ctx, task, own.length > 0 ? own : ctx.workers(), domain);
  },
  async review(ctx, outcome, planned) {
    if (!ctx.swarm.config.review) return ACCEPT;
    const knownTypes = await ctx.knownTypes();
    const domain = outcome.task.domain ?? MAIN_DOMAIN;
    return ctx.asSeat(`manager:${domain}`, 'domain-manager', (manager) =>
      requestReview(manager, { objective: ctx.swarm.objective, task: outcome.task, result: outcome.text, failed: outcome.status !== 'done', planned, knownTypes }),
    );
  },
  async aggregate(ctx, outcomes, plan) {
    const byDomain = new Map<string, TaskOutcome[]>();
    for (const o of outcomes) {
      const domain = o.task.domain ?? MAIN_DOMAIN;
      byDomain.set(domain, [...(byDomain.get(domain) ?? []), o]);
    }
    const objectiveOf = new Map((plan.domains ?? []).map((d) => [d.name, d.objective]));
    const domains: { name: string; summary: string }[] = [];
    for (const [name, parts] of byDomain) {
      const summary = await ctx.asSeat(`manager:${name}`, 'domain-manager', (manager) =>
        requestSynthesis(manager, objectiveOf.get(name) ?? ctx.swarm.objective, outcomeParts(parts)),
      );
      domains.push({ name, summary });
    }
    const summary = await ctx.asSeat('root', 'hierarchical-coordinator', (root) =>
      requestSynthesis(
        root,
        ctx.swarm.objective,
        domains.map((d) => ({ title: `domain ${d.name}`, status: 'done', result: d.summary })),
      ),
    );
    return { summary, domains };
  },
};

/** Worker groups: one per domain, sized by its share of the tasks. */
function groupsOf(plan: SwarmPlan): { label: string; share: number }[] {
  const counts = new Map<string, number>();
  for (const task of plan.tasks) counts.set(task.domain ?? MAIN_DOMAIN, (counts.get(task.domain ?? MAIN_DOMAIN) ?? 0) + 1);
  return [...counts].map(([label, share]) => ({ label, share }));
}
