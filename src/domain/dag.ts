import { ValidationError } from './errors.js';

export interface DagNode {
  id: string;
  dependencies: readonly string[];
}

/**
 * Validates a dependency graph: every dependency must be a node of the graph or an id in `known`
 * (tasks that already exist), no node may depend on itself, and there must be no cycle.
 * Returns the nodes in a topological order. Errors name the offending ids.
 */
export function validateDag(nodes: readonly DagNode[], known: (id: string) => boolean = () => false): string[] {
  const byId = new Map<string, DagNode>();
  for (const node of nodes) {
    if (byId.has(node.id)) throw new ValidationError(`duplicate task id: ${node.id}`, { details: { id: node.id } });
    byId.set(node.id, node);
  }
  const unknown: { task: string; dependency: string }[] = [];
  for (const node of nodes) {
    for (const dep of node.dependencies) {
      if (dep === node.id) {
        throw new ValidationError(`task ${node.id} depends on itself`, { details: { cycle: [node.id, node.id] } });
      }
      if (!byId.has(dep) && !known(dep)) unknown.push({ task: node.id, dependency: dep });
    }
  }
  if (unknown.length > 0) {
    const list = unknown.map((u) => `${u.task} -> ${u.dependency}`).join(', ');
    throw new ValidationError(`unknown dependencies: ${list}`, { details: { unknown } });
  }

  // Kahn's algorithm over in-graph edges only; existing tasks cannot depend on new ones, so they
  // cannot close a cycle.
  const indegree = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const node of nodes) {
    indegree.set(node.id, 0);
  }
  for (const node of nodes) {
    for (const dep of node.dependencies) {
      if (!byId.has(dep)) continue;
      indegree.set(node.id, (indegree.get(node.id) ?? 0) + 1);
      const list = dependents.get(dep);
      if (list) list.push(node.id);
      else dependents.set(dep, [node.id]);
    }
  }
  const order: string[] = [];
  const ready = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id);
  while (ready.length > 0) {
    const id = ready.pop() as string;
    order.push(id);
    for (const next of dependents.get(id) ?? []) {
      const left = (indegree.get(next) ?? 0) - 1;
      indegree.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  if (order.length !== nodes.length) {
    const cycle = findCycle(byId, new Set(order));
    throw new ValidationError(`dependency cycle: ${cycle.join(' -> ')} (each depends on the next)`, { details: { cycle } });
  }
  return order;
}

/** Walks the nodes left over by Kahn's algorithm to name one concrete cycle. */
function findCycle(byId: Map<string, DagNode>, done: Set<string>): string[] {
  const state = new Map<string, 'visiting' | 'visited'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    state.set(id, 'visiting');
    stack.push(id);
    for (const dep of byId.get(id)?.dependencies ?? []) {
      if (!byId.has(dep) || done.has(dep)) continue;
      if (state.get(dep) === 'visiting') return [...stack.slice(stack.indexOf(dep)), dep];
      if (!state.has(dep)) {
        const found = visit(dep);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(id, 'visited');
    return undefined;
  };
  for (const id of byId.keys()) {
    if (done.has(id) || state.has(id)) continue;
    const found = visit(id);
    if (found) return found;
  }
  return [];
}
