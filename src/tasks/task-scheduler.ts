import type { AgentManager } from '../agents/agent-manager.js';
import type { Logger } from '../core/logger.js';
import type { RunnerRegistry } from '../core/runner-registry.js';
import type { AgentRecord } from '../domain/agent.js';
import { MAX_TIMER_MS } from '../domain/bounds.js';
import type { ColonyError} from '../domain/errors.js';
import { CancelledError, ConflictError, TimeoutError, toColonyError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import { isTerminal, type TaskRecord } from '../domain/task.js';
import type { Store } from '../ports/store.js';
import type { OrphanedProcessReaper } from './orphaned-process-reaper.js';
import { ReadyQueue } from './ready-queue.js';
import { retryDelayMs, type RetryPolicy } from './retry-policy.js';
import { cancelDependents } from './task-cascade.js';
import type { TaskExecutor } from './task-executor.js';
import { TASK_EVENT_SOURCE, type TaskTransitions } from './task-transitions.js';

export interface SchedulerOptions {
  store: Store;
  transitions: TaskTransitions;
  agents: AgentManager;
  runners: RunnerRegistry;
  /** Ends the process groups dead runners' tasks left running on this host, before those tasks run again. */
  orphans: OrphanedProcessReaper;
  executors: ReadonlyMap<string, TaskExecutor>;
  logger: Logger;
  workspace: string;
  concurrency: number;
  defaultTimeoutMs: number;
  retry: RetryPolicy;
  pollIntervalMs: number;
  now: () => number;
  random: () => number;
}

export interface SchedulerScope {
  /** Run only this workflow's tasks (a `colony run`); absent: every task this process can execute. */
  workflowId?: string;
  /** Run only these tasks and the subtasks they create (`colony task create --wait`). */
  taskIds?: readonly string[];
  /** Run only this swarm's tasks (a `colony swarm`). */
  swarmId?: string;
}

/** Why a running task's signal was aborted; decides what becomes of the task. */
type AbortKind = 'timeout' | 'cancel' | 'shutdown' | 'agent';

interface Running {
  task: TaskRecord;
  controller: AbortController;
  abortKind: AbortKind | null;
  done: Promise<void>;
}

/** Tasks loaded from the store per poll at most; the rest come on later polls. */
const POLL_BATCH = 1_000;
/** Every how many polls the thorough reconciliation runs (dead runners, dependencies settled elsewhere). */
const RECOVERY_EVERY_POLLS = 4;

/**
 * Runs ready tasks in priority order under a concurrency limit: claims each with a compare-and-set,
 * runs its executor with a timeout, then completes it, retries it with backoff, or fails it (rollback,
 * dependents cancelled). Tasks submitted by other processes, and those of crashed runners, are found
 * by polling the store.
 */
export class TaskScheduler {
  private readonly o: SchedulerOptions;
  private readonly ready = new ReadyQueue();
  private readonly known = new Map<string, TaskRecord>();
  /** Pending task -> its dependencies not yet completed (for tasks this process knows about). */
  private readonly remaining = new Map<string, Set<string>>();
  private readonly dependents = new Map<string, Set<string>>();
  private readonly running = new Map<string, Running>();
  private readonly launching = new Set<string>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private readonly waitingForAgent = new Set<string>();
  private readonly terminalListeners = new Set<(task: TaskRecord) => void>();
  private state: 'stopped' | 'running' | 'draining' = 'stopped';
  private scope: SchedulerScope = {};
  private scopeTasks: Set<string> | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private polling = false;
  /** The last poll found a full page of queued tasks: there may be more in the store. */
  private moreQueued = false;
  private polls = 0;

  constructor(options: SchedulerOptions) {
    this.o = options;
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  get activeCount(): number {
    return this.running.size + this.launching.size;
  }

  onTerminal(listener: (task: TaskRecord) => void): () => void {
    this.terminalListeners.add(listener);
    return () => this.terminalListeners.delete(listener);
  }

  async start(scope: SchedulerScope): Promise<void> {
    if (this.state !== 'stopped') return;
    this.scope = scope;
    this.scopeTasks = scope.taskIds ? new Set(scope.taskIds) : null;
    this.state = 'running';
    await this.poll(true);
    this.pollTimer = setInterval(() => void this.poll(false), this.o.pollIntervalMs);
    this.pollTimer.unref();
  }

  /** Stops claiming work and waits for running tasks; past the timeout, aborts them (they are requeued). */
  async stop(drainTimeoutMs: number): Promise<{ drained: boolean }> {
    if (this.state === 'stopped') return { drained: true };
    if (this.state === 'draining') {
      // A second stop while draining (a second Ctrl-C): stop waiting, abort what still runs.
      for (const r of this.running.values()) this.abort(r, 'shutdown', new CancelledError('engine shutting down'));
      return { drained: false };
    }
    this.state = 'draining';
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const timer of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
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
      for (const r of this.running.values()) this.abort(r, 'shutdown', new CancelledError('engine shutting down'));
      await all();
    }
    while (this.launching.size > 0) await new Promise((r) => setImmediate(r));
    this.state = 'stopped';
    return { drained: !timedOut };
  }

  /** Newly submitted tasks (already persisted) that this scheduler should run. */
  admit(tasks: readonly TaskRecord[]): void {
    for (const task of tasks) this.track(task);
    this.pump();
  }

  /** A task that changed outside the scheduler (cancelled, retried by the user). */
  async refresh(task: TaskRecord): Promise<void> {
    const running = this.running.get(task.id);
    if (running && task.status === 'cancelled') {
      this.abort(running, 'cancel', new CancelledError('cancelled by user'));
      await running.done;
      return;
    }
    if (isTerminal(task.status)) this.forget(task.id);
    else this.track(task);
    this.pump();
  }

  /** An operator revised a task that has not started (priority, requirements): use the new copy. */
  revise(task: TaskRecord): void {
    if (!this.known.has(task.id) || this.running.has(task.id) || this.launching.has(task.id)) return;
    this.known.set(task.id, task);
    this.ready.reprioritize(task.id, task.priority);
    if (this.waitingForAgent.delete(task.id) && task.status === 'queued') this.ready.push(task.id, task.priority);
    this.pump();
  }

    isLocal(taskId: string): boolean {
    return this.running.has(taskId);
  }

  /** Aborts local tasks of an agent that was terminated; they are retried on another agent. */
  abortAgentTasks(agentId: string): void {
    for (const r of this.running.values()) {
      if (r.task.assignedAgent === agentId) this.abort(r, 'agent', new CancelledError(`agent ${agentId} was terminated`));
    }
  }

  private inScope(task: TaskRecord): boolean {
    if (!this.o.executors.has(task.type)) return false;
    if (this.scope.workflowId && task.workflowId !== this.scope.workflowId) return false;
    if (this.scope.swarmId && task.swarmId !== this.scope.swarmId) return false;
    if (this.scopeTasks) {
      if (this.scopeTasks.has(task.id)) return true;
      // A subtask of a task in scope is in scope too (and so are its own subtasks).
      if (task.parentId === null || !this.scopeTasks.has(task.parentId)) return false;
      this.scopeTasks.add(task.id);
    }
    return true;
  }

  private track(task: TaskRecord): void {
    if (!this.inScope(task) || this.running.has(task.id) || this.launching.has(task.id)) return;
    this.known.set(task.id, task);
    if (task.status === 'queued') {
      this.remaining.delete(task.id);
      this.enqueue(task);
    } else if (task.status === 'pending') {
      const open = new Set(task.dependencies.filter((d) => !this.isCompleted(d)));
      this.remaining.set(task.id, open);
      for (const dep of open) {
        let set = this.dependents.get(dep);
        if (!set) this.dependents.set(dep, (set = new Set()));
        set.add(task.id);
      }
      // Dependencies this process has not seen may have completed already: ask the store.
      const unseen = [...open].filter((d) => !this.known.has(d));
      if (unseen.length > 0) void this.checkDependencies(task.id, unseen);
    }
  }

  private async checkDependencies(taskId: string, ids: string[]): Promise<void> {
    const deps = await Promise.all(ids.map((d) => this.o.store.getTask(d)));
    const open = this.remaining.get(taskId);
    if (!open) return;
    for (const dep of deps) if (dep && dep.status === 'completed') open.delete(dep.id);
    const task = this.known.get(taskId);
    if (open.size === 0 && task?.status === 'pending') await this.promote(task);
  }

  /** Completed tasks leave `known`; a dependency that is not known is checked on the next poll. */
  private isCompleted(id: string): boolean {
    const t = this.known.get(id);
    return t !== undefined && t.status === 'completed';
  }

  private forget(id: string): void {
    this.known.delete(id);
    this.remaining.delete(id);
    this.waitingForAgent.delete(id);
    const timer = this.delayed.get(id);
    if (timer) clearTimeout(timer);
    this.delayed.delete(id);
  }

  private enqueue(task: TaskRecord): void {
    const wait = (task.notBefore ?? 0) - this.o.now();
    if (wait > 0) {
      if (this.delayed.has(task.id)) return;
      const timer = setTimeout(() => {
        this.delayed.delete(task.id);
        const current = this.known.get(task.id);
        if (current && current.status === 'queued') {
          this.ready.push(task.id, current.priority);
          this.pump();
        }
      }, wait);
      timer.unref();
      this.delayed.set(task.id, timer);
      return;
    }
    this.ready.push(task.id, task.priority);
  }

  private pump(): void {
    while (this.state === 'running' && this.activeCount < this.o.concurrency) {
      const id = this.ready.pop();
      if (id === undefined) {
        // Out of known work but the store had more: fetch the next page now, not at the next tick.
        if (this.moreQueued && !this.polling) void this.poll(false);
        return;
      }
      const task = this.known.get(id);
      if (!task || task.status !== 'queued') continue;
      this.launching.add(id);
      void this.launch(task).finally(() => {
        this.launching.delete(id);
        this.pump();
      });
    }
  }

  /**
   * Claims the task first, then its agent: a claim lost to another process costs no agent slot and
   * is nobody's failure. When no agent is free after all, the claim is given back (the attempt is
   * not counted) and the task waits for an agent.
   */
  private async launch(task: TaskRecord): Promise<void> {
    let agent: AgentRecord | null = null;
    let claimed: TaskRecord | undefined;
    try {
      const needsAgent = Boolean(task.requirements.agentType || task.requirements.capabilities?.length || task.requirements.agentIds?.length);
      // A cheap read first, so that a task whose agents are all busy is not claimed and given back each pass.
      if (needsAgent && !(await this.o.agents.mayServe(task.requirements))) {
        this.waitingForAgent.add(task.id);
        return;
      }
      const now = this.o.now();
      claimed = await this.o.transitions.apply(task, 'running', { attempts: task.attempts + 1, runnerId: this.o.runners.id, startedAt: now, notBefore: null }, true);
      if (!claimed) {
        // Another process took it, or it was cancelled: forget our copy; the store is the truth.
        this.forget(task.id);
        return;
      }
      if (needsAgent) {
        agent = (await this.o.agents.acquire(task.requirements, task.id)) ?? null;
        if (!agent) {
          const returned = await this.o.transitions.apply(claimed, 'queued', { attempts: task.attempts, runnerId: task.runnerId, startedAt: task.startedAt });
          claimed = undefined;
          if (!returned) return this.forget(task.id);
          this.known.set(task.id, returned);
          this.waitingForAgent.add(task.id);
          return;
        }
        // Recorded before the work starts: crash recovery frees this slot if the process dies.
        const assigned = await this.o.transitions.amend(claimed, { assignedAgent: agent.id });
        if (!assigned) throw new ConflictError(`task ${task.id} changed while its agent was assigned`);
        claimed = assigned;
      }
      this.known.set(task.id, claimed);
      this.o.transitions.events.publish(
        'task.started',
        { taskId: claimed.id, name: claimed.name, type: claimed.type, attempt: claimed.attempts, agentId: agent?.id ?? null, runnerId: this.o.runners.id },
        { source: TASK_EVENT_SOURCE, correlationId: this.o.transitions.correlation(claimed) },
      );
      const entry: Running = { task: claimed, controller: new AbortController(), abortKind: null, done: Promise.resolve() };
      entry.done = this.execute(entry, agent);
      this.running.set(task.id, entry);
      void entry.done.finally(() => {
        this.running.delete(task.id);
        this.pump();
      });
    } catch (error) {
      this.o.logger.error({ err: error, taskId: task.id }, 'could not start task');
      // Not the agent's failure: its slot is given back without an outcome.
      if (agent) await this.o.agents.releaseLost(agent.id, task.id).catch(() => undefined);
      this.forget(task.id);
    }
  }

  private abort(entry: Running, kind: AbortKind, reason: Error): void {
    if (entry.controller.signal.aborted) return;
    entry.abortKind = kind;
    entry.controller.abort(reason);
  }

  private async execute(entry: Running, agent: AgentRecord | null): Promise<void> {
    const task = entry.task;
    const executor = this.o.executors.get(task.type) as TaskExecutor;
    // Bounded at creation; a task stored before timeouts were bounded gets the longest timer rather than none.
    const timeoutMs = Math.min(task.timeoutMs ?? this.o.defaultTimeoutMs, MAX_TIMER_MS);
    const started = this.o.now();
    const timer = setTimeout(() => this.abort(entry, 'timeout', new TimeoutError(`task timed out after ${timeoutMs}ms`)), timeoutMs);
    const aborted = new Promise<never>((_, reject) => {
      entry.controller.signal.addEventListener('abort', () => reject(entry.controller.signal.reason), { once: true });
    });
    aborted.catch(() => undefined);
    let result: JsonValue = null;
    let failure: ColonyError | null = null;
    try {
      result = await Promise.race([
        executor.execute({
          task,
          attempt: task.attempts,
          signal: entry.controller.signal,
          agent,
          workspace: this.o.workspace,
          logger: this.o.logger.child({ taskId: task.id }),
        }),
        aborted,
      ]);
      if (result === undefined) result = null;
    } catch (error) {
      failure = toColonyError(entry.controller.signal.aborted ? entry.controller.signal.reason : error);
    } finally {
      clearTimeout(timer);
    }
    const durationMs = this.o.now() - started;
    try {
      if (failure) await this.failed(entry, failure);
      else await this.completed(task, result, durationMs);
    } catch (error) {
      this.o.logger.error({ err: error, taskId: task.id }, 'could not record task outcome');
    }
    if (agent) {
      await this.o.agents.release(agent.id, task.id, { success: !failure, durationMs }).catch((error) => {
        this.o.logger.warn({ err: error, agentId: agent.id }, 'could not release agent');
      });
      this.retryWaitingForAgents();
    }
  }

  private async completed(task: TaskRecord, result: JsonValue, durationMs: number): Promise<void> {
    // The completion and the promotion of dependents it makes ready commit together: one write.
    const ready = this.readyDependents(task.id);
    const completion = { result, error: null, completedAt: this.o.now() };
    const changes = [{ task, to: 'completed' as const, patch: completion }, ...ready.map((d) => ({ task: d, to: 'queued' as const }))];
    let written = await this.o.transitions.applyAll(changes);
    if (!written && ready.length > 0) {
      // A dependent changed meanwhile (cancelled, or promoted by a poll): complete alone.
      const alone = await this.o.transitions.apply(task, 'completed', completion);
      written = alone ? [alone] : undefined;
    }
    if (!written) return this.lostTask(task);
    const [done, ...promoted] = written as [TaskRecord, ...TaskRecord[]];
    this.o.transitions.events.publish(
      'task.completed',
      { taskId: done.id, name: done.name, attempt: done.attempts, durationMs },
      { source: TASK_EVENT_SOURCE, correlationId: this.o.transitions.correlation(done) },
    );
    this.dependents.delete(done.id);
    this.settled(done);
    for (const queued of promoted) this.promoted(queued);
    if (promoted.length < ready.length || written.length === 1) {
      for (const d of ready) if (!promoted.some((p) => p.id === d.id)) await this.promote(d);
    }
  }

  /** Pending dependents of `id` (known here) whose last open dependency is `id`. */
  private readyDependents(id: string): TaskRecord[] {
    const out: TaskRecord[] = [];
    for (const dependentId of this.dependents.get(id) ?? []) {
      const open = this.remaining.get(dependentId);
      const task = this.known.get(dependentId);
      if (!open || !task || task.status !== 'pending') continue;
      open.delete(id);
      if (open.size === 0) out.push(task);
    }
    return out;
  }

  private async failed(entry: Running, error: ColonyError): Promise<void> {
    const task = entry.task;
    const kind = entry.abortKind;
    const info = { code: error.code, message: error.message, attempt: task.attempts };
    const correlationId = this.o.transitions.correlation(task);

    if (kind === 'cancel') {
      const current = await this.o.store.getTask(task.id);
      // A cancellation from another process already wrote the cancelled state.
      const done =
        current && current.status === 'cancelled'
          ? current
          : await this.o.transitions.apply(task, 'cancelled', { error: { ...info, code: 'cancelled' }, completedAt: this.o.now() });
      if (!done) return this.lostTask(task);
      if (current?.status !== 'cancelled') {
        this.o.transitions.events.publish(
          'task.cancelled',
          { taskId: task.id, name: task.name, reason: error.message, from: 'running' },
          { source: TASK_EVENT_SOURCE, correlationId },
        );
      }
      this.settled(done);
      await cancelDependents(this.o.store, this.o.transitions, done);
      return;
    }

    if (kind === 'shutdown') {
      // Not the task's fault: requeue it and give back the attempt.
      const back = await this.o.transitions.apply(task, 'queued', { maxAttempts: task.maxAttempts + 1, runnerId: null });
      if (back) this.forget(task.id);
      return;
    }

    const willRetry = error.retryable && task.attempts < task.maxAttempts && this.state !== 'stopped';
    if (willRetry) {
      const delay = retryDelayMs(this.o.retry, task.attempts, this.o.random);
      const back = await this.o.transitions.apply(task, 'queued', { error: info, runnerId: null, notBefore: this.o.now() + delay });
      if (!back) return this.lostTask(task);
      this.o.transitions.events.publish(
        'task.failed',
        { taskId: task.id, name: task.name, attempt: task.attempts, error: info, willRetry: true, retryInMs: delay },
        { source: TASK_EVENT_SOURCE, correlationId },
      );
      this.known.set(back.id, back);
      this.enqueue(back);
      return;
    }

    const done = await this.o.transitions.apply(task, 'failed', { error: info, completedAt: this.o.now() });
    if (!done) return this.lostTask(task);
    this.o.transitions.events.publish(
      'task.failed',
      { taskId: task.id, name: task.name, attempt: task.attempts, error: info, willRetry: false, retryInMs: null },
      { source: TASK_EVENT_SOURCE, correlationId },
    );
    this.settled(done);
    await this.rollback(done, info);
    await cancelDependents(this.o.store, this.o.transitions, done);
  }

  private async rollback(task: TaskRecord, error: { code: string; message: string }): Promise<void> {
    const executor = this.o.executors.get(task.type);
    if (!executor?.rollback) return;
    let problem: string | null = null;
    try {
      const didSomething = await executor.rollback({ task, error, workspace: this.o.workspace, logger: this.o.logger.child({ taskId: task.id }) });
      if (didSomething === false) return;
    } catch (e) {
      problem = (e as Error).message;
      this.o.logger.warn({ err: e, taskId: task.id }, 'rollback failed');
    }
    this.o.transitions.events.publish(
      'task.rolledback',
      { taskId: task.id, name: task.name, ok: problem === null, error: problem },
      { source: TASK_EVENT_SOURCE, correlationId: this.o.transitions.correlation(task) },
    );
  }

  /** Our compare-and-set lost: someone else changed the task (e.g. cancelled it from another process). */
  private lostTask(task: TaskRecord): void {
    this.o.logger.info({ taskId: task.id }, 'task changed elsewhere while running here; keeping the stored state');
    this.forget(task.id);
  }

  private settled(task: TaskRecord): void {
    this.forget(task.id);
    for (const listener of this.terminalListeners) listener(task);
  }

  private async promote(task: TaskRecord): Promise<void> {
    const queued = await this.o.transitions.apply(task, 'queued');
    if (!queued) {
      // Promoted meanwhile (by a poll or another process), or cancelled: follow the stored state.
      const fresh = await this.o.store.getTask(task.id);
      if (fresh && !isTerminal(fresh.status) && fresh.status !== 'pending') this.track(fresh);
      else if (!fresh || isTerminal(fresh.status)) this.forget(task.id);
      return;
    }
    this.promoted(queued);
  }

  private promoted(queued: TaskRecord): void {
    this.o.transitions.events.publish(
      'task.queued',
      { taskId: queued.id, name: queued.name },
      { source: TASK_EVENT_SOURCE, correlationId: this.o.transitions.correlation(queued) },
    );
    this.remaining.delete(queued.id);
    this.known.set(queued.id, queued);
    this.enqueue(queued);
    this.pump();
  }

  private retryWaitingForAgents(): void {
    for (const id of this.waitingForAgent) {
      const task = this.known.get(id);
      if (task && task.status === 'queued') this.ready.push(id, task.priority);
    }
    this.waitingForAgent.clear();
    this.pump();
  }

  /**
   * Reconciles with the store: recovers tasks of dead runners, cancels tasks whose dependencies
   * failed, promotes tasks whose dependencies completed, picks up queued work, and notices
   * cancellations of our running tasks made by other processes.
   */
  private async poll(initial: boolean): Promise<void> {
    if (this.polling || this.state !== 'running') return;
    this.polling = true;
    try {
      // The slower reconciliations (dead runners, and dependencies settled by other processes: this
      // process settles its own in memory) run every few polls; picking up queued work runs every poll.
      const thorough = initial || this.polls++ % RECOVERY_EVERY_POLLS === 0;
      if (thorough) {
        await this.recoverDeadRunners();
        const scope = { workflowId: this.scope.workflowId, limit: POLL_BATCH };
        for (const task of await this.o.store.listBlockedTasks(scope)) {
          const dep = (await Promise.all(task.dependencies.map((d) => this.o.store.getTask(d)))).find(
            (d) => d && (d.status === 'failed' || d.status === 'cancelled'),
          );
          if (dep) await cancelDependents(this.o.store, this.o.transitions, dep);
        }
        for (const task of await this.o.store.listPromotableTasks(scope)) {
          if (this.inScope(task)) await this.promote(task);
        }
      }
      const queued = await this.o.store.listTasks({ status: 'queued', workflowId: this.scope.workflowId, order: 'priority', limit: POLL_BATCH });
      let fresh = 0;
      for (const task of queued) {
        // A task this process knows as pending may have been made ready by another process (which
        // completed its dependencies): the store's copy wins.
        if (this.known.get(task.id)?.status === 'queued') continue;
        this.track(task);
        fresh++;
      }
      this.moreQueued = queued.length === POLL_BATCH && fresh > 0;
      if (initial) {
        const pending = await this.o.store.listTasks({ status: 'pending', workflowId: this.scope.workflowId, limit: POLL_BATCH * 10 });
        for (const task of pending) if (!this.known.has(task.id)) this.track(task);
      }
      await this.noticeExternalCancellations();
      if (this.waitingForAgent.size > 0) this.retryWaitingForAgents();
      this.pump();
    } catch (error) {
      this.o.logger.warn({ err: error }, 'scheduler poll failed; will try again');
    } finally {
      this.polling = false;
    }
  }

  private async recoverDeadRunners(): Promise<void> {
    const dead = await this.o.runners.deadRunnersHoldingTasks();
    if (dead.length === 0) return;
    // Their model calls in flight will never report: from now on they count at their reservation.
    await this.o.store.modelCalls.markLost(dead, this.o.now());
    // Their shell commands may have outlived them: none may run beside the task's next attempt.
    await this.o.orphans.endGroupsOf(dead);
    for (const task of await this.o.store.listTasksHeldBy(dead)) {
      const exhausted = task.attempts >= task.maxAttempts;
      const error = { code: 'runner_lost', message: `the process running this task (${task.runnerId}) stopped`, attempt: task.attempts };
      const next = exhausted
        ? await this.o.transitions.apply(task, 'failed', { error, completedAt: this.o.now() })
        : await this.o.transitions.apply(task, 'queued', { error, runnerId: null });
      if (!next) continue;
      // The dead process never released the task's agent: free its slot, or the agent stays busy forever.
      if (task.assignedAgent) await this.o.agents.releaseLost(task.assignedAgent, task.id).catch((error: unknown) => this.o.logger.warn({ err: error, agentId: task.assignedAgent }, 'could not free the agent of a recovered task'));
      this.o.transitions.events.publish(
        'task.recovered',
        { taskId: task.id, name: task.name, deadRunnerId: task.runnerId },
        { source: TASK_EVENT_SOURCE, correlationId: this.o.transitions.correlation(task) },
      );
      if (next.status === 'failed') await cancelDependents(this.o.store, this.o.transitions, next);
      else this.track(next);
    }
    for (const id of dead) await this.o.store.deleteRunner(id);
  }

  private async noticeExternalCancellations(): Promise<void> {
    for (const entry of this.running.values()) {
      const stored = await this.o.store.getTask(entry.task.id);
      if (stored && (stored.status !== 'running' || stored.attempts !== entry.task.attempts)) {
        this.abort(entry, 'cancel', new CancelledError('cancelled by another process'));
      }
    }
  }
}
