import { resolve } from 'node:path';
import type { JsonValue } from '../../domain/json.js';
import type { HookRunner } from '../../hooks/hook-runner.js';
import { HOOK_MAX_BLOCKED_STOPS } from '../../hooks/hook-defaults.js';
import type { ToolUsePart } from '../../ports/provider.js';
import { CLAUDE_CODE_TOOL_NAMES } from './tool-names.js';

/**
 * Where hooks meet an agent's tool loop: after a file tool wrote (`fileEdited`) and when the agent
 * finishes (`taskCompleting`, Claude Code's Stop). See src/hooks/hook-config.ts.
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
  signal: AbortSignal;
}

/** The tool's result, with a blocking `fileEdited` hook's output added (as an error) for the agent to act on. */
export async function afterFileTool(scope: AgentHookScope, call: ToolUsePart, output: { content: string; isError?: boolean }): Promise<{ content: string; isError?: boolean }> {
  if (output.isError === true || !FILE_EDIT_TOOLS.includes(call.name) || !scope.hooks.has('fileEdited')) return output;
  const input = call.input as Record<string, JsonValue>;
  if (typeof input.path !== 'string') return output;
  const verdict = await scope.hooks.run('fileEdited', {
    workspace: scope.workspace,
    task: scope.task,
    swarmId: scope.swarmId,
    tool: { names: hookToolNames(call.name), filePath: resolve(scope.workspace, input.path), input },
    signal: scope.signal,
  });
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
