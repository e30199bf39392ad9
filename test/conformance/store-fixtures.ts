import { expect } from 'vitest';
import type { AgentRecord } from '../../src/domain/agent.js';
import { ColonyError } from '../../src/domain/errors.js';
import type { JsonValue } from '../../src/domain/json.js';
import type { TaskRecord } from '../../src/domain/task.js';
import type { WorkflowRecord } from '../../src/domain/workflow.js';
import type { MetricSample, NewAgentTurn, NewEvent, RunnerRecord } from '../../src/ports/store.js';
import { T, taskRecord } from '../support/task-fixtures.js';

/** Records the Store conformance suites build their cases from. */
export function task(id: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return taskRecord(id, overrides);
}

export function workflow(id: string, overrides: Partial<WorkflowRecord> = {}): WorkflowRecord {
  return {
    id,
    name: `workflow ${id}`,
    source: null,
    definitionHash: `hash-${id}`,
    status: 'running',
    createdAt: T,
    updatedAt: T,
    completedAt: null,
    ...overrides,
  };
}

export function agent(id: string, overrides: Partial<AgentRecord> = {}): AgentRecord {
  return {
    id,
    name: `agent-${id}`,
    type: 'coder',
    status: 'idle',
    health: 'healthy',
    capabilities: ['code'],
    config: {},
    currentTasks: [],
    maxConcurrency: 1,
    createdAt: T,
    updatedAt: T,
    terminatedAt: null,
    ...overrides,
  };
}

export function event(type: string, data: NewEvent['data'], meta: { correlationId?: string | null; source?: string } = {}): NewEvent {
  return { type, source: meta.source ?? 'test', data, correlationId: meta.correlationId === undefined ? 'c1' : meta.correlationId, timestamp: T };
}

export function metric(
  entityType: string,
  entityId: string,
  name: string,
  value: number,
  timestamp: number,
  metadata: Record<string, JsonValue> | null = null,
): MetricSample {
  return { entityType, entityId, name, value, timestamp, metadata };
}

export function turn(
  taskId: string,
  attempt: number,
  n: number,
  role: NewAgentTurn['role'],
  content: NewAgentTurn['content'],
  extra: Partial<NewAgentTurn> = {},
): NewAgentTurn {
  return { taskId, agentId: 'agt_1', attempt, turn: n, role, content, usage: null, model: null, provider: null, createdAt: T + n, ...extra };
}

export function runner(id: string, overrides: Partial<RunnerRecord> = {}): RunnerRecord {
  return { id, pid: 4242, hostname: 'test-host', kind: 'run', runsTasks: true, pools: [], startedAt: T, heartbeatAt: T, ...overrides };
}

export function ids(records: readonly { id: string }[]): string[] {
  return records.map((r) => r.id);
}

export function expectColonyError(error: unknown, codes: readonly string[]): void {
  expect(error).toBeInstanceOf(ColonyError);
  expect(codes).toContain((error as ColonyError).code);
}
