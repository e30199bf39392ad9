import type { StoredEvent } from '../domain/events.js';
import type { JsonValue } from '../domain/json.js';
import { taskCorrelationId, type TaskErrorInfo, type TaskRecord } from '../domain/task.js';
import type { EventBus } from '../ports/event-bus.js';

/**
 * A task's history from the event log (`colony.tasks.history`): the events about it and each attempt
 * (who ran it, when, how it ended). Task events are correlated with the task's workflow or swarm
 * (see taskCorrelationId), agent events with the task itself, so both correlations are read and the
 * events kept are those whose `data.taskId` is the task.
 */
export interface TaskHistory {
  attempts: TaskAttempt[];
  /** Oldest first. */
  events: StoredEvent[];
  /** The scan stopped at HISTORY_MAX_SCANNED events of the task's correlation: older ones may be missing. */
  truncated: boolean;
}

export interface TaskAttempt {
  attempt: number;
  runnerId: string | null;
  agentId: string | null;
  startedAt: number;
  finishedAt: number | null;
  outcome: 'running' | 'completed' | 'failed' | 'cancelled' | 'recovered';
  error: TaskErrorInfo | null;
  /** A failed attempt the engine retries. */
  willRetry: boolean;
}

/** The event types that say something about one task. */
export const TASK_HISTORY_TYPES = ['task.*', 'agent.assigned', 'agent.released', 'swarm.agent_type_chosen', 'swarm.task_dispatched', 'swarm.task_reviewed'] as const;
const PAGE = 1_000;
/** A bound on the events read for one task's history (a big swarm's log can be long). */
export const HISTORY_MAX_SCANNED = 50_000;

export async function taskHistory(events: EventBus, task: TaskRecord): Promise<TaskHistory> {
  const correlations = [...new Set([task.id, taskCorrelationId(task)])];
  const found: StoredEvent[] = [];
  // How the swarm typed its plan tasks: the one for this task's plan task is kept once that is known.
  const typeChoices: StoredEvent[] = [];
  let truncated = false;
  for (const correlationId of correlations) {
    let afterId: number | undefined;
    for (let scanned = 0; ; ) {
      const page = await events.list({ correlationId, types: TASK_HISTORY_TYPES, limit: PAGE, ...(afterId === undefined ? {} : { afterId }) });
      found.push(...page.filter((e) => dataOf(e).taskId === task.id));
      typeChoices.push(...page.filter((e) => e.type === 'swarm.agent_type_chosen'));
      scanned += page.length;
      if (page.length < PAGE) break;
      if (scanned >= HISTORY_MAX_SCANNED) {
        truncated = true;
        break;
      }
      afterId = page[page.length - 1]?.id;
    }
  }
  const planTaskIds = new Set(found.filter((e) => e.type === 'swarm.task_dispatched').map((e) => dataOf(e).planTaskId));
  found.push(...typeChoices.filter((e) => planTaskIds.has(dataOf(e).planTaskId)));
  const sorted = [...new Map(found.map((e) => [e.id, e])).values()].sort((a, b) => a.id - b.id);
  return { attempts: attemptsOf(sorted), events: sorted, truncated };
}

/** Each `task.started` opens an attempt; the next completed / failed / cancelled / recovered event of it closes it. */
export function attemptsOf(events: readonly StoredEvent[]): TaskAttempt[] {
  const attempts: TaskAttempt[] = [];
  const open = (): TaskAttempt | undefined => attempts.findLast((a) => a.outcome === 'running');
  for (const event of events) {
    const data = dataOf(event);
    if (event.type === 'task.started') {
      attempts.push({
        attempt: Number(data.attempt),
        runnerId: str(data.runnerId),
        agentId: str(data.agentId),
        startedAt: event.timestamp,
        finishedAt: null,
        outcome: 'running',
        error: null,
        willRetry: false,
      });
      continue;
    }
    const current = open();
    if (!current) continue;
    if (event.type === 'task.completed') close(current, event, 'completed');
    else if (event.type === 'task.failed') {
      close(current, event, 'failed');
      current.error = errorOf(data.error);
      current.willRetry = data.willRetry === true;
    } else if (event.type === 'task.cancelled') {
      close(current, event, 'cancelled');
      current.error = { code: 'cancelled', message: String(data.reason ?? 'cancelled'), attempt: current.attempt };
    } else if (event.type === 'task.recovered') {
      close(current, event, 'recovered');
      const runner = typeof data.deadRunnerId === 'string' ? `its runner ${data.deadRunnerId}` : 'its runner';
      current.error = { code: 'runner_lost', message: `${runner} stopped; the task was put back in the queue`, attempt: current.attempt };
    }
  }
  return attempts;
}

function close(attempt: TaskAttempt, event: StoredEvent, outcome: TaskAttempt['outcome']): void {
  attempt.outcome = outcome;
  attempt.finishedAt = event.timestamp;
}

function dataOf(event: StoredEvent): Record<string, JsonValue> {
  return event.data !== null && typeof event.data === 'object' && !Array.isArray(event.data) ? event.data : {};
}

const str = (value: JsonValue | undefined): string | null => (typeof value === 'string' ? value : null);

function errorOf(value: JsonValue | undefined): TaskErrorInfo | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  return { code: String(value.code ?? 'error'), message: String(value.message ?? ''), attempt: Number(value.attempt ?? 0) };
}
