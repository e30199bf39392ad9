import type { AgentRecord } from '../../domain/agent.js';
import type { PlanTask } from '../../domain/swarm.js';
import type { Route, SwarmRunContext, TaskOutcome } from './topology.js';

/** Workers of the task's agent type if there are any, else all of the given workers. */
export function routeByType(ctx: SwarmRunContext, task: PlanTask, workers: readonly AgentRecord[], pool: string | null = null): Route {
  const ofType = task.agentType === undefined ? [] : workers.filter((w) => w.type === task.agentType);
  const chosen = ofType.length > 0 ? ofType : workers;
  return { agentIds: chosen.map((w) => w.id), pool };
}

export function outcomeParts(outcomes: readonly TaskOutcome[]): { title: string; status: string; result: string }[] {
  return outcomes.map((o) => ({ title: `${o.task.id}: ${o.task.title}`, status: o.status, result: o.text }));
}
