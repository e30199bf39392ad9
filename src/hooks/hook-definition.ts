import { ConfigError } from '../domain/errors.js';
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
  /** Runs only for tasks whose agent is of one of these types; null: for every task. */
  agentTypes: readonly string[] | null;
  /** `colony` (config.yaml) or the Claude Code settings file it was read from, relative to the project. */
  source: string;
}

export const COLONY_HOOK_SOURCE = 'colony';

/**
 * A matcher as Claude Code reads it: empty or `*` matches every tool, anything else is a regex over
 * the whole name. A pattern the engine refuses is a ConfigError that starts with `where`.
 */
export function compileToolMatcher(pattern: string | undefined, where: string): UntrustedRegex | null {
  if (pattern === undefined || pattern === '' || pattern === '*') return null;
  try {
    compileUntrustedRegex(pattern);
    return compileUntrustedRegex(`^(?:${pattern})$`);
  } catch (error) {
    throw new ConfigError(`${where}: ${(error as Error).message}`, { cause: error });
  }
}

export function secondsToMs(seconds: number | undefined): number {
  return Math.round((seconds ?? HOOK_DEFAULT_TIMEOUT_SECONDS) * 1000);
}

/** The hooks of Colony's own config, in the order given; throws ConfigError naming the key of a bad matcher. */
export function colonyHookDefinitions(config: HooksConfig): HookDefinition[] {
  const out: HookDefinition[] = [];
  const add = (point: HookPoint, hooks: readonly { command: string; timeout?: number | undefined; blocking?: boolean | undefined; matcher?: string | undefined; agentTypes?: readonly string[] | undefined }[]): void => {
    hooks.forEach((hook, index) => {
      out.push({
        point,
        command: hook.command,
        timeoutMs: secondsToMs(hook.timeout),
        blocking: hook.blocking ?? null,
        matcher: compileToolMatcher(hook.matcher, `invalid config key "hooks.${point}.${index}.matcher"`),
        agentTypes: hook.agentTypes ?? null,
        source: COLONY_HOOK_SOURCE,
      });
    });
  };
  add('taskStart', config.taskStart);
  add('taskEnd', config.taskEnd);
  add('toolCalling', config.toolCalling);
  add('fileEdited', config.fileEdited);
  add('taskCompleting', config.taskCompleting);
  add('swarmEnded', config.swarmEnded);
  return out;
}
