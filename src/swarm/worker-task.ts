import type { JsonValue } from '../domain/json.js';
import type { PlanTask } from '../domain/swarm.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';
import type { TaskOutcome } from './topologies/topology.js';

/** What a worker is told: the objective, its task, what the tasks it depends on found, feedback. */
export function workerPrompt(input: {
  objective: string;
  task: PlanTask;
  dependencies: readonly { id: string; title: string; text: string }[];
  feedback: string | null;
  /** Mesh: the peers the worker may message. */
  peers: string | null;
}): string {
  const parts = [`The swarm's objective: ${input.objective}`, '', `Your task (${input.task.id}): ${input.task.title}`, input.task.prompt];
  if (input.dependencies.length > 0) {
    parts.push('', 'Results of the tasks this one builds on:');
    for (const dep of input.dependencies) parts.push(`### ${dep.id}: ${dep.title}`, dep.text);
  }
  if (input.feedback) parts.push('', 'Your previous result was sent back with this feedback; address it:', input.feedback);
  // The agent is chosen when it claims the task, after this is written: the list names every worker,
  // and the worker's own id is in its system prompt.
  if (input.peers) parts.push('', `The swarm's workers (message the others, not yourself; your own agent id is in your instructions): ${input.peers}`);
  parts.push('', 'When done, report your result.');
  return parts.join('\n');
}

/** A worker's result as text for dependents, reviewers and the synthesis, cut to a preview. */
export function resultText(result: JsonValue | null): string {
  const inner = result !== null && typeof result === 'object' && !Array.isArray(result) && 'result' in result ? result.result : result;
  const text = typeof inner === 'string' ? inner : JSON.stringify(inner ?? null);
  return text.length > SWARM_DEFAULTS.resultPreviewChars ? `${text.slice(0, SWARM_DEFAULTS.resultPreviewChars)}…` : text;
}

/**
 * A swarm's progress: the share of its plan tasks that completed. Failed, skipped and cancelled
 * tasks have ended but are not progress, so a stopped swarm with nothing done reads 0, not 100%.
 */
export function completedShare(states: Iterable<{ status: string }>): number {
  let total = 0;
  let done = 0;
  for (const s of states) {
    total += 1;
    if (s.status === 'done') done += 1;
  }
  return total === 0 ? 0 : done / total;
}

/** The summary of a swarm that stopped early: why, and what got done. */
export function partialSummary(reason: string, outcomes: readonly TaskOutcome[]): string {
  const done = outcomes.filter((o) => o.status === 'done');
  const lines = [`Stopped before finishing (${reason}); ${done.length} of ${outcomes.length} tasks completed.`];
  for (const o of done) lines.push(`- ${o.task.id}: ${o.task.title}`);
  return lines.join('\n');
}
