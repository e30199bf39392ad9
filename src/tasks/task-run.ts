import type { Logger } from '../kernel/logger.js';
import { retryStoreWrite, type StoreRetryPolicy } from '../kernel/store-retry.js';
import type { AgentRecord } from '../domain/agent.js';
import { MAX_TIMER_MS } from '../domain/bounds.js';
import { TimeoutError, toColonyError, type ColonyError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import type { TaskRecord } from '../domain/task.js';
import type { SpanAttributes, Tracer } from '../ports/tracer.js';
import type { TaskContext, TaskExecutor } from './task-executor.js';

/** Why a running task's signal was aborted; decides what becomes of the task. */
export type AbortKind = 'timeout' | 'cancel' | 'shutdown' | 'agent';

/** One attempt of a task running in this process. */
export class RunningTask {
  readonly task: TaskRecord;
  readonly agent: AgentRecord | null;
  readonly controller = new AbortController();
  /** Set when the attempt is aborted: what the outcome makes of the failure. */
  abortKind: AbortKind | null = null;
  /** The task had changed elsewhere by the time the attempt started: nobody's failure. */
  changedAtStart = false;
  /** Settles when the attempt's outcome is recorded and its agent released. */
  done: Promise<void> = Promise.resolve();

  constructor(task: TaskRecord, agent: AgentRecord | null) {
    this.task = task;
    this.agent = agent;
  }

  abort(kind: AbortKind, reason: Error): void {
    if (this.controller.signal.aborted) return;
    this.abortKind = kind;
    this.controller.abort(reason);
  }
}

export interface TaskRunDeps {
  executors: ReadonlyMap<string, TaskExecutor>;
  /** The results of a task's dependencies, for its executor. */
  dependencyResults: (task: TaskRecord) => Promise<Record<string, JsonValue>>;
  /** The same when every one is known in this process without a read; undefined otherwise. */
  knownDependencyResults?: (task: TaskRecord) => Record<string, JsonValue> | undefined;
  /** How the read of the dependencies is tried again while the store does not answer. Default: DEFAULT_STORE_RETRY. */
  storeRetry?: StoreRetryPolicy;
  logger: Logger;
  workspace: string;
  defaultTimeoutMs: number;
  now: () => number;
  /** Each attempt is a span, the child of the span that created the task (in whichever process). */
  tracer: Tracer;
}

/** How an attempt ended: its result, or the failure (a timeout or abort included). */
export interface AttemptEnd {
  result: JsonValue;
  failure: ColonyError | null;
  durationMs: number;
}

/**
 * Runs the task's executor under its timeout. An abort (timeout, cancel, shutdown, the agent's
 * termination) ends the attempt at once with the abort's reason, whether or not the executor heeds
 * its signal.
 */
export async function runAttempt(deps: TaskRunDeps, running: RunningTask): Promise<AttemptEnd> {
  const { task, controller } = running;
  const executor = deps.executors.get(task.type) as TaskExecutor;
  // Bounded at creation; a task stored before timeouts were bounded gets the longest timer rather than none.
  const timeoutMs = Math.min(task.timeoutMs ?? deps.defaultTimeoutMs, MAX_TIMER_MS);
  const started = deps.now();
  const timer = setTimeout(() => running.abort('timeout', new TimeoutError(`task timed out after ${timeoutMs}ms`)), timeoutMs);
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
  });
  aborted.catch(() => undefined);
  let result: JsonValue = null;
  let failure: ColonyError | null = null;
  const span = deps.tracer.startSpan(`task ${task.type}`, {
    parent: task.traceParent,
    ...(deps.tracer.enabled ? { attributes: taskSpanAttributes(task, running.agent) } : {}),
  });
  try {
    // The read of the dependencies is tried again while the store does not answer (a database restart):
    // the attempt has not started, so that is not its failure. The timeout and aborts still bound it.
    const dependencies =
      deps.knownDependencyResults?.(task) ??
      (await Promise.race([retryStoreWrite(() => deps.dependencyResults(task), deps.storeRetry ? { policy: deps.storeRetry } : {}), aborted]));
    let logger: Logger | undefined;
    const context: TaskContext = {
      task,
      attempt: task.attempts,
      signal: controller.signal,
      agent: running.agent,
      workspace: deps.workspace,
      // Made when the executor first logs: a child logger per attempt was a tenth of a trivial task's cost.
      get logger() {
        return (logger ??= deps.logger.child({ taskId: task.id }));
      },
      dependencies,
    };
    result = await deps.tracer.withSpan(span, async () => {
      // The attempt's own workspace (a swarm task's worktree) is ready before anything of it runs there.
      if (executor.prepareWorkspace) context.workspace = await Promise.race([executor.prepareWorkspace(context), aborted]);
      return Promise.race([executor.execute(context), aborted]);
    });
    if (result === undefined) result = null;
  } catch (error) {
    failure = toColonyError(controller.signal.aborted ? controller.signal.reason : error);
  } finally {
    clearTimeout(timer);
  }
  if (failure !== null) span.fail(failure);
  span.end();
  return { result, failure, durationMs: deps.now() - started };
}

/** What a task attempt's span says about it. */
function taskSpanAttributes(task: TaskRecord, agent: AgentRecord | null): SpanAttributes {
  return {
    'colony.task.id': task.id,
    'colony.task.type': task.type,
    'colony.task.attempt': task.attempts,
    'colony.task.name': task.name ?? undefined,
    'colony.swarm.id': task.swarmId ?? undefined,
    'colony.workflow.id': task.workflowId ?? undefined,
    'colony.agent.id': agent?.id,
  };
}
