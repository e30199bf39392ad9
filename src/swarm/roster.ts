import type { AgentTypeChoice, AgentTypeDefinition } from '../domain/agent.js';
import type { PlanTask, SwarmConfig, SwarmPlan } from '../domain/swarm.js';

/** The fallback worker type when nothing in the catalog matches a task. */
const FALLBACK_TYPE = 'coder';

export interface RosterSlot {
  type: string;
  /** The pool or domain the worker belongs to, or null. */
  group: string | null;
}

export interface DerivedRoster {
  slots: RosterSlot[];
  /** Agent types chosen (adaptively) for plan tasks that named none, with how each was chosen. */
  assignments: Map<string, AgentTypeChoice>;
}

export interface RosterInput {
  config: SwarmConfig;
  plan: SwarmPlan;
  /** Worker groups (pools with their sizes, or domains with their task counts); null: one group. */
  groups: readonly { label: string; share: number }[] | null;
  maxWorkers: number;
  knownTypes: ReadonlySet<string>;
  chooseType(candidates: readonly string[], kind: string): Promise<AgentTypeChoice>;
  candidatesFor(task: PlanTask): string[];
}

/**
 * The swarm's workers. A given roster is taken as it is; otherwise the workers are derived from the
 * plan: every task without an agent type gets one by adaptive selection among the types that can do
 * it, and each group's workers are spread over its tasks' types, most frequent first.
 */
export async function deriveRoster(input: RosterInput): Promise<DerivedRoster> {
  const assignments = new Map<string, AgentTypeChoice>();
  for (const task of input.plan.tasks) {
    if (task.agentType !== undefined) continue;
    const candidates = input.candidatesFor(task);
    const kind = task.kind ?? 'general';
    const choice = candidates.length > 0 ? await input.chooseType(candidates, kind) : { type: fallback(input.knownTypes), kind, by: 'fallback' as const, candidates: [] };
    assignments.set(task.id, choice);
  }
  const typeOf = (task: PlanTask): string => task.agentType ?? (assignments.get(task.id)?.type as string);

  if (!input.config.autoRoster) {
    const labels = input.groups?.map((g) => g.label) ?? [];
    const slots: RosterSlot[] = [];
    let next = 0;
    for (const entry of input.config.roster) {
      for (let i = 0; i < entry.count; i++) {
        const group = entry.pool ?? (labels.length > 0 ? (labels[next++ % labels.length] as string) : null);
        slots.push({ type: entry.type, group });
      }
    }
    return { slots: slots.slice(0, input.maxWorkers), assignments };
  }

  const total = Math.min(input.config.workers, input.maxWorkers);
  const groups = input.groups ?? [{ label: '', share: 1 }];
  const sizes = groupSizes(groups, total, input.config.pools !== null);
  const slots: RosterSlot[] = [];
  groups.forEach((group, index) => {
    const tasks = input.plan.tasks.filter((t) => input.groups === null || (t.domain ?? t.affinity ?? null) === group.label || !isGrouped(t, groups));
    const counts = new Map<string, number>();
    for (const task of tasks.length > 0 ? tasks : input.plan.tasks) counts.set(typeOf(task), (counts.get(typeOf(task)) ?? 0) + 1);
    for (const type of spread(counts, sizes[index] ?? 0)) slots.push({ type, group: input.groups === null ? null : group.label });
  });
  return { slots, assignments };
}

function fallback(known: ReadonlySet<string>): string {
  return known.has(FALLBACK_TYPE) ? FALLBACK_TYPE : ([...known][0] ?? FALLBACK_TYPE);
}

function isGrouped(task: PlanTask, groups: readonly { label: string }[]): boolean {
  const label = task.domain ?? task.affinity;
  return label !== undefined && groups.some((g) => g.label === label);
}

/** Pools keep their sizes; other groups share `total` by their weight, at least one each. */
function groupSizes(groups: readonly { label: string; share: number }[], total: number, fixed: boolean): number[] {
  if (fixed) return groups.map((g) => g.share);
  const weight = groups.reduce((sum, g) => sum + g.share, 0);
  const sizes = groups.map((g) => Math.max(1, Math.floor((total * g.share) / weight)));
  let left = total - sizes.reduce((a, b) => a + b, 0);
  for (let i = 0; left > 0; i = (i + 1) % sizes.length, left--) sizes[i] = (sizes[i] as number) + 1;
  return sizes;
}

/** `n` workers over task types: one for each type (most frequent first), the rest by frequency. */
function spread(counts: ReadonlyMap<string, number>, n: number): string[] {
  const types = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const out: string[] = types.slice(0, n).map(([type]) => type);
  const totalTasks = types.reduce((sum, [, c]) => sum + c, 0);
  let remaining = n - out.length;
  while (remaining > 0 && types.length > 0) {
    for (const [type, count] of types) {
      if (remaining === 0) break;
      const share = Math.max(1, Math.round((count / totalTasks) * (n - types.length)));
      for (let i = 0; i < share && remaining > 0; i++, remaining--) out.push(type);
    }
  }
  return out;
}

/** Agent types that coordinate rather than work; the planner is not offered them as workers. */
export const COORDINATION_TYPES: ReadonlySet<string> = new Set([
  'queen-coordinator',
  'hierarchical-coordinator',
  'mesh-coordinator',
  'domain-manager',
  'consensus-voter',
  'consensus-coordinator',
  'aggregator',
]);

/**
 * Catalog types that could run a task that names none: those with the capabilities it asks for;
 * without any, the types for its kind of work (or generalists). Adaptive selection picks among them.
 */
export function candidateTypes(task: PlanTask, catalog: ReadonlyMap<string, AgentTypeDefinition>): string[] {
  const workers = [...catalog.values()].filter((t) => !COORDINATION_TYPES.has(t.name));
  const wanted = task.capabilities ?? [];
  if (wanted.length > 0) return workers.filter((t) => wanted.every((c) => t.capabilities.includes(c))).map((t) => t.name);
  const suggested = (KIND_TYPES[task.kind ?? ''] ?? GENERALIST_TYPES).filter((name) => catalog.has(name));
  return suggested.length > 0 ? suggested : workers.map((t) => t.name);
}

/** Worker types for the kinds of work a planner names most (see the planner's prompt). */
const KIND_TYPES: Record<string, readonly string[]> = {
  research: ['researcher', 'data-analyst', 'codebase-explorer'],
  design: ['architect', 'api-designer', 'planner'],
  implement: ['coder', 'backend-developer', 'frontend-developer'],
  test: ['tester', 'e2e-tester', 'property-tester'],
  review: ['reviewer', 'critic', 'verifier'],
  document: ['documenter', 'technical-writer'],
  analyze: ['code-analyzer', 'data-analyst', 'researcher'],
};
const GENERALIST_TYPES: readonly string[] = ['coder', 'researcher', 'reviewer'];
