import type { PlanTask } from '../domain/swarm.js';

/**
 * A swarm's engine tasks are named after their plan task. A plan task dispatched again (review
 * feedback, agents lost) gets another engine task of the same name; the newest is the current one,
 * which is how a resumed swarm maps its engine tasks back to its plan.
 */
export function engineTaskName(planTaskId: string): string {
  return planTaskId;
}

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
