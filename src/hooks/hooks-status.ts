import type { StoredEvent } from '../domain/events.js';
import type { HookPoint } from './hook-config.js';
import { HOOK_EVENT_COMMAND_MAX_CHARS } from './hook-defaults.js';
import type { HookDefinition } from './hook-definition.js';

/** The newest `hook.ran` events counted as the hooks' recent runs in status. */
export const HOOK_RUNS_SCANNED = 200;

/** How a hook's failure counts: any failure blocks, none does, or exit status 2 does (Claude Code's convention). */
export type HookBlocking = 'any-failure' | 'never' | 'exit-code-2';

/** One configured hook as status shows it. */
export interface ConfiguredHook {
  point: HookPoint;
  /** The command line, cut to HOOK_EVENT_COMMAND_MAX_CHARS. */
  command: string;
  /** `colony` (config.yaml) or the Claude Code settings file it was read from. */
  source: string;
  blocking: HookBlocking;
  /** The tool-name pattern as written (null: every tool; only `toolCalling` and `fileEdited` hooks have one). */
  matcher: string | null;
  /** Runs only for agents of these types (null: for every task). */
  agentTypes: string[] | null;
  timeoutMs: number;
}

/** Of the newest HOOK_RUNS_SCANNED hook runs (every process on the database): how many did not pass. */
export interface HookRunCounts {
  scanned: number;
  /** Exited with a status other than 0, or killed by a signal. */
  failed: number;
  timedOut: number;
  /** Never ran: refused by the command policy, or the sandbox could not start it. */
  refused: number;
  /** Of those that did not pass, how many blocked the step they guard. */
  blocked: number;
  /** When the newest one ran (epoch ms; null: none recorded). */
  latestAt: number | null;
}

export interface HooksStatus {
  /** In the order they run. */
  configured: ConfiguredHook[];
  recentRuns: HookRunCounts;
}

/** The hooks in the order they run (Colony's config, then Claude Code's settings files), with their recent runs' outcomes. */
export function hooksStatus(definitions: readonly HookDefinition[], newestRuns: readonly StoredEvent[]): HooksStatus {
  return { configured: definitions.map(configuredHook), recentRuns: countRuns(newestRuns) };
}

function configuredHook(hook: HookDefinition): ConfiguredHook {
  return {
    point: hook.point,
    command: hook.command.length <= HOOK_EVENT_COMMAND_MAX_CHARS ? hook.command : `${hook.command.slice(0, HOOK_EVENT_COMMAND_MAX_CHARS)}…`,
    source: hook.source,
    blocking: hook.blocking === true ? 'any-failure' : hook.blocking === false ? 'never' : 'exit-code-2',
    matcher: hook.matcher === null ? null : writtenPattern(hook.matcher.source),
    agentTypes: hook.agentTypes === null ? null : [...hook.agentTypes],
    timeoutMs: hook.timeoutMs,
  };
}

/** compileToolMatcher anchors the pattern as `^(?:pattern)$`; status shows it as the user wrote it. */
function writtenPattern(source: string): string {
  return source.startsWith('^(?:') && source.endsWith(')$') ? source.slice(4, -2) : source;
}

function countRuns(events: readonly StoredEvent[]): HookRunCounts {
  const counts: HookRunCounts = { scanned: 0, failed: 0, timedOut: 0, refused: 0, blocked: 0, latestAt: null };
  for (const event of events) {
    if (event.type !== 'hook.ran') continue;
    const data = event.data as { outcome?: unknown; blocked?: unknown };
    counts.scanned += 1;
    counts.latestAt = Math.max(counts.latestAt ?? 0, event.timestamp);
    if (data.outcome === 'failed') counts.failed += 1;
    else if (data.outcome === 'timed_out') counts.timedOut += 1;
    else if (data.outcome === 'refused') counts.refused += 1;
    if (data.blocked === true) counts.blocked += 1;
  }
  return counts;
}
