import { compileUntrustedRegex, type UntrustedRegex } from '../security/untrusted-regex.js';
import type { HookPoint, HooksConfig } from './hook-config.js';
import { HOOK_DEFAULT_TIMEOUT_SECONDS } from './hook-defaults.js';

/** One hook as it runs: where it came from, its point, command, limits and tool matcher. */
export interface HookDefinition {
  point: HookPoint;
  command: string;
  timeoutMs: number;
  /** true: any failure blocks; false: only reported; null: exit status 2 blocks (Claude Code's convention). */
  blocking: boolean | null;
  /** Over tool names, matched whole; null: every tool. Only `toolCalling` and `fileEdited` hooks have one. */
  matcher: UntrustedRegex | null;
  /** `colony` (config.yaml) or the Claude Code settings file it was read from, relative to the project. */
  source: string;
}

export const COLONY_HOOK_SOURCE = 'colony';

/** A matcher as Claude Code reads it: empty or `*` matches every tool, anything else is a regex over the whole name. */
export function compileToolMatcher(pattern: string | undefined): UntrustedRegex | null {
  if (pattern === undefined || pattern === '' || pattern === '*') return null;
  return compileUntrustedRegex(`^(?:${pattern})$`);
}

export function secondsToMs(seconds: number | undefined): number {
  return Math.round((seconds ?? HOOK_DEFAULT_TIMEOUT_SECONDS) * 1000);
}

/** The hooks of Colony's own config, in the order given. */
export function colonyHookDefinitions(config: HooksConfig): HookDefinition[] {
  const out: HookDefinition[] = [];
  const add = (point: HookPoint, hook: { command: string; timeout?: number | undefined; blocking?: boolean | undefined; matcher?: string | undefined }): void => {
    out.push({
      point,
      command: hook.command,
      timeoutMs: secondsToMs(hook.timeout),
      blocking: hook.blocking ?? null,
      matcher: compileToolMatcher(hook.matcher),
      source: COLONY_HOOK_SOURCE,
    });
  };
  for (const hook of config.taskStart) add('taskStart', hook);
  for (const hook of config.taskEnd) add('taskEnd', hook);
  for (const hook of config.toolCalling) add('toolCalling', hook);
  for (const hook of config.fileEdited) add('fileEdited', hook);
  for (const hook of config.taskCompleting) add('taskCompleting', hook);
  for (const hook of config.swarmEnded) add('swarmEnded', hook);
  return out;
}
