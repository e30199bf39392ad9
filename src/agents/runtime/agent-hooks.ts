import { resolve } from 'node:path';
import type { JsonValue } from '../../domain/json.js';
import type { HookRunner } from '../../hooks/hook-runner.js';
import { HOOK_MAX_BLOCKED_STOPS } from '../../hooks/hook-defaults.js';
import { isInvalidToolInput, type ToolUsePart } from '../../ports/provider.js';
import { CLAUDE_CODE_TOOL_NAMES } from './tool-names.js';
import { reportResultTool } from './tools/report-tool.js';

/**
 * Where hooks meet an agent's tool loop: before a tool call (`toolCalling`, Claude Code's PreToolUse),
 * after a file tool wrote (`fileEdited`) and when the agent finishes (`taskCompleting`, Claude Code's
 * Stop). See src/hooks/hook-config.ts.
 */

/** The tools after which `fileEdited` hooks run. */
export const FILE_EDIT_TOOLS: readonly string[] = ['write_file', 'edit_file'];

/** A tool's Colony name, then the Claude Code names that map to it (what matchers are tested against). */
export function hookToolNames(name: string): string[] {
  const claude = Object.entries(CLAUDE_CODE_TOOL_NAMES)
    .filter(([, colony]) => colony.includes(name))
    .map(([claudeName]) => claudeName);
  return [name, ...claude];
}

export interface AgentHookScope {
  hooks: HookRunner;
  workspace: string;
  task: { id: string; attempt: number };
  swarmId: string | null;
  agentType: string;
  signal: AbortSignal;
}

/** What the hooks see of a call: its names, its input, and the file it names (an absolute path), if any. */
function toolOf(scope: AgentHookScope, call: ToolUsePart): { names: string[]; input: Record<string, JsonValue>; filePath?: string } {
  const input = call.input as Record<string, JsonValue>;
  return { names: hookToolNames(call.name), input, ...(typeof input.path === 'string' ? { filePath: resolve(scope.workspace, input.path) } : {}) };
}

/** null: the call may run (report_result always may: finishing is `taskCompleting`'s to guard); otherwise its error result, saying which hook refused it and why. */
export async function beforeTool(scope: AgentHookScope, call: ToolUsePart): Promise<{ content: string; isError: true } | null> {
  if (call.name === reportResultTool.name || !scope.hooks.has('toolCalling') || isInvalidToolInput(call.input)) return null;
  const verdict = await scope.hooks.run('toolCalling', { workspace: scope.workspace, task: scope.task, swarmId: scope.swarmId, agentType: scope.agentType, tool: toolOf(scope, call), signal: scope.signal });
  return verdict.blocked ? { isError: true, content: `${call.name} was not run: a hook refused the call.\n${verdict.feedback}` } : null;
}

/** The tool's result, with a blocking `fileEdited` hook's output added (as an error) for the agent to act on. */
export async function afterFileTool(scope: AgentHookScope, call: ToolUsePart, output: { content: string; isError?: boolean }): Promise<{ content: string; isError?: boolean }> {
  if (output.isError === true || !FILE_EDIT_TOOLS.includes(call.name) || !scope.hooks.has('fileEdited')) return output;
  const tool = toolOf(scope, call);
  if (tool.filePath === undefined) return output;
  const verdict = await scope.hooks.run('fileEdited', { workspace: scope.workspace, task: scope.task, swarmId: scope.swarmId, agentType: scope.agentType, tool, signal: scope.signal });
  if (!verdict.blocked) return output;
  return { isError: true, content: `${output.content}\n\nThe change was made, but a hook objected:\n${verdict.feedback}` };
}

/**
 * The `taskCompleting` gate: each finish the hooks refuse comes back as feedback for the agent; the
 * HOOK_MAX_BLOCKED_STOPS-th refusal ends the task (`exhausted`).
 */
export class CompletionGate {
  readonly #scope: AgentHookScope | undefined;
  #blocked = 0;

  constructor(scope: AgentHookScope | undefined) {
    this.#scope = scope;
  }

  /** null: the agent may finish; otherwise what to tell it, or that it has been refused too often. */
  async check(result: JsonValue): Promise<null | { message: string; exhausted: boolean }> {
    const scope = this.#scope;
    if (scope === undefined || !scope.hooks.has('taskCompleting')) return null;
    const verdict = await scope.hooks.run('taskCompleting', {
      workspace: scope.workspace,
      task: scope.task,
      swarmId: scope.swarmId,
      agentType: scope.agentType,
      input: { stop_hook_active: this.#blocked > 0, result },
      signal: scope.signal,
    });
    if (!verdict.blocked) return null;
    this.#blocked++;
    if (this.#blocked >= HOOK_MAX_BLOCKED_STOPS) {
      return { exhausted: true, message: `the task could not complete: its taskCompleting hooks refused it ${this.#blocked} times; the last time:\n${verdict.feedback}` };
    }
    return {
      exhausted: false,
      message: `Your task may not complete yet: a hook that guards completion failed.\n${verdict.feedback}\n\nFix what it reports, then report your result again (refusal ${this.#blocked} of at most ${HOOK_MAX_BLOCKED_STOPS - 1} before the task fails).`,
    };
  }
}
