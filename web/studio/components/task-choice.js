// Why a task ran on the agent it ran on, from what the task record and its events hold: for a swarm's
// task, how its plan task got its agent type (`swarm.agent_type_chosen`: the adaptive selector's
// candidates with their records and drawn scores, the only candidate, or the fallback).

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
    const chosen = events.find((e) => e.type === 'swarm.agent_type_chosen');
    if (chosen) reasons.push(typeChoiceText(chosen.data));
    else if (typeof input.agentType === 'string') reasons.push(`agent type "${input.agentType}": named by the swarm's plan`);
  } else if (req.agentIds?.length) reasons.push(`restricted to agents ${req.agentIds.join(', ')}`);
  if (req.agentType) reasons.push(`the task requires agent type "${req.agentType}"`);
  else if (!dispatched && typeof input.agentType === 'string') reasons.push(`agent type "${input.agentType}" named in its input`);
  if (req.capabilities?.length) reasons.push(`needs capabilities ${req.capabilities.join(', ')}`);
  if (reasons.length === 0) reasons.push(task.assignedAgent ? 'no requirement: the scheduler gave it to a free agent' : 'no requirement: any runner could run it');
  return reasons;
}

/** A plan task's type choice in words: who chose it and, for the selector, every candidate's record and score. */
function typeChoiceText(choice) {
  if (choice.by === 'only') return `agent type "${choice.type}": the only type in the catalog that can do work of kind "${choice.kind}"`;
  if (choice.by === 'fallback') return `agent type "${choice.type}": no type in the catalog matched work of kind "${choice.kind}", so the default worker type`;
  const ranked = [...choice.candidates].sort((a, b) => b.score - a.score);
  const record = (c) => `${c.type} score ${c.score.toFixed(2)} (${c.successes} succeeded, ${c.failures} failed before)`;
  return `agent type "${choice.type}": chosen for work of kind "${choice.kind}" by the adaptive selector, which drew a score for each candidate from its past outcomes (less penalties for latency and cost) and took the highest: ${ranked.map(record).join('; ')}`;
}
