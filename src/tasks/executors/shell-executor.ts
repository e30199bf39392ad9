import { z } from 'zod';
import { ExecutionError, TimeoutError, ValidationError } from '../../domain/errors.js';
import type { JsonValue } from '../../domain/json.js';
import { runShell, type ShellResult } from '../../sandbox/run-shell.js';
import { WorkspaceGuard } from '../../sandbox/workspace-guard.js';
import type { RollbackContext, TaskContext, TaskExecutor } from '../task-executor.js';

const shellInputSchema = z
  .object({
    command: z.string().min(1, 'command must not be empty').max(100_000),
    /** Working directory relative to the workspace; must stay inside it. */
    cwd: z.string().min(1).optional(),
    env: z.record(z.string(), z.string()).optional(),
    /** A command run once if the task fails for good, to undo what it did. */
    rollback: z.string().min(1).optional(),
  })
  .strict();

export type ShellTaskInput = z.infer<typeof shellInputSchema>;

export interface ShellExecutorOptions {
  maxOutputBytes: number;
  /** Used when the task itself sets no timeout. */
  defaultTimeoutMs: number;
}

/** Characters of stderr quoted in a failure message. */
const STDERR_TAIL_CHARS = 500;

/**
 * Task type `shell`: runs a command with `/bin/sh -c` in the workspace. The process group is killed on
 * timeout or cancellation; output is capped. A non-zero exit fails the attempt (and may be retried).
 */
export function createShellExecutor(options: ShellExecutorOptions): TaskExecutor {
  const parse = (input: JsonValue): ShellTaskInput => {
    const result = shellInputSchema.safeParse(input);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new ValidationError(`shell task input: ${issue?.path.join('.') || 'input'}: ${issue?.message}`);
    }
    return result.data;
  };

  const run = async (command: string, input: ShellTaskInput, workspace: string, timeoutMs: number, signal?: AbortSignal) => {
    const cwd = input.cwd ? await new WorkspaceGuard(workspace).resolve(input.cwd, 'read') : workspace;
    return runShell({
      command,
      cwd,
      timeoutMs,
      maxOutputBytes: options.maxOutputBytes,
      env: input.env ? { ...process.env, ...input.env } : process.env,
      signal,
    });
  };

  return {
    type: 'shell',
    validateInput(input) {
      return parse(input) as unknown as JsonValue;
    },
    async execute(context: TaskContext): Promise<JsonValue> {
      const input = parse(context.task.input);
      // The engine enforces the task timeout through the signal; this one only bounds the process.
      const timeoutMs = context.task.timeoutMs ?? options.defaultTimeoutMs;
      const result = await run(input.command, input, context.workspace, timeoutMs, context.signal);
      if (result.timedOut) throw new TimeoutError(`command timed out after ${timeoutMs}ms`);
      if (result.exitCode !== 0) {
        const how = result.exitCode === null ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
        const tail = result.stderr.trim().slice(-STDERR_TAIL_CHARS);
        throw new ExecutionError(`command ${how}${tail ? `: ${tail}` : ''}`, { details: summary(result) });
      }
      return summary(result);
    },
    async rollback(context: RollbackContext): Promise<boolean> {
      const input = parse(context.task.input);
      if (!input.rollback) return false;
      const result = await run(input.rollback, input, context.workspace, options.defaultTimeoutMs);
      if (result.exitCode !== 0) throw new ExecutionError(`rollback command exited with code ${result.exitCode}`);
      return true;
    },
  };
}

function summary(result: ShellResult): { [key: string]: JsonValue } {
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: result.stdout,
    stderr: result.stderr,
    truncated: result.truncated,
    durationMs: result.durationMs,
  };
}
