/**
 * Colony as a library: `createColony(options)` builds the engine; register executors for your task
 * types, submit task DAGs, subscribe to events, spawn agents. The CLI is a thin layer over this API.
 */
// First: on a Node older than 24 this throws "Colony needs Node 24 or later" before anything else runs.
import './kernel/require-supported-node.js';
export { createColony } from './app/create-colony-on-demand.js';
export type { Colony, CreateColonyOptions, StartOptions } from './app/colony.js';
export { loadConfig, configSchema, type ColonyConfig, type ConfigInput } from './app/config.js';
export { DEFAULTS } from './kernel/constants.js';
export type { EventBus, EventFilter, EventHandler, EventMatching, PublishMeta, Subscription } from './ports/event-bus.js';
export type { Span, SpanAttributes, SpanAttributeValue, SpanKind, SpanOptions, TraceIds, Tracer } from './ports/tracer.js';
export * from './domain/errors.js';
export type { ColonyEvent, ColonyEventOf, ColonyEventMap, ColonyEventType, StoredEvent } from './domain/events.js';
export { EVENT_TYPES } from './domain/events.js';
export type { AgentRecord, AgentStatus, AgentHealth, AgentTypeDefinition, AgentTrackRecord } from './domain/agent.js';
export type { TaskRecord, TaskStatus, TaskRequirements, TaskErrorInfo } from './domain/task.js';
export { PRIORITIES, TASK_STATUSES } from './domain/task.js';
export type { WorkflowRecord, WorkflowStatus } from './domain/workflow.js';
export type {
  ByzantineReason,
  ByzantineVoter,
  ConsensusOutcome,
  ConsensusSettings,
  ConsensusStrategy,
  ProposalRecord,
  ProposalStatus,
  RoundTally,
  SignedVote,
  VoteBody,
  VoteRecord,
  VoterFlag,
} from './domain/consensus.js';
export { CONSENSUS_STRATEGIES, PROPOSAL_STATUSES } from './domain/consensus.js';
export type { Ballot, PreviousRound, Voter } from './consensus/ballot.js';
export type { AskOptions, ConsensusService, CustomProposeOptions } from './consensus/consensus-service.js';
export { consensusAskSchema, consensusProposeSchema, type ConsensusAskInput, type ConsensusProposeInput } from './consensus/consensus-input.js';
export { canonicalVote, verifyVote, VoterKeyring } from './consensus/vote-signing.js';
export type { VoteUsage } from './consensus/vote-usage.js';
export type { JsonValue } from './domain/json.js';
export type { Store, TaskQuery, AgentQuery, EventQuery, MetricQuery, MetricSample, AgentTurn, AgentTurnRole, ApiKeyRecord, ApiKeyRole } from './ports/store.js';
export type { StoreHealth } from './app/store-health.js';
export type { MetricLog } from './app/metric-log.js';
export type { TaskTranscript, TaskUsage, TranscriptOptions } from './tasks/task-transcript.js';
export type { WorkflowRuns, WorkflowQuery } from './tasks/workflow-runs.js';
export type { ApiKeys, CreatedApiKey } from './security/api-keys.js';
export type { LiveCircuit } from './providers/live-circuits.js';
export type { McpServers, McpServerState, McpServerStatus, McpToolInfo, McpToolOutput } from './ports/mcp-servers.js';
export { SqliteStore } from './adapters/storage/sqlite/sqlite-store.js';
export type { TaskExecutor, TaskContext, RollbackContext } from './tasks/task-executor.js';
export type { TaskSpecInput } from './tasks/task-spec.js';
export { parseWorkflow, readWorkflowFile, type LoadedWorkflow } from './workflow/workflow-file.js';
export { prepareWorkflowRun, runWorkflow, type WorkflowRunResult } from './workflow/workflow-runner.js';
// Extending Colony in code (docs/library-extensions.md): providers, tools and agent types.
export type {
  Provider,
  CompletionRequest,
  CompletionResponse,
  StreamEvent,
  Message,
  ContentPart,
  TextPart,
  ToolUsePart,
  ToolResultPart,
  ToolSpec,
  TokenUsage,
  StopReason,
  InvalidToolInput,
} from './ports/provider.js';
export { isInvalidToolInput } from './ports/provider.js';
export type { ProviderRegistry, ProviderChoice, RegisterProviderOptions, RegisteredProviderInfo } from './providers/provider-registry.js';
export type { ResilienceOptions, BreakerState } from './providers/resilient-provider.js';
export type { ToolRegistry, CustomToolDefinition, CustomToolContext, CustomToolResult } from './agents/runtime/tools/custom-tools.js';
export type { ToolOutput } from './agents/runtime/tools/agent-tool.js';
export type { AgentTypeRegistry } from './agents/catalog/code-agent-types.js';
export type { AgentTypeInput } from './agents/catalog/parse-agent-file.js';
export { fromAiSdk, type AiSdkModelSource, type AiSdkProviderOptions } from './adapters/providers/ai-sdk/ai-sdk-provider.js';
