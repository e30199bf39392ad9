import { z } from 'zod';
import { ValidationError } from '../../../domain/errors.js';
import type { JsonValue } from '../../../domain/json.js';
import { describeIssues } from '../../../providers/zod-issues.js';
import { AGENT_TOOLS, CLAUDE_CODE_TOOL_NAMES } from '../tool-names.js';
import type { AgentTool, ToolOutput } from './agent-tool.js';

/**
 * Tools a program embedding Colony registers in code (`colony.tools.register`). An agent type gets
 * one when its `tools:` list names it (never by default). The model's arguments are validated
 * against the zod schema before `execute` runs (a JSON Schema is passed to the model as it is, and
 * `execute` validates itself); bad arguments and thrown errors become error results the model sees.
 *
 * Agents are untrusted: a custom tool gets the same facts about its run as the built-ins and
 * nothing more (no store, no configuration, no secrets), only what identifies the call.
 */

/** What a custom tool learns about the call: identifiers, the workspace root, cancellation. */
export interface CustomToolContext {
  taskId: string;
  /** The agent running the task, or null for a task run without one. */
  agentId: string | null;
  attempt: number;
  /** The model round-trip whose tool calls are being run. */
  turn: number;
  /** The task's workspace (absolute, symlinks resolved). */
  workspace: string;
  /** Aborted when the task is cancelled or times out. */
  signal: AbortSignal;
}

/** What `execute` may answer: text, `{ content, isError }`, or any JSON value (sent as JSON text). */
export type CustomToolResult = string | ToolOutput | JsonValue;

export interface CustomToolDefinition<S extends z.ZodType = z.ZodType> {
  /** Lowercase letters, digits and "_", starting with a letter; at most 64 characters. */
  name: string;
  description: string;
  /** A zod schema (validated before `execute`), or a JSON Schema object (type: 'object') passed to the model unvalidated. */
  input: S | Record<string, unknown>;
  execute(input: z.output<S>, context: CustomToolContext): Promise<CustomToolResult> | CustomToolResult;
}

export const CUSTOM_TOOL_NAME_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** The tools a program registered, by name; one registry per colony. */
export class ToolRegistry {
  private readonly tools = new Map<string, AgentTool>();

  /** Registers a tool; throws ValidationError for a bad definition or a name already taken. */
  register<S extends z.ZodType>(definition: CustomToolDefinition<S>): void {
    const tool = defineCustomTool(definition);
    if (this.tools.has(tool.name)) throw new ValidationError(`a tool named "${tool.name}" is already registered`, { details: { tool: tool.name } });
    this.tools.set(tool.name, tool);
  }

  /** The registered tools' names, in registration order. */
  names(): string[] {
    return [...this.tools.keys()];
  }

  /** The registered tools as the runtime uses them. */
  list(): readonly AgentTool[] {
    return [...this.tools.values()];
  }
}

/** Turns a definition into an agent tool; throws ValidationError naming what is wrong with it. */
export function defineCustomTool<S extends z.ZodType>(definition: CustomToolDefinition<S>): AgentTool {
  const invalid = (field: string, message: string): ValidationError =>
    new ValidationError(`custom tool ${JSON.stringify(definition?.name ?? null)}: "${field}" ${message}`, { details: { tool: definition?.name ?? null, field } });
  if (definition === null || typeof definition !== 'object') throw new ValidationError('a custom tool definition must be an object');
  const { name, description, input, execute } = definition;
  if (typeof name !== 'string' || !CUSTOM_TOOL_NAME_PATTERN.test(name)) {
    throw invalid('name', 'must be lowercase letters, digits and "_", starting with a letter, at most 64 characters');
  }
  if (AGENT_TOOLS.some((tool) => tool.name === name) || Object.hasOwn(CLAUDE_CODE_TOOL_NAMES, name)) {
    throw new ValidationError(`a tool named "${name}" is already built in; choose another name`, { details: { tool: name } });
  }
  if (typeof description !== 'string' || description.trim() === '') throw invalid('description', 'must be a non-empty string');
  if (typeof execute !== 'function') throw invalid('execute', 'must be a function');
  const schema = isZodSchema(input) ? input : undefined;
  let inputSchema: Record<string, unknown>;
  if (schema !== undefined) {
    const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
    inputSchema = rest;
  } else if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
    inputSchema = input as Record<string, unknown>;
  } else {
    throw invalid('input', 'must be a zod schema or a JSON Schema object');
  }
  if (inputSchema.type !== 'object') throw invalid('input', 'must describe an object (JSON Schema type: "object")');

  return {
    name,
    description,
    inputSchema,
    async run(raw, context): Promise<ToolOutput> {
      let value: unknown = raw;
      if (schema !== undefined) {
        const parsed = schema.safeParse(raw);
        if (!parsed.success) return { isError: true, content: `invalid arguments for ${name}: ${describeIssues(parsed.error)}` };
        value = parsed.data;
      }
      // Only what identifies the call: the built-ins' store, files and shell are not handed out.
      const narrow: CustomToolContext = {
        taskId: context.task.id,
        agentId: context.agent?.id ?? null,
        attempt: context.attempt,
        turn: context.turn,
        workspace: context.workspace,
        signal: context.signal,
      };
      return toOutput(await execute(value as z.output<S>, narrow));
    },
  };
}

/** A zod 4 schema, also from a copy of zod other than Colony's (a program's own dependency). */
function isZodSchema(input: unknown): input is z.ZodType {
  if (input instanceof z.ZodType) return true;
  return typeof input === 'object' && input !== null && '_zod' in input && typeof (input as { safeParse?: unknown }).safeParse === 'function';
}

function toOutput(result: CustomToolResult): ToolOutput {
  if (typeof result === 'string') return { content: result };
  if (result !== null && typeof result === 'object' && !Array.isArray(result) && typeof (result as { content?: unknown }).content === 'string') {
    const keys = Object.keys(result);
    if (keys.every((key) => key === 'content' || key === 'isError')) return result as ToolOutput;
  }
  return { content: JSON.stringify(result ?? null) };
}
