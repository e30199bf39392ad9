// Drawing a laid-out graph as SVG: boxes that are links (or plain groups), edges as paths with an
// arrowhead. Shared by the topology and the plan DAG; layout is dagre's or the caller's.

import dagre from '/studio/vendor/dagre.js';
import { svg } from '../lib/dom.js';

export const NODE_W = 176;
export const NODE_H = 46;
const MIN_LEGIBLE_WIDTH = 560;

/** Positions from dagre: nodes [{ id, width?, height? }], edges [{ from, to }] → Map id → { x, y }, edge points. */
export function dagreLayout(nodes, edges, { rankdir = 'TB', nodesep = 24, ranksep = 44 } = {}) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir, nodesep, ranksep, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: n.width ?? NODE_W, height: n.height ?? NODE_H });
  edges.forEach((e, i) => g.setEdge(e.from, e.to, {}, String(i)));
  dagre.layout(g);
  const positions = new Map(nodes.map((n) => [n.id, { x: g.node(n.id).x, y: g.node(n.id).y }]));
  const points = edges.map((e, i) => g.edge({ v: e.from, w: e.to, name: String(i) })?.points ?? null);
  const { width, height } = g.graph();
  return { positions, points, width: Math.ceil(width), height: Math.ceil(height) };
}

function cut(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The SVG element for a node: a link when it has an href, else a plain group; two lines of text. */
export function nodeElement(node, pos) {
  const w = node.width ?? NODE_W;
  const h = node.height ?? NODE_H;
  const attrs = { class: `node ${node.className ?? ''}`, 'data-id': node.id, 'data-key': node.id, transform: `translate(${pos.x - w / 2},${pos.y - h / 2})` };
  const inner = [
    svg('rect', { width: w, height: h, rx: node.kind === 'group' ? 12 : 6 }),
    svg('text', { x: 10, y: 18, class: 'node-title' }, cut(node.label, 24)),
    node.sub ? svg('text', { x: 10, y: 35, class: 'node-sub' }, cut(node.sub, 28)) : null,
  ];
  // A link is named by its visible text; its details are its description.
  if (node.href) return svg('a', { ...attrs, href: node.href }, ...inner, node.description ? svg('desc', {}, node.description) : null);
  // A plain box has no name of its own: a title says what it is (a link's name says it instead).
  return svg('g', attrs, ...inner, svg('title', {}, node.description ?? node.label));
}


/** A path through dagre's points, or a straight line between two centres. */
export function edgePath(points) {
  return points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
}

/** The arrowhead marker, once per drawing (ids are per drawing so two drawings do not share one). */
export function arrowDefs(id) {
  return svg('defs', {}, svg('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' })));
}

/**
 * A drawing that redraws only when its structure (nodes and edges) changes; otherwise it updates
 * each node's class and label in place, so focus and scroll stay where they are.
 * draw(model) → svg element; model: { key, nodes: [{ id, className, description }] }.
 */
export function stableDrawing(container, draw) {
  let drawnKey = null;
  return function update(model) {
    if (model.key !== drawnKey || !container.querySelector('svg.graph')) {
      drawnKey = model.key;
      const active = document.activeElement;
      const focusId = active && container.contains(active) ? active.getAttribute('data-key') : null;
      const drawing = draw(model);
      // Shrinks with the page, down to a size where its text can still be read; below that it scrolls.
      drawing.style.minWidth = `${Math.min(Number(drawing.getAttribute('width')), MIN_LEGIBLE_WIDTH)}px`;
      container.replaceChildren(drawing);
      if (focusId) container.querySelector(`[data-key="${CSS.escape(focusId)}"]`)?.focus({ preventScroll: true });
      return;
    }
    for (const node of model.nodes) {
      const elNode = container.querySelector(`[data-key="${CSS.escape(node.id)}"]`);
      if (!elNode) continue;
      elNode.setAttribute('class', `node ${node.className ?? ''}`);
      if (elNode.tagName === 'a' && node.href) elNode.setAttribute('href', node.href);
      const words = elNode.querySelector('title, desc');
      if (words) words.textContent = node.description ?? node.label;
      const sub = elNode.querySelector('.node-sub');
      if (sub && node.sub) sub.textContent = cut(node.sub, 28);
    }
  };
}
