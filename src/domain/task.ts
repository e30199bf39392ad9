import { ValidationError } from './errors.js';
import type { JsonValue } from './json.js';

export const TASK_STATUSES = ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const TERMINAL_TASK_STATUSES: ReadonlySet<TaskStatus> = new Set(['completed', 'failed', 'cancelled']);

/** Named priorities; any integer in [PRIORITY_MIN, PRIORITY_MAX] is accepted too. Higher runs first. */
export const PRIORITIES = { low: 25, normal: 50, high: 75, critical: 100 } as const;
export type PriorityName = keyof typeof PRIORITIES;
export const PRIORITY_MIN = 0;
export const PRIORITY_MAX = 1000;

export interface TaskErrorInfo {
  code: string;
  message: string;
  /** Which attempt produced this error (1-based). */
  attempt: number;
}

export interface TaskRequirements {
  /** Capabilities the executing agent must have; when set, an agent is selected for the task. */
  capabilities?: string[];
  /** A specific agent type to run the task. */
  agentType?: string;
  /** Only these agents may run the task (a swarm's pool); none is spawned for it. */
  agentIds?: string[];
}

export interface TaskRecord {
  id: string;
  /** A short name unique within its workflow (the id used in a workflow file). */
  name: string | null;
  type: string;
  description: string;
  status: TaskStatus;
  priority: number;
  input: JsonValue;
  dependencies: string[];
  parentId: string | null;
  workflowId: string | null;
  /** The swarm whose plan the task belongs to. */
  swarmId: string | null;
  requirements: TaskRequirements;
  assignedAgent: string | null;
  timeoutMs: number | null;
  maxRetries: number;
  /** Attempts allowed in total before the task fails for good; a manual retry raises it. */
  maxAttempts: number;
  /** Attempts started so far; also the fencing token for state changes. */
  attempts: number;
  result: JsonValue | null;
  error: TaskErrorInfo | null;
  /** The runner (process) that holds the task while it runs; after it ends, the one that ran its last attempt. */
  runnerId: string | null;
  /**
   * The worker pool whose runners may run it (`colony worker --pool`), or null: any runner that runs
   * unpooled work. A pooled task waits for a live runner of its pool.
   */
  pool: string | null;
  /**
   * The W3C traceparent of the span that created the task (an API request, a parent task's attempt),
   * or null when tracing was off: its attempts are traced as children of it, in whichever process.
   */
  traceParent: string | null;
  /** Epoch ms before which a queued task must not start (retry backoff). */
  notBefore: number | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  completedAt: number | null;
}

/** A worker pool's name: what `colony worker --pool` and a task's `pool` take. */
export const POOL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const POOL_NAME_RULE = 'a pool name is 1-64 letters, digits, dot, dash or underscore, starting with a letter or digit';

/** Checked pool names, each once, in the order given; a bad name is a ValidationError that names it. */
export function checkPoolNames(names: readonly string[]): string[] {
  for (const name of names) {
    if (!POOL_NAME_PATTERN.test(name)) throw new ValidationError(`invalid pool name ${JSON.stringify(name)}: ${POOL_NAME_RULE}`);
  }
  return [...new Set(names)];
}

/** The unit of work a task's events are correlated with: its workflow, else its swarm, else itself. */
export function taskCorrelationId(task: Pick<TaskRecord, 'id' | 'workflowId' | 'swarmId'>): string {
  return task.workflowId ?? task.swarmId ?? task.id;
}

export function isTerminal(status: TaskStatus): boolean {
  return TERMINAL_TASK_STATUSES.has(status);
}
