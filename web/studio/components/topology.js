// A swarm's topology as SVG: its seats (queen, root and domain managers, planner, aggregator), its
// workers, the pools or domains they belong to, who directs or reviews whom, and failovers (a seat's
// old agent with an arrow to its successor). Centralized, hierarchical and distributed swarms are
// laid out by dagre as trees; a mesh's peers sit on a ring, each linked to every other.

import { svg } from '../lib/dom.js';
import { arrowDefs, dagreLayout, edgePath, nodeElement, NODE_H, NODE_W, stableDrawing } from './graph-svg.js';

const SEAT_NAMES = { queen: 'queen', root: 'root coordinator', planner: 'planner', aggregator: 'aggregator' };
const MESH_FULL_LINKS = 12;

function seatName(seat) {
  if (seat?.startsWith('manager:')) return `manager of ${seat.slice('manager:'.length)}`;
  return SEAT_NAMES[seat] ?? seat ?? 'seat';
}

function agentNode(agent, role, state, replaced) {
  const busyWith = state.busy.get(agent.id);
  let condition = 'idle';
  if (replaced) condition = 'replaced';
  else if (busyWith) condition = 'busy';
  else if (!state.replaying && agent.status === 'terminated') condition = 'terminated';
  else if (!state.replaying && agent.health === 'unhealthy') condition = 'unhealthy';
  const short = agent.id.slice(-6);
  return {
    id: agent.id,
    label: role,
    sub: `${agent.type} ·${short} · ${condition}`,
    href: `/agents?id=${encodeURIComponent(agent.id)}`,
    className: `agent agent-${condition}`,
    description: `${role}: ${agent.name ?? agent.type} (${agent.id}), ${condition}${busyWith ? ` on task ${busyWith}` : ''}`,
  };
}

/**
 * The topology's nodes and edges from the status report's agents (their config says role, seat and
 * group) and the replayed state (busy agents, failovers). Edge kinds: directs, reviews, peer, failover.
 */
export function topologyModel(report, state) {
  const swarm = report.swarm;
  const replacedBy = new Map(state.failovers.map((f) => [f.previous, f.next]));
  const nodes = [];
  const edges = [];
  const seats = new Map();
  const workers = [];
  for (const agent of report.agents) {
    const role = agent.config?.role === 'seat' ? seatName(agent.config.seat) : 'worker';
    const replaced = replacedBy.has(agent.id);
    nodes.push(agentNode(agent, role, state, replaced));
    if (agent.config?.role === 'seat') {
      if (!replaced) seats.set(agent.config.seat, agent.id);
    } else workers.push(agent);
  }
  for (const f of state.failovers) {
    if (!nodes.some((n) => n.id === f.previous) && f.previous) {
      nodes.push({ id: f.previous, label: 'former leader', sub: `·${f.previous.slice(-6)} · replaced`, className: 'agent agent-replaced', description: `former leader ${f.previous}: ${f.reason}`, href: `/agents?id=${encodeURIComponent(f.previous)}` });
    }
    if (f.previous && nodes.some((n) => n.id === f.next)) edges.push({ from: f.previous, to: f.next, kind: 'failover' });
  }
  const groupOf = (a) => a.config?.group ?? null;
  const lead = seats.get('queen') ?? seats.get('root') ?? seats.get('planner') ?? null;

  if (swarm.topology === 'hierarchical') {
    for (const [seat, id] of seats) if (seat.startsWith('manager:') && lead) edges.push({ from: lead, to: id, kind: 'directs' });
    for (const w of workers) {
      const manager = seats.get(`manager:${groupOf(w)}`) ?? lead;
      if (manager) edges.push({ from: manager, to: w.id, kind: 'directs' });
    }
  } else if (swarm.topology === 'distributed') {
    const pools = [...new Set(workers.map(groupOf).filter((g) => g !== null))];
    for (const pool of pools) {
      const size = workers.filter((w) => groupOf(w) === pool).length;
      nodes.push({ id: `pool:${pool}`, label: `pool ${pool}`, sub: `${size} worker${size === 1 ? '' : 's'}`, kind: 'group', className: 'group', description: `pool ${pool}` });
      if (lead) edges.push({ from: lead, to: `pool:${pool}`, kind: 'directs' });
    }
    for (const w of workers) {
      const from = groupOf(w) === null ? lead : `pool:${groupOf(w)}`;
      if (from) edges.push({ from, to: w.id, kind: 'directs' });
      if (seats.get('aggregator')) edges.push({ from: w.id, to: seats.get('aggregator'), kind: 'reviews' });
    }
  } else if (swarm.topology === 'mesh') {
    const full = workers.length <= MESH_FULL_LINKS;
    workers.forEach((w, i) => {
      if (full) for (const other of workers.slice(i + 1)) edges.push({ from: w.id, to: other.id, kind: 'peer' });
      else if (workers.length > 1) edges.push({ from: w.id, to: workers[(i + 1) % workers.length].id, kind: 'peer' });
    });
    if (lead) for (const w of workers) edges.push({ from: lead, to: w.id, kind: 'directs' });
    if (seats.get('aggregator')) for (const w of workers) edges.push({ from: w.id, to: seats.get('aggregator'), kind: 'reviews' });
  } else {
    for (const w of workers) if (lead) edges.push({ from: lead, to: w.id, kind: 'directs' });
    if (seats.get('aggregator') && lead !== seats.get('aggregator')) for (const w of workers) edges.push({ from: w.id, to: seats.get('aggregator'), kind: 'reviews' });
  }
  const key = JSON.stringify([swarm.topology, nodes.map((n) => n.id), edges.map((e) => [e.from, e.to, e.kind])]);
  return { key, topology: swarm.topology, nodes, edges, workers: workers.map((w) => w.id) };
}

/** Mesh: workers on a ring, planner to the left, aggregator to the right; straight edges. */
function ringLayout(model) {
  const ring = model.nodes.filter((n) => model.workers.includes(n.id));
  const others = model.nodes.filter((n) => !model.workers.includes(n.id));
  // Big enough that neighbours on the ring do not overlap; the seats stand in columns either side.
  const r = Math.max(120, (NODE_W + 16) / (2 * Math.sin(Math.PI / Math.max(3, ring.length))));
  const cx = NODE_W * 1.5 + 40 + r;
  const cy = r + NODE_H;
  const positions = new Map();
  ring.forEach((n, i) => {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, ring.length);
    positions.set(n.id, { x: cx + r * Math.cos(angle), y: cy + r * Math.sin(angle) });
  });
  others.forEach((n, i) => {
    const left = i % 2 === 0;
    positions.set(n.id, { x: left ? NODE_W / 2 + 8 : cx + r + NODE_W + 24, y: cy + Math.floor(i / 2) * (NODE_H + 16) });
  });
  const points = model.edges.map((e) => [positions.get(e.from), positions.get(e.to)]);
  const rows = Math.ceil(others.length / 2);
  return { positions, points, width: Math.ceil(cx + r + 1.5 * NODE_W + 32), height: Math.ceil(Math.max(2 * r + NODE_H, r + rows * (NODE_H + 16)) + NODE_H + 8) };
}

/** A straight edge between two centres, cut back to the node boxes' borders. */
function trimmed([a, b]) {
  if (!a || !b) return [a, b];
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const t = Math.min(Math.abs(NODE_W / 2 / (dx || 1e-9)), Math.abs(NODE_H / 2 / (dy || 1e-9)), 0.45);
  return [
    { x: a.x + dx * t, y: a.y + dy * t },
    { x: b.x - dx * t, y: b.y - dy * t },
  ];
}

function draw(model) {
  const layout = model.topology === 'mesh' ? ringLayout(model) : dagreLayout(model.nodes, model.edges);
  const marker = 'topology-arrow';
  const edges = model.edges.map((e, i) => {
    const pts = model.topology === 'mesh' ? trimmed(layout.points[i]) : layout.points[i];
    if (!pts || pts.some((p) => !p)) return null;
    const path = svg('path', { d: edgePath(pts), class: `edge edge-${e.kind}`, 'marker-end': e.kind === 'peer' ? undefined : `url(#${marker})` });
    if (e.kind !== 'failover') return path;
    const mid = pts[Math.floor(pts.length / 2)];
    return svg('g', {}, path, svg('text', { x: mid.x + 8, y: mid.y + 4, class: 'edge-label' }, 'failover'));
  });
  const nodes = model.nodes.map((n) => nodeElement(n, layout.positions.get(n.id)));
  return svg(
    'svg',
    { class: 'graph', id: 'topology-svg', viewBox: `0 0 ${layout.width} ${layout.height}`, width: layout.width, height: layout.height, role: 'group', 'aria-label': `${model.topology} topology: ${model.nodes.length} nodes, ${model.edges.length} links` },
    arrowDefs(marker),
    ...edges,
    ...nodes,
  );
}

/** The topology drawing in `container`; returns update(report, state). */
export function createTopology(container) {
  const update = stableDrawing(container, draw);
  return (report, state) => {
    const model = topologyModel(report, state);
    if (model.nodes.length === 0) {
      container.replaceChildren(Object.assign(document.createElement('p'), { className: 'empty', textContent: 'No agents yet.' }));
      return;
    }
    update(model);
  };
}
