import type { TaskRecord } from '../domain/task.js';
import type { AgentTurn, MetricSample } from '../ports/store.js';

/** The metrics an agent task's model calls record (entity `task`, the task's id); see agents/runtime/run-recorder.ts. */
export const TASK_USAGE_METRICS = {
  inputTokens: 'llm.input_tokens',
  outputTokens: 'llm.output_tokens',
  costUsd: 'llm.cost_usd',
} as const;

/** The metrics' entity type for a task. */
export const TASK_METRIC_ENTITY = 'task';

/** What an agent task's model calls used, over all its attempts. */
export interface TaskUsage {
  inputTokens: number;
  outputTokens: number;
  /** Null when no call's price was known. */
  costUsd: number | null;
}

/** An agent task's transcript (`colony.tasks.transcript`): every turn as recorded, with the usage totals. */
export interface TaskTranscript {
  task: TaskRecord;
  /** In the order they were recorded; of one attempt only when asked. Empty for tasks that are not agent tasks. */
  turns: AgentTurn[];
  usage: TaskUsage;
}

export interface TranscriptOptions {
  /** Only this attempt's turns (1-based). The usage totals always cover every attempt. */
  attempt?: number;
}

/** Sums a task's usage metrics. */
export function taskUsage(samples: readonly MetricSample[]): TaskUsage {
  const sum = (name: string) => samples.filter((m) => m.name === name).reduce((a, m) => a + m.value, 0);
  return {
    inputTokens: sum(TASK_USAGE_METRICS.inputTokens),
    outputTokens: sum(TASK_USAGE_METRICS.outputTokens),
    costUsd: samples.some((m) => m.name === TASK_USAGE_METRICS.costUsd) ? sum(TASK_USAGE_METRICS.costUsd) : null,
  };
}
