import type { Logger } from '../kernel/logger.js';
import { ConflictError, ExecutionError } from '../domain/errors.js';
import type { PlanTask, SwarmPlan } from '../domain/swarm.js';
import { isTerminal, type TaskRecord } from '../domain/task.js';
import type { Store } from '../ports/store.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import { cancelUnlessFinished } from './cancel-task.js';
import type { PlanTaskTable } from './plan-task-table.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';
import type { SwarmPublish } from './swarm-publisher.js';
import type { SwarmRecordKeeper } from './swarm-record.js';
import type { Route } from './topologies/topology.js';
import { resultText, workerPrompt } from './worker-task.js';
import type { TaskWorktreeSpec } from '../tasks/task-worktree.js';

export interface PlanDispatchDeps {
  store: Store;
  tasks: TaskEngine;
  logger: Logger;
  publish: SwarmPublish;
  record: SwarmRecordKeeper;
  table: PlanTaskTable;
  now: () => number;
  /** Where a plan task goes: the topology decides. */
  route(task: PlanTask): Route;
  /** Mesh: the peers a worker may message; otherwise null. */
  peers(): string | null;
  /** Workers are being replaced right now. */
  replacingWorkers(): boolean;
  /** The worker pools (`colony worker --pool`) some live process serves now. */
  servedPools(): Promise<ReadonlySet<string>>;
  /** The span the swarm's tasks are traced under (null: tracing off); not the current one, which may be anyone's. */
  traceParent(): string | null;
  /** Whether a done plan task's work is in the swarm's branch (always, without git): its dependents wait until it is. */
  landed(planTaskId: string): boolean;
  /** The worktree a dispatch of the plan task works in (null: the shared workspace). */
  worktreeFor(task: PlanTask): Promise<TaskWorktreeSpec | null>;
}

/**
 * Hands the plan's tasks to the task engine: those whose dependencies are done, within the swarm's
 * concurrency limit, pinned to the agents the topology routes them to; then polls the ones in flight,
 * since a task may finish in any process and an event here is only a hint.
 *
 * A route's pool (distributed) is also the engine task's worker pool when a live process serves a
 * pool of that name (`colony worker --pool eu`): then only those workers run it. When none does, the
 * task is left unpooled, for any runner, and its dispatch event says so (`workerPool: null`); a pooled
 * task whose pool loses its last live runner before it starts is unpooled then, so that none waits for
 * good.
 */
export class PlanDispatch {
  private readonly deps: PlanDispatchDeps;
  /** Dispatched tasks that events say have finished, not yet collected. */
  private readonly finishedHint = new Set<string>();
  private lastFullCheck = 0;
  /** In-flight engine tasks left to a worker pool, by id: watched for their pool losing its runners. */
  private readonly pooled = new Map<string, string>();
  private lastPoolCheck = 0;

  constructor(deps: PlanDispatchDeps) {
    this.deps = deps;
  }

  /** An engine task this run dispatched (its events concern the run). */
  owns(taskId: string): boolean {
    return this.deps.table.dispatched.has(taskId);
  }

  /** An event says this task finished: it is looked at on the next collect, before the next full poll. */
  hintFinished(taskId: string): void {
    this.finishedHint.add(taskId);
  }

  async dispatchReady(plan: SwarmPlan): Promise<void> {
    const { table } = this.deps;
    const swarm = this.deps.record.swarm;
    const limit = swarm.config.limits.concurrency;
    const ready: PlanTask[] = [];
    for (const task of plan.tasks) {
      if (table.inflight.size + ready.length >= limit) break;
      const state = table.states.get(task.id);
      if (state?.status !== 'waiting') continue;
      const deps = task.dependsOn.map((d) => table.states.get(d)?.status);
      if (deps.some((s) => s === 'failed' || s === 'skipped')) {
        state.status = 'skipped';
        state.text = 'skipped: a task it depends on failed';
        continue;
      }
      if (deps.every((s) => s === 'done') && task.dependsOn.every((d) => this.deps.landed(d))) ready.push(task);
    }
    await this.unpoolUnserved();
    // Workers being replaced: wait for them rather than route to nobody.
    if (ready.length === 0 || this.deps.replacingWorkers()) return;
    const routes = ready.map((task) => this.route(task));
    // Real worker pools are used only when they are there now: a task must not wait for a pool nobody serves.
    const served = routes.some((r) => r.pool !== null) ? await this.deps.servedPools() : new Set<string>();
    const worktrees: (TaskWorktreeSpec | null)[] = [];
    for (const task of ready) worktrees.push(await this.deps.worktreeFor(task));
    const specs = ready.map((task, index) => {
      const worktree = worktrees[index] ?? null;
      const state = table.state(task.id);
      const route = routes[index] as Route;
      state.route = route;
      const workerPool = route.pool !== null && served.has(route.pool) ? route.pool : null;
      const depResults = task.dependsOn.map((d) => ({ id: d, title: plan.tasks.find((t) => t.id === d)?.title ?? d, text: table.states.get(d)?.text ?? '' }));
      return {
        type: 'agent',
        // Named after the plan task: a dispatch again gets the same name, and the newest engine task of
        // a name is the current one (which is how a resumed swarm maps its tasks to its plan).
        name: task.id,
        description: task.title,
        maxRetries: SWARM_DEFAULTS.workerMaxRetries,
        input: {
          prompt: workerPrompt({ objective: swarm.objective, task, dependencies: depResults, feedback: state.feedback, peers: this.deps.peers() }),
          ...(task.agentType === undefined ? {} : { agentType: task.agentType }),
          ...(swarm.config.provider === null ? {} : { provider: swarm.config.provider }),
          ...(swarm.config.model === null ? {} : { model: swarm.config.model }),
          ...(task.kind === undefined ? {} : { kind: task.kind }),
          ...(worktree === null ? {} : { worktree: { ...worktree } }),
        },
        requirements: { agentIds: route.agentIds },
        ...(workerPool === null ? {} : { pool: workerPool }),
      };
    });
    const created = await this.deps.tasks.submit(specs, { swarmId: this.deps.record.id, traceParent: this.deps.traceParent() });
    created.forEach((record, index) => {
      const task = ready[index] as PlanTask;
      const state = table.state(task.id);
      state.status = 'dispatched';
      state.taskId = record.id;
      table.inflight.set(record.id, task.id);
      table.dispatched.add(record.id);
      if (record.pool !== null) this.pooled.set(record.id, record.pool);
      this.deps.publish('swarm.task_dispatched', {
        swarmId: this.deps.record.id,
        planTaskId: task.id,
        taskId: record.id,
        agentIds: state.route?.agentIds ?? [],
        pool: state.route?.pool ?? null,
        workerPool: record.pool,
      });
    });
  }

  /**
   * Hands each in-flight task that has finished to `onFinished`, in turn. False when nothing was in
   * flight to look at.
   */
  async collectFinished(onFinished: (planTaskId: string, task: TaskRecord) => Promise<void>): Promise<boolean> {
    const { inflight } = this.deps.table;
    if (inflight.size === 0) return false;
    // Events say which tasks finished in this process; a full look every poll catches the ones
    // other processes finished.
    const full = this.deps.now() - this.lastFullCheck >= SWARM_DEFAULTS.pollMs;
    if (full) this.lastFullCheck = this.deps.now();
    const candidates = full ? [...inflight] : [...this.finishedHint].filter((id) => inflight.has(id)).map((id) => [id, inflight.get(id) as string] as const);
    this.finishedHint.clear();
    for (const [taskId, planTaskId] of candidates) {
      const task = await this.deps.store.tasks.get(taskId);
      // A resumed run learns its pooled tasks here.
      if (task?.pool && !isTerminal(task.status)) this.pooled.set(taskId, task.pool);
      if (!task || !isTerminal(task.status)) continue;
      inflight.delete(taskId);
      await onFinished(planTaskId, task);
    }
    return true;
  }

  /** Tasks pinned only to terminated agents would wait forever: cancel and dispatch them again. */
  async redispatchOrphans(liveWorkerIds: ReadonlySet<string>): Promise<void> {
    const { table } = this.deps;
    for (const [taskId, planTaskId] of [...table.inflight]) {
      const state = table.states.get(planTaskId);
      if (!state?.route || state.route.agentIds.some((id) => liveWorkerIds.has(id))) continue;
      const task = await this.deps.store.tasks.get(taskId);
      if (!task || isTerminal(task.status)) continue;
      await this.cancel(taskId, 'its agents were terminated; dispatched again');
      table.inflight.delete(taskId);
      state.revisions += 1;
      state.status = 'waiting';
    }
  }

  /** The swarm is ending: its tasks in flight are cancelled, and what they had is recorded. */
  async cancelInflight(reason: string): Promise<void> {
    const { table } = this.deps;
    for (const taskId of table.inflight.keys()) await this.cancel(taskId, reason);
    // A completion that raced the cancel counts.
    for (const [taskId, planTaskId] of [...table.inflight]) {
      const task = await this.deps.store.tasks.get(taskId);
      const state = table.states.get(planTaskId);
      if (!state) continue;
      if (task?.status === 'completed') {
        state.status = 'done';
        state.result = task.result;
        state.text = resultText(task.result);
      } else {
        state.status = 'failed';
        state.text = 'cancelled when the swarm stopped';
      }
      table.inflight.delete(taskId);
    }
    table.settleUnfinished();
  }

  /**
   * Pooled tasks not yet started whose pool no live process serves any more (its workers stopped or
   * died) are unpooled, for any runner: compare-and-set, so a worker that claims one first keeps it.
   * Looked at once a poll at most.
   */
  private async unpoolUnserved(): Promise<void> {
    if (this.pooled.size === 0 || this.deps.now() - this.lastPoolCheck < SWARM_DEFAULTS.pollMs) return;
    this.lastPoolCheck = this.deps.now();
    const served = await this.deps.servedPools();
    for (const [taskId, pool] of [...this.pooled]) {
      if (!this.deps.table.inflight.has(taskId)) {
        this.pooled.delete(taskId);
        continue;
      }
      if (served.has(pool)) continue;
      const task = await this.deps.store.tasks.get(taskId);
      // Running: its worker has it; if that worker dies, recovery queues it again and it is looked at then.
      if (!task || task.pool === null || isTerminal(task.status)) this.pooled.delete(taskId);
      if (!task || task.pool === null || (task.status !== 'queued' && task.status !== 'pending')) continue;
      try {
        // A revision (compare-and-set), announced as task.revised, which wakes the runners that now may take it.
        await this.deps.tasks.revise(taskId, { pool: null });
      } catch (error) {
        // Claimed or changed meanwhile: looked at again on the next check.
        if (error instanceof ConflictError) continue;
        throw error;
      }
      this.pooled.delete(taskId);
      this.deps.logger.info({ swarmId: this.deps.record.id, taskId, pool }, `no live worker serves pool ${pool} any more: the task is left to any runner`);
    }
  }

  private route(task: PlanTask): Route {
    const route = this.deps.route(task);
    if (route.agentIds.length === 0) throw new ExecutionError(`no live worker can take task ${task.id}`, { retryable: false });
    return route;
  }

  /** Cancels a task of the swarm; one that cannot be cancelled is logged, and the swarm still ends. */
  private async cancel(taskId: string, reason: string): Promise<void> {
    try {
      await cancelUnlessFinished(this.deps.tasks, taskId, reason);
    } catch (error) {
      this.deps.logger.warn({ swarmId: this.deps.record.id, taskId, error: (error as Error).message }, 'could not cancel a task of the swarm');
    }
  }
}
