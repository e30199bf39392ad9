import type { PathIntent } from './workspace-guard.js';

/**
 * Names in a workspace that agent file tools may not change, at any depth, because changing them
 * changes what agents are or what runs on the user's machine: Colony's own state, Claude Code's
 * configuration (agents, settings, hooks, MCP servers, instructions) and git's internals (hooks and
 * config run code for whoever next uses git). `.colony/` may not be read either: it holds the
 * database (every task and transcript) and the keys.
 *
 * Names are compared case-insensitively and Unicode-normalised, so that `.Claude` on a
 * case-insensitive file system is the same rule.
 */
export interface ProtectedName {
  /** The name as shown; a directory is protected with everything under it. */
  name: string;
  directory: boolean;
  /** What it holds, finishing "… holds …" in the refusal. */
  holds: string;
  /** Whether reads are refused too (secrets), not only writes. */
  unreadable: boolean;
}

export const PROTECTED_NAMES: readonly ProtectedName[] = [
  { name: '.colony', directory: true, holds: "Colony's configuration, agent definitions, database and keys", unreadable: true },
  { name: '.claude', directory: true, holds: "Claude Code's configuration (agents, settings, commands, hooks)", unreadable: false },
  { name: '.git', directory: true, holds: "git's internals (hooks and config run code for whoever uses the repository)", unreadable: false },
  { name: '.mcp.json', directory: false, holds: 'the MCP servers Claude Code starts', unreadable: false },
  { name: '.claude.json', directory: false, holds: "Claude Code's configuration", unreadable: false },
  { name: 'CLAUDE.md', directory: false, holds: "Claude Code's standing instructions to its agents", unreadable: false },
  { name: 'CLAUDE.local.md', directory: false, holds: "Claude Code's standing instructions to its agents", unreadable: false },
];

/** The name as the rules compare it. */
export function normaliseName(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/** The rule that forbids `intent` on a path with these segments (workspace-relative), if any. */
export function protectionOf(segments: readonly string[], intent: PathIntent): ProtectedName | undefined {
  for (const segment of segments) {
    const name = normaliseName(segment);
    const rule = PROTECTED_NAMES.find((candidate) => normaliseName(candidate.name) === name);
    if (rule !== undefined && (intent === 'write' || rule.unreadable)) return rule;
  }
  return undefined;
}

/** Why the rule refuses, for the agent: "refused: .claude/ holds …; agents may not change it". */
export function describeProtection(rule: ProtectedName, intent: PathIntent): string {
  const shown = rule.directory ? `${rule.name}/` : rule.name;
  return `refused: ${shown} holds ${rule.holds}; agents may not ${intent === 'write' ? 'change' : 'read'} it`;
}
