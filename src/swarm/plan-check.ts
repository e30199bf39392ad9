import { validateDag } from '../domain/dag.js';
import { ColonyError } from '../domain/errors.js';
import type { PlanTask } from '../domain/swarm.js';

/**
 * What a plan must satisfy beyond its schema: unique task ids, dependencies that name tasks of the
 * plan (or, for additions, tasks already planned), no cycle, and agent types that exist. Returns the
 * problem in words (for the planner to repair, or for the user), or undefined.
 */
export function planProblem(tasks: readonly PlanTask[], options: { knownTypes: ReadonlySet<string>; existing?: ReadonlySet<string> }): string | undefined {
  const existing = options.existing ?? new Set<string>();
  const clash = tasks.find((t) => existing.has(t.id));
  if (clash) return `task id ${clash.id} is already in the plan`;
  try {
    validateDag(
      tasks.map((t) => ({ id: t.id, dependencies: t.dependsOn })),
      (id) => existing.has(id),
    );
  } catch (error) {
    if (error instanceof ColonyError) return error.message;
    throw error;
  }
  const unknownType = tasks.find((t) => t.agentType !== undefined && !options.knownTypes.has(t.agentType));
  if (unknownType) {
    const some = [...options.knownTypes].slice(0, 12).join(', ');
    return `task ${unknownType.id}: unknown agentType "${unknownType.agentType}" (known types include ${some})`;
  }
  return undefined;
}
