import type { SwarmCallUsage } from '../ports/model-call-ledger.js';
import type { TokenUsage } from '../ports/provider.js';
import type { Store } from '../ports/store.js';
import { estimateCostUsd } from '../providers/pricing.js';
import { StopSignal } from './stop-signal.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';
import type { SwarmPublish } from './swarm-publisher.js';
import type { SwarmRecordKeeper } from './swarm-record.js';

export interface SwarmBudgetDeps {
  store: Store;
  record: SwarmRecordKeeper;
  publish: SwarmPublish;
  now: () => number;
}

/**
 * A swarm's usage and its limits (tokens, cost, deadline). Usage is read from the ModelCallLedger,
 * not counted here, so every process's calls for the swarm count, and so do those of a process that died.
 */
export class SwarmBudget {
  private readonly deps: SwarmBudgetDeps;
  /** When the usage was last read (see check). */
  private lastRefresh = -Infinity;

  constructor(deps: SwarmBudgetDeps) {
    this.deps = deps;
  }

  /**
   * The swarm's usage from the ModelCallLedger: every call of every process (workers elsewhere,
   * voters, this process before a crash). A call whose process died counts at its reservation, as
   * input tokens: what it really used is unknown, and at most that.
   */
  async refresh(): Promise<SwarmCallUsage> {
    this.lastRefresh = this.deps.now();
    const used = await this.deps.store.modelCalls.swarmUsage(this.deps.record.id);
    this.deps.record.noteUsage({ calls: used.calls + used.lostCalls, inputTokens: used.inputTokens + used.lostTokens, outputTokens: used.outputTokens, costUsd: used.costUsd });
    return used;
  }

  /** Why a call was refused for want of budget, with the usage as it is now. */
  async exhaustedMessage(): Promise<string> {
    await this.refresh();
    const { limits } = this.deps.record.swarm.config;
    const usage = this.deps.record.swarm.usage;
    if (limits.maxTokens !== null) return `token budget exhausted: ${usage.inputTokens + usage.outputTokens} of ${limits.maxTokens} tokens used, no room for another call`;
    return `cost budget exhausted: $${(usage.costUsd ?? 0).toFixed(4)} of $${limits.maxCostUsd} spent, no room for another call`;
  }

  /** Throws a StopSignal when the budget is spent or the deadline has passed. */
  async check(): Promise<void> {
    const { limits } = this.deps.record.swarm.config;
    if (limits.maxTokens === null && limits.maxCostUsd === null) {
      // No limit to hold: no call is refused, and the usage is read only to report it, once a poll
      // (the read sums every call of the swarm, and the loop turns once a finished task).
      if (this.deps.now() - this.lastRefresh >= SWARM_DEFAULTS.pollMs) await this.refresh();
      return this.checkDeadline();
    }
    const used = await this.refresh();
    // A call refused for want of budget (in any process): nothing more can be done within it.
    if (used.refusedCalls > 0) throw new StopSignal('budget_exhausted', await this.exhaustedMessage());
    const usage = this.deps.record.swarm.usage;
    if (limits.maxTokens !== null && usage.inputTokens + usage.outputTokens >= limits.maxTokens) {
      throw new StopSignal('budget_exhausted', `token budget exhausted: ${usage.inputTokens + usage.outputTokens} of ${limits.maxTokens} tokens used`);
    }
    if (limits.maxCostUsd !== null && usage.costUsd !== null && usage.costUsd >= limits.maxCostUsd) {
      throw new StopSignal('budget_exhausted', `cost budget exhausted: $${usage.costUsd.toFixed(4)} of $${limits.maxCostUsd}`);
    }
    this.checkDeadline();
  }

  private checkDeadline(): void {
    const { deadline } = this.deps.record.swarm.config.limits;
    if (deadline !== null && this.deps.now() >= deadline) throw new StopSignal('deadline_exceeded', `deadline passed at ${new Date(deadline).toISOString()}`);
  }

  /** Announces a seat's call; what it used is in the ModelCallLedger already (see refresh). */
  announce(usage: TokenUsage, model: string, agentId: string | null, provider: string): void {
    const cost = estimateCostUsd(model, usage);
    this.deps.publish('llm.usage', {
      taskId: null,
      agentId,
      provider,
      model,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      costUsd: cost,
      swarmId: this.deps.record.id,
    });
  }

  /** The usage as last read, for progress reports. */
  summary(): { inputTokens: number; outputTokens: number; costUsd: number | null } {
    const { inputTokens, outputTokens, costUsd } = this.deps.record.swarm.usage;
    return { inputTokens, outputTokens, costUsd };
  }
}
