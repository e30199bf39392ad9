import { z } from 'zod';
import { HOOK_MAX_TIMEOUT_SECONDS } from './hook-defaults.js';

/**
 * The `hooks` section of Colony's config: commands run at lifecycle points, in the task's workspace,
 * through the same sandbox, environment allow-list and command policy as an agent's `run_shell`.
 *
 * - `taskStart`: before a task's executor runs; a blocking failure fails the task.
 * - `taskEnd`: after it ran (done or failed); a blocking failure fails a task that had succeeded.
 * - `toolCalling`: before an agent's tool call (report_result aside); `matcher` as for `fileEdited`. A
 *   blocking failure refuses the call: the agent gets the hook's output as the call's error result.
 * - `fileEdited`: after an agent's write_file or edit_file; `matcher` is a regular expression over the
 *   tool's name (Colony's, `write_file`, or Claude Code's, `Write`, `Edit`, `MultiEdit`), matched whole.
 *   A blocking failure is added to the tool's result, as an error, for the agent to act on.
 * - `taskCompleting`: when an agent reports its result; a blocking failure refuses the report and
 *   sends the hook's output back to the agent, which goes on working (at most HOOK_MAX_BLOCKED_STOPS times).
 * - `swarmEnded`: once a swarm ended (completed, failed or stopped), in the project directory; never blocks.
 *
 * Per hook: `command`, `timeout` (seconds), `blocking` (true: any failure blocks; false: failures are
 * only reported; absent: Claude Code's convention, exit status 2 blocks and others are reported), and
 * (not for swarmEnded) `agentTypes`: the hook runs only for tasks whose agent is of one of these types.
 * `claudeSettings` also reads the `hooks` of `.claude/settings.json` and `.claude/settings.local.json`.
 */
export const HOOK_POINTS = ['taskStart', 'taskEnd', 'toolCalling', 'fileEdited', 'taskCompleting', 'swarmEnded'] as const;
export type HookPoint = (typeof HOOK_POINTS)[number];

const command = z.string({ error: 'must be the command line to run (a string)' }).trim().min(1, 'must be a non-empty command line').refine((value) => !value.includes('\0'), 'must not contain a NUL byte');
const timeout = z.number().positive().max(HOOK_MAX_TIMEOUT_SECONDS, `at most ${HOOK_MAX_TIMEOUT_SECONDS} seconds`);

/**
 * A tool-name matcher. It is compiled (by the linear-time engine, see hook-definition.ts) when the
 * colony is created, not here: importing the package must not load the regex engine.
 */
export const hookMatcherSchema = z.string();

/** Only for tasks run by agents of these types (`tester`): a repository's tests gate the tester's finish, not every coder's. */
const agentTypes = z.array(z.string().trim().min(1, 'must name agent types (non-empty strings)')).min(1, 'must name at least one agent type (or leave agentTypes out)');
const hookSchema = z.strictObject({ command, timeout: timeout.optional(), blocking: z.boolean().optional(), agentTypes: agentTypes.optional() });
const toolHookSchema = hookSchema.extend({ matcher: hookMatcherSchema.optional() });

export const hooksConfigSchema = z.strictObject({
  claudeSettings: z.boolean(),
  taskStart: z.array(hookSchema),
  taskEnd: z.array(hookSchema),
  toolCalling: z.array(toolHookSchema),
  fileEdited: z.array(toolHookSchema),
  taskCompleting: z.array(hookSchema),
  swarmEnded: z.array(z.strictObject({ command, timeout: timeout.optional(), blocking: z.boolean().optional() })),
});

export type HooksConfig = z.infer<typeof hooksConfigSchema>;

export const HOOKS_DEFAULT_CONFIG: HooksConfig = {
  claudeSettings: true,
  taskStart: [],
  taskEnd: [],
  toolCalling: [],
  fileEdited: [],
  taskCompleting: [],
  swarmEnded: [],
};
