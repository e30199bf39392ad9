import { CancelledError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import type { Logger } from '../kernel/logger.js';
import type { EventBus } from '../ports/event-bus.js';
import { checkCommand, type CommandPolicy } from '../sandbox/command-policy.js';
import type { CommandSandbox } from '../sandbox/command-sandbox.js';
import { runShell, type ProcessGroupObserver, type ShellResult } from '../sandbox/run-shell.js';
import type { HookPoint } from './hook-config.js';
import {
  HOOK_BLOCKING_EXIT_CODE,
  HOOK_EVENT_COMMAND_MAX_CHARS,
  HOOK_EVENT_OUTPUT_MAX_CHARS,
  HOOK_FEEDBACK_MAX_CHARS,
  HOOK_OUTPUT_MAX_BYTES,
} from './hook-defaults.js';
import type { HookDefinition } from './hook-definition.js';

/** Claude Code's name of each point, given to hooks as `hook_event_name`. */
const CLAUDE_EVENT_NAMES: Readonly<Record<HookPoint, string>> = {
  taskStart: 'SessionStart',
  taskEnd: 'SessionEnd',
  toolCalling: 'PreToolUse',
  fileEdited: 'PostToolUse',
  taskCompleting: 'Stop',
  swarmEnded: 'SwarmEnded',
};

/** Where and for what one point's hooks run. */
export interface HookRunContext {
  /** The hooks' working directory: the task's workspace (the project directory for a swarm). */
  workspace: string;
  task?: { id: string; attempt: number };
  swarmId?: string | null;
  /** The type of the agent running the task (null: a task without an agent), for hooks limited by `agentTypes`. */
  agentType?: string | null;
  /** The tool called (toolCalling) or that wrote (fileEdited): its names (Colony's first, then Claude Code's), its input, the file it names. */
  tool?: { names: readonly string[]; input: Record<string, JsonValue>; filePath?: string };
  /** More fields for the hooks' JSON input (the task's status for taskEnd, ...). */
  input?: Record<string, JsonValue>;
  signal?: AbortSignal;
}

/** What one point's hooks decided: whether the step is blocked, and what the blocking hooks said. */
export interface HookVerdict {
  blocked: boolean;
  /** For the agent: each blocking hook's command, how it ended and its output. Empty when not blocked. */
  feedback: string;
}

export interface HookRunnerDeps {
  hooks: readonly HookDefinition[];
  /** The agents' sandbox: hooks run as an agent's `run_shell` does (isolation, environment allow-list). */
  sandbox: CommandSandbox;
  /** The agents' command policy (`shell.allow`, `shell.deny`). */
  policy?: CommandPolicy;
  events: EventBus;
  /** Records a task hook's process group while it runs, so that crash recovery can end it. */
  processes?: { observe(taskId: string, attempt: number): ProcessGroupObserver };
  logger: Logger;
}

const PASSED: HookVerdict = { blocked: false, feedback: '' };

/**
 * Runs the hooks of a lifecycle point, one after another in their configured order (Colony's config,
 * then Claude Code's settings files). Each gets a JSON object on stdin (Claude Code's fields where
 * they exist) and COLONY_* variables, runs with its time limit and an output cap, and is published as
 * a `hook.ran` event. Failing hooks never throw: they block (per their `blocking`) or are reported.
 * Only cancellation of the caller's signal rejects.
 */
export class HookRunner {
  readonly #deps: HookRunnerDeps;

  constructor(deps: HookRunnerDeps) {
    this.#deps = deps;
  }

  /** Whether any hook is configured for the point (to skip work at points nobody hooks). */
  has(point: HookPoint): boolean {
    return this.#deps.hooks.some((hook) => hook.point === point);
  }

  async run(point: HookPoint, context: HookRunContext): Promise<HookVerdict> {
    const hooks = this.#deps.hooks.filter((hook) => hook.point === point && matches(hook, context));
    if (hooks.length === 0) return PASSED;
    const feedback: string[] = [];
    for (const hook of hooks) {
      const run = await this.#runOne(hook, context);
      if (run.blocked) feedback.push(run.feedback);
    }
    return feedback.length === 0 ? PASSED : { blocked: true, feedback: feedback.join('\n\n') };
  }

  async #runOne(hook: HookDefinition, context: HookRunContext): Promise<{ blocked: boolean; feedback: string }> {
    const { sandbox, policy, events, processes } = this.#deps;
    const check = checkCommand(hook.command, policy);
    let result: ShellResult | { refused: string };
    if (!check.allowed) result = { refused: `command refused by policy: ${check.reason}` };
    else {
      try {
        const launch = await sandbox.prepare({ purpose: 'agent', workspace: context.workspace, cwd: context.workspace, env: hookEnvironment(hook, context) });
        result = await runShell({
          command: hook.command,
          cwd: context.workspace,
          timeoutMs: hook.timeoutMs,
          maxOutputBytes: HOOK_OUTPUT_MAX_BYTES,
          env: launch.env,
          stdin: JSON.stringify(hookInput(hook.point, context)),
          ...(launch.prefix ? { prefix: launch.prefix } : {}),
          ...(processes && context.task ? { group: processes.observe(context.task.id, context.task.attempt) } : {}),
          ...(context.signal ? { signal: context.signal } : {}),
        });
      } catch (error) {
        if (error instanceof CancelledError || context.signal?.aborted === true) throw error;
        // The sandbox is required and missing, or the workspace is gone: the hook could not run.
        result = { refused: `could not run: ${error instanceof Error ? error.message : String(error)}` };
      }
    }

    const outcome = 'refused' in result ? 'refused' : result.timedOut ? 'timed_out' : result.exitCode === 0 ? 'passed' : 'failed';
    const exitCode = 'refused' in result ? null : result.exitCode;
    const blocked = outcome !== 'passed' && (hook.blocking === true || (hook.blocking === null && exitCode === HOOK_BLOCKING_EXIT_CODE));
    const output = 'refused' in result ? result.refused : [result.stderr, result.stdout].filter((text) => text.trim() !== '').join('\n');
    const status =
      'refused' in result ? result.refused : result.timedOut ? `timed out after ${hook.timeoutMs} ms (killed)` : exitCode === null ? `killed by ${result.signal ?? 'a signal'}` : `exit code ${exitCode}`;
    events.publish(
      'hook.ran',
      {
        point: hook.point,
        command: cut(hook.command, HOOK_EVENT_COMMAND_MAX_CHARS),
        source: hook.source,
        taskId: context.task?.id ?? null,
        swarmId: context.swarmId ?? null,
        outcome,
        exitCode,
        durationMs: 'refused' in result ? 0 : result.durationMs,
        blocked,
        output: tail(output, HOOK_EVENT_OUTPUT_MAX_CHARS),
      },
      { source: 'hooks', correlationId: context.task?.id ?? context.swarmId ?? null },
    );
    if (outcome !== 'passed' && !blocked) {
      this.#deps.logger.warn({ point: hook.point, command: hook.command, taskId: context.task?.id, swarmId: context.swarmId }, `hook failed (reported only): ${status}`);
    }
    // The end of the output: where test runners and compilers sum up what failed.
    const told = 'refused' in result || output.trim() === '' ? '' : `\n${tail(output, HOOK_FEEDBACK_MAX_CHARS)}`;
    return { blocked, feedback: `The ${hook.point} hook \`${hook.command}\` (${hook.source}) failed: ${status}${told}` };
  }
}

function matches(hook: HookDefinition, context: HookRunContext): boolean {
  if (hook.agentTypes !== null && !hook.agentTypes.includes(context.agentType ?? '')) return false;
  if (hook.matcher === null) return true;
  const names = context.tool?.names ?? [];
  return names.some((name) => hook.matcher?.test(name) === true);
}

/** The hook's own variables; the sandbox adds the allow-listed ones (PATH, HOME, ...), never secrets. */
function hookEnvironment(hook: HookDefinition, context: HookRunContext): Record<string, string> {
  const env: Record<string, string> = { COLONY_HOOK_POINT: hook.point, COLONY_PROJECT_DIR: context.workspace, CLAUDE_PROJECT_DIR: context.workspace };
  if (context.task) env.COLONY_TASK_ID = context.task.id;
  if (context.swarmId) env.COLONY_SWARM_ID = context.swarmId;
  if (context.tool?.filePath !== undefined) {
    env.COLONY_FILE = context.tool.filePath;
    env.CLAUDE_FILE = context.tool.filePath;
  }
  return env;
}

/** The JSON a hook reads on stdin: Claude Code's fields (session_id, cwd, hook_event_name, tool_name, tool_input) and Colony's. */
function hookInput(point: HookPoint, context: HookRunContext): Record<string, JsonValue> {
  const claudeToolName = context.tool?.names[1] ?? context.tool?.names[0];
  return {
    session_id: context.task?.id ?? context.swarmId ?? null,
    cwd: context.workspace,
    hook_event_name: CLAUDE_EVENT_NAMES[point],
    colony_hook_point: point,
    task_id: context.task?.id ?? null,
    attempt: context.task?.attempt ?? null,
    swarm_id: context.swarmId ?? null,
    ...(context.tool ? { tool_name: claudeToolName ?? null, colony_tool_name: context.tool.names[0] ?? null, tool_input: { ...context.tool.input, ...(context.tool.filePath === undefined ? {} : { file_path: context.tool.filePath }) } } : {}),
    ...context.input,
  };
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function tail(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(text.length - max)}`;
}
