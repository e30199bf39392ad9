import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../domain/errors.js';
import { describeSyntaxError } from '../kernel/describe-syntax-error.js';
import type { HookPoint } from './hook-config.js';
import { hookMatcherSchema } from './hook-config.js';
import { HOOK_DEFAULT_TIMEOUT_SECONDS, HOOK_MAX_TIMEOUT_SECONDS } from './hook-defaults.js';
import { compileToolMatcher, secondsToMs, type HookDefinition } from './hook-definition.js';

/**
 * The hooks of Claude Code's project settings (`.claude/settings.json`, then `.claude/settings.local.json`),
 * where their names match a Colony point:
 *
 *   SessionStart → taskStart, SessionEnd → taskEnd, PreToolUse → toolCalling and PostToolUse →
 *   fileEdited (their matcher over tool names), Stop and SubagentStop → taskCompleting.
 *
 * Other events (UserPromptSubmit, Notification, PreCompact, ...) and hooks of a type
 * other than `command` are skipped, each with a note for the log. Blocking follows Claude Code's
 * convention (exit status 2). A file that is not valid JSON, or whose `hooks` has the wrong shape,
 * is a ConfigError naming the file and the key.
 */
export const CLAUDE_SETTINGS_FILES = ['.claude/settings.json', '.claude/settings.local.json'] as const;

export const CLAUDE_HOOK_EVENTS: Readonly<Record<string, HookPoint>> = {
  SessionStart: 'taskStart',
  SessionEnd: 'taskEnd',
  PreToolUse: 'toolCalling',
  PostToolUse: 'fileEdited',
  Stop: 'taskCompleting',
  SubagentStop: 'taskCompleting',
};

const claudeHookSchema = z.looseObject({
  type: z.string(),
  command: z.string().optional(),
  timeout: z.number().positive().optional(),
});
const claudeMatcherGroupSchema = z.looseObject({ matcher: hookMatcherSchema.optional(), hooks: z.array(claudeHookSchema) });
const claudeHooksSchema = z.record(z.string(), z.array(claudeMatcherGroupSchema));

export interface ClaudeSettingsHooks {
  hooks: HookDefinition[];
  /** What was skipped and why, for the log. */
  notes: string[];
}

export function readClaudeSettingsHooks(projectDir: string): ClaudeSettingsHooks {
  const hooks: HookDefinition[] = [];
  const notes: string[] = [];
  for (const file of CLAUDE_SETTINGS_FILES) {
    const raw = readSettings(join(projectDir, file));
    if (raw === undefined) continue;
    const parsed = claudeHooksSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const key = ['hooks', ...(issue?.path.map(String) ?? [])].join('.');
      throw new ConfigError(`${file}: invalid key "${key}": ${issue?.message ?? 'invalid'}`, { details: { file, key } });
    }
    for (const [event, groups] of Object.entries(parsed.data)) {
      const point = CLAUDE_HOOK_EVENTS[event];
      if (point === undefined) {
        notes.push(`${file}: hooks.${event} skipped: Colony has no such point (it reads ${Object.keys(CLAUDE_HOOK_EVENTS).join(', ')})`);
        continue;
      }
      groups.forEach((group, index) => {
        for (const hook of group.hooks) {
          if (hook.type !== 'command' || hook.command === undefined || hook.command.trim() === '') {
            notes.push(`${file}: a hooks.${event}[${index}] hook of type ${JSON.stringify(hook.type)} skipped: Colony runs command hooks only`);
            continue;
          }
          // Claude Code sets no ceiling; Colony's is kept (a file written for Claude Code still loads).
          if (hook.timeout !== undefined && hook.timeout > HOOK_MAX_TIMEOUT_SECONDS) {
            notes.push(`${file}: a hooks.${event}[${index}] timeout of ${hook.timeout} s is cut to Colony's longest, ${HOOK_MAX_TIMEOUT_SECONDS} s`);
          }
          hooks.push({
            point,
            command: hook.command,
            timeoutMs: secondsToMs(Math.min(hook.timeout ?? HOOK_DEFAULT_TIMEOUT_SECONDS, HOOK_MAX_TIMEOUT_SECONDS)),
            blocking: null,
            matcher: point === 'fileEdited' || point === 'toolCalling' ? compileToolMatcher(group.matcher, `${file}: invalid key "hooks.${event}.${index}.matcher"`) : null,
            agentTypes: null,
            source: file,
          });
        }
      });
    }
  }
  return { hooks, notes };
}

/** The file's `hooks`, or undefined when there is no file or no hooks in it. */
function readSettings(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(describeSyntaxError(error, path, text, 'JSON'), { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${path}: expected a JSON object at the top level`);
  return (parsed as Record<string, unknown>).hooks;
}
