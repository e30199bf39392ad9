import { MAX_TIMER_MS } from '../../domain/bounds.js';
import { ExecutionError, TimeoutError, ValidationError } from '../../domain/errors.js';
import type { JsonValue } from '../../domain/json.js';
import { CommandSandbox, type PreparedLaunch } from '../../sandbox/command-sandbox.js';
import { runShell, type ShellResult } from '../../sandbox/run-shell.js';
import { SANDBOX_DEFAULT_CONFIG } from '../../sandbox/sandbox-config.js';
import { WorkspaceGuard } from '../../sandbox/workspace-guard.js';
import type { TaskProcessRecorder } from '../task-process-recorder.js';
import type { RollbackContext, TaskContext, TaskExecutor } from '../task-executor.js';
import { shellInputSchema, type ShellTaskInput } from './shell-input.js';

export type { ShellTaskInput };

export interface ShellExecutorOptions {
  maxOutputBytes: number;
  /** Used when the task itself sets no timeout. */
  defaultTimeoutMs: number;
  /** The project directory: a task whose absolute cwd lies outside it is refused when created. */
  workspace?: string;
  /**
   * Where commands run and with what environment (an allow-list plus the task's `env`, never the
   * server's). Default: no OS sandbox, the allow-listed variables of process.env.
   */
  sandbox?: CommandSandbox;
  /** Records each command's process group while it runs, so that crash recovery can end it. Default: not recorded. */
  processes?: TaskProcessRecorder;
  /** Shell tasks one process runs at once (each holds an OS process): `tasks.shellConcurrency`. Default: only `tasks.concurrency` bounds them. */
  concurrency?: number;
}

/** Characters of stderr quoted in a failure message. */
const STDERR_TAIL_CHARS = 500;

/**
 * Task type `shell`: runs a command with `/bin/sh -c` in the workspace, in the OS sandbox unless
 * `sandbox.shellTasks` is off, with an environment built from an allow-list and the task's `env`. The
 * process group is killed on timeout or cancellation; output is capped. A non-zero exit fails the
 * attempt (and may be retried). The result's `sandbox` says whether the command was isolated.
 */
export function createShellExecutor(options: ShellExecutorOptions): TaskExecutor {
  const inputSchema = shellInputSchema(options.workspace);
  const parse = (input: JsonValue): ShellTaskInput => {
    const result = inputSchema.safeParse(input);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new ValidationError(`shell task input: ${issue?.path.join('.') || 'input'}: ${issue?.message}`);
    }
    return result.data;
  };

  const sandbox = options.sandbox ?? new CommandSandbox({ config: { ...SANDBOX_DEFAULT_CONFIG, mode: 'off' }, env: process.env });
  const run = async (command: string, input: ShellTaskInput, workspace: string, timeoutMs: number, attempt: { taskId: string; attempt: number }, signal?: AbortSignal) => {
    const cwd = input.cwd ? await new WorkspaceGuard(workspace).resolve(input.cwd, 'read') : workspace;
    const launch = await sandbox.prepare({ purpose: 'task', workspace, cwd, ...(input.env ? { env: input.env } : {}) });
    const result = await runShell({
      command,
      cwd,
      timeoutMs,
      maxOutputBytes: options.maxOutputBytes,
      env: launch.env,
      ...(launch.prefix ? { prefix: launch.prefix } : {}),
      ...(options.processes ? { group: options.processes.observe(attempt.taskId, attempt.attempt) } : {}),
      signal,
    });
    return { ...result, sandbox: sandboxNote(launch) };
  };

  return {
    type: 'shell',
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency, concurrencyKey: 'tasks.shellConcurrency' }),
    validateInput(input) {
      return parse(input) as unknown as JsonValue;
    },
    async execute(context: TaskContext): Promise<JsonValue> {
      const input = parse(context.task.input);
      // The engine enforces the task timeout through the signal; this one only bounds the process.
      const timeoutMs = Math.min(context.task.timeoutMs ?? options.defaultTimeoutMs, MAX_TIMER_MS);
      const result = await run(input.command, input, context.workspace, timeoutMs, { taskId: context.task.id, attempt: context.attempt }, context.signal);
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
      const result = await run(input.rollback, input, context.workspace, options.defaultTimeoutMs, { taskId: context.task.id, attempt: context.task.attempts });
      if (result.exitCode !== 0) throw new ExecutionError(`rollback command exited with code ${result.exitCode}`);
      return true;
    },
  };
}

type SandboxNote = { isolation: 'bwrap' } | { isolation: 'none'; reason: string };

/** In the task record: whether the command ran in the OS sandbox, and why not when it did not. */
function sandboxNote(launch: PreparedLaunch): SandboxNote {
  return launch.isolation === 'bwrap' ? { isolation: 'bwrap' } : { isolation: 'none', reason: launch.reason ?? 'no OS sandbox' };
}

function summary(result: ShellResult & { sandbox: SandboxNote }): { [key: string]: JsonValue } {
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    stdout: result.stdout,
    stderr: result.stderr,
    truncated: result.truncated,
    durationMs: result.durationMs,
    sandbox: result.sandbox,
  };
}
