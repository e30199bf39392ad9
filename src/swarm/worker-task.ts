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
  if (input.peers) parts.push('', `Your peers in this swarm (you can message them): ${input.peers}`);
  parts.push('', 'When done, report your result.');
  return parts.join('\n');
}

/** A worker's result as text for dependents, reviewers and the synthesis, cut to a preview. */
export function resultText(result: JsonValue | null): string {
  const inner = result !== null && typeof result === 'object' && !Array.isArray(result) && 'result' in result ? result.result : result;
  const text = typeof inner === 'string' ? inner : JSON.stringify(inner ?? null);
  return text.length > SWARM_DEFAULTS.resultPreviewChars ? `${text.slice(0, SWARM_DEFAULTS.resultPreviewChars)}…` : text;
}

/** The summary of a swarm that stopped early: why, and what got done. */
export function partialSummary(reason: string, outcomes: readonly TaskOutcome[]): string {
  const done = outcomes.filter((o) => o.status === 'done');
  const lines = [`Stopped before finishing (${reason}); ${done.length} of ${outcomes.length} tasks completed.`];
  for (const o of done) lines.push(`- ${o.task.id}: ${o.task.title}`);
  return lines.join('\n');
}
