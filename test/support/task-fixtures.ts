import type { TaskRecord } from '../../src/domain/task.js';

/** A fixed clock value for records built in tests. */
export const T = 1_750_000_000_000;

/** A valid task record (pending, type `noop`) with `overrides` applied. */
export function taskRecord(id: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    id,
    name: null,
    type: 'noop',
    description: `task ${id}`,
    status: 'pending',
    priority: 50,
    input: {},
    dependencies: [],
    parentId: null,
    workflowId: null,
    swarmId: null,
    requirements: {},
    assignedAgent: null,
    timeoutMs: null,
    maxRetries: 0,
    maxAttempts: 1,
    attempts: 0,
    result: null,
    error: null,
    runnerId: null,
    pool: null,
    traceParent: null,
    notBefore: null,
    createdAt: T,
    updatedAt: T,
    startedAt: null,
    completedAt: null,
    ...overrides,
  };
}
