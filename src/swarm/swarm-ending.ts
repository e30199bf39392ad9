import type { Logger } from '../kernel/logger.js';
import { ColonyError } from '../domain/errors.js';
import { providerFailureOf } from '../domain/provider-failure.js';
import type { SwarmErrorInfo, SwarmPlan, SwarmRecord, SwarmResult, SwarmStatus } from '../domain/swarm.js';
import type { PlanDispatch } from './plan-dispatch.js';
import type { PlanTaskTable } from './plan-task-table.js';
import type { StopSignal } from './stop-signal.js';
import type { SwarmBudget } from './swarm-budget.js';
import type { SwarmPublish } from './swarm-publisher.js';
import type { SwarmRecordKeeper } from './swarm-record.js';
import type { SwarmSeats } from './swarm-seats.js';
import type { SwarmRunContext, TopologyStrategy } from './topologies/topology.js';
import { completedShare, partialSummary } from './worker-task.js';

export interface SwarmEndingDeps {
  record: SwarmRecordKeeper;
  table: PlanTaskTable;
  dispatch: PlanDispatch;
  seats: SwarmSeats;
  budget: SwarmBudget;
  strategy: TopologyStrategy;
  context(): SwarmRunContext;
  publish: SwarmPublish;
  logger: Logger;
  now: () => number;
}

/**
 * The three ways a swarm ends (its plan done, stopped, failed) and what each leaves: a result (whole,
 * or partial with what finished), the final record saved over any concurrent change, its agents retired.
 */
export class SwarmEnding {
  private readonly deps: SwarmEndingDeps;

  constructor(deps: SwarmEndingDeps) {
    this.deps = deps;
  }

  /** Every plan task ended: the topology aggregates, and the swarm completed unless a task did not. */
  async planDone(): Promise<SwarmRecord> {
    const { table } = this.deps;
    const plan = this.deps.record.plan as SwarmPlan;
    const outcomes = table.outcomes(plan);
    const { summary, domains } = await this.deps.strategy.aggregate(this.deps.context(), outcomes, plan);
    const failed = outcomes.filter((o) => o.status !== 'done');
    const result: SwarmResult = { summary, partial: failed.length > 0, tasks: table.taskOutcomes(plan), ...(domains ? { domains } : {}) };
    if (failed.length === 0) return this.finish('completed', result, null);
    const message = `${failed.length} of ${outcomes.length} tasks did not complete: ${failed.map((f) => f.task.id).slice(0, 10).join(', ')}`;
    return this.finish('failed', result, { code: 'tasks_failed', message });
  }

  async stopped(stop: StopSignal): Promise<SwarmRecord> {
    await this.deps.dispatch.cancelInflight(`swarm stopped: ${stop.message}`);
    const plan = this.deps.record.plan;
    const result: SwarmResult | null = plan === null ? null : { summary: partialSummary(stop.message, this.deps.table.outcomes(plan)), partial: true, tasks: this.deps.table.taskOutcomes(plan) };
    return this.finish('stopped', result, { code: stop.code, message: stop.message });
  }

  async failed(error: unknown): Promise<SwarmRecord> {
    const message = error instanceof Error ? error.message : String(error);
    // An expected failure (a model that never planned validly, a provider down) is told, not traced.
    if (error instanceof ColonyError) this.deps.logger.warn({ swarmId: this.deps.record.id, code: error.code }, `swarm failed: ${message}`);
    else this.deps.logger.error({ err: error, swarmId: this.deps.record.id }, 'swarm failed');
    await this.deps.dispatch.cancelInflight(`swarm failed: ${message}`);
    const plan = this.deps.record.plan;
    const result = plan === null ? null : { summary: partialSummary(message, this.deps.table.outcomes(plan)), partial: true, tasks: this.deps.table.taskOutcomes(plan) };
    const code = error instanceof ColonyError ? error.code : 'internal';
    const provider = providerFailureOf(error);
    return this.finish('failed', result, { code, message, ...(provider ? { provider } : {}) });
  }

  private async finish(status: SwarmStatus, result: SwarmResult | null, error: SwarmErrorInfo | null): Promise<SwarmRecord> {
    const { record, seats } = this.deps;
    const previous = record.swarm.status;
    seats.stopReplacing();
    await this.deps.budget.refresh();
    await record.save({ status, result, error, progress: completedShare(this.deps.table.states.values()), finishedAt: this.deps.now() }, true);
    await seats.retire(status);
    if (previous !== status) this.deps.publish('swarm.status_changed', { swarmId: record.id, status, previous, reason: error?.message ?? null });
    this.deps.publish('swarm.finished', { swarmId: record.id, status, partial: result?.partial ?? true, error: error?.message ?? null });
    return record.swarm;
  }
}
