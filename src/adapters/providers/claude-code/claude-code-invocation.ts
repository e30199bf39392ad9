import type { CompletionRequest } from '../../../ports/provider.js';
import type { Secret } from '../../../providers/secret.js';
import { CLAUDE_CODE_QUIET_ENV, CLAUDE_CODE_SESSION_ENV_DROPPED } from './claude-code-defaults.js';

/**
 * The command line and environment of one headless Claude Code run:
 *
 *   claude -p --output-format stream-json --verbose --include-partial-messages --no-session-persistence
 *          [--model=<model>] [--system-prompt=<system> | --append-system-prompt=<system>]
 *          [--permission-mode=<mode>] [<extraArgs>...] [--tools <names>] [--allowedTools <tool>...]
 *
 * with the prompt on stdin. Values that come from callers use the `--flag=value` form so that a
 * value starting with a dash cannot be read as a flag. The variadic `--allowedTools` goes last so
 * nothing after it is swallowed as a tool name.
 */

export type SystemPromptMode = 'replace' | 'append';

export interface InvocationSettings {
  /** Configured model, used when the request names none ('' or 'default'). */
  model: string | null;
  allowedTools: readonly string[];
  /** Built-in tools made available; undefined derives them (see availableTools). */
  tools: readonly string[] | undefined;
  permissionMode: string | undefined;
  systemPromptMode: SystemPromptMode | undefined;
  extraArgs: readonly string[];
}

/** The model passed with --model, or null to let Claude Code choose. */
export function chooseModel(request: CompletionRequest, configured: string | null): string | null {
  const requested = request.model.trim();
  if (requested !== '' && requested !== 'default') return requested;
  return configured;
}

/**
 * Built-in tools for `--tools`, or null to leave Claude Code's default set.
 * - explicit `tools` win ([] means none);
 * - else the tools named in `allowedTools` (`Bash(git *)` counts as Bash; MCP tools are not built-in),
 *   so that allowing Read does not also offer Bash's read-only commands, which Claude Code would
 *   otherwise run without asking;
 * - else, with a permission mode set, the default set (the mode decides what runs);
 * - else none: a pure completion.
 */
export function availableTools(settings: Pick<InvocationSettings, 'allowedTools' | 'tools' | 'permissionMode'>): string[] | null {
  if (settings.tools !== undefined) return [...settings.tools];
  if (settings.allowedTools.length > 0) {
    const names = settings.allowedTools.map((tool) => tool.replace(/\(.*$/s, '').trim()).filter((name) => name !== '' && !name.startsWith('mcp__'));
    return [...new Set(names)];
  }
  if (settings.permissionMode !== undefined) return null;
  return [];
}

export function buildArgs(request: CompletionRequest, settings: InvocationSettings): string[] {
  const args = ['-p', '--output-format', 'stream-json', '--verbose', '--include-partial-messages', '--no-session-persistence'];
  const model = chooseModel(request, settings.model);
  if (model !== null) args.push(`--model=${model}`);
  const tools = availableTools(settings);
  const system = request.system ?? '';
  if (system !== '') {
    // Replacing Claude Code's own prompt suits a completion; with tools, its tool guidance is kept.
    const pureCompletion = tools !== null && tools.length === 0 && settings.allowedTools.length === 0;
    const mode = settings.systemPromptMode ?? (pureCompletion ? 'replace' : 'append');
    args.push(`${mode === 'replace' ? '--system-prompt' : '--append-system-prompt'}=${system}`);
  }
  if (settings.permissionMode !== undefined) args.push(`--permission-mode=${settings.permissionMode}`);
  args.push(...settings.extraArgs);
  if (tools !== null) args.push('--tools', tools.join(','));
  if (settings.allowedTools.length > 0) args.push('--allowedTools', ...settings.allowedTools);
  return args;
}

export interface EnvironmentSettings {
  base: Readonly<Record<string, string | undefined>>;
  apiKey: Secret | null;
  baseUrl: string | null;
  internalRetries: number;
  maxTokens: number | undefined;
  overrides: Readonly<Record<string, string | undefined>>;
}

/**
 * The inherited environment without the markers of an enclosing Claude Code session, plus: the
 * quiet switches (no telemetry, updates or other nonessential traffic), Claude Code's own retries
 * (CLAUDE_CODE_MAX_RETRIES), the key and endpoint (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL), the
 * output cap (CLAUDE_CODE_MAX_OUTPUT_TOKENS) when the request sets one, and finally `overrides`
 * (undefined removes a variable).
 */
export function buildEnv(settings: EnvironmentSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings.base)) {
    if (value !== undefined && !CLAUDE_CODE_SESSION_ENV_DROPPED.includes(name)) env[name] = value;
  }
  Object.assign(env, CLAUDE_CODE_QUIET_ENV);
  env.CLAUDE_CODE_MAX_RETRIES = String(settings.internalRetries);
  if (settings.apiKey !== null) env.ANTHROPIC_API_KEY = settings.apiKey.reveal();
  if (settings.baseUrl !== null) env.ANTHROPIC_BASE_URL = settings.baseUrl;
  if (settings.maxTokens !== undefined) env.CLAUDE_CODE_MAX_OUTPUT_TOKENS = String(settings.maxTokens);
  for (const [name, value] of Object.entries(settings.overrides)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}
