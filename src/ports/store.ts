import type { ConsensusStore } from './consensus-store.js';
import type { MemoryStore } from './memory-store.js';
import type { ModelCallLedger } from './model-call-ledger.js';
import type { ProviderCircuitStore } from './provider-circuit-store.js';
import type { SwarmStore } from './swarm-store.js';
import type { TaskProcessStore } from './task-process-store.js';
import type { AgentHealth, AgentRecord, AgentStatus, AgentTrackRecord } from '../domain/agent.js';
import type { StoredEvent } from '../domain/events.js';
import type { JsonValue } from '../domain/json.js';
import type { TaskRecord, TaskStatus } from '../domain/task.js';
import type { WorkflowRecord, WorkflowStatus } from '../domain/workflow.js';
import type { ContentPart, TokenUsage } from './provider.js';

/**
 * The Store port: Colony's durable state. Adapters: `adapters/storage/sqlite` (embedded default).
 * Every adapter runs the conformance suite in `test/store-conformance.ts`.
 *
 * Contract:
 * - A write's promise resolves only after the write is durable (committed); adapters may group
 *   concurrent writes into one transaction, but never acknowledge a write before its commit.
 * - Conditional updates (`updateTask`) are compare-and-set on (status, attempts), so that several
 *   processes sharing one database never both win the same task.
 * - Reads see every write whose promise has resolved.
 */
export interface Store {
  /** Human-readable description for status output, e.g. the database file path. */
  readonly location: string;
  /** Memory's durable tier (L3), in the same database. */
  readonly memory: MemoryStore;
  /** Swarms, in the same database. */
  readonly swarms: SwarmStore;
  /** Consensus proposals, votes, voter keys and flags, in the same database. */
  readonly consensus: ConsensusStore;
  /** Every model call made for a swarm, by any process: usage and budgets. */
  readonly modelCalls: ModelCallLedger;
  /** Each process's circuit breaker state per provider, with its age. */
  readonly circuits: ProviderCircuitStore;
  /** The process groups task attempts have started and that still run, so that recovery can end a dead runner's. */
  readonly taskProcesses: TaskProcessStore;
  /** Applies pending migrations; idempotent and safe when several processes open the same database. */
  migrate(): Promise<void>;
  schemaVersion(): Promise<string | null>;
  close(): Promise<void>;

  // Tasks
  /** Inserts tasks and their dependency edges atomically: all or none. */
  insertTasks(tasks: readonly TaskRecord[]): Promise<void>;
  /**
   * Writes `next` if the stored task still has `expected` status and attempts (and, when given, was
   * last written at `updatedAt`: a claim made from a copy older than a revision fails); returns
   * whether it did.
   */
  updateTask(next: TaskRecord, expected: { status: TaskStatus; attempts: number; updatedAt?: number }): Promise<boolean>;
  /**
   * Changes what an operator may change of a task that has not started (priority, requirements),
   * compare-and-set on status, attempts and updatedAt; returns whether it did.
   */
  reviseTask(next: TaskRecord, expected: { status: TaskStatus; attempts: number; updatedAt: number }): Promise<boolean>;
  /**
   * Several compare-and-set updates applied together: if any expectation fails, none is written and
   * the result is false. (A task's completion and its dependents' promotion commit as one.)
   */
  updateTasks(changes: readonly { next: TaskRecord; expected: { status: TaskStatus; attempts: number } }[]): Promise<boolean>;
  getTask(id: string): Promise<TaskRecord | undefined>;
  /** Tasks whose id starts with `prefix` (at most `limit`), for abbreviated ids typed by people. */
  findTaskIdsByPrefix(prefix: string, limit: number): Promise<string[]>;
  listTasks(query: TaskQuery): Promise<TaskRecord[]>;
  countTasks(query: Omit<TaskQuery, 'limit' | 'offset' | 'order'>): Promise<number>;
  countTasksByStatus(query?: { workflowId?: string; swarmId?: string }): Promise<Record<TaskStatus, number>>;
  /** Ids of the tasks that depend on `id`. */
  listDependents(id: string): Promise<string[]>;
  /** Pending tasks all of whose dependencies have completed. */
  listPromotableTasks(query: { workflowId?: string; limit: number }): Promise<TaskRecord[]>;
  /** Pending tasks with at least one failed or cancelled dependency. */
  listBlockedTasks(query: { workflowId?: string; limit: number }): Promise<TaskRecord[]>;

  // Workflows
  insertWorkflow(workflow: WorkflowRecord): Promise<void>;
  updateWorkflowStatus(id: string, status: WorkflowStatus, at: number): Promise<void>;
  getWorkflow(id: string): Promise<WorkflowRecord | undefined>;
  findWorkflow(query: { definitionHash: string; status?: WorkflowStatus }): Promise<WorkflowRecord | undefined>;
  listWorkflows(query: { status?: WorkflowStatus; limit: number }): Promise<WorkflowRecord[]>;

  // Agents. Several processes share the agents: every change is one atomic statement on the stored
  // record (never a write of a whole record read earlier), so that no slot, status or health is lost.
  /**
   * Inserts an agent; with `maxActive`, only while fewer agents than that are not terminated, checked
   * in the same statement (processes spawning at once never overshoot the pool). Returns whether it did.
   */
  insertAgent(agent: AgentRecord, bound?: { maxActive: number }): Promise<boolean>;
  /**
   * Changes status, health or termination time, compare-and-set on the stored status; never once it
   * is terminated. Setting `idle` on an agent that holds tasks stores `busy`. `resetFailures` clears
   * the failure streak. Returns the stored record, or undefined if the status had moved on.
   */
  patchAgent(id: string, patch: AgentPatch, expected: { status: AgentStatus }, now: number): Promise<AgentRecord | undefined>;
  /**
   * Takes one of the agent's slots for a task, if it is idle or busy, not unhealthy, has a free slot
   * and does not already hold the task; all checked and written in one statement. Returns the
   * stored record, or undefined when the slot could not be had (a lost race is not an error).
   */
  claimAgentSlot(agentId: string, taskId: string, now: number): Promise<AgentRecord | undefined>;
  /**
   * Gives back a task's slot and keeps the agent's failure streak and health in the store: `success`
   * resets the streak, `failure` adds to it (health from `thresholds`), `lost` (the process running
   * the task died) leaves both alone. Undefined when the agent does not hold the task (or is terminated).
   */
  releaseAgentSlot(agentId: string, taskId: string, outcome: SlotOutcome, thresholds: HealthThresholds, now: number): Promise<{ agent: AgentRecord; previous: Pick<AgentRecord, 'status' | 'health'> } | undefined>;
  getAgent(id: string): Promise<AgentRecord | undefined>;
  findAgentIdsByPrefix(prefix: string, limit: number): Promise<string[]>;
  listAgents(query: AgentQuery): Promise<AgentRecord[]>;
  countAgents(query: Omit<AgentQuery, 'limit' | 'offset' | 'order'>): Promise<number>;

  // Events
  /** Appends events in order; returns their ids. */
  appendEvents(events: readonly NewEvent[]): Promise<number[]>;
  listEvents(query: EventQuery): Promise<StoredEvent[]>;

  // Metrics
  recordMetrics(metrics: readonly MetricSample[]): Promise<void>;
  listMetrics(query: MetricQuery): Promise<MetricSample[]>;
  /** Task outcomes per agent from the metrics table: the selector's track record. */
  agentTrackRecords(agentIds: readonly string[]): Promise<Map<string, AgentTrackRecord>>;

  // Runners: processes that run tasks, with heartbeats, so crash recovery knows who is alive.
  upsertRunner(runner: RunnerRecord): Promise<void>;
  deleteRunner(id: string): Promise<void>;
  listRunners(): Promise<RunnerRecord[]>;
  /** Running tasks held by any of the given runners. */
  listTasksHeldBy(runnerIds: readonly string[]): Promise<TaskRecord[]>;
  /** Ids of runners that hold a running task. */
  listRunnerIdsHoldingTasks(): Promise<string[]>;

  // Agent transcripts: every message of an agent's tool-use loop, per task attempt.
  /** Appends turns in order; returns their ids. The task must exist. */
  appendTurns(turns: readonly NewAgentTurn[]): Promise<number[]>;
  /** A task's turns in the order they were appended, optionally of one attempt only. */
  listTurns(query: { taskId: string; attempt?: number }): Promise<AgentTurn[]>;

  // File journals: what a task's file writes replaced, so that the task can be rolled back.
  /** Stores (or replaces) the task's serialised FileJournal. The task must exist. */
  saveJournal(taskId: string, journal: JsonValue, updatedAt: number): Promise<void>;
  getJournal(taskId: string): Promise<JsonValue | undefined>;
  /** Removes the task's journal; no error when there is none. */
  deleteJournal(taskId: string): Promise<void>;

  // Agent-to-agent messages.
  sendMessage(message: NewAgentMessage): Promise<AgentMessage>;
  /**
   * Unread messages to `agentId`, oldest first, at most `limit`. With `markRead` they are marked read
   * at `readAt` in the same write, so two concurrent readers never both receive one message.
   */
  readInbox(agentId: string, options: InboxOptions): Promise<AgentMessage[]>;

  // API keys: credentials of the REST API. Only a hash of each key is stored.
  insertApiKey(key: StoredApiKey): Promise<void>;
  getApiKey(id: string): Promise<StoredApiKey | undefined>;
  /** Oldest first; revoked keys only with `includeRevoked`. */
  listApiKeys(query: { includeRevoked?: boolean }): Promise<StoredApiKey[]>;
  /** Marks the key revoked at `at`; false when there is no such key or it is already revoked. */
  revokeApiKey(id: string, at: number): Promise<boolean>;
  /** Records when the key was last used. */
  touchApiKey(id: string, at: number): Promise<void>;
  /** Keys that are not revoked. */
  countActiveApiKeys(): Promise<number>;
}

/** What an API key allows; see src/security/roles.ts. */
export type ApiKeyRole = 'admin' | 'operator' | 'viewer';

export interface ApiKeyRecord {
  /** The public part of the key (`colony_<id>_<secret>`), safe to show and log. */
  id: string;
  name: string;
  role: ApiKeyRole;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface StoredApiKey extends ApiKeyRecord {
  /** SHA-256 (hex) of the whole key. */
  hash: string;
}

/** Who speaks in a transcript turn: `tool` holds the results of the assistant's tool calls. */
export type AgentTurnRole = 'system' | 'user' | 'assistant' | 'tool';

export interface NewAgentTurn {
  taskId: string;
  agentId: string | null;
  /** The task attempt (1-based) the turn belongs to. */
  attempt: number;
  /** The model round-trip it belongs to: 0 for the system prompt and the task prompt, then 1, 2, ... */
  turn: number;
  role: AgentTurnRole;
  content: ContentPart[];
  /** Token usage of the model call that produced an assistant turn; null otherwise. */
  usage: TokenUsage | null;
  model: string | null;
  provider: string | null;
  createdAt: number;
}

export interface AgentTurn extends NewAgentTurn {
  id: number;
}

export interface NewAgentMessage {
  fromAgent: string;
  toAgent: string;
  /** The task the sender was working on, if any. */
  taskId: string | null;
  body: string;
  createdAt: number;
}

export interface AgentMessage extends NewAgentMessage {
  id: number;
  readAt: number | null;
}

export interface InboxOptions {
  limit: number;
  markRead?: boolean;
  /** When the messages are marked read (epoch ms); required with `markRead`. */
  readAt?: number;
}

export interface TaskQuery {
  status?: TaskStatus | readonly TaskStatus[];
  type?: string;
  workflowId?: string;
  swarmId?: string;
  parentId?: string;
  assignedAgent?: string;
  limit?: number;
  offset?: number;
  /** Default: creation order. `priority` lists the highest priority first. */
  order?: 'created' | 'created_desc' | 'priority';
}

/** What `patchAgent` may change; the slots (`currentTasks`) change only by claim and release. */
export interface AgentPatch {
  status?: AgentStatus;
  health?: AgentHealth;
  terminatedAt?: number | null;
  resetFailures?: boolean;
}

/** How a task's slot is given back: the agent's work succeeded, failed, or its process died. */
export type SlotOutcome = 'success' | 'failure' | 'lost';

/** Consecutive failures after which an agent is degraded, then unhealthy. */
export interface HealthThresholds {
  degraded: number;
  unhealthy: number;
}

export interface AgentQuery {
  status?: AgentStatus | readonly AgentStatus[];
  type?: string;
  /** Exactly this name (names are not unique). */
  name?: string;
  excludeTerminated?: boolean;
  limit?: number;
  offset?: number;
  /** Default: creation order. */
  order?: 'created' | 'created_desc';
}

export interface NewEvent {
  type: string;
  source: string;
  data: JsonValue;
  correlationId: string | null;
  timestamp: number;
}

export interface EventQuery {
  afterId?: number;
  /** Exact types, or prefixes ending in `.*` (e.g. `task.*`), as the EventBus filter takes them. */
  types?: readonly string[];
  correlationId?: string;
  source?: string;
  limit?: number;
  /** Newest first instead of oldest first. */
  newestFirst?: boolean;
}

export interface MetricSample {
  entityType: string;
  entityId: string;
  name: string;
  value: number;
  metadata: Record<string, JsonValue> | null;
  timestamp: number;
}

export interface MetricQuery {
  entityType?: string;
  entityId?: string;
  name?: string;
  since?: number;
  limit?: number;
}

export interface RunnerRecord {
  id: string;
  pid: number;
  hostname: string;
  /** What kind of process: `run` (a workflow run), `worker`, `server`. */
  kind: string;
  startedAt: number;
  heartbeatAt: number;
}
