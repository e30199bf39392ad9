import { z } from 'zod';
import type { AgentRecord } from '../../../domain/agent.js';
import type { JsonValue } from '../../../domain/json.js';
import type { TaskRecord } from '../../../domain/task.js';
import type { Store } from '../../../ports/store.js';
import { describeIssues } from '../../../providers/zod-issues.js';
import type { CommandPolicy } from '../../../sandbox/command-policy.js';
import type { CommandSandbox } from '../../../sandbox/command-sandbox.js';
import type { FileTools } from '../../../sandbox/file-tools.js';
import type { WorkspaceGuard } from '../../../sandbox/workspace-guard.js';
import type { TaskProcessRecorder } from '../../../tasks/task-process-recorder.js';
import type { AgentMemory } from '../memory-context.js';

/**
 * What an agent tool is: a name, a description and a JSON Schema the model sees, and a `run` that
 * validates the model's arguments with zod before doing anything. Bad arguments are not an
 * exception: they come back as an error result naming the field, so the model can fix its call.
 */

/** What a tool answers; `isError` tells the model the call failed. */
export interface ToolOutput {
  content: string;
  isError?: boolean;
}

export interface ShellSettings {
  timeoutMs: number;
  maxOutputBytes: number;
  policy?: CommandPolicy;
  /**
   * Where commands run (the OS sandbox when it works) and with what environment (an allow-list, never
   * the server's). Default: no OS sandbox, the allow-listed variables of process.env.
   */
  sandbox?: CommandSandbox;
  /** The agent type asks for the network (frontmatter `network: true`); otherwise sandboxed commands have none. */
  network?: boolean;
  /** Records each command's process group while it runs, so that crash recovery can end it. Default: not recorded. */
  processes?: TaskProcessRecorder;
}

/** A child task an agent asks for; the engine decides how it runs (see agent-executor's agentSubtaskSpec). */
export interface SubtaskRequest {
  parentId: string;
  description: string;
  prompt: string;
  agentType?: string;
  capabilities?: string[];
  priority?: number;
}

export type SubmitSubtask = (request: SubtaskRequest) => Promise<{ id: string }>;

export interface AgentToolContext {
  task: TaskRecord;
  agent: AgentRecord | null;
  attempt: number;
  /** The model round-trip whose tool calls are being run. */
  turn: number;
  workspace: string;
  guard: WorkspaceGuard;
  files: FileTools;
  /**
   * Records what `path` holds now in the task's journal, and persists the journal when that added an
   * entry, before the tool writes: a crash after the write still leaves it restorable.
   */
  journalBeforeWrite(path: string): Promise<void>;
  shell: ShellSettings;
  store: Store;
  signal: AbortSignal;
  now: () => number;
  submitSubtask?: SubmitSubtask;
  /** The colony's memory and this task's namespace, for the memory tools; absent: no memory in this run. */
  memory?: AgentMemory;
  /** Sets the task's final result; the loop ends after this turn's tool calls. */
  report(result: JsonValue): void;
}

export interface AgentTool {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the arguments (type: object), as sent to the provider. */
  readonly inputSchema: Record<string, unknown>;
  /** Validates `input` and runs; throws only for failures of the tool itself (reported to the model too). */
  run(input: unknown, context: AgentToolContext): Promise<ToolOutput>;
}

export interface ToolDefinition<S extends z.ZodType> {
  name: string;
  description: string;
  input: S;
  run(input: z.output<S>, context: AgentToolContext): Promise<ToolOutput | string>;
}

export function defineTool<S extends z.ZodType>(definition: ToolDefinition<S>): AgentTool {
  const inputSchema = toJsonSchema(definition.input);
  return {
    name: definition.name,
    description: definition.description,
    inputSchema,
    async run(input, context) {
      const parsed = definition.input.safeParse(input);
      if (!parsed.success) return { isError: true, content: `invalid arguments for ${definition.name}: ${describeIssues(parsed.error)}` };
      const output = await definition.run(parsed.data, context);
      return typeof output === 'string' ? { content: output } : output;
    },
  };
}

/** The input side of the schema (defaults are optional), without the `$schema` key providers do not need. */
function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
}
