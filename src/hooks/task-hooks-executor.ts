import { ExecutionError, toColonyError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import type { TaskContext, TaskExecutor } from '../tasks/task-executor.js';
import type { HookRunner } from './hook-runner.js';

/**
 * An executor whose tasks run the `taskStart` hooks before and the `taskEnd` hooks after, in the
 * workspace the engine gives the task. A blocking `taskStart` failure fails the task before it runs;
 * a blocking `taskEnd` failure fails a task that had succeeded (a failed one keeps its own error).
 * Neither is retried: a hook that fails now would fail again.
 */
export function withTaskHooks(executor: TaskExecutor, hooks: HookRunner): TaskExecutor {
  const wrapped: TaskExecutor = {
    type: executor.type,
    async execute(context: TaskContext): Promise<JsonValue> {
      const agentType = context.agent?.type ?? context.task.requirements.agentType ?? null;
      const where = { workspace: context.workspace, task: { id: context.task.id, attempt: context.attempt }, swarmId: context.task.swarmId, agentType, signal: context.signal };
      if (hooks.has('taskStart')) {
        const verdict = await hooks.run('taskStart', { ...where, input: { task_type: context.task.type } });
        if (verdict.blocked) throw new ExecutionError(`a taskStart hook blocked the task:\n${verdict.feedback}`, { retryable: false });
      }
      let result: JsonValue;
      try {
        result = await executor.execute(context);
      } catch (error) {
        if (hooks.has('taskEnd') && !context.signal.aborted) {
          await hooks.run('taskEnd', { ...where, input: { task_type: context.task.type, task_status: 'failed', error: toColonyError(error).message } });
        }
        throw error;
      }
      if (hooks.has('taskEnd')) {
        const verdict = await hooks.run('taskEnd', { ...where, input: { task_type: context.task.type, task_status: 'completed' } });
        if (verdict.blocked) throw new ExecutionError(`a taskEnd hook blocked the task's completion:\n${verdict.feedback}`, { retryable: false });
      }
      return result;
    },
  };
  if (executor.validateInput) wrapped.validateInput = (input) => (executor.validateInput as (input: JsonValue) => JsonValue).call(executor, input);
  if (executor.prepareWorkspace) wrapped.prepareWorkspace = (context) => (executor.prepareWorkspace as NonNullable<TaskExecutor['prepareWorkspace']>).call(executor, context);
  if (executor.rollback) wrapped.rollback = (context) => (executor.rollback as NonNullable<TaskExecutor['rollback']>).call(executor, context);
  return {
    ...wrapped,
    ...(executor.concurrency === undefined ? {} : { concurrency: executor.concurrency }),
    ...(executor.concurrencyKey === undefined ? {} : { concurrencyKey: executor.concurrencyKey }),
  };
}
