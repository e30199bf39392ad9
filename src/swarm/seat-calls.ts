import type { AgentManager } from '../agents/agent-manager.js';
import type { Logger } from '../kernel/logger.js';
import type { AgentTypeDefinition } from '../domain/agent.js';
import { ExecutionError, ProviderError } from '../domain/errors.js';
import type { IdKind } from '../domain/ids.js';
import type { Store } from '../ports/store.js';
import { isBudgetRefusal, meteredForSwarm } from '../providers/metered-provider.js';
import type { ProviderChoice } from '../providers/provider-registry.js';
import { InvalidModelOutputError } from '../providers/structured-output.js';
import type { LeaderContext } from './leader-calls.js';
import { StopSignal } from './stop-signal.js';
import type { SwarmBudget } from './swarm-budget.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';
import type { SwarmRecordKeeper } from './swarm-record.js';
import type { SwarmSeats } from './swarm-seats.js';

export interface SeatCallsDeps {
  store: Store;
  agents: AgentManager;
  logger: Logger;
  record: SwarmRecordKeeper;
  seats: SwarmSeats;
  budget: SwarmBudget;
  provider(id: string | null, model: string | null): Promise<ProviderChoice>;
  /** Aborted when the run ends or lets go of the swarm: calls in progress stop. */
  signal: AbortSignal;
  runnerId: string;
  newId: (kind: IdKind) => string;
  now: () => number;
}

/**
 * Model calls made as the agent in a seat (queen, root, manager, planner, aggregator). A seat whose
 * agent fails must not end the swarm: a successor takes the seat and the call is made again. Every
 * call is metered against the swarm's budget in the store, whichever process makes it.
 */
export class SeatCalls {
  private readonly deps: SeatCallsDeps;

  constructor(deps: SeatCallsDeps) {
    this.deps = deps;
  }

  /**
   * Runs a model call as the agent in a seat, spawning it on first use. When the call fails, or the
   * agent was terminated, a successor of the same type takes the seat and the call is made again, up
   * to maxLeaderFailovers times.
   */
  async asSeat<T>(seat: string, type: string, fn: (ctx: LeaderContext) => Promise<T>): Promise<T> {
    const { signal } = this.deps;
    let lastError: unknown;
    for (let attempt = 0; attempt <= SWARM_DEFAULTS.maxLeaderFailovers; attempt++) {
      if (signal.aborted) throw signal.reason;
      const agent = await this.deps.seats.seatAgent(seat, type, attempt === 0 ? null : lastError);
      const { config } = this.deps.record.swarm;
      const choice = await this.deps.provider(config.provider, config.model);
      const agentType = (await this.deps.seats.catalog()).get(agent.type) as AgentTypeDefinition;
      const provider = await meteredForSwarm(
        choice.provider,
        { swarmId: this.deps.record.id, taskId: null, agentId: agent.id, runnerId: this.deps.runnerId },
        { store: this.deps.store, newId: () => this.deps.newId('call'), now: this.deps.now },
      );
      try {
        const result = await fn({
          provider,
          model: choice.model,
          agentType,
          signal,
          onUsage: (usage) => this.deps.budget.announce(usage, choice.model, agent.id, choice.providerId),
        });
        // The call's usage is in the ledger before the swarm goes on: the usage the swarm reads next
        // (the final one, after the aggregator's call) counts it.
        await provider.closed();
        return result;
      } catch (error) {
        // A model that never answers validly, or a provider that refuses the call (a bad key, a bad
        // request), fails the same way for any successor: no use seating one.
        if (isBudgetRefusal(error)) throw new StopSignal('budget_exhausted', await this.deps.budget.exhaustedMessage());
        if (signal.aborted || error instanceof InvalidModelOutputError || (error instanceof ProviderError && !error.retryable)) throw error;
        lastError = error;
        this.deps.logger.warn({ err: error, swarmId: this.deps.record.id, seat, agentId: agent.id }, 'swarm seat call failed; seating a successor');
        const current = await this.deps.store.agents.get(agent.id);
        if (current && current.status !== 'terminated') await this.deps.agents.terminate(agent.id, `${seat} failed: ${(error as Error).message}`).catch(() => undefined);
      }
    }
    throw new ExecutionError(`the swarm's ${seat} failed ${SWARM_DEFAULTS.maxLeaderFailovers + 1} times; last error: ${(lastError as Error)?.message}`, { retryable: false, cause: lastError });
  }
}
