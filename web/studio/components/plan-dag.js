// The plan as a DAG: one box per plan task coloured by its status, an edge from each task it depends
// on, laid out by dagre left to right. A dispatched task's box links to its task page.

import { svg } from '../lib/dom.js';
import { arrowDefs, dagreLayout, edgePath, nodeElement, stableDrawing } from './graph-svg.js';

// Short words for a task's merge into the swarm's branch: a box's second line has room for few letters.
const MERGE_WORD = { merged: 'merged', conflicted: 'conflict', resolving: 'resolving' };

/** Nodes and edges from the plan and each plan task's status (the report's, or a replayed one). */
export function planModel(plan, statusOf) {
  const tasks = plan?.tasks ?? [];
  const nodes = tasks.map((t) => {
    const { status, taskId, merge = null } = statusOf(t.id);
    return {
      id: t.id,
      label: t.title,
      sub: `${t.id} · ${status}${merge ? ` · ${MERGE_WORD[merge]}` : ''}`,
      href: taskId ? `/tasks/${encodeURIComponent(taskId)}` : null,
      className: `task status-fill-${status}${merge ? ` merge-${merge}` : ''}`,
      status,
      description: `Task ${t.title} (${t.id}): ${status}${merge ? `, ${merge} into the swarm's branch` : ''}${t.dependsOn?.length ? `, after ${t.dependsOn.join(', ')}` : ''}`,
    };
  });
  const ids = new Set(nodes.map((n) => n.id));
  const edges = tasks.flatMap((t) => (t.dependsOn ?? []).filter((d) => ids.has(d)).map((d) => ({ from: d, to: t.id })));
  const key = JSON.stringify([nodes.map((n) => [n.id, n.href !== null]), edges.map((e) => [e.from, e.to])]);
  return { key, nodes, edges };
}

function draw(model) {
  const layout = dagreLayout(model.nodes, model.edges, { rankdir: 'LR', ranksep: 40, nodesep: 16 });
  const marker = 'plan-arrow';
  return svg(
    'svg',
    { class: 'graph', id: 'plan-svg', viewBox: `0 0 ${layout.width} ${layout.height}`, width: layout.width, height: layout.height, role: 'group', 'aria-label': `Plan: ${model.nodes.length} tasks, ${model.edges.length} dependencies` },
    arrowDefs(marker),
    ...model.edges.map((e, i) => (layout.points[i] ? svg('path', { d: edgePath(layout.points[i]), class: 'edge edge-depends', 'marker-end': `url(#${marker})` }) : null)),
    ...model.nodes.map((n) => nodeElement(n, layout.positions.get(n.id))),
  );
}

/** The DAG drawing in `container`; returns update(plan, statusOf) (statusOf(planTaskId) → { status, taskId, merge? }, merge: merged, conflicted, resolving). */
export function createPlanDag(container) {
  const update = stableDrawing(container, draw);
  return (plan, statusOf, emptyText) => {
    const model = planModel(plan, statusOf);
    if (model.nodes.length === 0) {
      container.replaceChildren(Object.assign(document.createElement('p'), { className: 'empty', textContent: emptyText }));
      return model;
    }
    update(model);
    return model;
  };
}
