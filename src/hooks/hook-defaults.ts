/** Defaults of hooks (see hook-config.ts): named here so that tests and docs can refer to them. */

/** A hook's time limit when it sets none, in seconds (Claude Code's default too). */
export const HOOK_DEFAULT_TIMEOUT_SECONDS = 60;

/** The longest time limit a hook may set, in seconds: an hour. */
export const HOOK_MAX_TIMEOUT_SECONDS = 3_600;

/** Output kept per stream of one hook run; the rest is dropped. */
export const HOOK_OUTPUT_MAX_BYTES = 16 * 1024;

/** The most of a blocking hook's output handed back to the agent (its end, where failures are summed up). */
export const HOOK_FEEDBACK_MAX_CHARS = 8_000;

/** The most of a hook's output kept in its `hook.ran` event. */
export const HOOK_EVENT_OUTPUT_MAX_CHARS = 1_000;

/** The most of a hook's command line kept in its `hook.ran` event. */
export const HOOK_EVENT_COMMAND_MAX_CHARS = 300;

/**
 * How many times `taskCompleting` hooks may refuse an agent's finish before the task fails: enough
 * for the agent to fix what a test run reports, bounded so a hook that never passes ends the task.
 */
export const HOOK_MAX_BLOCKED_STOPS = 3;

/** The exit status by which a hook blocks its step whatever its `blocking` setting says (Claude Code's convention). */
export const HOOK_BLOCKING_EXIT_CODE = 2;
