// Where an event leads: its swarm, task, agent, workflow or proposal page, decided by its type, its
// correlation id and the ids in its data. Ids carry their kind as a prefix (tsk_, swm_, agt_, ...).

const PAGE_OF_PREFIX = {
  swm: (id) => ({ href: `/swarms/${id}`, label: 'swarm' }),
  tsk: (id) => ({ href: `/tasks/${id}`, label: 'task' }),
  agt: (id) => ({ href: `/agents?id=${encodeURIComponent(id)}`, label: 'agent' }),
  wf: (id) => ({ href: `/tasks?workflowId=${encodeURIComponent(id)}`, label: 'workflow tasks' }),
  prp: (id) => ({ href: `/consensus?id=${encodeURIComponent(id)}`, label: 'vote' }),
  run: () => ({ href: '/system', label: 'process' }),
};

const prefixOf = (id) => (typeof id === 'string' ? id.split('_')[0] : '');

/** The pages an event links to, each once: [{ href, label, id }]. */
export function eventLinks(event) {
  const data = event.data && typeof event.data === 'object' ? event.data : {};
  const ids = [data.swarmId, data.taskId, data.agentId, data.workflowId, data.proposalId, data.runnerId, event.correlationId];
  if (Array.isArray(data.agentIds)) ids.push(...data.agentIds);
  if (event.type === 'vote.cast' || event.type === 'vote.abstained' || event.type === 'voter.flagged') ids.push(data.voterId);
  const seen = new Set();
  const links = [];
  for (const id of ids) {
    if (typeof id !== 'string' || seen.has(id)) continue;
    seen.add(id);
    const page = PAGE_OF_PREFIX[prefixOf(id)];
    if (page) links.push({ ...page(id), id });
  }
  return links;
}
