import type { AgentManager } from '../agents/agent-manager.js';
import type { Tracer } from '../ports/tracer.js';
import type { EventBus } from '../ports/event-bus.js';
import type { Logger } from '../kernel/logger.js';
import { CancelledError, isTransientStorageError, type ColonyError } from '../domain/errors.js';
import type { IdKind } from '../domain/ids.js';
import type { SwarmPlan, SwarmRecord, SwarmStatus } from '../domain/swarm.js';
import type { Store } from '../ports/store.js';
import type { ProviderChoice } from '../providers/provider-registry.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import { PlanDispatch } from './plan-dispatch.js';
import { PlanTaskTable } from './plan-task-table.js';
import { PokeableSleep } from './pokeable-sleep.js';
import { ResultReview } from './result-review.js';
import { SeatCalls } from './seat-calls.js';
import { StopSignal } from './stop-signal.js';
import { strategyContext } from './strategy-context.js';
import { SwarmBudget } from './swarm-budget.js';
import { SwarmControl } from './swarm-control.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';
import { SwarmEnding } from './swarm-ending.js';
import { SwarmProgress } from './swarm-progress.js';
import { swarmPublisher, type SwarmPublish } from './swarm-publisher.js';
import { SwarmRecordKeeper } from './swarm-record.js';
import { SwarmSeats } from './swarm-seats.js';
import { SwarmWorktrees } from './swarm-worktrees.js';
import type { Git } from '../ports/git.js';
import type { SwarmRunContext, TopologyStrategy } from './topologies/topology.js';
import type { AgentTypeChoice } from '../domain/agent.js';

export interface SwarmRunDeps {
  store: Store;
  events: EventBus;
  agents: AgentManager;
  tasks: TaskEngine;
  logger: Logger;
  provider(id: string | null, model: string | null): Promise<ProviderChoice>;
  /** Adaptive selection of an agent type for a kind of task, with what it was chosen from. */
  chooseType(candidates: readonly string[], kind: string): Promise<AgentTypeChoice>;
  /**
   * Puts a question to agents (mesh review); accepted or not, and the dissenters' reasons. Voters'
   * model calls are recorded as llm.usage events of the reviewed task, so the budget sees them.
   */
  vote(input: { swarmId: string; question: string; context: string; voterIds: string[]; taskId: string | null; provider: string | null; model: string | null }): Promise<{ accepted: boolean; reasons: string[] }>;
  runnerId: string;
  /** The worker pools (`colony worker --pool`) some live process serves now: a distributed swarm's pools use them. */
  servedPools(): Promise<ReadonlySet<string>>;
  newId: (kind: IdKind) => string;
  now: () => number;
  /** The swarm's coordination here is a span in the trace of the request that created the swarm. */
  tracer?: Tracer;
  /** Told once a swarm ended, in the process that ended it (the `swarmEnded` hooks); must not reject. */
  swarmEnded?: (swarm: SwarmRecord) => Promise<void>;
  /** Git, for swarms whose workspace is a repository (absent: they share the workspace). */
  git?: Git;
}

/**
 * One swarm's coordination in this process, from plan to result: the run loop, and the wiring of its
 * parts (dispatch, review, seats, budget, persistence). All state that matters is persisted (the
 * swarm record and its engine tasks), so another process can resume the swarm where this one stopped.
 */
export class SwarmRun {
  private readonly deps: SwarmRunDeps;
  private readonly strategy: TopologyStrategy;
  private readonly abort = new AbortController();
  private readonly sleeper = new PokeableSleep();
  private readonly table = new PlanTaskTable();
  private readonly publish: SwarmPublish;
  private readonly record: SwarmRecordKeeper;
  private readonly control: SwarmControl;
  private readonly budget: SwarmBudget;
  private readonly seats: SwarmSeats;
  private readonly seatCalls: SeatCalls;
  private readonly dispatch: PlanDispatch;
  private readonly worktrees: SwarmWorktrees;
  private readonly review: ResultReview;
  private readonly progress: SwarmProgress;
  private readonly ending: SwarmEnding;
  private unsubscribe: (() => void) | null = null;
  readonly done: Promise<SwarmRecord>;

  constructor(swarm: SwarmRecord, strategy: TopologyStrategy, deps: SwarmRunDeps) {
    this.strategy = strategy;
    this.deps = deps;
    const { store, agents, logger, now } = deps;
    const { table, abort } = this;
    const poke = (): void => this.poke();
    const context = (): SwarmRunContext => this.context();
    const publish = (this.publish = swarmPublisher(deps.events, swarm.id));
    const record = (this.record = new SwarmRecordKeeper(swarm, { store, now }));
    this.control = new SwarmControl({ record, now });
    const budget = (this.budget = new SwarmBudget({ store, record, publish, now }));
    const chooseType = (candidates: readonly string[], kind: string): Promise<AgentTypeChoice> => deps.chooseType(candidates, kind);
    const redispatchOrphans = (live: ReadonlySet<string>): Promise<void> => this.dispatch.redispatchOrphans(live);
    const seats = (this.seats = new SwarmSeats({ store, agents, logger, record, publish, leaderSeat: strategy.leaderSeat, chooseType, redispatchOrphans, poke }));
    const provider = (id: string | null, model: string | null): Promise<ProviderChoice> => deps.provider(id, model);
    this.seatCalls = new SeatCalls({ store, agents, logger, record, seats, budget, provider, signal: abort.signal, runnerId: deps.runnerId, newId: deps.newId, now });
    const worktrees = (this.worktrees = new SwarmWorktrees({
      ...(deps.git === undefined ? {} : { git: deps.git }),
      store,
      tasks: deps.tasks,
      record,
      table,
      publish,
      logger,
      route: (task) => strategy.route(context(), task),
      traceParent: () => this.traceParent,
    }));
    const dispatch = (this.dispatch = new PlanDispatch({
      store,
      tasks: deps.tasks,
      logger,
      publish,
      record,
      table,
      now,
      route: (task) => strategy.route(context(), task),
      peers: () => (strategy.topology === 'mesh' ? seats.peerList() : null),
      replacingWorkers: () => seats.isReplacingWorkers(),
      servedPools: () => deps.servedPools(),
      traceParent: () => this.traceParent,
      landed: (planTaskId) => worktrees.landed(planTaskId),
      worktreeFor: (task) => worktrees.worktreeFor(task),
    }));
    this.review = new ResultReview({ store, record, table, strategy, context, publish, now, stopRequested: () => this.control.stopRequested(), poke });
    this.progress = new SwarmProgress({ record, table, budget, publish, now });
    this.ending = new SwarmEnding({
      record,
      table,
      dispatch,
      seats,
      budget,
      strategy,
      context,
      publish,
      ...(deps.events.outbox ? { outbox: deps.events.outbox } : {}),
      flushEvents: () => deps.events.flush(),
      gitResult: () => worktrees.finish(),
      logger,
      now,
      ...(deps.swarmEnded ? { ended: deps.swarmEnded } : {}),
    });
    this.done = this.traced();
  }

  get id(): string {
    return this.record.id;
  }

  /** Ends the swarm now: unfinished tasks are cancelled and what finished is kept. */
  requestStop(reason: string): void {
    this.control.requestStop(reason);
    this.poke();
  }

  /** Leaves the swarm as it is for another process to resume (this one is shutting down). */
  detach(): void {
    this.abort.abort(new CancelledError('the coordinating process is stopping'));
    this.poke();
  }

  /** Something changed the swarm record here (pause, resume): re-read it at once. */
  controlChanged(): void {
    this.control.changed();
    this.poke();
  }

  poke(): void {
    this.sleeper.poke();
  }

  /** The traceparent of this run's span: the swarm's tasks are traced under it. */
  private traceParent: string | null = null;

  /** The run inside a span, the child of the span that created the swarm (in whichever process). */
  private traced(): Promise<SwarmRecord> {
    const tracer = this.deps.tracer;
    if (tracer === undefined || !tracer.enabled) return this.run();
    const swarm = this.record.swarm;
    const span = tracer.startSpan(`swarm ${swarm.topology}`, {
      parent: swarm.config.traceParent ?? null,
      attributes: { 'colony.swarm.id': swarm.id, 'colony.swarm.name': swarm.name, 'colony.swarm.topology': swarm.topology },
    });
    return tracer.withSpan(span, () => {
      this.traceParent = tracer.currentTraceParent();
      return this.run();
    }).then(
      (record) => {
        span.setAttributes({ 'colony.swarm.status': record.status });
        if (record.status === 'failed') span.fail(new Error(record.error?.message ?? 'swarm failed'));
        span.end();
        return record;
      },
      (error: unknown) => {
        span.fail(error);
        span.end();
        throw error;
      },
    );
  }

  private async run(): Promise<SwarmRecord> {
    this.unsubscribe = this.subscribe();
    try {
      await this.restore();
      if (this.record.plan === null) {
        await this.waitWhilePaused();
        const plan = await this.strategy.plan(this.context(), SWARM_DEFAULTS.maxPlanTasks);
        this.record.plan = plan;
        await this.record.save({ plan, agentIds: this.seats.allAgentIds() });
        this.publish('swarm.planned', { swarmId: this.id, tasks: plan.tasks.length, source: 'llm', attempts: 1, domains: (plan.domains ?? []).map((d) => d.name) });
      } else if (!this.seats.hasWorkers()) {
        const plan = this.record.plan;
        await this.strategy.staff(this.context(), plan);
        await this.record.save({ agentIds: this.seats.allAgentIds() });
        if (this.record.swarm.config.planSource === 'user') {
          this.publish('swarm.planned', { swarmId: this.id, tasks: plan.tasks.length, source: 'user', attempts: 0, domains: [] });
        }
      }
      this.table.addWaiting((this.record.plan as SwarmPlan).tasks);
      if (this.record.swarm.status === 'planning') await this.setStatus('running', null);
      await this.loop();
      return await this.ending.planDone();
    } catch (error) {
      if (this.abort.signal.aborted && !(error instanceof StopSignal)) return this.record.swarm;
      try {
        if (error instanceof StopSignal) return await this.ending.stopped(error);
        if (isTransientStorageError(error)) return this.leave(error);
        return await this.ending.failed(error);
      } catch (ending) {
        if (isTransientStorageError(ending)) return this.leave(ending);
        throw ending;
      }
    } finally {
      this.unsubscribe?.();
      // Reviews still running after the end (a stop) have nothing left to decide.
      if (!this.abort.signal.aborted) this.abort.abort(new CancelledError('the swarm has ended'));
    }
  }

  private async loop(): Promise<void> {
    for (;;) {
      this.checkAbort();
      await this.control.sync();
      if (await this.dispatch.collectFinished((planTaskId, task) => this.review.onTaskFinished(planTaskId, task))) await this.progress.report();
      await this.budget.check();
      // Done tasks' commits land in the swarm's branch before their dependents are dispatched from it.
      await this.worktrees.mergeDone();
      // The plan is read anew each time: a re-plan adds tasks to it.
      if (this.record.swarm.status !== 'paused') await this.dispatch.dispatchReady(this.record.plan as SwarmPlan);
      this.review.throwIfFailed();
      if (this.review.idle() && this.table.allEnded() && this.worktrees.settled()) return;
      await this.sleeper.sleep(SWARM_DEFAULTS.pollMs);
    }
  }

  /**
   * The store did not answer (a database restart): not the swarm's fault, and nothing to end it with.
   * It is left as stored, still this process's, for the coordinator's next scan to resume from the
   * store, as it resumes a swarm whose process died.
   */
  private leave(error: ColonyError): SwarmRecord {
    this.deps.logger.warn({ err: error, swarmId: this.id }, 'swarm: the store did not answer; resuming it from the store shortly');
    return this.record.swarm;
  }

  private async waitWhilePaused(): Promise<void> {
    for (;;) {
      this.checkAbort();
      await this.control.sync();
      if (this.record.swarm.status !== 'paused') return;
      await this.sleeper.sleep(SWARM_DEFAULTS.pollMs);
    }
  }

  /**
   * Rebuilds the run's state from the store: workers, seats, the plan tasks' engine tasks and the
   * reviews decided of their results.
   */
  private async restore(): Promise<void> {
    await this.seats.restore(this.record.swarm.agentIds);
    if (this.record.plan === null) return;
    const tasks = await this.deps.store.tasks.list({ swarmId: this.id, order: 'created' });
    this.table.restore(this.record.plan, tasks);
  }

  private async setStatus(status: SwarmStatus, reason: string | null): Promise<void> {
    const previous = this.record.swarm.status;
    await this.record.save({ status, ...(status === 'running' && this.record.swarm.startedAt === null ? { startedAt: this.deps.now() } : {}) });
    this.publish('swarm.status_changed', { swarmId: this.id, status, previous, reason });
  }

  /** Events are hints that wake the loop early; the store stays the truth, polled anyway. */
  private subscribe(): () => void {
    const off = this.deps.events.subscribe({ types: ['llm.usage', 'task.completed', 'task.failed', 'task.cancelled', 'agent.terminated'] }, (event) => {
      if (event.type === 'agent.terminated') {
        const { agentId } = event.data;
        if (this.seats.knows(agentId)) {
          this.seats.onAgentTerminated(agentId).catch((error: unknown) => this.deps.logger.warn({ err: error, swarmId: this.id }, 'could not replace a terminated agent'));
        }
        return;
      }
      const { taskId } = event.data;
      if (taskId === null || !this.dispatch.owns(taskId)) return;
      if (event.type !== 'llm.usage') this.dispatch.hintFinished(taskId);
      this.poke();
    });
    return () => off.unsubscribe();
  }

  private context(): SwarmRunContext {
    const { record } = this;
    return strategyContext({
      record,
      table: this.table,
      seats: this.seats,
      seatCalls: this.seatCalls,
      signal: this.abort.signal,
      vote: (input) => this.deps.vote({ ...input, swarmId: record.id, provider: record.swarm.config.provider, model: record.swarm.config.model }),
    });
  }

  private checkAbort(): void {
    if (this.abort.signal.aborted) throw this.abort.signal.reason;
  }
}
