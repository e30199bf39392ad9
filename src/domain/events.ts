import type { AgentHealth, AgentStatus, AgentTypeChoice } from './agent.js';
import type { ByzantineReason, ConsensusStrategy, ProposalStatus } from './consensus.js';
import type { SwarmStatus, SwarmTopology } from './swarm.js';
import type { JsonValue } from './json.js';
import type { TaskErrorInfo, TaskStatus } from './task.js';
import type { WorkflowStatus } from './workflow.js';

/** Every event Colony publishes, named noun then action, with its payload. */
export interface ColonyEventMap {
  'colony.started': { runnerId: string; pid: number };
  'colony.stopped': { runnerId: string; drained: boolean };
  'task.created': { taskId: string; name: string | null; type: string; priority: number; workflowId: string | null; dependencies: string[]; status: TaskStatus };
  /** `takenBy`: the runner that took the task in the same write, as its last dependency completed there (no claim needed). */
  'task.queued': { taskId: string; name: string | null; takenBy?: string };
  'task.started': { taskId: string; name: string | null; type: string; attempt: number; agentId: string | null; runnerId: string };
  'task.completed': { taskId: string; name: string | null; attempt: number; durationMs: number };
  'task.failed': { taskId: string; name: string | null; attempt: number; error: TaskErrorInfo; willRetry: boolean; retryInMs: number | null };
  'task.cancelled': { taskId: string; name: string | null; reason: string; from: TaskStatus };
  'task.retried': { taskId: string; name: string | null; by: 'user' };
  'task.recovered': { taskId: string; name: string | null; deadRunnerId: string | null };
  'task.rolledback': { taskId: string; name: string | null; ok: boolean; error: string | null };
  /** An operator changed a task that had not started: its priority or the agents allowed to run it. */
  'task.revised': { taskId: string; name: string | null; priority: number; agentIds: string[] | null; pool: string | null };
  'agent.spawned': { agentId: string; name: string; type: string; capabilities: string[] };
  'agent.updated': { agentId: string; status: AgentStatus; health: AgentHealth; previous: AgentStatus };
  'agent.assigned': { agentId: string; taskId: string };
  'agent.released': { agentId: string; taskId: string; success: boolean };
  'agent.terminated': { agentId: string; reason: string };
  /** A message of an agent's tool-use loop was recorded (see Store.transcripts.listTurns for the full content). */
  'agent.turn': {
    taskId: string;
    agentId: string | null;
    attempt: number;
    turn: number;
    role: 'user' | 'assistant' | 'tool';
    /** The turn's text (tool results for a `tool` turn), cut to a preview. */
    text: string;
    /** Names of the tools called (assistant turn) or answered (tool turn). */
    toolCalls: string[];
    usage: { inputTokens: number; outputTokens: number } | null;
  };
  'agent.tool_called': { taskId: string; agentId: string | null; turn: number; tool: string; ok: boolean; error?: string };
  /** Streamed model text, coalesced (at most one event per short interval or a few KB). */
  'agent.output': { taskId: string; agentId: string | null; text: string };
  /** One LLM call's token usage; costUsd is null when the model's price is not known. */
  'llm.usage': {
    /** Null for calls a swarm makes itself (planning, review, synthesis): then swarmId says whose. */
    taskId: string | null;
    agentId: string | null;
    provider: string;
    model: string;
    inputTokens: number;
    outputTokens: number;
    costUsd: number | null;
    swarmId?: string;
  };
  /** An MCP server agents take tools from started, stopped or failed in a process (`reason`: why it failed). */
  'mcp_server.state_changed': { server: string; state: 'not_started' | 'starting' | 'running' | 'failed'; reason: string | null; runnerId: string };
  'provider.state_changed': { provider: string; state: 'closed' | 'open' | 'half-open' };
  /**
   * A hook (a configured command at a lifecycle point) ran: `outcome` says how it ended, `blocked`
   * whether that stopped the step it guards. `source` is `colony` or the Claude Code settings file.
   */
  'hook.ran': {
    point: string;
    command: string;
    source: string;
    taskId: string | null;
    swarmId: string | null;
    outcome: 'passed' | 'failed' | 'timed_out' | 'refused';
    exitCode: number | null;
    durationMs: number;
    blocked: boolean;
    /** The end of what it wrote (stderr, then stdout), cut to a preview. */
    output: string;
  };
  'provider.retried': { provider: string; attempt: number; delayMs: number; error: string };
  /**
   * A limit of one process started holding ready work back (`limit.reached`), or stopped (`limit.cleared`):
   * `tasks.concurrency`, a task type's own (`tasks.shellConcurrency`), or a provider's
   * `maxConcurrency` (then `provider` names it). `value` is the limit's setting.
   */
  'limit.reached': { limit: string; value: number; runnerId: string; provider: string | null };
  'limit.cleared': { limit: string; value: number; runnerId: string; provider: string | null };
  'workflow.started': { workflowId: string; name: string; tasks: number; resumed: boolean };
  'workflow.finished': { workflowId: string; name: string; status: WorkflowStatus; counts: Record<string, number> };
  /** A memory entry was written (the value itself is not in the event: read it from memory). */
  'memory.stored': { namespace: string; key: string; version: number };
  'memory.deleted': { namespace: string; key: string };
  /** The memory GC removed expired entries (the store reports how many, not which). */
  'memory.expired': { count: number };
  'swarm.created': { swarmId: string; name: string; topology: SwarmTopology; objective: string };
  'swarm.planned': { swarmId: string; tasks: number; source: 'llm' | 'user'; attempts: number; domains: string[] };
  /** A plan task was handed to the task engine, for the agents allowed to run it. */
  /**
   * `pool`: the route's pool (a distributed swarm's label); `workerPool`: the worker pool (`colony
   * worker --pool`) the task was left to, or null when no live runner served `pool` then (any runner takes it).
   */
  /** A plan task that named no agent type got one (by the adaptive selector, the only candidate, or the fallback). */
  'swarm.agent_type_chosen': { swarmId: string; planTaskId: string } & AgentTypeChoice;
  'swarm.task_dispatched': { swarmId: string; planTaskId: string; taskId: string; agentIds: string[]; pool: string | null; workerPool: string | null };
  /** The leader (queen, manager) or the peers judged a task's result. */
  'swarm.task_reviewed': { swarmId: string; planTaskId: string; taskId: string; verdict: 'accept' | 'revise' | 'replan'; feedback: string; by: string };
  'swarm.replanned': { swarmId: string; added: string[]; by: string };
  /** A plan task's commit was merged into the swarm's branch (`resolvedBy`: the task that resolved its conflict). */
  'swarm.task_merged': { swarmId: string; planTaskId: string; commit: string; head: string; resolvedBy: string | null };
  /** A plan task's commit conflicts with the swarm's branch: `resolvedBy` is the task sent to resolve it, null when none is (the conflict stands). */
  'swarm.merge_conflicted': { swarmId: string; planTaskId: string; commit: string; files: string[]; resolvedBy: string | null };
  /** The coordinating agent changed: the old one failed or was terminated, a successor took over. */
  'swarm.leader_changed': { swarmId: string; previous: string | null; next: string; reason: string };
  'swarm.progress': { swarmId: string; progress: number; counts: Record<string, number>; usage: { inputTokens: number; outputTokens: number; costUsd: number | null } };
  'swarm.status_changed': { swarmId: string; status: SwarmStatus; previous: SwarmStatus; reason: string | null };
  'swarm.finished': { swarmId: string; status: SwarmStatus; partial: boolean; error: string | null };
  'consensus.proposed': { proposalId: string; question: string; options: string[]; strategy: ConsensusStrategy; voters: number; swarmId: string | null; taskId: string | null };
  'vote.cast': { proposalId: string; round: number; voterId: string; decision: string; confidence: number; counted: boolean };
  /** A voter cast no vote this round: its model provider failed, it gave no valid vote, or its time ran out. */
  'vote.abstained': { proposalId: string; round: number; voterId: string; reason: string; provider: string | null };
  /** A voter was caught signing badly or twice (equivocation): excluded from the tally and flagged. */
  'voter.flagged': { proposalId: string; round: number; voterId: string; reason: ByzantineReason };
  'consensus.round_finished': { proposalId: string; round: number; achieved: boolean; leading: string | null; ratio: number; participation: number; timedOut: boolean };
  'consensus.decided': { proposalId: string; status: ProposalStatus; decision: string | null; ratio: number; rounds: number; reason: string | null };
}

export type ColonyEventType = keyof ColonyEventMap;
export const EVENT_TYPES = [
  'colony.started', 'colony.stopped',
  'task.created', 'task.queued', 'task.started', 'task.completed', 'task.failed', 'task.cancelled', 'task.retried', 'task.recovered', 'task.rolledback', 'task.revised',
  'agent.spawned', 'agent.updated', 'agent.assigned', 'agent.released', 'agent.terminated',
  'agent.turn', 'agent.tool_called', 'agent.output', 'llm.usage',
  'provider.state_changed', 'provider.retried', 'mcp_server.state_changed', 'hook.ran',
  'limit.reached', 'limit.cleared',
  'workflow.started', 'workflow.finished',
  'memory.stored', 'memory.deleted', 'memory.expired',
  'swarm.created', 'swarm.planned', 'swarm.agent_type_chosen', 'swarm.task_dispatched', 'swarm.task_reviewed', 'swarm.replanned', 'swarm.task_merged', 'swarm.merge_conflicted', 'swarm.leader_changed',
  'swarm.progress', 'swarm.status_changed', 'swarm.finished',
  'consensus.proposed', 'vote.cast', 'vote.abstained', 'voter.flagged', 'consensus.round_finished', 'consensus.decided',
] as const satisfies readonly ColonyEventType[];

/** One event of the type `T`, with that type's payload. */
export interface ColonyEventOf<T extends ColonyEventType> {
  /**
   * Assigned by the store when persisted; increases within one database, but not by one (gaps are
   * normal) and, with several writers, not in commit order (see `Store.events.list`).
   */
  id: number;
  type: T;
  /** The component that published it, e.g. `task-engine` or `agent-manager`. */
  source: string;
  data: ColonyEventMap[T];
  /** Ties together events of one unit of work: a workflow id, a swarm id, or a task id. */
  correlationId: string | null;
  timestamp: number;
}

/**
 * An event of one of the types `T` (default: any), as a union discriminated by `type`: checking
 * `event.type` narrows `event.data` to that type's payload, with no cast.
 */
export type ColonyEvent<T extends ColonyEventType = ColonyEventType> = T extends ColonyEventType ? ColonyEventOf<T> : never;

/** An event as stored, before the domain type is known (for reading back from the store). */
export interface StoredEvent {
  id: number;
  type: string;
  source: string;
  data: JsonValue;
  correlationId: string | null;
  timestamp: number;
}
