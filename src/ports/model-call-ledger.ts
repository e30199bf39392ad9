/**
 * The ModelCallLedger port: every model call any process makes for a swarm, written before the call
 * (with a reservation: the most it can cost) and closed after it (with what it did cost). A swarm's
 * usage and budget are read from here, so they count every process's calls, and a call that was in
 * flight when its process died still counts, at its reservation. Admission against a budget is one
 * guarded insert, so processes calling at once never overshoot it together.
 * Adapters: SQLite (`adapters/storage/sqlite/sqlite-model-call-ledger.ts`).
 * Conformance: `test/support/model-call-ledger-conformance.ts`.
 */
export interface ModelCallLedger {
  /**
   * Records a call about to be made. With a budget, only if the swarm's usage (closed calls at their
   * cost, open and lost ones at their reservation) plus this reservation stays within it, checked in
   * the same statement. Returns whether the call was admitted (and recorded).
   */
  open(call: OpenModelCall, budget?: ModelCallBudget): Promise<boolean>;
  /** A call the budget had no room for: recorded (costing nothing) so that every process sees the budget is spent. */
  refuse(call: OpenModelCall): Promise<void>;
  /** What the call did cost, once it has ended (also when it failed: then usually nothing). */
  close(id: string, usage: ModelCallUsage, at: number): Promise<void>;
  /** Open calls of processes that are gone: they count at their reservation from now on. Returns how many. */
  markLost(runnerIds: readonly string[], at: number): Promise<number>;
  /** A swarm's calls so far, from every process. */
  swarmUsage(swarmId: string): Promise<SwarmCallUsage>;
  /**
   * A swarm's ended calls summed per task, agent, provider and model: what its usage is made of
   * (closed calls at what they used; lost ones count as calls with their reserved cost, as in swarmUsage). Ordered by task, agent, provider, model (nulls first).
   */
  swarmUsageParts(swarmId: string): Promise<SwarmUsagePart[]>;
  /**
   * The budget calls of a swarm are admitted against: the swarm's token and cost limits (nulls when it
   * has none, or there is no such swarm). Read on each task's first call, so it must be cheap: the
   * limits alone, not the swarm's record. Optional while not every adapter has it: without it, the
   * limits are read from the swarm's record.
   */
  swarmBudget?(swarmId: string): Promise<ModelCallBudget>;
  /** Calls per provider and model since `since` (every call when omitted), by every process: for the Studio's providers page. */
  providerUsage(since?: number): Promise<ProviderCallSummary[]>;
}

/** One provider and model's calls, summed: what they used, how long they took, how many failed. */
export interface ProviderCallSummary {
  provider: string;
  model: string;
  /** Calls that ended (successfully or not). */
  calls: number;
  /** Calls that ended having used no tokens: the provider call failed (a failed call is closed with no usage). */
  failed: number;
  openCalls: number;
  lostCalls: number;
  refusedCalls: number;
  inputTokens: number;
  outputTokens: number;
  /** Dollars of the calls whose model's price is known. */
  costUsd: number;
  /** Ended calls whose model's price is unknown (not in costUsd). */
  unpricedCalls: number;
  /** Mean time from start to end of the calls that used tokens; null when there were none. */
  meanLatencyMs: number | null;
  lastCallAt: number | null;
}

export interface OpenModelCall {
  id: string;
  swarmId: string;
  taskId: string | null;
  agentId: string | null;
  /** The process making the call, so that its calls can be marked lost if it dies. */
  runnerId: string | null;
  provider: string;
  model: string;
  /** The most tokens the call can use: the request's input (estimated from above) plus its output cap. */
  reservedTokens: number;
  /** The most it can cost; null when the model's price is unknown. */
  reservedCostUsd: number | null;
  startedAt: number;
}

export interface ModelCallBudget {
  maxTokens: number | null;
  maxCostUsd: number | null;
}

export interface ModelCallUsage {
  inputTokens: number;
  outputTokens: number;
  /** Null when the model's price is unknown. */
  costUsd: number | null;
}

/** The calls of one task by one agent to one model (task and agent are null for a swarm's own calls). */
export interface SwarmUsagePart {
  taskId: string | null;
  agentId: string | null;
  provider: string;
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Summed over the priced calls only; null when none was priced. */
  costUsd: number | null;
  /** Calls whose model had no known price. */
  unpricedCalls: number;
}

export interface SwarmCallUsage {
  /** Calls that ended, with what they used. */
  calls: number;
  inputTokens: number;
  outputTokens: number;
  /** Null once any ended or lost call's price was unknown. */
  costUsd: number | null;
  /** Calls in flight now, and their reservations. */
  openCalls: number;
  openTokens: number;
  /** Calls whose process died before they ended, counted at their reservations. */
  lostCalls: number;
  lostTokens: number;
  /** Calls refused for want of budget: once there is one, the swarm's budget is spent. */
  refusedCalls: number;
}
