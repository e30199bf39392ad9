import type { EventBus } from '../ports/event-bus.js';
import { resolveIdPrefix } from '../kernel/resolve-id.js';
import { validateDag } from '../domain/dag.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { IdKind } from '../domain/ids.js';
import { isTerminal, type TaskRecord, type TaskStatus } from '../domain/task.js';
import type { Store, TaskQuery } from '../ports/store.js';
import type { Tracer } from '../ports/tracer.js';
import { DEFAULTS } from '../kernel/constants.js';
import { cancelDependents, restoreDependents } from './task-cascade.js';
import type { TaskExecutor } from './task-executor.js';
import type { TaskScheduler } from './task-scheduler.js';
import { parseTaskRevision, parseTaskSpecs } from './task-spec.js';
import { taskFileChanges, type TaskFileChanges } from './task-file-changes.js';
import { taskHistory, type TaskHistory } from './task-history.js';
import { TASK_METRIC_ENTITY, taskUsage, type TaskTranscript, type TranscriptOptions } from './task-transcript.js';
import { TASK_EVENT_SOURCE, type TaskTransitions } from './task-transitions.js';

export interface TaskEngineDeps {
  store: Store;
  events: EventBus;
  transitions: TaskTransitions;
  scheduler: TaskScheduler;
  executors: Map<string, TaskExecutor>;
  newId: (kind: IdKind) => string;
  now: () => number;
  defaultMaxRetries: number;
  pollIntervalMs: number;
  /** The current span when tasks are submitted is kept on them: their attempts are traced as its children. */
  tracer: Tracer;
}

export interface SubmitOptions {
  workflowId?: string | null;
  /** The swarm the tasks belong to (its events are correlated with the swarm). */
  swarmId?: string | null;
  /** The span the tasks' attempts are traced under (a W3C traceparent); default: the current span. */
  traceParent?: string | null;
}

/**
 * The task API: submit validated task DAGs, read, cancel and retry them, and wait for them. Running
 * is the scheduler's job; this class never changes a task's state except through TaskTransitions.
 */
export class TaskEngine {
  private readonly deps: TaskEngineDeps;

  constructor(deps: TaskEngineDeps) {
    this.deps = deps;
  }

  registerExecutor(executor: TaskExecutor): void {
    if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(executor.type)) throw new ValidationError(`invalid task type "${executor.type}"`);
    this.deps.executors.set(executor.type, executor);
  }

  executorTypes(): string[] {
    return [...this.deps.executors.keys()].sort();
  }

  /**
   * Submits tasks atomically. Dependencies name tasks of the same batch (by `name`) or existing task
   * ids; unknown ones and cycles are rejected with an error naming them, and nothing is stored.
   */
  async submit(specs: readonly unknown[], options: SubmitOptions = {}): Promise<TaskRecord[]> {
    const { records, existing } = await this.build(specs, options);
    await this.deps.store.tasks.insert(records);
    for (const r of records) {
      const correlationId = this.deps.transitions.correlation(r);
      this.deps.events.publish(
        'task.created',
        { taskId: r.id, name: r.name, type: r.type, priority: r.priority, workflowId: r.workflowId, dependencies: r.dependencies, status: r.status },
        { source: TASK_EVENT_SOURCE, correlationId },
      );
    }
    // Dependencies that already failed: the new task can never run.
    for (const dep of new Set([...existing.values()].filter((d) => d && (d.status === 'failed' || d.status === 'cancelled')))) {
      await cancelDependents(this.deps, dep as TaskRecord);
    }
    if (this.deps.scheduler.isRunning) this.deps.scheduler.admit(records);
    return records;
  }

  /** Checks specs exactly as `submit` would, without storing anything. */
  async validate(specs: readonly unknown[]): Promise<void> {
    await this.build(specs, {});
  }

  private async build(
    specs: readonly unknown[],
    options: SubmitOptions,
  ): Promise<{ records: TaskRecord[]; existing: Map<string, TaskRecord | undefined> }> {
    if (specs.length === 0) throw new ValidationError('no tasks to submit');
    const parsed = parseTaskSpecs([...specs]);
    const now = this.deps.now();
    const traceParent = options.traceParent !== undefined ? options.traceParent : this.deps.tracer.currentTraceParent();
    const byName = new Map<string, string>();
    const ids = parsed.map((spec) => {
      const id = this.deps.newId('task');
      if (spec.name !== undefined) {
        if (byName.has(spec.name)) throw new ValidationError(`duplicate task name "${spec.name}" in one submission`);
        byName.set(spec.name, id);
      }
      return id;
    });
    const existing = new Map<string, TaskRecord | undefined>();
    const lookup = async (ref: string): Promise<TaskRecord | undefined> => {
      if (!existing.has(ref)) existing.set(ref, await this.deps.store.tasks.get(ref));
      return existing.get(ref);
    };

    const records: TaskRecord[] = [];
    for (const [index, spec] of parsed.entries()) {
      const label = spec.name ?? `#${index + 1}`;
      const executor = this.deps.executors.get(spec.type);
      if (!executor) {
        throw new ValidationError(`task ${label}: unknown task type "${spec.type}"; known types: ${this.executorTypes().join(', ')}`);
      }
      let input = spec.input;
      if (executor.validateInput) {
        try {
          input = executor.validateInput(input);
        } catch (error) {
          throw new ValidationError(`task ${label}: ${(error as Error).message}`, { cause: error });
        }
      }
      const dependencies: string[] = [];
      for (const ref of spec.dependencies) {
        const id = byName.get(ref) ?? ((await lookup(ref)) ? ref : undefined);
        dependencies.push(id ?? ref);
      }
      let parentId: string | null = null;
      if (spec.parentId !== undefined) {
        parentId = byName.get(spec.parentId) ?? ((await lookup(spec.parentId)) ? spec.parentId : null);
        if (parentId === null) throw new ValidationError(`task ${label}: unknown parent task "${spec.parentId}"`);
      }
      const maxRetries = spec.maxRetries ?? this.deps.defaultMaxRetries;
      records.push({
        id: ids[index] as string,
        name: spec.name ?? null,
        type: spec.type,
        description: spec.description,
        status: 'pending',
        priority: spec.priority,
        input,
        dependencies: [...new Set(dependencies)],
        parentId,
        workflowId: options.workflowId ?? null,
        swarmId: options.swarmId ?? null,
        requirements: spec.requirements,
        assignedAgent: null,
        timeoutMs: spec.timeoutMs ?? null,
        maxRetries,
        maxAttempts: maxRetries + 1,
        attempts: 0,
        result: null,
        error: null,
        runnerId: null,
        pool: spec.pool ?? null,
        traceParent,
        notBefore: null,
        createdAt: now,
        updatedAt: now,
        startedAt: null,
        completedAt: null,
      });
    }
    const nameOf = new Map(records.map((r, i) => [r.id, r.name ?? `#${i + 1}`]));
    try {
      validateDag(
        records.map((r) => ({ id: r.id, dependencies: r.dependencies })),
        (id) => existing.get(id) !== undefined,
      );
    } catch (error) {
      // Speak in the names the caller used, not in freshly minted ids.
      const message = (error as Error).message.replace(/tsk_[0-9a-z]+/g, (id) => nameOf.get(id) ?? id);
      throw new ValidationError(message, { cause: error });
    }

    for (const record of records) {
      const deps = record.dependencies.map((d) => existing.get(d));
      if (record.dependencies.length === 0 || deps.every((d) => d?.status === 'completed')) record.status = 'queued';
    }
    return { records, existing };
  }

  async get(idOrPrefix: string): Promise<TaskRecord> {
    const id = await this.resolveId(idOrPrefix);
    const task = await this.deps.store.tasks.get(id);
    if (!task) throw new NotFoundError('task', idOrPrefix);
    return task;
  }

  resolveId(idOrPrefix: string): Promise<string> {
    return resolveIdPrefix('task', idOrPrefix, (p, n) => this.deps.store.tasks.findIdsByPrefix(p, n));
  }

  list(query: TaskQuery = {}): Promise<TaskRecord[]> {
    return this.deps.store.tasks.list(query);
  }

  count(query: Omit<TaskQuery, 'limit' | 'offset' | 'order'> = {}): Promise<number> {
    return this.deps.store.tasks.count(query);
  }

  countByStatus(query: { workflowId?: string; swarmId?: string } = {}): Promise<Record<TaskStatus, number>> {
    return this.deps.store.tasks.countByStatus(query);
  }

  /** Pending tasks all of whose dependencies have completed: the next ones the scheduler queues. */
  listPromotable(query: { workflowId?: string; limit: number }): Promise<TaskRecord[]> {
    return this.deps.store.tasks.listPromotable(query);
  }

  /** An agent task's transcript: every model turn, tool call and result, with the usage totals. */
  async transcript(idOrPrefix: string, options: TranscriptOptions = {}): Promise<TaskTranscript> {
    const task = await this.get(idOrPrefix);
    const [turns, samples] = await Promise.all([
      this.deps.store.transcripts.listTurns({ taskId: task.id, ...(options.attempt ? { attempt: options.attempt } : {}) }),
      this.deps.store.metrics.list({ entityType: TASK_METRIC_ENTITY, entityId: task.id }),
    ]);
    return { task, turns, usage: taskUsage(samples) };
  }

  /** A task's events from the log and its attempts (who ran each, when, how it ended). */
  async history(idOrPrefix: string): Promise<TaskHistory & { task: TaskRecord }> {
    const task = await this.get(idOrPrefix);
    return { task, ...(await taskHistory(this.deps.events, task)) };
  }

  /** What an agent task changed in the workspace's files, as diffs (from its journal and transcript). */
  async fileChanges(idOrPrefix: string): Promise<TaskFileChanges & { task: TaskRecord }> {
    const task = await this.get(idOrPrefix);
    const [journal, turns] = await Promise.all([this.deps.store.transcripts.getJournal(task.id), this.deps.store.transcripts.listTurns({ taskId: task.id })]);
    return { task, ...taskFileChanges(journal, turns) };
  }

  /** Cancels a task and, transitively, every task that depends on it. */
  async cancel(idOrPrefix: string, reason = 'cancelled by user'): Promise<TaskRecord> {
    let task = await this.get(idOrPrefix);
    let done: TaskRecord | undefined;
    // A task being claimed or finished at this very moment fails the compare-and-set: read it again
    // and retry, so that a cancel never leaves a task running because of a race.
    for (let attempt = 1; ; attempt++) {
      if (isTerminal(task.status)) throw new ConflictError(`task ${task.id} is already ${task.status}`, { details: { status: task.status } });
      done = await this.deps.transitions.apply(task, 'cancelled', {
        error: { code: 'cancelled', message: reason, attempt: task.attempts },
        completedAt: this.deps.now(),
      });
      if (done) break;
      if (attempt >= DEFAULTS.cancelAttempts) throw new ConflictError(`task ${task.id} kept changing while being cancelled; try again`);
      await new Promise((resolve) => setTimeout(resolve, DEFAULTS.cancelRetryMs));
      task = await this.get(task.id);
    }
    this.deps.events.publish(
      'task.cancelled',
      { taskId: done.id, name: done.name, reason, from: task.status },
      { source: TASK_EVENT_SOURCE, correlationId: this.deps.transitions.correlation(done) },
    );
    await this.deps.scheduler.refresh(done);
    await cancelDependents(this.deps, done);
    return done;
  }

  /**
   * Revises a task that has not started: its priority, the agent it must run on (`agentId`; null
   * lifts the pin), and the worker pool whose workers alone may run it (`pool`; null: any runner).
   * The agent must exist and not be terminated. A task that started or
   * finished meanwhile is a conflict; nothing changes then.
   */
  async revise(idOrPrefix: string, input: unknown): Promise<TaskRecord> {
    const changes = parseTaskRevision(input);
    const task = await this.get(idOrPrefix);
    if (task.status !== 'pending' && task.status !== 'queued') {
      throw new ConflictError(`task ${task.id} is ${task.status}; only pending or queued tasks can be changed`, { details: { status: task.status } });
    }
    let requirements = task.requirements;
    if (changes.agentId !== undefined) {
      const { agentIds: _previous, ...rest } = task.requirements;
      if (changes.agentId === null) requirements = rest;
      else {
        const agent = await this.deps.store.agents.get(changes.agentId);
        if (!agent) throw new NotFoundError('agent', changes.agentId);
        if (agent.status === 'terminated') throw new ConflictError(`agent ${agent.id} is terminated; it cannot be assigned tasks`);
        requirements = { ...rest, agentIds: [agent.id] };
      }
    }
    const pool = changes.pool === undefined ? task.pool : changes.pool;
    const next: TaskRecord = { ...task, priority: changes.priority ?? task.priority, requirements, pool, updatedAt: Math.max(this.deps.now(), task.updatedAt + 1) };
    const ok = await this.deps.store.tasks.revise(next, { status: task.status, attempts: task.attempts, updatedAt: task.updatedAt });
    if (!ok) throw new ConflictError(`task ${task.id} changed while being revised; try again`);
    this.deps.events.publish(
      'task.revised',
      { taskId: next.id, name: next.name, priority: next.priority, agentIds: next.requirements.agentIds ?? null, pool: next.pool },
      { source: TASK_EVENT_SOURCE, correlationId: this.deps.transitions.correlation(next) },
    );
    this.deps.scheduler.revise(next);
    return next;
  }

  /**
   * Runs a failed or cancelled task again with a fresh retry budget; dependents that were cancelled
   * because of it go back to waiting for it.
   */
  async retry(idOrPrefix: string): Promise<TaskRecord> {
    const task = await this.get(idOrPrefix);
    if (task.status !== 'failed' && task.status !== 'cancelled') {
      throw new ConflictError(`task ${task.id} is ${task.status}; only failed or cancelled tasks can be retried`, { details: { status: task.status } });
    }
    const deps = await Promise.all(task.dependencies.map((d) => this.deps.store.tasks.get(d)));
    const broken = deps.find((d) => d && (d.status === 'failed' || d.status === 'cancelled'));
    if (broken) throw new ConflictError(`task ${task.id} depends on ${broken.name ?? broken.id}, which is ${broken.status}: retry that one first`);
    const ready = deps.every((d) => d?.status === 'completed');
    const next = await this.deps.transitions.apply(task, ready ? 'queued' : 'pending', {
      maxAttempts: task.attempts + task.maxRetries + 1,
      error: null,
      result: null,
      runnerId: null,
      notBefore: null,
      completedAt: null,
    });
    if (!next) throw new ConflictError(`task ${task.id} changed while retrying; try again`);
    this.deps.events.publish('task.retried', { taskId: next.id, name: next.name, by: 'user' }, { source: TASK_EVENT_SOURCE, correlationId: this.deps.transitions.correlation(next) });
    if (next.workflowId) await this.deps.store.workflows.updateStatus(next.workflowId, 'running', this.deps.now());
    const restored = await restoreDependents(this.deps, next);
    if (this.deps.scheduler.isRunning) this.deps.scheduler.admit([next, ...restored]);
    return next;
  }

  /** Resolves with the tasks once every one of them has reached a terminal state. */
  async waitFor(taskIds: readonly string[], signal?: AbortSignal): Promise<TaskRecord[]> {
    // Ids settle locally (reported by the scheduler) or elsewhere (seen on a store check); only the
    // ones still open are ever read again, so waiting on 10,000 tasks costs O(n) reads overall.
    const open = new Set(taskIds);
    const settled = new Map<string, TaskRecord>();
    const settledLocally = this.deps.scheduler.onTerminal((task) => {
      if (open.delete(task.id)) settled.set(task.id, task);
    });
    const check = async () => {
      for (const id of [...open]) {
        const task = await this.deps.store.tasks.get(id);
        if (!task || !isTerminal(task.status)) return undefined;
        open.delete(id);
        settled.set(id, task);
      }
      return taskIds.map((id) => settled.get(id) as TaskRecord);
    };
    try {
      // Only the settling of a waited task is worth a look at the store; the rest is the timer's.
      const waited = new Set(taskIds);
      return await this.waitUntil(check, signal, (task) => waited.has(task.id));
    } finally {
      settledLocally();
    }
  }

  /** Resolves with the final counts once no task of the workflow is pending, queued or running. */
  async waitForWorkflow(workflowId: string, signal?: AbortSignal): Promise<Record<TaskStatus, number>> {
    const check = async () => {
      const counts = await this.deps.store.tasks.countByStatus({ workflowId });
      return counts.pending + counts.queued + counts.running === 0 ? counts : undefined;
    };
    return this.waitUntil(check, signal, (task) => task.workflowId === workflowId);
  }

  /**
   * Re-checks when a local task that `concerns` the wait settles (coalesced per turn of the event
   * loop), and on a timer for changes made by other processes.
   */
  private waitUntil<T>(check: () => Promise<T | undefined>, signal: AbortSignal | undefined, concerns: (task: TaskRecord) => boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let checking = false;
      let again = false;
      let finished = false;
      const finish = (fn: () => void) => {
        finished = true;
        clearInterval(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const run = async () => {
        if (finished) return;
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        try {
          do {
            again = false;
            const result = await check();
            if (result !== undefined) return finish(() => resolve(result));
          } while (again && !finished);
        } catch (error) {
          finish(() => reject(error));
        } finally {
          checking = false;
        }
      };
      let queued = false;
      const unsubscribe = this.deps.scheduler.onTerminal((task) => {
        if (queued || !concerns(task)) return;
        queued = true;
        setImmediate(() => {
          queued = false;
          void run();
        });
      });
      const timer = setInterval(() => void run(), this.deps.pollIntervalMs);
      const onAbort = () => finish(() => reject(signal?.reason));
      signal?.addEventListener('abort', onAbort, { once: true });
      void run();
    });
  }
}
