import type { EventBus, Subscription } from '../ports/event-bus.js';
import type { Logger } from '../kernel/logger.js';
import type { TaskRecord } from '../domain/task.js';
import type { Store } from '../ports/store.js';
import type { AdaptiveSelector, OutcomeSample } from './adaptive-selector.js';
import { AGENT_TASK_TYPE } from './runtime/agent-executor.js';
import { AGENT_DEFAULT_TYPE } from './runtime/runtime-defaults.js';
import { DEFAULT_TASK_KIND, TASK_KIND_PATTERN } from './task-kind.js';

export interface OutcomeRecorderDeps {
  events: EventBus;
  store: Store;
  selector: AdaptiveSelector;
  logger: Logger;
}

/**
 * Teaches the adaptive selector from every agent task that finishes in this process: completed, or
 * failed for good (a failure that will be retried is not an outcome yet). Each process records the
 * tasks it ran, so nothing is counted twice.
 */
export function recordAgentTaskOutcomes(deps: OutcomeRecorderDeps): Subscription {
  // Tasks seen starting as another type than `agent`: their ends need no read of the task to find that
  // out (most tasks of an engine run are not agents'). A task not seen starting is read, as any other.
  const others = new Set<string>();
  const starts = deps.events.subscribe({ types: ['task.started', 'task.cancelled'] }, (event) => {
    if (event.type === 'task.cancelled') others.delete(event.data.taskId);
    else if (event.data.type !== AGENT_TASK_TYPE) others.add(event.data.taskId);
  });
  const ends = deps.events.subscribe({ types: ['task.completed', 'task.failed'] }, async (event) => {
    const taskId = event.data.taskId;
    if (others.delete(taskId)) return;
    if (event.type === 'task.failed' && event.data.willRetry) return;
    try {
      const task = await deps.store.tasks.get(taskId);
      if (!task || task.type !== AGENT_TASK_TYPE || (task.status !== 'completed' && task.status !== 'failed')) return;
      await deps.selector.record(await outcomeOf(task, deps.store));
    } catch (error) {
      // Learning is best effort: a task's outcome must never depend on it.
      deps.logger.warn({ err: error, taskId }, 'adaptive selection: could not record the outcome of an agent task');
    }
  });
  return {
    unsubscribe: () => {
      starts.unsubscribe();
      ends.unsubscribe();
    },
    get dropped() {
      return starts.dropped + ends.dropped;
    },
  };
}

/** The outcome of a finished agent task, with the agent type the executor ran it as. */
export async function outcomeOf(task: TaskRecord, store: Store): Promise<OutcomeSample> {
  const input = asObject(task.input);
  const result = asObject(task.result);
  // The executor's precedence: the assigned agent's type, the input's, the requirement, the default.
  const assignedType = typeof result.agentType === 'string' || !task.assignedAgent ? undefined : (await store.agents.get(task.assignedAgent))?.type;
  const agentType = stringOr(result.agentType) ?? assignedType ?? stringOr(input.agentType) ?? task.requirements.agentType ?? AGENT_DEFAULT_TYPE;
  const kind = stringOr(input.kind);
  const costs = await store.metrics.list({ entityType: 'task', entityId: task.id, name: 'llm.cost_usd' });
  const completedAt = task.completedAt ?? task.updatedAt;
  return {
    agentType,
    taskKind: kind !== undefined && TASK_KIND_PATTERN.test(kind) ? kind : DEFAULT_TASK_KIND,
    success: task.status === 'completed',
    latencyMs: task.startedAt === null ? 0 : Math.max(0, completedAt - task.startedAt),
    // Every attempt's spend: what it cost to get this outcome.
    costUsd: costs.length === 0 ? null : costs.reduce((sum, m) => sum + m.value, 0),
    at: completedAt,
  };
}

function asObject(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
