import type { AgentRecord } from '../domain/agent.js';
import type { JsonValue } from '../domain/json.js';
import type { TaskRecord } from '../domain/task.js';
import type { Logger } from '../kernel/logger.js';

export interface TaskContext {
  task: TaskRecord;
  /** 1-based. */
  attempt: number;
  /** Aborted on timeout, cancellation or shutdown; `signal.reason` says which. */
  signal: AbortSignal;
  /** The agent selected for the task, when the task has requirements. */
  agent: AgentRecord | null;
  /** The project directory: the workspace tasks run in. */
  workspace: string;
  logger: Logger;
  /**
   * What the task's dependencies produced: each one's result, keyed by its name, or by its id when it
   * has no name or shares its name with another of this task's dependencies. The way values travel
   * through a DAG (a task runs only once all its dependencies have completed). Empty without dependencies.
   */
  dependencies: Readonly<Record<string, JsonValue>>;
}

export interface RollbackContext {
  task: TaskRecord;
  error: { code: string; message: string };
  workspace: string;
  logger: Logger;
}

/**
 * Runs tasks of one type. `execute` resolves with the task's result (JSON) or throws; a thrown
 * ColonyError with `retryable: false` (e.g. ValidationError) fails the task without retrying.
 */
export interface TaskExecutor {
  readonly type: string;
  execute(context: TaskContext): Promise<JsonValue>;
  /**
   * Makes the attempt's workspace ready when it is not the project directory (a swarm task's git
   * worktree, put back to its base) and returns it: `execute`, the task's hooks and everything else of
   * the attempt then work there (`TaskContext.workspace`). Absent: the project directory.
   */
  prepareWorkspace?(context: TaskContext): Promise<string>;
  /** Checks and normalises a task's input when it is submitted; throws ValidationError. */
  validateInput?(input: JsonValue): JsonValue;
  /**
   * Undoes a failed task's side effects; called once when the task fails for good. Resolving with
   * `false` says there was nothing to undo (no `task.rolledback` event is published then).
   */
  rollback?(context: RollbackContext): Promise<boolean | void>;
  /**
   * The most attempts of this type one process runs at once, below `tasks.concurrency`: for work that
   * holds a scarce resource (shell tasks: OS processes). Absent: only `tasks.concurrency` bounds it.
   */
  readonly concurrency?: number;
  /** The configuration key that sets `concurrency`, named when the limit holds work back. */
  readonly concurrencyKey?: string;
}
