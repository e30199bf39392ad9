import type { SwarmCallUsage, SwarmUsagePart } from '../ports/model-call-ledger.js';

/** Tokens and estimated dollars of a group of model calls (a task's, an agent's, a model's). */
export interface UsageSum {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Dollars at list prices, over the priced calls only; null when none was priced. */
  costUsd: number | null;
  /** Calls whose model has no known price (not in costUsd). */
  unpricedCalls: number;
}

export interface SwarmUsageReport {
  swarmId: string;
  /** The whole swarm, as its budget counts it (calls in flight and lost ones included). */
  total: SwarmCallUsage;
  /** The swarm's limits and what is left of them (null: no such limit). */
  budget: { maxTokens: number | null; maxCostUsd: number | null; tokensLeft: number | null; costLeftUsd: number | null };
  /** Per engine task; `taskId` null: the swarm's own calls (planning, review, synthesis). */
  tasks: (UsageSum & { taskId: string | null; planTaskId: string | null })[];
  /** Per agent; `agentId` null: calls made for no agent. */
  agents: (UsageSum & { agentId: string | null })[];
  /** Per provider and model, with whether its price is known. */
  models: (UsageSum & { provider: string; model: string; priced: boolean })[];
}

function add(sum: UsageSum, part: SwarmUsagePart): void {
  sum.calls += part.calls;
  sum.inputTokens += part.inputTokens;
  sum.outputTokens += part.outputTokens;
  if (part.costUsd !== null) sum.costUsd = (sum.costUsd ?? 0) + part.costUsd;
  sum.unpricedCalls += part.unpricedCalls;
}

function groupBy<K, T extends UsageSum>(parts: readonly SwarmUsagePart[], key: (p: SwarmUsagePart) => K, seed: (p: SwarmUsagePart) => T): T[] {
  const groups = new Map<K, T>();
  for (const part of parts) {
    const k = key(part);
    let group = groups.get(k);
    if (!group) groups.set(k, (group = seed(part)));
    add(group, part);
  }
  return [...groups.values()];
}

const zero = (): UsageSum => ({ calls: 0, inputTokens: 0, outputTokens: 0, costUsd: null, unpricedCalls: 0 });

/**
 * A swarm's usage from its ledger rows: the total as the budget sees it, and sums per task, agent
 * and model. `planTaskOf` names the plan task an engine task ran (unknown: null).
 */
export function swarmUsageReport(
  swarmId: string,
  total: SwarmCallUsage,
  parts: readonly SwarmUsagePart[],
  limits: { maxTokens: number | null; maxCostUsd: number | null },
  planTaskOf: (taskId: string) => string | null,
): SwarmUsageReport {
  const usedTokens = total.inputTokens + total.outputTokens + total.openTokens + total.lostTokens;
  return {
    swarmId,
    total,
    budget: {
      maxTokens: limits.maxTokens,
      maxCostUsd: limits.maxCostUsd,
      tokensLeft: limits.maxTokens === null ? null : Math.max(0, limits.maxTokens - usedTokens),
      costLeftUsd: limits.maxCostUsd === null || total.costUsd === null ? null : Math.max(0, limits.maxCostUsd - total.costUsd),
    },
    tasks: groupBy(parts, (p) => p.taskId, (p) => ({ taskId: p.taskId, planTaskId: p.taskId === null ? null : planTaskOf(p.taskId), ...zero() })),
    agents: groupBy(parts, (p) => p.agentId, (p) => ({ agentId: p.agentId, ...zero() })),
    models: groupBy(parts, (p) => `${p.provider}\u0000${p.model}`, (p) => ({ provider: p.provider, model: p.model, priced: true, ...zero() })).map((m) => ({
      ...m,
      priced: m.unpricedCalls === 0,
    })),
  };
}
