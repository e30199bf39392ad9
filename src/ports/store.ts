import type { AgentStore } from './agent-store.js';
import type { ApiKeyStore } from './api-key-store.js';
import type { ConsensusStore } from './consensus-store.js';
import type { EventLog } from './event-log.js';
import type { MemoryStore } from './memory-store.js';
import type { MessageStore } from './message-store.js';
import type { MetricStore } from './metric-store.js';
import type { ModelCallLedger } from './model-call-ledger.js';
import type { ProviderCircuitStore } from './provider-circuit-store.js';
import type { RunnerStore } from './runner-store.js';
import type { SwarmStore } from './swarm-store.js';
import type { TaskProcessStore } from './task-process-store.js';
import type { TaskStore } from './task-store.js';
import type { TranscriptStore } from './transcript-store.js';
import type { WorkflowStore } from './workflow-store.js';

/**
 * The Store: Colony's durable state, one port per aggregate, all in one database so that a change
 * spanning two (a task and its agent's slot) can commit as one. Adapters: `adapters/storage/sqlite`
 * (the embedded default) and `adapters/storage/postgres`. Each aggregate port has its conformance
 * suite in `test/conformance/`, run by every adapter.
 *
 * Contract, for every port:
 * - A write's promise resolves only after the write is durable (committed); adapters may group
 *   concurrent writes into one transaction, but never acknowledge a write before its commit.
 * - Conditional updates are compare-and-set, so that several processes sharing one database never
 *   both win the same change; a lost race is normal, never an error.
 * - Reads see every write whose promise has resolved (the event log adds one rule: see EventLog).
 */
export interface Store {
  /** Human-readable description for status output, e.g. the database file path. */
  readonly location: string;
  readonly tasks: TaskStore;
  readonly workflows: WorkflowStore;
  readonly agents: AgentStore;
  readonly events: EventLog;
  readonly metrics: MetricStore;
  readonly runners: RunnerStore;
  /** Agent transcripts and file journals: what a task attempt leaves behind. */
  readonly transcripts: TranscriptStore;
  /** Agent-to-agent messages. */
  readonly messages: MessageStore;
  /** Credentials of the REST API. */
  readonly apiKeys: ApiKeyStore;
  /** Memory's durable tier (L3). */
  readonly memory: MemoryStore;
  readonly swarms: SwarmStore;
  /** Consensus proposals, votes, voter keys and flags. */
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
}

// The aggregates' types, for code that imports them from the Store.
export type { AgentPatch, AgentQuery, HealthThresholds, SlotOutcome } from './agent-store.js';
export type { ApiKeyRecord, ApiKeyRole, StoredApiKey } from './api-key-store.js';
export type { EventQuery, NewEvent } from './event-log.js';
export type { AgentMessage, InboxOptions, NewAgentMessage } from './message-store.js';
export type { MetricQuery, MetricSample } from './metric-store.js';
export type { RunnerRecord, RunnerRegistration } from './runner-store.js';
export type { AgentAssignment, ReadyTaskClaim, TaskExpectation, TaskQuery } from './task-store.js';
export type { AgentTurn, AgentTurnRole, NewAgentTurn } from './transcript-store.js';
