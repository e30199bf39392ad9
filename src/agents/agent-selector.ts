import type { AgentRecord, AgentTrackRecord } from '../domain/agent.js';
import type { TaskRequirements } from '../domain/task.js';

/** Weights of the selection score; success dominates, then spare capacity, then speed. */
export const SELECTION_WEIGHTS = { success: 1.0, load: 0.5, latency: 0.2 } as const;

export function satisfies(agent: AgentRecord, requirements: TaskRequirements): boolean {
  if (requirements.agentType && agent.type !== requirements.agentType) return false;
  if (requirements.agentIds && !requirements.agentIds.includes(agent.id)) return false;
  // A swarm's agents work for the swarm: other tasks get them only by naming them.
  if (!requirements.agentIds && typeof (agent.config as { swarmId?: unknown }).swarmId === 'string') return false;
  // Called for every free agent of every claimed task: no Set built for the few capabilities an agent has.
  return (requirements.capabilities ?? []).every((c) => agent.capabilities.includes(c));
}

export function hasCapacity(agent: AgentRecord): boolean {
  return (
    (agent.status === 'idle' || agent.status === 'busy') &&
    agent.health !== 'unhealthy' &&
    agent.currentTasks.length < agent.maxConcurrency
  );
}

/**
 * Scores an agent for a task: Laplace-smoothed success rate (a new agent starts at 0.5, not 0 or 1),
 * minus its load, minus its mean latency relative to the slowest candidate.
 */
export function scoreAgent(agent: AgentRecord, record: AgentTrackRecord | undefined, slowestMeanMs: number): number {
  const done = record?.tasksCompleted ?? 0;
  const failed = record?.tasksFailed ?? 0;
  const successRate = (done + 1) / (done + failed + 2);
  const load = agent.currentTasks.length / agent.maxConcurrency;
  const latency = record?.meanDurationMs && slowestMeanMs > 0 ? record.meanDurationMs / slowestMeanMs : 0;
  return SELECTION_WEIGHTS.success * successRate - SELECTION_WEIGHTS.load * load - SELECTION_WEIGHTS.latency * latency;
}

/** The agents with the required capabilities and spare capacity, best first. */
export function rankAgents(
  agents: readonly AgentRecord[],
  requirements: TaskRequirements,
  records: ReadonlyMap<string, AgentTrackRecord>,
): AgentRecord[] {
  const candidates = agents.filter((a) => satisfies(a, requirements) && hasCapacity(a));
  const slowest = Math.max(0, ...candidates.map((a) => records.get(a.id)?.meanDurationMs ?? 0));
  const scored = candidates.map((agent) => ({ agent, score: scoreAgent(agent, records.get(agent.id), slowest) }));
  // Stable: among equal scores the earlier agent wins, as before.
  return scored.sort((a, b) => b.score - a.score).map((s) => s.agent);
}

/** Picks the best agent with the required capabilities and spare capacity, or undefined. */
export function selectAgent(
  agents: readonly AgentRecord[],
  requirements: TaskRequirements,
  records: ReadonlyMap<string, AgentTrackRecord>,
): AgentRecord | undefined {
  return rankAgents(agents, requirements, records)[0];
}
