import type { AgentHealth, AgentRecord, AgentStatus } from '../domain/agent.js';

/**
 * The AgentStore port. Several processes share the agents: every change is one atomic statement on
 * the stored record (never a write of a whole record read earlier), so that no slot, status or health
 * is lost. Conformance: `test/conformance/agent-store.ts`.
 */
export interface AgentStore {
  /**
   * Inserts an agent; with `maxActive`, only while fewer agents than that are not terminated, checked
   * in the same statement (processes spawning at once never overshoot the pool). Returns whether it did.
   */
  insert(agent: AgentRecord, bound?: { maxActive: number }): Promise<boolean>;
  /**
   * Changes status, health or termination time, compare-and-set on the stored status; never once it
   * is terminated. Setting `idle` on an agent that holds tasks stores `busy`. `resetFailures` clears
   * the failure streak. Returns the stored record, or undefined if the status had moved on.
   */
  patch(id: string, patch: AgentPatch, expected: { status: AgentStatus }, now: number): Promise<AgentRecord | undefined>;
  /**
   * Takes one of the agent's slots for a task, if it is idle or busy, not unhealthy, has a free slot
   * and does not already hold the task; all checked and written in one statement. Returns the
   * stored record, or undefined when the slot could not be had (a lost race is not an error).
   */
  claimSlot(agentId: string, taskId: string, now: number): Promise<AgentRecord | undefined>;
  /**
   * Gives back a task's slot and keeps the agent's failure streak and health in the store: `success`
   * resets the streak, `failure` adds to it (health from `thresholds`), `lost` (the process running
   * the task died) leaves both alone. Undefined when the agent does not hold the task (or is terminated).
   */
  releaseSlot(
    agentId: string,
    taskId: string,
    outcome: SlotOutcome,
    thresholds: HealthThresholds,
    now: number,
  ): Promise<{ agent: AgentRecord; previous: Pick<AgentRecord, 'status' | 'health'> } | undefined>;
  get(id: string): Promise<AgentRecord | undefined>;
  /**
   * The agents that could take a task now, as `claimSlot` judges them (idle or busy, not unhealthy, a
   * slot free), in creation order; with `ids` or `type`, only those. The read behind every assignment,
   * so it returns the few agents with room rather than the whole pool; the records are to be read, not
   * changed (an adapter may hand out the same ones again while the agents are unchanged).
   */
  listFree(filter: FreeAgentFilter): Promise<AgentRecord[]>;
  findIdsByPrefix(prefix: string, limit: number): Promise<string[]>;
  list(query: AgentQuery): Promise<AgentRecord[]>;
  count(query: Omit<AgentQuery, 'limit' | 'offset' | 'order'>): Promise<number>;
}

/** What `patch` may change; the slots (`currentTasks`) change only by claim and release. */
export interface AgentPatch {
  status?: AgentStatus;
  health?: AgentHealth;
  terminatedAt?: number | null;
  resetFailures?: boolean;
}

/** Which free agents `listFree` returns; absent fields: any. */
export interface FreeAgentFilter {
  /** Only these agents (a task pinned to a pool of agents). */
  ids?: readonly string[];
  type?: string;
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
