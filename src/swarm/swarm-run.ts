import type { AgentManager } from '../agents/agent-manager.js';
import type { EventBus } from '../core/event-bus.js';
import type { Logger } from '../core/logger.js';
import type { AgentRecord, AgentTypeDefinition } from '../domain/agent.js';
import { CancelledError, ColonyError, ExecutionError, ProviderError } from '../domain/errors.js';
import { providerFailureOf } from '../domain/provider-failure.js';
import type { ColonyEvent } from '../domain/events.js';
import type { JsonValue } from '../domain/json.js';
import {
  isSwarmFinished,
  type PlanTask,
  type PlanTaskReview,
  type SwarmErrorInfo,
  type SwarmPlan,
  type SwarmRecord,
  type SwarmResult,
  type SwarmStatus,
  type SwarmTaskOutcome,
} from '../domain/swarm.js';
import { isTerminal, type TaskRecord } from '../domain/task.js';
import type { TokenUsage } from '../ports/provider.js';
import type { SwarmCallUsage } from '../ports/model-call-ledger.js';
import type { IdKind } from '../domain/ids.js';
import { isBudgetRefusal, meteredForSwarm } from '../providers/metered-provider.js';
import type { Store } from '../ports/store.js';
import { estimateCostUsd } from '../providers/pricing.js';
import { InvalidModelOutputError } from '../providers/structured-output.js';
import { cancelUnlessFinished } from './cancel-task.js';
import type { ProviderChoice } from '../providers/provider-registry.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import type { LeaderContext } from './leader-calls.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';
import { candidateTypes, COORDINATION_TYPES, deriveRoster } from './roster.js';
import type { SwarmTaskState } from './swarm-task-state.js';
import { reviewsByTask, withReview } from './plan-reviews.js';
import { completedShare, partialSummary, resultText, workerPrompt } from './worker-task.js';
import type { Route, SwarmRunContext, TaskOutcome, TopologyStrategy } from './topologies/topology.js';

export interface SwarmRunDeps {
  store: Store;
  events: EventBus;
  agents: AgentManager;
  tasks: TaskEngine;
  logger: Logger;
  provider(id: string | null, model: string | null): Promise<ProviderChoice>;
  /** Adaptive selection of an agent type for a kind of task. */
  chooseType(candidates: readonly string[], kind: string): Promise<string>;
  /** Puts a question to agents (mesh review); accepted or not, and the dissenters' reasons. */
  /** Voters' model calls are recorded as llm.usage events of the reviewed task, so the budget sees them. */
  vote(input: { swarmId: string; question: string; context: string; voterIds: string[]; taskId: string | null; provider: string | null; model: string | null }): Promise<{ accepted: boolean; reasons: string[] }>;
  runnerId: string;
  newId: (kind: IdKind) => string;
  now: () => number;
}

const SOURCE = 'swarm';
/** Engine retries for a worker task before the plan task counts as failed. */
const WORKER_MAX_RETRIES = 1;

type StopCode = 'budget_exhausted' | 'deadline_exceeded' | 'stopped';

class StopSignal extends Error {
  readonly code: StopCode;
  constructor(code: StopCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * One swarm's coordination in this process, from plan to result: dispatches ready plan tasks to
 * the task engine pinned to the agents the topology routes them to, reviews finished ones through
 * the topology, keeps the budget and deadline, replaces failed leaders, and aggregates. All state
 * that matters is persisted (the swarm record and its engine tasks), so another process can resume
 * the swarm where this one stopped.
 */
export class SwarmRun {
  private swarm: SwarmRecord;
  private readonly deps: SwarmRunDeps;
  private readonly strategy: TopologyStrategy;
  private readonly abort = new AbortController();
  private readonly states = new Map<string, SwarmTaskState>();
  private readonly inflight = new Map<string, string>();
  /** Every engine task this run dispatched: their model usage counts against the budget. */
  private readonly dispatched = new Set<string>();
  /** Dispatched tasks that events say have finished, not yet collected. */
  private readonly finishedHint = new Set<string>();
  private lastFullCheck = 0;
  private lastSync = 0;
  private controlPoked = false;
  private lastProgress = '';
  private lastProgressSave = 0;
  /** Reviews in progress, and the first one that failed (it fails the swarm). */
  private readonly reviews = new Set<Promise<void>>();
  private reviewError: unknown = undefined;
  /** Workers being replaced right now. */
  private replacing = 0;
  /** The swarm is ending: its agents are being retired, not replaced. */
  private finishing = false;
  private readonly seats = new Map<string, string>();
  private readonly groups = new Map<string, string>();
  private workerIds: string[] = [];
  private agentCache = new Map<string, AgentRecord>();
  private plan: SwarmPlan | null;
  private wake: (() => void) | null = null;
  private stopRequest: StopSignal | null = null;
  private unsubscribe: (() => void) | null = null;
  private typeCache: Map<string, AgentTypeDefinition> | null = null;
  private seatLock: Promise<unknown> = Promise.resolve();
  /** Saves of the plan, one after another (see savePlan). */
  private planWrites: Promise<unknown> = Promise.resolve();
  readonly done: Promise<SwarmRecord>;

  constructor(swarm: SwarmRecord, strategy: TopologyStrategy, deps: SwarmRunDeps) {
    this.swarm = swarm;
    this.strategy = strategy;
    this.deps = deps;
    this.plan = swarm.plan;
    this.done = this.run();
  }

  get id(): string {
    return this.swarm.id;
  }

  /** Ends the swarm now: unfinished tasks are cancelled and what finished is kept. */
  requestStop(reason: string): void {
    this.stopRequest ??= new StopSignal('stopped', reason);
    this.poke();
  }

  /** Leaves the swarm as it is for another process to resume (this one is shutting down). */
  detach(): void {
    this.abort.abort(new CancelledError('the coordinating process is stopping'));
    this.poke();
  }

  /** Something changed the swarm record here (pause, resume): re-read it at once. */
  controlChanged(): void {
    this.controlPoked = true;
    this.poke();
  }

  poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  // ---- the run ----

  private async run(): Promise<SwarmRecord> {
    this.unsubscribe = this.subscribe();
    try {
      await this.restore();
      if (this.plan === null) {
        await this.waitWhilePaused();
        this.plan = await this.strategy.plan(this.context(), SWARM_DEFAULTS.maxPlanTasks);
        await this.save({ plan: this.plan, agentIds: this.allAgentIds() });
        this.deps.events.publish(
          'swarm.planned',
          { swarmId: this.id, tasks: this.plan.tasks.length, source: 'llm', attempts: 1, domains: (this.plan.domains ?? []).map((d) => d.name) },
          this.meta(),
        );
      } else if (this.workerIds.length === 0) {
        await this.strategy.staff(this.context(), this.plan);
        await this.save({ agentIds: this.allAgentIds() });
        if (this.swarm.config.planSource === 'user') {
          this.deps.events.publish('swarm.planned', { swarmId: this.id, tasks: this.plan.tasks.length, source: 'user', attempts: 0, domains: [] }, this.meta());
        }
      }
      for (const task of this.plan.tasks) if (!this.states.has(task.id)) this.states.set(task.id, { status: 'waiting', taskId: null, revisions: 0, lost: 0, feedback: null, text: '', result: null, route: null });
      if (this.swarm.status === 'planning') await this.setStatus('running', null);
      await this.loop();
      return await this.finishNormally();
    } catch (error) {
      if (this.abort.signal.aborted && !(error instanceof StopSignal)) return this.swarm;
      if (error instanceof StopSignal) return this.finishStopped(error);
      return this.finishFailed(error);
    } finally {
      this.unsubscribe?.();
      // Reviews still running after the end (a stop) have nothing left to decide.
      if (!this.abort.signal.aborted) this.abort.abort(new CancelledError('the swarm has ended'));
    }
  }

  private async loop(): Promise<void> {
    for (;;) {
      this.checkAbort();
      await this.syncControl();
      await this.collectFinished();
      await this.checkLimits();
      // The plan is read anew each time: a re-plan adds tasks to it.
      if (this.swarm.status !== 'paused') await this.dispatchReady(this.plan as SwarmPlan);
      if (this.reviewError !== undefined) throw this.reviewError;
      if (this.reviews.size === 0 && [...this.states.values()].every((s) => s.status === 'done' || s.status === 'failed' || s.status === 'skipped')) return;
      await this.sleep(SWARM_DEFAULTS.pollMs);
    }
  }

  /** Re-reads the swarm: pause, resume or stop may have come from another process or the API. */
  private async syncControl(): Promise<void> {
    if (this.stopRequest) throw this.stopRequest;
    // Between polls only a local control call (which pokes) can have changed the record.
    if (!this.controlPoked && this.deps.now() - this.lastSync < SWARM_DEFAULTS.pollMs) return;
    this.controlPoked = false;
    this.lastSync = this.deps.now();
    const latest = await this.deps.store.swarms.get(this.id);
    if (!latest) throw new StopSignal('stopped', 'the swarm was deleted');
    if (latest.status === 'stopped' && this.swarm.status !== 'stopped') {
      this.swarm = latest;
      throw new StopSignal('stopped', latest.error?.message ?? 'stopped');
    }
    if (latest.status !== this.swarm.status && (latest.status === 'paused' || latest.status === 'running')) this.swarm = latest;
    if (this.stopRequest) throw this.stopRequest;
  }

  private async waitWhilePaused(): Promise<void> {
    for (;;) {
      this.checkAbort();
      await this.syncControl();
      if (this.swarm.status !== 'paused') return;
      await this.sleep(SWARM_DEFAULTS.pollMs);
    }
  }

  private async dispatchReady(plan: SwarmPlan): Promise<void> {
    const limit = this.swarm.config.limits.concurrency;
    const ready: PlanTask[] = [];
    for (const task of plan.tasks) {
      if (this.inflight.size + ready.length >= limit) break;
      const state = this.states.get(task.id);
      if (state?.status !== 'waiting') continue;
      const deps = task.dependsOn.map((d) => this.states.get(d)?.status);
      if (deps.some((s) => s === 'failed' || s === 'skipped')) {
        state.status = 'skipped';
        state.text = 'skipped: a task it depends on failed';
        continue;
      }
      if (deps.every((s) => s === 'done')) ready.push(task);
    }
    // Workers being replaced: wait for them rather than route to nobody.
    if (ready.length === 0 || this.replacing > 0) return;
    const specs = ready.map((task) => {
      const state = this.states.get(task.id) as SwarmTaskState;
      const route = this.route(task);
      state.route = route;
      const depResults = task.dependsOn.map((d) => ({ id: d, title: plan.tasks.find((t) => t.id === d)?.title ?? d, text: this.states.get(d)?.text ?? '' }));
      return {
        type: 'agent',
        // Named after the plan task: a dispatch again gets the same name, and the newest engine task of
        // a name is the current one (which is how restore() maps a resumed swarm's tasks to its plan).
        name: task.id,
        description: task.title,
        maxRetries: WORKER_MAX_RETRIES,
        input: {
          prompt: workerPrompt({ objective: this.swarm.objective, task, dependencies: depResults, feedback: state.feedback, peers: this.strategy.topology === 'mesh' ? this.peerList() : null }),
          ...(task.agentType === undefined ? {} : { agentType: task.agentType }),
          ...(this.swarm.config.provider === null ? {} : { provider: this.swarm.config.provider }),
          ...(this.swarm.config.model === null ? {} : { model: this.swarm.config.model }),
          ...(task.kind === undefined ? {} : { kind: task.kind }),
        },
        requirements: { agentIds: route.agentIds },
      };
    });
    const created = await this.deps.tasks.submit(specs, { swarmId: this.id });
    created.forEach((record, index) => {
      const task = ready[index] as PlanTask;
      const state = this.states.get(task.id) as SwarmTaskState;
      state.status = 'dispatched';
      state.taskId = record.id;
      this.inflight.set(record.id, task.id);
      this.dispatched.add(record.id);
      this.deps.events.publish(
        'swarm.task_dispatched',
        { swarmId: this.id, planTaskId: task.id, taskId: record.id, agentIds: state.route?.agentIds ?? [], pool: state.route?.pool ?? null },
        this.meta(),
      );
    });
  }

  private route(task: PlanTask): Route {
    const route = this.strategy.route(this.context(), task);
    if (route.agentIds.length === 0) throw new ExecutionError(`no live worker can take task ${task.id}`, { retryable: false });
    return route;
  }

  /** Reviews and records the plan tasks whose engine task has finished. */
  private async collectFinished(): Promise<void> {
    if (this.inflight.size === 0) return;
    // Events say which tasks finished in this process; a full look every poll catches the ones
    // other processes finished.
    const full = this.deps.now() - this.lastFullCheck >= SWARM_DEFAULTS.pollMs;
    if (full) this.lastFullCheck = this.deps.now();
    const candidates = full ? [...this.inflight] : [...this.finishedHint].filter((id) => this.inflight.has(id)).map((id) => [id, this.inflight.get(id) as string] as const);
    this.finishedHint.clear();
    for (const [taskId, planTaskId] of candidates) {
      const task = await this.deps.store.getTask(taskId);
      if (!task || !isTerminal(task.status)) continue;
      this.inflight.delete(taskId);
      await this.onTaskFinished(planTaskId, task);
    }
    await this.reportProgress();
  }

  private async onTaskFinished(planTaskId: string, task: TaskRecord): Promise<void> {
    const plan = this.plan as SwarmPlan;
    const planTask = plan.tasks.find((t) => t.id === planTaskId) as PlanTask;
    const state = this.states.get(planTaskId) as SwarmTaskState;
    const ok = task.status === 'completed';
    // Its agent was terminated under it: not the task's fault, so it goes again (boundedly).
    if (!ok && task.error?.code === 'cancelled' && !this.stopRequest && state.lost < SWARM_DEFAULTS.maxLostAgentRedispatches) {
      const agent = task.assignedAgent === null ? undefined : await this.deps.store.getAgent(task.assignedAgent);
      if (agent?.status === 'terminated') {
        state.lost += 1;
        state.status = 'waiting';
        return;
      }
    }
    state.result = ok ? task.result : null;
    state.text = ok ? resultText(task.result) : `failed: ${task.error?.message ?? task.status}`;
    if (task.status === 'cancelled' && this.stopRequest) {
      state.status = 'failed';
      return;
    }
    const outcome: TaskOutcome = { task: planTask, taskId: task.id, agentId: task.assignedAgent, status: ok ? 'done' : 'failed', text: state.text };
    // Reviews run beside dispatching: a slow reviewer holds up only the tasks that depend on this one.
    state.status = 'reviewing';
    const review = this.review(planTaskId, task, outcome, ok)
      .catch((error: unknown) => {
        this.reviewError ??= error;
      })
      .finally(() => {
        this.reviews.delete(review);
        this.poke();
      });
    this.reviews.add(review);
  }

  private async review(planTaskId: string, task: TaskRecord, outcome: TaskOutcome, ok: boolean): Promise<void> {
    const state = this.states.get(planTaskId) as SwarmTaskState;
    const verdict = await this.strategy.review(this.context(), outcome, new Set((this.plan as SwarmPlan).tasks.map((t) => t.id)));
    if (state.status !== 'reviewing') return; // the swarm stopped meanwhile
    const by = this.strategy.leaderSeat?.seat ?? 'peers';
    const judged = verdict.verdict !== 'accept' || this.swarm.config.review;
    if (judged) {
      this.deps.events.publish('swarm.task_reviewed', { swarmId: this.id, planTaskId, taskId: task.id, verdict: verdict.verdict, feedback: verdict.feedback, by }, this.meta());
    }
    const next: PlanTaskReview['outcome'] = verdict.verdict === 'revise' && state.revisions < this.swarm.config.maxRevisions ? 'waiting' : ok ? 'done' : 'failed';
    const replanned = next !== 'waiting' && verdict.verdict === 'replan' && verdict.newTasks !== undefined && verdict.newTasks.length > 0;
    let added: PlanTask[] = [];
    if (replanned) {
      // Checked against the plan as it is now: another review may have added tasks meanwhile.
      const plan = this.plan as SwarmPlan;
      const planned = new Set(plan.tasks.map((t) => t.id));
      added = (verdict.newTasks ?? []).filter((t) => !planned.has(t.id)).map((t) => ({ ...t, dependsOn: t.dependsOn ?? [] }));
      this.plan = { ...plan, tasks: [...plan.tasks, ...added] };
      for (const t of added) this.states.set(t.id, { status: 'waiting', taskId: null, revisions: 0, lost: 0, feedback: null, text: '', result: null, route: null });
    }
    // Recorded (with the tasks it added) before it takes effect: a process that resumes the swarm
    // applies it rather than judging the result again.
    if (judged) this.plan = withReview(this.plan as SwarmPlan, { planTaskId, taskId: task.id, verdict: verdict.verdict, feedback: verdict.feedback, by, outcome: next, at: this.deps.now() });
    if (judged || replanned) await this.savePlan();
    if (replanned) this.deps.events.publish('swarm.replanned', { swarmId: this.id, added: added.map((t) => t.id), by }, this.meta());
    if (state.status !== 'reviewing') return;
    if (next === 'waiting') {
      state.revisions += 1;
      state.feedback = verdict.feedback;
    }
    state.status = next;
  }

  private async reportProgress(): Promise<void> {
    const counts: Record<string, number> = { waiting: 0, dispatched: 0, reviewing: 0, done: 0, failed: 0, skipped: 0 };
    for (const s of this.states.values()) counts[s.status] = (counts[s.status] ?? 0) + 1;
    // Reported when a task ends, however it ends; progress itself counts only completed work.
    const ended = `${counts.done}/${counts.failed}/${counts.skipped}/${this.states.size}`;
    if (ended === this.lastProgress) return;
    this.lastProgress = ended;
    const progress = completedShare(this.states.values());
    // Persisted at most every progressSaveMs (the record carries the whole plan); the end saves it anyway.
    if (this.deps.now() - this.lastProgressSave >= SWARM_DEFAULTS.progressSaveMs) {
      this.lastProgressSave = this.deps.now();
      await this.save({ progress });
    }
    this.deps.events.publish('swarm.progress', { swarmId: this.id, progress, counts, usage: this.usageSummary() }, this.meta());
  }

  /**
   * The swarm's usage from the ModelCallLedger: every call of every process (workers elsewhere,
   * voters, this process before a crash). A call whose process died counts at its reservation, as
   * input tokens: what it really used is unknown, and at most that.
   */
  private async refreshUsage(): Promise<SwarmCallUsage> {
    const used = await this.deps.store.modelCalls.swarmUsage(this.id);
    this.swarm = {
      ...this.swarm,
      usage: { calls: used.calls + used.lostCalls, inputTokens: used.inputTokens + used.lostTokens, outputTokens: used.outputTokens, costUsd: used.costUsd },
    };
    return used;
  }

  private async budgetMessage(): Promise<string> {
    await this.refreshUsage();
    const { limits } = this.swarm.config;
    const usage = this.swarm.usage;
    if (limits.maxTokens !== null) return `token budget exhausted: ${usage.inputTokens + usage.outputTokens} of ${limits.maxTokens} tokens used, no room for another call`;
    return `cost budget exhausted: $${(usage.costUsd ?? 0).toFixed(4)} of $${limits.maxCostUsd} spent, no room for another call`;
  }

  private async checkLimits(): Promise<void> {
    const { limits } = this.swarm.config;
    const used = await this.refreshUsage();
    // A call refused for want of budget (in any process): nothing more can be done within it.
    if (used.refusedCalls > 0) throw new StopSignal('budget_exhausted', await this.budgetMessage());
    const usage = this.swarm.usage;
    if (limits.maxTokens !== null && usage.inputTokens + usage.outputTokens >= limits.maxTokens) {
      throw new StopSignal('budget_exhausted', `token budget exhausted: ${usage.inputTokens + usage.outputTokens} of ${limits.maxTokens} tokens used`);
    }
    if (limits.maxCostUsd !== null && usage.costUsd !== null && usage.costUsd >= limits.maxCostUsd) {
      throw new StopSignal('budget_exhausted', `cost budget exhausted: $${usage.costUsd.toFixed(4)} of $${limits.maxCostUsd}`);
    }
    if (limits.deadline !== null && this.deps.now() >= limits.deadline) {
      throw new StopSignal('deadline_exceeded', `deadline passed at ${new Date(limits.deadline).toISOString()}`);
    }
  }

  // ---- endings ----

  private async finishNormally(): Promise<SwarmRecord> {
    const plan = this.plan as SwarmPlan;
    const outcomes = this.outcomes(plan);
    const { summary, domains } = await this.strategy.aggregate(this.context(), outcomes, plan);
    const failed = outcomes.filter((o) => o.status !== 'done');
    const result: SwarmResult = { summary, partial: failed.length > 0, tasks: this.taskOutcomes(plan), ...(domains ? { domains } : {}) };
    if (failed.length === 0) return this.finish('completed', result, null);
    return this.finish('failed', result, { code: 'tasks_failed', message: `${failed.length} of ${outcomes.length} tasks did not complete: ${failed.map((f) => f.task.id).slice(0, 10).join(', ')}` });
  }

  private async finishStopped(stop: StopSignal): Promise<SwarmRecord> {
    for (const taskId of this.inflight.keys()) {
      await this.cancel(taskId, `swarm stopped: ${stop.message}`);
    }
    await this.collectCancelled();
    const plan = this.plan;
    const result: SwarmResult | null =
      plan === null
        ? null
        : {
            summary: partialSummary(stop.message, this.outcomes(plan)),
            partial: true,
            tasks: this.taskOutcomes(plan),
          };
    return this.finish('stopped', result, { code: stop.code, message: stop.message });
  }

  private async finishFailed(error: unknown): Promise<SwarmRecord> {
    const message = error instanceof Error ? error.message : String(error);
    // An expected failure (a model that never planned validly, a provider down) is told, not traced.
    if (error instanceof ColonyError) this.deps.logger.warn({ swarmId: this.id, code: error.code }, `swarm failed: ${message}`);
    else this.deps.logger.error({ err: error, swarmId: this.id }, 'swarm failed');
    for (const taskId of this.inflight.keys()) await this.cancel(taskId, `swarm failed: ${message}`);
    await this.collectCancelled();
    const plan = this.plan;
    const result = plan === null ? null : { summary: partialSummary(message, this.outcomes(plan)), partial: true, tasks: this.taskOutcomes(plan) };
    const code = error instanceof ColonyError ? error.code : 'internal';
    const provider = providerFailureOf(error);
    return this.finish('failed', result, { code, message, ...(provider ? { provider } : {}) });
  }

  /** Cancels a task of the swarm; one that cannot be cancelled is logged, and the swarm still ends. */
  private async cancel(taskId: string, reason: string): Promise<void> {
    try {
      await cancelUnlessFinished(this.deps.tasks, taskId, reason);
    } catch (error) {
      this.deps.logger.warn({ swarmId: this.id, taskId, error: (error as Error).message }, 'could not cancel a task of the swarm');
    }
  }

  /** Records what the cancelled in-flight tasks had (a completion that raced the cancel counts). */
  private async collectCancelled(): Promise<void> {
    for (const [taskId, planTaskId] of [...this.inflight]) {
      const task = await this.deps.store.getTask(taskId);
      const state = this.states.get(planTaskId);
      if (!state) continue;
      if (task?.status === 'completed') {
        state.status = 'done';
        state.result = task.result;
        state.text = resultText(task.result);
      } else {
        state.status = 'failed';
        state.text = 'cancelled when the swarm stopped';
      }
      this.inflight.delete(taskId);
    }
    for (const state of this.states.values()) {
      if (state.status === 'waiting') state.status = 'skipped';
      // Finished, its review cut short by the stop: the result stands.
      if (state.status === 'reviewing') state.status = state.result === null ? 'failed' : 'done';
    }
  }

  private async finish(status: SwarmStatus, result: SwarmResult | null, error: SwarmErrorInfo | null): Promise<SwarmRecord> {
    const previous = this.swarm.status;
    this.finishing = true;
    await this.refreshUsage();
    await this.save({ status, result, error, progress: completedShare(this.states.values()), finishedAt: this.deps.now() }, true);
    await this.retireAgents(status);
    if (previous !== status) this.deps.events.publish('swarm.status_changed', { swarmId: this.id, status, previous, reason: error?.message ?? null }, this.meta());
    this.deps.events.publish('swarm.finished', { swarmId: this.id, status, partial: result?.partial ?? true, error: error?.message ?? null }, this.meta());
    return this.swarm;
  }

  private outcomes(plan: SwarmPlan): TaskOutcome[] {
    return plan.tasks.map((task) => {
      const s = this.states.get(task.id);
      const status = s?.status === 'done' ? 'done' : s?.status === 'failed' ? 'failed' : s?.status === 'skipped' ? 'skipped' : 'cancelled';
      return { task, taskId: s?.taskId ?? null, agentId: null, status, text: s?.text ?? '' };
    });
  }

  private taskOutcomes(plan: SwarmPlan): SwarmTaskOutcome[] {
    return plan.tasks.map((task) => {
      const s = this.states.get(task.id);
      return { planTaskId: task.id, title: task.title, taskId: s?.taskId ?? null, status: s?.status ?? 'waiting', result: (s?.result ?? null) as JsonValue | null };
    });
  }

  // ---- persistence ----

  private async setStatus(status: SwarmStatus, reason: string | null): Promise<void> {
    const previous = this.swarm.status;
    await this.save({ status, ...(status === 'running' && this.swarm.startedAt === null ? { startedAt: this.deps.now() } : {}) });
    this.deps.events.publish('swarm.status_changed', { swarmId: this.id, status, previous, reason }, this.meta());
  }

  /**
   * Writes a change with compare-and-set; when someone else changed the swarm meanwhile (pause,
   * resume, stop), their status wins unless `force` (the run's own ending).
   */
  private async save(patch: Partial<SwarmRecord>, force = false): Promise<void> {
    let change = { ...patch };
    for (let attempt = 0; attempt < 5; attempt++) {
      const next: SwarmRecord = { ...this.swarm, ...change, updatedAt: Math.max(this.deps.now(), this.swarm.updatedAt + 1) };
      if (await this.deps.store.swarms.update(next, { status: this.swarm.status, updatedAt: this.swarm.updatedAt })) {
        this.swarm = next;
        return;
      }
      const latest = await this.deps.store.swarms.get(this.id);
      if (!latest) throw new StopSignal('stopped', 'the swarm was deleted');
      if (isSwarmFinished(latest.status) && !force) throw new StopSignal('stopped', latest.error?.message ?? `the swarm was ${latest.status} elsewhere`);
      // Someone paused or resumed it meanwhile: their status stands unless this is the ending.
      if (!force && change.status !== undefined && latest.status === 'paused') {
        const { status: _dropped, ...rest } = change;
        change = rest;
      }
      this.swarm = { ...this.swarm, status: latest.status, updatedAt: latest.updatedAt };
    }
    throw new ExecutionError(`could not save swarm ${this.id}: it keeps changing`);
  }

  /** Saves the plan as it is when the save runs, after the saves before it: a newer plan is never overwritten by an older one. */
  private savePlan(): Promise<void> {
    const write = this.planWrites.then(() => this.save({ plan: this.plan }));
    this.planWrites = write.catch(() => undefined);
    return write;
  }

  /**
   * Rebuilds the run's state from the store: workers, seats, the plan tasks' engine tasks and the
   * reviews decided of their results.
   */
  private async restore(): Promise<void> {
    for (const agentId of this.swarm.agentIds) {
      const agent = await this.deps.store.getAgent(agentId);
      if (!agent) continue;
      this.agentCache.set(agent.id, agent);
      const config = agent.config as { role?: string; seat?: string; group?: string };
      if (config.role === 'worker' && agent.status !== 'terminated') this.workerIds.push(agent.id);
      if (config.role === 'seat' && config.seat && agent.status !== 'terminated') this.seats.set(config.seat, agent.id);
      if (config.group) this.groups.set(agent.id, config.group);
    }
    if (this.plan === null) return;
    const tasks = await this.deps.store.listTasks({ swarmId: this.id, order: 'created' });
    const planned = new Set(this.plan.tasks.map((t) => t.id));
    const reviews = reviewsByTask(this.plan);
    for (const task of tasks) {
      // Oldest first: a later dispatch of the same plan task replaces the earlier one.
      if (task.name === null || !planned.has(task.name)) continue;
      const previous = this.states.get(task.name);
      const state: SwarmTaskState = {
        status: 'waiting',
        taskId: task.id,
        revisions: previous ? previous.revisions + 1 : 0,
        lost: 0,
        feedback: null,
        text: '',
        result: null,
        route: { agentIds: task.requirements.agentIds ?? [], pool: null },
      };
      if (previous?.taskId) this.inflight.delete(previous.taskId);
      const review = reviews.get(task.id);
      if (!isTerminal(task.status) || review === undefined) {
        // Running, or finished with no review decided (the process died before or during it):
        // collected like a result that just came in, so reviewed now.
        state.status = 'dispatched';
        this.inflight.set(task.id, task.name);
      } else if (review.outcome === 'waiting') {
        // Sent back before the crash, not yet dispatched again.
        state.status = 'waiting';
        state.revisions += 1;
        state.feedback = review.feedback;
      } else if (review.outcome === 'done') {
        state.status = 'done';
        state.result = task.result;
        state.text = resultText(task.result);
      } else {
        state.status = 'failed';
        state.text = `failed: ${task.error?.message ?? task.status}`;
      }
      this.dispatched.add(task.id);
      this.states.set(task.name, state);
    }
  }

  // ---- agents ----

  private allAgentIds(): string[] {
    return [...new Set([...this.seats.values(), ...this.workerIds, ...this.swarm.agentIds])];
  }

  private workers(): AgentRecord[] {
    return this.workerIds.map((id) => this.agentCache.get(id)).filter((a): a is AgentRecord => a !== undefined && a.status !== 'terminated');
  }

  private peerList(): string {
    return this.workers()
      .map((w) => `${w.id} (${w.type})`)
      .join(', ');
  }

  private async spawn(type: string, config: Record<string, unknown>): Promise<AgentRecord> {
    const agent = await this.deps.agents.spawn({ type, config: { swarmId: this.id, ...config } });
    this.agentCache.set(agent.id, agent);
    return agent;
  }

  private async staffFor(plan: SwarmPlan, groups?: readonly { label: string; share: number }[]): Promise<void> {
    if (this.workerIds.length > 0) return;
    const catalog = await this.catalog();
    const seats = Math.max(this.seats.size, this.strategy.leaderSeat ? 1 : 0);
    const roster = await deriveRoster({
      config: this.swarm.config,
      plan,
      groups: groups ?? null,
      maxWorkers: Math.max(1, this.swarm.config.limits.maxAgents - seats),
      knownTypes: new Set(catalog.keys()),
      chooseType: (candidates, kind) => this.deps.chooseType(candidates, kind),
      candidatesFor: (task) => candidateTypes(task, catalog),
    });
    for (const slot of roster.slots) {
      const agent = await this.spawn(slot.type, { role: 'worker', ...(slot.group === null ? {} : { group: slot.group }) });
      this.workerIds.push(agent.id);
      if (slot.group !== null) this.groups.set(agent.id, slot.group);
    }
    // Tasks without a type run as what adaptive selection chose for them.
    for (const [taskId, type] of roster.assignments) {
      const task = plan.tasks.find((t) => t.id === taskId);
      if (task && task.agentType === undefined) task.agentType = type;
    }
    await this.save({ agentIds: this.allAgentIds() });
  }

  /**
   * Runs a model call as the agent in a seat (queen, root, manager, planner, aggregator), spawning
   * it on first use. When the call fails, or the agent was terminated, a successor of the same type
   * takes the seat and the call is made again, up to maxLeaderFailovers times.
   */
  private async asSeat<T>(seat: string, type: string, fn: (ctx: LeaderContext) => Promise<T>): Promise<T> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= SWARM_DEFAULTS.maxLeaderFailovers; attempt++) {
      this.checkAbort();
      const agent = await this.seatAgent(seat, type, attempt === 0 ? null : lastError);
      const choice = await this.deps.provider(this.swarm.config.provider, this.swarm.config.model);
      const agentType = (await this.catalog()).get(agent.type) as AgentTypeDefinition;
      // Every call counts against the swarm's budget in the store, whichever process makes it.
      const provider = await meteredForSwarm(
        choice.provider,
        { swarmId: this.id, taskId: null, agentId: agent.id, runnerId: this.deps.runnerId },
        { store: this.deps.store, newId: () => this.deps.newId('call'), now: this.deps.now },
      );
      try {
        return await fn({
          provider,
          model: choice.model,
          agentType,
          signal: this.abort.signal,
          onUsage: (usage) => this.addUsage(usage, choice.model, agent.id, choice.providerId),
        });
      } catch (error) {
        // A model that never answers validly, or a provider that refuses the call (a bad key, a bad
        // request), fails the same way for any successor: no use seating one.
        if (isBudgetRefusal(error)) throw new StopSignal('budget_exhausted', await this.budgetMessage());
        if (this.abort.signal.aborted || error instanceof InvalidModelOutputError || (error instanceof ProviderError && !error.retryable)) throw error;
        lastError = error;
        this.deps.logger.warn({ err: error, swarmId: this.id, seat, agentId: agent.id }, 'swarm seat call failed; seating a successor');
        const current = await this.deps.store.getAgent(agent.id);
        if (current && current.status !== 'terminated') await this.deps.agents.terminate(agent.id, `${seat} failed: ${(error as Error).message}`).catch(() => undefined);
      }
    }
    throw new ExecutionError(`the swarm's ${seat} failed ${SWARM_DEFAULTS.maxLeaderFailovers + 1} times; last error: ${(lastError as Error)?.message}`, { retryable: false, cause: lastError });
  }

  /** The seat's live agent, or a newly spawned successor (serialised: one successor per vacancy). */
  private seatAgent(seat: string, type: string, cause: unknown): Promise<AgentRecord> {
    const run = this.seatLock.then(async () => {
      const currentId = this.seats.get(seat);
      if (currentId) {
        const current = await this.deps.store.getAgent(currentId);
        if (current && current.status !== 'terminated') return current;
      }
      const successor = await this.spawn(type, { role: 'seat', seat });
      this.seats.set(seat, successor.id);
      const isLeader = this.strategy.leaderSeat?.seat === seat;
      const patch: Partial<SwarmRecord> = { agentIds: this.allAgentIds(), ...(isLeader ? { leaderAgentId: successor.id } : {}) };
      await this.save(patch);
      if (currentId) {
        const reason = cause instanceof Error ? cause.message : 'the agent was terminated';
        this.deps.events.publish('swarm.leader_changed', { swarmId: this.id, previous: currentId, next: successor.id, reason: `${seat}: ${reason}` }, this.meta());
      }
      return successor;
    });
    this.seatLock = run.catch(() => undefined);
    return run;
  }

  /** The swarm's agents end with it, freeing their places in the pool. */
  private async retireAgents(status: SwarmStatus): Promise<void> {
    for (const agentId of this.allAgentIds()) {
      const agent = await this.deps.store.getAgent(agentId);
      if (!agent || agent.status === 'terminated') continue;
      await this.deps.agents.terminate(agentId, `swarm ${this.id} ${status}`).catch((error: unknown) => {
        this.deps.logger.warn({ swarmId: this.id, agentId, error: (error as Error).message }, 'could not terminate a swarm agent');
      });
    }
  }

  /** An agent of this swarm was terminated: seats are refilled at once, workers replaced. */
  private async onAgentTerminated(agentId: string): Promise<void> {
    const cached = this.agentCache.get(agentId);
    if (!cached || this.finishing) return;
    this.agentCache.set(agentId, { ...cached, status: 'terminated' });
    for (const [seat, id] of this.seats) {
      if (id !== agentId) continue;
      await this.seatAgent(seat, cached.type, new Error('the agent was terminated'));
    }
    if (this.workerIds.includes(agentId)) {
      this.replacing += 1;
      try {
        const group = this.groups.get(agentId) ?? null;
        const replacement = await this.spawn(cached.type, { role: 'worker', ...(group === null ? {} : { group }) });
        this.workerIds = [...this.workerIds.filter((id) => id !== agentId), replacement.id];
        if (group !== null) this.groups.set(replacement.id, group);
        await this.save({ agentIds: this.allAgentIds() });
        await this.redispatchOrphans();
      } finally {
        this.replacing -= 1;
        this.poke();
      }
    }
  }

  /** Tasks pinned only to terminated agents would wait forever: cancel and dispatch them again. */
  private async redispatchOrphans(): Promise<void> {
    const live = new Set(this.workers().map((w) => w.id));
    for (const [taskId, planTaskId] of [...this.inflight]) {
      const state = this.states.get(planTaskId);
      if (!state?.route || state.route.agentIds.some((id) => live.has(id))) continue;
      const task = await this.deps.store.getTask(taskId);
      if (!task || isTerminal(task.status)) continue;
      await this.cancel(taskId, 'its agents were terminated; dispatched again');
      this.inflight.delete(taskId);
      state.revisions += 1;
      state.status = 'waiting';
    }
  }

  // ---- usage ----

  /** Announces a seat's call; what it used is in the ModelCallLedger already (see refreshUsage). */
  private addUsage(usage: TokenUsage, model: string, agentId: string | null, provider: string): void {
    const cost = estimateCostUsd(model, usage);
    this.deps.events.publish(
      'llm.usage',
      { taskId: null, agentId, provider, model, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, costUsd: cost, swarmId: this.id },
      this.meta(),
    );
  }

  private usageSummary(): { inputTokens: number; outputTokens: number; costUsd: number | null } {
    const { inputTokens, outputTokens, costUsd } = this.swarm.usage;
    return { inputTokens, outputTokens, costUsd };
  }

  private subscribe(): () => void {
    const off = this.deps.events.subscribe({ types: ['llm.usage', 'task.completed', 'task.failed', 'task.cancelled', 'agent.terminated'] }, (event: ColonyEvent) => {
      if (event.type === 'agent.terminated') {
        const agentId = (event.data as { agentId: string }).agentId;
        if (this.agentCache.has(agentId)) {
          this.onAgentTerminated(agentId).catch((error: unknown) => this.deps.logger.warn({ err: error, swarmId: this.id }, 'could not replace a terminated agent'));
        }
        return;
      }
      const data = event.data as { taskId: string | null };
      if (data.taskId === null || !this.dispatched.has(data.taskId)) return;
      if (event.type !== 'llm.usage') this.finishedHint.add(data.taskId);
      this.poke();
    });
    return () => off.unsubscribe();
  }

  // ---- context for strategies ----

  private context(): SwarmRunContext {
    return {
      swarm: this.swarm,
      signal: this.abort.signal,
      workers: () => this.workers(),
      staffFor: (plan, groups) => this.staffFor(plan, groups),
      groupOf: (agentId) => this.groups.get(agentId) ?? null,
      asSeat: (seat, type, fn) => this.asSeat(seat, type, fn),
      workerTypes: async () =>
        [...(await this.catalog()).values()]
          .filter((t) => !COORDINATION_TYPES.has(t.name))
          .map((t) => ({ name: t.name, description: t.description.slice(0, 160) })),
      knownTypes: async () => new Set((await this.catalog()).keys()),
      inflightByGroup: () => {
        const counts = new Map<string, number>();
        for (const planTaskId of this.inflight.values()) {
          const pool = this.states.get(planTaskId)?.route?.pool;
          if (pool) counts.set(pool, (counts.get(pool) ?? 0) + 1);
        }
        return counts;
      },
      vote: (input) =>
        this.deps.vote({
          ...input,
          swarmId: this.id,
          provider: this.swarm.config.provider,
          model: this.swarm.config.model,
        }),
    };
  }

  private async catalog(): Promise<Map<string, AgentTypeDefinition>> {
    this.typeCache ??= new Map((await this.deps.agents.types()).map((t) => [t.name, t]));
    return this.typeCache;
  }

  private meta(): { source: string; correlationId: string } {
    return { source: SOURCE, correlationId: this.id };
  }

  private checkAbort(): void {
    if (this.abort.signal.aborted) throw this.abort.signal.reason;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
