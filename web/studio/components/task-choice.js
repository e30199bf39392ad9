// Why a task ran on the agent it ran on, from what the task record and its events hold. The swarm's
// adaptive selector does not record the score it sampled, so none is shown; what is recorded is said.

export function agentChoice(task, events) {
  const reasons = [];
  const req = task.requirements ?? {};
  const input = task.input && typeof task.input === 'object' && !Array.isArray(task.input) ? task.input : {};
  const dispatched = events.find((e) => e.type === 'swarm.task_dispatched');
  const revised = events.filter((e) => e.type === 'task.revised' && Array.isArray(e.data.agentIds)).at(-1);
  if (revised) reasons.push(`pinned by a user to ${revised.data.agentIds.join(', ')}`);
  if (dispatched) {
    const pool = dispatched.data.pool ? ` (pool ${dispatched.data.pool})` : '';
    reasons.push(`dispatched by its swarm to ${dispatched.data.agentIds.length} agent${dispatched.data.agentIds.length === 1 ? '' : 's'} of its roster${pool}`);
    if (typeof input.agentType === 'string') {
      const kind = typeof input.kind === 'string' ? input.kind : 'general';
      reasons.push(
        `agent type "${input.agentType}": named by the swarm's plan, or, where the plan named none, chosen for work of kind "${kind}" by the swarm's adaptive selector from past outcomes (which of the two, and the selector's score, are not recorded per task)`,
      );
    }
  } else if (req.agentIds?.length) reasons.push(`restricted to agents ${req.agentIds.join(', ')}`);
  if (req.agentType) reasons.push(`the task requires agent type "${req.agentType}"`);
  else if (!dispatched && typeof input.agentType === 'string') reasons.push(`agent type "${input.agentType}" named in its input`);
  if (req.capabilities?.length) reasons.push(`needs capabilities ${req.capabilities.join(', ')}`);
  if (reasons.length === 0) reasons.push(task.assignedAgent ? 'no requirement: the scheduler gave it to a free agent' : 'no requirement: any runner could run it');
  return reasons;
}
