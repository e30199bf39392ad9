import type { AgentRecord, AgentHealth, AgentStatus } from '../../../domain/agent.js';
import type { StoredEvent } from '../../../domain/events.js';
import type { JsonValue } from '../../../domain/json.js';
import type { TaskErrorInfo, TaskRecord, TaskRequirements, TaskStatus } from '../../../domain/task.js';
import type { WorkflowRecord, WorkflowStatus } from '../../../domain/workflow.js';
import type { ContentPart, TokenUsage } from '../../../ports/provider.js';
import type { MemoryEntry } from '../../../ports/memory-store.js';
import type { AgentMessage, AgentTurn, AgentTurnRole, MetricSample, RunnerRecord } from '../../../ports/store.js';
import type { ApiKeyRole, StoredApiKey } from '../../../ports/store.js';
import type { ApiKeyRow } from './schema.js';
import type { AgentMessageRow, AgentRow, AgentTurnRow, EventRow, MemoryRow, MetricRow, RunnerRow, TaskRow, WorkflowRow } from './schema.js';

/** JSON columns arrive as text from SQLite and as parsed values from PostgreSQL's jsonb. */
export function readJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

function readNullableJson<T>(value: unknown): T | null {
  return value === null || value === undefined ? null : readJson<T>(value);
}

/** Drivers may hand back bigint for 64-bit columns; Colony's timestamps fit in a double. */
function num(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : (value as number);
}

function nullableNum(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

export function taskToRow(task: TaskRecord): TaskRow {
  return {
    id: task.id,
    name: task.name,
    type: task.type,
    description: task.description,
    status: task.status,
    priority: task.priority,
    input: JSON.stringify(task.input),
    dependencies: JSON.stringify(task.dependencies),
    parent_id: task.parentId,
    workflow_id: task.workflowId,
    swarm_id: task.swarmId,
    requirements: JSON.stringify(task.requirements),
    assigned_agent: task.assignedAgent,
    timeout_ms: task.timeoutMs,
    max_retries: task.maxRetries,
    max_attempts: task.maxAttempts,
    attempts: task.attempts,
    result: task.result === null ? null : JSON.stringify(task.result),
    error: task.error === null ? null : JSON.stringify(task.error),
    runner_id: task.runnerId,
    not_before: task.notBefore,
    created_at: task.createdAt,
    updated_at: task.updatedAt,
    started_at: task.startedAt,
    completed_at: task.completedAt,
    pool: task.pool,
    trace_parent: task.traceParent,
  };
}

export function taskFromRow(row: TaskRow): TaskRecord {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    description: row.description,
    status: row.status as TaskStatus,
    priority: num(row.priority),
    input: readJson<JsonValue>(row.input),
    dependencies: readJson<string[]>(row.dependencies),
    parentId: row.parent_id,
    workflowId: row.workflow_id,
    swarmId: row.swarm_id,
    requirements: readJson<TaskRequirements>(row.requirements),
    assignedAgent: row.assigned_agent,
    timeoutMs: nullableNum(row.timeout_ms),
    maxRetries: num(row.max_retries),
    maxAttempts: num(row.max_attempts),
    attempts: num(row.attempts),
    result: readNullableJson<JsonValue>(row.result),
    error: readNullableJson<TaskErrorInfo>(row.error),
    runnerId: row.runner_id,
    notBefore: nullableNum(row.not_before),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    startedAt: nullableNum(row.started_at),
    completedAt: nullableNum(row.completed_at),
    pool: row.pool,
    traceParent: row.trace_parent ?? null,
  };
}

export function agentToRow(agent: AgentRecord): AgentRow {
  return {
    id: agent.id,
    name: agent.name,
    type: agent.type,
    status: agent.status,
    health: agent.health,
    capabilities: JSON.stringify(agent.capabilities),
    config: JSON.stringify(agent.config),
    current_tasks: JSON.stringify(agent.currentTasks),
    max_concurrency: agent.maxConcurrency,
    created_at: agent.createdAt,
    updated_at: agent.updatedAt,
    terminated_at: agent.terminatedAt,
  };
}

export function agentFromRow(row: AgentRow): AgentRecord {
  return {
    id: row.id,
    name: row.name,
    type: row.type,
    status: row.status as AgentStatus,
    health: row.health as AgentHealth,
    capabilities: readJson<string[]>(row.capabilities),
    config: readJson<Record<string, unknown>>(row.config),
    currentTasks: readJson<string[]>(row.current_tasks),
    maxConcurrency: num(row.max_concurrency),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    terminatedAt: nullableNum(row.terminated_at),
  };
}

export function workflowFromRow(row: WorkflowRow): WorkflowRecord {
  return {
    id: row.id,
    name: row.name,
    source: row.source,
    definitionHash: row.definition_hash,
    status: row.status as WorkflowStatus,
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    completedAt: nullableNum(row.completed_at),
  };
}

export function eventFromRow(row: Omit<EventRow, 'id'> & { id: number | bigint }): StoredEvent {
  return {
    id: num(row.id),
    type: row.type,
    source: row.source,
    data: readJson<JsonValue>(row.data),
    correlationId: row.correlation_id,
    timestamp: num(row.timestamp),
  };
}

export function metricFromRow(row: Omit<MetricRow, 'id'>): MetricSample {
  return {
    entityType: row.entity_type,
    entityId: row.entity_id,
    name: row.metric_name,
    value: row.metric_value,
    metadata: readNullableJson<Record<string, JsonValue>>(row.metadata),
    timestamp: num(row.timestamp),
  };
}

export function runnerFromRow(row: RunnerRow): RunnerRecord {
  return {
    id: row.id,
    pid: num(row.pid),
    hostname: row.hostname,
    kind: row.kind,
    startedAt: num(row.started_at),
    heartbeatAt: num(row.heartbeat_at),
    runsTasks: row.runs_tasks === undefined || num(row.runs_tasks) !== 0,
    pools: row.pools === undefined ? [] : readJson<string[]>(row.pools),
  };
}

export function agentTurnFromRow(row: Omit<AgentTurnRow, 'id'> & { id: number | bigint }): AgentTurn {
  return {
    id: num(row.id),
    taskId: row.task_id,
    agentId: row.agent_id,
    attempt: num(row.attempt),
    turn: num(row.turn),
    role: row.role as AgentTurnRole,
    content: readJson<ContentPart[]>(row.content),
    usage: readNullableJson<TokenUsage>(row.usage),
    model: row.model,
    provider: row.provider,
    createdAt: num(row.created_at),
  };
}

export function agentMessageFromRow(row: Omit<AgentMessageRow, 'id'> & { id: number | bigint }): AgentMessage {
  return {
    id: num(row.id),
    fromAgent: row.from_agent,
    toAgent: row.to_agent,
    taskId: row.task_id,
    body: row.body,
    createdAt: num(row.created_at),
    readAt: nullableNum(row.read_at),
  };
}

/** A memory row plus its value, already decoded from memory_blobs by the adapter. */
export function memoryEntryFromRow(
  row: Pick<MemoryRow, 'namespace' | 'key' | 'version' | 'tags' | 'metadata' | 'expires_at' | 'created_at' | 'updated_at' | 'accessed_at' | 'access_count'>,
  value: JsonValue,
  size: number,
): MemoryEntry {
  return {
    namespace: row.namespace,
    key: row.key,
    value,
    version: num(row.version),
    tags: readJson<string[]>(row.tags),
    metadata: readJson<Record<string, JsonValue>>(row.metadata),
    expiresAt: nullableNum(row.expires_at),
    createdAt: num(row.created_at),
    updatedAt: num(row.updated_at),
    accessedAt: num(row.accessed_at),
    accessCount: num(row.access_count),
    size: num(size),
  };
}

export function apiKeyFromRow(row: ApiKeyRow): StoredApiKey {
  return {
    id: row.id,
    name: row.name,
    role: row.role as ApiKeyRole,
    hash: row.hash,
    createdAt: num(row.created_at),
    lastUsedAt: nullableNum(row.last_used_at),
    revokedAt: nullableNum(row.revoked_at),
  };
}
