import type { Logger } from '../kernel/logger.js';
import { ColonyError } from '../domain/errors.js';
import { providerFailureOf } from '../domain/provider-failure.js';
import type { SwarmErrorInfo, SwarmGitResult, SwarmPlan, SwarmRecord, SwarmResult, SwarmStatus } from '../domain/swarm.js';
import type { PlanDispatch } from './plan-dispatch.js';
import type { PlanTaskTable } from './plan-task-table.js';
import type { StopSignal } from './stop-signal.js';
import type { SwarmBudget } from './swarm-budget.js';
import { SWARM_EVENT_SOURCE, type SwarmPublish } from './swarm-publisher.js';
import type { EventOutbox } from '../ports/event-bus.js';
import type { ColonyEvent } from '../domain/events.js';
import { newEventOf } from '../ports/event-log.js';
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
  /** Where the bus has one: the ending's events are written with the ending's save, then delivered. */
  outbox?: EventOutbox;
  /** Persists the events published before the ending, so that they keep their place before its events. */
  flushEvents: () => Promise<void>;
  /** The swarm's branch and diff (its worktrees removed); undefined when it has no git repository. */
  gitResult: () => Promise<SwarmGitResult | undefined>;
  logger: Logger;
  now: () => number;
  /** Told once the swarm's ending is saved and its agents retired (the `swarmEnded` hooks); must not reject. */
  ended?: (swarm: SwarmRecord) => Promise<void>;
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

  private async finish(status: SwarmStatus, ended: SwarmResult | null, error: SwarmErrorInfo | null): Promise<SwarmRecord> {
    const { record, seats } = this.deps;
    // Before the save: a process killed after it leaves no worktree behind (a finished swarm is not resumed).
    const git = await this.deps.gitResult();
    const result = ended === null || git === undefined ? ended : { ...ended, git };
    const previous = record.swarm.status;
    seats.stopReplacing();
    await this.deps.budget.refresh();
    const finishedAt = this.deps.now();
    const changed: ColonyEvent<'swarm.status_changed'>['data'] | null = previous === status ? null : { swarmId: record.id, status, previous, reason: error?.message ?? null };
    const finished: ColonyEvent<'swarm.finished'>['data'] = { swarmId: record.id, status, partial: result?.partial ?? true, error: error?.message ?? null };
    const saved = { status, result, error, progress: completedShare(this.deps.table.states.values()), finishedAt };
    const outbox = this.deps.outbox;
    if (outbox) {
      // The ending and its events commit together: a process killed right after the save cannot leave
      // a finished swarm that no event reports (no one else would report it: a finished swarm is not resumed).
      await this.deps.flushEvents().catch((err: unknown) => this.deps.logger.warn({ err, swarmId: record.id }, 'swarm: could not write earlier events before its ending'));
      const meta = { id: 0, source: SWARM_EVENT_SOURCE, correlationId: record.id, timestamp: finishedAt };
      const events: ColonyEvent[] = [...(changed ? [{ ...meta, type: 'swarm.status_changed' as const, data: changed }] : []), { ...meta, type: 'swarm.finished' as const, data: finished }];
      await record.save(saved, true, events.map(newEventOf));
      outbox.delivered(events);
    } else {
      await record.save(saved, true);
      if (changed) this.deps.publish('swarm.status_changed', changed);
      this.deps.publish('swarm.finished', finished);
    }
    await seats.retire(status);
    await this.deps.ended?.(record.swarm);
    return record.swarm;
  }
}
