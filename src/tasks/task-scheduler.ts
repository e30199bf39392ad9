import type { Logger } from '../kernel/logger.js';
import type { RunnerRegistry } from '../kernel/runner-registry.js';
import { CancelledError } from '../domain/errors.js';
import { isTerminal, type TaskRecord } from '../domain/task.js';
import type { EventBus } from '../ports/event-bus.js';
import type { Store } from '../ports/store.js';
import type { TaskQueue, TaskScope } from '../ports/task-queue.js';
import { DeadRunnerRecovery } from './dead-runner-recovery.js';
import { DependencyResults } from './dependency-results.js';
import { DependentsProbe } from './dependents-probe.js';
import type { OrphanedProcessReaper } from './orphaned-process-reaper.js';
import type { RetryPolicy } from './retry-policy.js';
import { needsAgent } from './agent-availability.js';
import { TaskClaims, type StartableTask, type TaskAgents } from './task-claim.js';
import { TaskDependencies } from './task-dependencies.js';
import { TaskDiscovery } from './task-discovery.js';
import type { TaskExecutor } from './task-executor.js';
import { TaskOutcomes } from './task-outcome.js';
import { RunningTask, runAttempt, type TaskRunDeps } from './task-run.js';
import { SlotHolders } from './slot-holders.js';
import { TaskScopeFilter } from './task-scope-filter.js';
import type { Tracer } from '../ports/tracer.js';
import { TaskSlots, type LimitChange } from './task-slots.js';
import { TASK_EVENT_SOURCE, type TaskTransitions } from './task-transitions.js';

export interface SchedulerDeps {
  store: Store;
  transitions: TaskTransitions;
  events: EventBus;
  /** Where ready tasks are claimed from, and what wakes this runner when there may be some. */
  queue: TaskQueue;
  agents: TaskAgents;
  runners: RunnerRegistry;
  /** Ends the process groups dead runners' tasks left running on this host, before those tasks run again. */
  orphans: OrphanedProcessReaper;
  executors: ReadonlyMap<string, TaskExecutor>;
  logger: Logger;
  workspace: string;
  concurrency: number;
  defaultTimeoutMs: number;
  retry: RetryPolicy;
  /** How often the store is reconciled with what other processes did. */
  pollIntervalMs: number;
  now: () => number;
  random: () => number;
  /** Each attempt is a span (see task-run). */
  tracer: Tracer;
}

/**
 * Which tasks `start` runs; absent fields: every task this process has an executor for. The pools are
 * the runner's own (`createColony({ pools })`), not a caller's choice.
 */
export type SchedulerScope = Omit<TaskScope, 'pools'>;

/**
 * Runs ready tasks under a concurrency limit: claims them from the TaskQueue in batches, takes each
 * one's agent, runs its executor with a timeout, then records the outcome (completion, retry with
 * backoff, or failure with rollback and its dependents cancelled). The pieces live beside it: claims
 * (`task-claim`), the attempt (`task-run`), outcomes (`task-outcome`), dependency tracking
 * (`task-dependencies`), and reconciliation with other processes (`task-discovery`,
 * `dead-runner-recovery`). This class keeps the loop and the wiring.
 */
export class TaskScheduler {
  private readonly deps: SchedulerDeps;
  private readonly dependencies: TaskDependencies;
  private readonly claims: TaskClaims;
  private readonly outcomes: TaskOutcomes;
  private readonly dependents: DependentsProbe;
  private readonly results: DependencyResults;
  private readonly runDeps: TaskRunDeps;
  private readonly discovery: TaskDiscovery;
  private readonly slots: TaskSlots;
  private readonly running = new Map<string, RunningTask>();
  /** The attempts holding a slot: being started, or running their executor (not recording their outcome). */
  private readonly holders = new SlotHolders();
  /** Claimed tasks taking their agent, not yet running. */
  private readonly launching = new Map<string, string>();
  private readonly terminalListeners = new Set<(task: TaskRecord) => void>();
  private state: 'stopped' | 'running' | 'draining' = 'stopped';
  private scope = new TaskScopeFilter({}, new Map());
  /** The worker pools this runner serves (its scope's): a task of another pool is never claimed here. */
  private pools: ReadonlySet<string> = new Set();
  /** Slots asked for by the claim in flight (one at a time); a wake meanwhile claims again after it. */
  private claiming = 0;
  private claimAgain = false;
  /**
   * Wake-ups so far, and the count at the last claim that came back short: while they are equal no
   * queued work is known to wait, and a completion may take the dependents it makes ready itself
   * (see `reserve`); otherwise they are queued, for the claim to take work in priority order.
   */
  private wakeUps = 0;
  private shortClaimAt = -1;
  /** True while this process admits tasks it made ready: the queue's wake-up then names their types. */
  private admitting = false;
  private reconcileTimer: NodeJS.Timeout | null = null;
  private reconciling = false;

  constructor(deps: SchedulerDeps) {
    this.deps = deps;
    this.results = new DependencyResults({ store: deps.store });
    this.slots = new TaskSlots({ total: deps.concurrency, executors: deps.executors, onLimit: (change) => this.limitChanged(change) });
    this.runDeps = { ...deps, dependencyResults: (task) => this.results.of(task), knownDependencyResults: (task) => this.results.known(task) };
    this.dependencies = new TaskDependencies({ store: deps.store, promote: (tasks) => this.outcomes.promoteMany(tasks) });
    this.claims = new TaskClaims({
      queue: deps.queue,
      agents: deps.agents,
      transitions: deps.transitions,
      types: () => [...deps.executors.keys()],
      logger: deps.logger,
    });
    this.outcomes = new TaskOutcomes({
      ...deps,
      dependencies: this.dependencies,
      queued: (tasks) => this.admitQueued(tasks),
      stopped: () => this.state === 'stopped',
      settled: (task) => this.settled(task),
      forget: (id) => this.forget(id),
      probeDependents: (id, promoted) => this.dependents.completed(id, promoted),
      results: this.results,
      handOff: {
        runnerId: deps.runners.id,
        reserve: (ready) => this.reserve(ready),
        taken: (tasks) => this.launch(tasks),
        dropped: (ids) => {
          for (const id of ids) this.unlaunch(id);
          this.pump();
        },
      },
    });
    this.dependents = new DependentsProbe({
      store: deps.store,
      promote: (tasks) => this.outcomes.promoteMany(tasks),
      covered: (id) => this.dependencies.waitsOnHeld(id, (dependency) => this.running.has(dependency) || this.launching.has(dependency)),
      logger: deps.logger,
    });
    this.discovery = new TaskDiscovery({
      store: deps.store,
      cascade: deps,
      recovery: new DeadRunnerRecovery(deps),
      runnerId: deps.runners.id,
      track: (tasks) => this.track(tasks),
      promote: (tasks) => this.outcomes.promoteMany(tasks),
      running: () => this.running.values(),
      inHand: (id) => this.claiming > 0 || this.running.has(id) || this.launching.has(id),
    });
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  onTerminal(listener: (task: TaskRecord) => void): () => void {
    this.terminalListeners.add(listener);
    return () => this.terminalListeners.delete(listener);
  }

  async start(given: SchedulerScope): Promise<void> {
    if (this.state !== 'stopped') return;
    // The runner's pools bound every scope: a pooled task is claimed only by a runner of its pool.
    const scope: TaskScope = { ...given, pools: this.deps.runners.pools };
    this.pools = new Set(scope.pools);
    this.scope = new TaskScopeFilter(scope, this.deps.executors);
    this.state = 'running';
    await this.reconcile(true);
    this.deps.queue.open({
      runnerId: this.deps.runners.id,
      scope,
      onReady: () => {
        this.wakeUps++;
        if (!this.admitting) this.slots.wake();
        this.pump();
      },
    });
    this.reconcileTimer = setInterval(() => void this.reconcile(false), this.deps.pollIntervalMs);
    this.reconcileTimer.unref();
  }

  /** Stops claiming work and waits for running tasks; past the timeout, aborts them (they are requeued). */
  async stop(drainTimeoutMs: number): Promise<{ drained: boolean }> {
    if (this.state === 'stopped') return { drained: true };
    if (this.state === 'draining') {
      // A second stop while draining (a second Ctrl-C): stop waiting, abort what still runs.
      for (const r of this.running.values()) r.abort('shutdown', new CancelledError('engine shutting down'));
      return { drained: false };
    }
    this.state = 'draining';
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.deps.queue.close();
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), drainTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      for (const r of this.running.values()) r.abort('shutdown', new CancelledError('engine shutting down'));
      await all();
    }
    // Claims in flight when the drain began are given back as they land.
    while (this.launching.size > 0 || this.claiming > 0) await new Promise((r) => setImmediate(r));
    // Dependents of the last completions are promoted before the store may close.
    await this.dependents.idle();
    await this.dependencies.idle();
    this.state = 'stopped';
    return { drained: !timedOut };
  }

  /** Newly submitted tasks (already persisted) that this scheduler should run. */
  admit(tasks: readonly TaskRecord[]): void {
    this.track(tasks);
  }

  /** A task that changed outside the scheduler (cancelled, retried by the user). */
  async refresh(task: TaskRecord): Promise<void> {
    const running = this.running.get(task.id);
    if (running && task.status === 'cancelled') {
      running.abort('cancel', new CancelledError('cancelled by user'));
      await running.done;
      return;
    }
    if (isTerminal(task.status)) this.forget(task.id);
    else this.track([task]);
  }

  /** An operator revised a task that has not started (priority, requirements): use the new copy. */
  revise(task: TaskRecord): void {
    if (this.running.has(task.id) || this.launching.has(task.id)) return;
    if (task.status === 'pending' && this.dependencies.get(task.id)) this.dependencies.watch([task]);
    if (task.status === 'queued') {
      this.claims.forget(task.id);
      this.admitQueued([task]);
    }
  }

  isLocal(taskId: string): boolean {
    return this.running.has(taskId);
  }

  /** Aborts local tasks of an agent that was terminated; they are retried on another agent. */
  abortAgentTasks(agentId: string): void {
    for (const r of this.running.values()) {
      if (r.task.assignedAgent === agentId) r.abort('agent', new CancelledError(`agent ${agentId} was terminated`));
    }
  }

  /** Follows tasks in scope: pending ones for their dependencies, queued ones through the queue. */
  private track(tasks: readonly TaskRecord[]): void {
    const mine = tasks.filter((t) => this.scope.includes(t) && !this.running.has(t.id) && !this.launching.has(t.id));
    this.dependencies.watch(mine.filter((t) => t.status === 'pending'));
    this.admitQueued(mine.filter((t) => t.status === 'queued'));
  }

  /** Queued tasks to the queue, past the claims' check of their agents; another pool's are no hint of work here. */
  private admitQueued(given: readonly TaskRecord[]): void {
    const tasks = given.filter((t) => this.servesPool(t));
    if (tasks.length === 0) return;
    this.claims.admitted(tasks);
    // The wake-up this admission causes is about these tasks' types: a limited type is claimed on its
    // own only if it is among them (or another wake-up, from elsewhere, says any type may be ready).
    this.slots.hint(tasks.map((t) => t.type));
    this.admitting = true;
    try {
      this.deps.queue.admit(tasks);
    } finally {
      this.admitting = false;
    }
  }

  /** Whether this runner takes a task of the task's pool: unpooled, or one of its own pools. */
  private servesPool(task: TaskRecord): boolean {
    return task.pool === null || this.pools.has(task.pool);
  }

  private forget(id: string): void {
    this.dependencies.forget(id);
    this.claims.forget(id);
  }

  private settled(task: TaskRecord): void {
    this.forget(task.id);
    for (const listener of this.terminalListeners) listener(task);
  }

  /** Claims as many ready tasks as there are free slots (see TaskSlots), one claim in flight at a time. */
  private pump(): void {
    if (this.state !== 'running') return;
    if (this.claiming > 0) {
      this.claimAgain = true;
      return;
    }
    const { free, groups } = this.slots.plan(this.holders.byType, this.claims.types());
    if (groups.length === 0) return;
    this.claimAgain = false;
    this.claiming = free;
    const wakeUps = this.wakeUps;
    void this.claims
      .claimBatch(free, groups)
      .then((claimed) => {
        this.slots.claimedAll(groups, free, claimed);
        if (claimed.length < free) this.shortClaimAt = wakeUps;
        this.launch(claimed);
      })
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'could not claim tasks; will try again'))
      .finally(() => {
        this.claiming = 0;
        if (this.claimAgain) this.pump();
      });
  }

  /**
   * Of the dependents a completion here makes ready, those this runner takes in the completion's write
   * (see DependentHandOff): in scope, needing no agent (an agent is taken after a claim), with a free
   * slot, and only while no queued work is known to wait for one. Each holds its slot as launching.
   */
  private reserve(ready: readonly TaskRecord[]): TaskRecord[] {
    if (this.state !== 'running' || this.shortClaimAt !== this.wakeUps) return [];
    const active = new Map(this.holders.byType);
    let activeTotal = this.holders.total;
    const taken: TaskRecord[] = [];
    for (const task of ready) {
      if (task.notBefore !== null || needsAgent(task.requirements) || !this.servesPool(task)) continue;
      if (!this.scope.includes(task) || this.running.has(task.id) || this.launching.has(task.id)) continue;
      if (!this.slots.mayStart(active, activeTotal, task.type, this.claiming)) continue;
      this.launchingOne(task);
      active.set(task.type, (active.get(task.type) ?? 0) + 1);
      activeTotal++;
      taken.push(task);
    }
    return taken;
  }

  /** A claimed or reserved task being started: it holds a slot from now until its executor is done. */
  private launchingOne(task: TaskRecord): void {
    this.launching.set(task.id, task.type);
    this.holders.hold(task.id, task.type);
  }

  /** A task that will not start here after all (given back, or its hand-off not written): its slot is free. */
  private unlaunch(id: string): void {
    this.launching.delete(id);
    this.holders.release(id);
  }

  /** A limit of this process started or stopped holding ready work back: an event, for status and the live views. */
  private limitChanged({ limit, value, reached }: LimitChange): void {
    const runnerId = this.deps.runners.id;
    if (reached) this.deps.logger.info({ limit, value }, `${limit} (${value}) is holding ready tasks back in this process`);
    this.deps.events.publish(reached ? 'limit.reached' : 'limit.cleared', { limit, value, runnerId, provider: null }, { source: TASK_EVENT_SOURCE, correlationId: runnerId });
  }

  /** A claimed batch: each task's agent, then its attempt. */
  private launch(claimed: readonly TaskRecord[]): void {
    for (const task of claimed) {
      this.launchingOne(task);
      this.dependencies.forget(task.id);
    }
    const landed = (task: TaskRecord, startable: StartableTask | undefined): void => {
      if (startable && this.state !== 'running') {
        // Claimed while the scheduler was being stopped: not started, given back uncounted.
        void this.claims.giveBack(startable).finally(() => this.unlaunch(task.id));
        return;
      }
      // Started, it keeps its slot (see SlotHolders); not started, it gives it back.
      if (startable) {
        this.launching.delete(task.id);
        this.begin(startable);
      } else this.unlaunch(task.id);
      this.pump();
    };
    if (this.state !== 'running') {
      for (const task of claimed) landed(task, { task, agent: null });
      return;
    }
    void this.claims.takeAgents(claimed, landed);
  }

  private begin({ task, agent, recorded }: StartableTask): void {
    const { events, transitions, runners } = this.deps;
    events.publish(
      'task.started',
      { taskId: task.id, name: task.name, type: task.type, attempt: task.attempts, agentId: agent?.id ?? null, runnerId: runners.id },
      { source: TASK_EVENT_SOURCE, correlationId: transitions.correlation(task) },
    );
    const running = new RunningTask(task, agent);
    this.running.set(task.id, running);
    void recorded?.then((ok) => {
      if (ok) return;
      running.changedAtStart = true;
      running.abort('cancel', new CancelledError('the task changed in another process as it started here'));
    });
    running.done = this.attempt(running).finally(() => {
      this.running.delete(task.id);
      this.holders.release(task.id);
      this.pump();
    });
  }

  private async attempt(running: RunningTask): Promise<void> {
    const { task, agent } = running;
    const end = await runAttempt(this.runDeps, running);
    // The slot is free once the executor is done. The outcome's writes, the agent's release and the claim
    // of the next tasks (which the outcome may have made ready) all go out in this turn, so that they
    // commit together: one transaction from one task to the next.
    this.holders.release(task.id);
    const outcome = (end.failure ? this.outcomes.failed(task, end.failure, running.abortKind) : this.outcomes.completed(task, end.result, end.durationMs)).catch(
      (error: unknown) => this.deps.logger.error({ err: error, taskId: task.id }, 'could not record task outcome'),
    );
    const released = !agent
      ? undefined
      : running.changedAtStart
        ? this.claims.releaseLost(agent, task.id)
        : this.claims.releaseAgent(agent, task.id, { success: !end.failure, durationMs: end.durationMs });
    this.pump();
    await outcome;
    await released;
  }

  /** Reconciles with the store; tasks given back for want of an agent are tried again after it. */
  private async reconcile(first: boolean): Promise<void> {
    if (this.reconciling || this.state !== 'running') return;
    this.reconciling = true;
    try {
      await this.discovery.pass(this.scope, first);
      this.claims.reconciled();
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'scheduler reconciliation failed; will try again');
    } finally {
      this.reconciling = false;
    }
  }
}
