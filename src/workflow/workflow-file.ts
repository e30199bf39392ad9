import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadYaml } from '../kernel/load-yaml.js';
import { describeSyntaxError } from '../kernel/describe-syntax-error.js';
import { ValidationError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import { jsonDepthExceeds, MAX_DOCUMENT_DEPTH } from '../domain/json-depth.js';
import { checkDurationMs, parseDuration } from '../tasks/duration.js';
import { cwdSchema, envSchema, shellTextSchema } from '../tasks/executors/shell-input.js';
import { prioritySchema, taskNameSchema, type TaskSpecInput } from '../tasks/task-spec.js';

/** Kept as written (the definition's hash depends on it) and checked as the task spec will check it: bounded, e.g. `30s`. */
const duration = z.union([z.number().int().positive(), z.string().min(1)]).superRefine((value, ctx) => {
  try {
    if (typeof value === 'number') checkDurationMs(value);
    else parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

const workflowTaskSchema = z
  .object({
    id: taskNameSchema,
    /** Shorthand for a `shell` task: the command to run. */
    run: shellTextSchema.min(1).optional(),
    type: z.string().min(1).optional(),
    description: z.string().optional(),
    input: z.record(z.string(), z.unknown()).optional(),
    depends_on: z.union([z.array(taskNameSchema), taskNameSchema]).optional(),
    priority: prioritySchema.optional(),
    timeout: duration.optional(),
    retries: z.number().int().min(0).max(100).optional(),
    cwd: cwdSchema().optional(),
    env: envSchema(z.union([shellTextSchema, z.number(), z.boolean()])).optional(),
    rollback: shellTextSchema.min(1).optional(),
    capabilities: z.array(z.string().min(1)).optional(),
    agent: z.string().min(1).optional(),
  })
  .strict()
  .refine((t) => t.run !== undefined || t.type !== undefined, { message: 'a task needs `run` (a shell command) or a `type`' });

export const workflowSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$/, 'a workflow name is 1-128 letters, digits, space, dot, dash or underscore'),
    description: z.string().optional(),
    /** How many tasks may run at once (defaults to the configured concurrency). */
    concurrency: z.number().int().positive().max(10_000).optional(),
    defaults: z
      .object({ timeout: duration.optional(), retries: z.number().int().min(0).max(100).optional(), priority: prioritySchema.optional() })
      .strict()
      .optional(),
    tasks: z.array(workflowTaskSchema).min(1, 'a workflow needs at least one task').max(100_000),
  })
  .strict();

export type WorkflowDefinition = z.output<typeof workflowSchema>;

export interface LoadedWorkflow {
  definition: WorkflowDefinition;
  specs: TaskSpecInput[];
  /** Identifies the definition: running the same file again resumes its unfinished run. */
  hash: string;
  source: string | null;
}

export function readWorkflowFile(path: string): LoadedWorkflow {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ValidationError(code === 'ENOENT' ? `workflow file not found: ${path}` : `cannot read workflow file ${path}: ${code}`);
  }
  return parseWorkflow(text, path);
}

export function parseWorkflow(text: string, source: string | null = null): LoadedWorkflow {
  const where = source ?? 'workflow';
  let raw: unknown;
  try {
    raw = loadYaml().parse(text);
  } catch (error) {
    // The YAML parser recurses: flow collections nested a few hundred deep exhaust the stack (it reports that as a parse error).
    if (error instanceof RangeError || /Maximum call stack size exceeded/.test((error as Error).message)) throw new ValidationError(`${where}: nested too deeply to read (at most ${MAX_DOCUMENT_DEPTH} levels)`, { cause: error });
    throw new ValidationError(describeSyntaxError(error, where, text), { cause: error });
  }
  if (jsonDepthExceeds(raw, MAX_DOCUMENT_DEPTH)) throw new ValidationError(`${where}: nested more than ${MAX_DOCUMENT_DEPTH} levels deep`);
  const result = workflowSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    throw new ValidationError(`${where}: ${describePath(raw, issue.path as (string | number)[])}: ${issue.message}`, {
      details: { path: issue.path },
    });
  }
  const definition = result.data;
  const specs = definition.tasks.map((t): TaskSpecInput => {
    const isShell = t.run !== undefined;
    const input: Record<string, JsonValue> = { ...((t.input ?? {}) as Record<string, JsonValue>) };
    if (isShell) {
      input.command = t.run as string;
      if (t.cwd) input.cwd = t.cwd;
      if (t.env) input.env = Object.fromEntries(Object.entries(t.env).map(([k, v]) => [k, String(v)]));
      if (t.rollback) input.rollback = t.rollback;
    }
    const deps = t.depends_on === undefined ? [] : Array.isArray(t.depends_on) ? t.depends_on : [t.depends_on];
    const timeout = t.timeout ?? definition.defaults?.timeout;
    return {
      type: t.type ?? 'shell',
      name: t.id,
      description: t.description ?? t.run ?? '',
      input,
      dependencies: deps,
      priority: t.priority ?? definition.defaults?.priority,
      timeoutMs: timeout,
      maxRetries: t.retries ?? definition.defaults?.retries,
      requirements: { ...(t.capabilities ? { capabilities: t.capabilities } : {}), ...(t.agent ? { agentType: t.agent } : {}) },
    };
  });
  const hash = createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 32);
  return { definition, specs, hash, source };
}

/** "tasks[2] (build).timeout" rather than "tasks.2.timeout". */
function describePath(raw: unknown, path: (string | number)[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  let node: unknown = raw;
  for (const key of path) {
    if (typeof key === 'number') {
      node = Array.isArray(node) ? node[key] : undefined;
      const id = node && typeof node === 'object' ? (node as { id?: unknown }).id : undefined;
      out += `[${key}]${typeof id === 'string' ? ` (${id})` : ''}`;
    } else {
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
      out += out ? `.${key}` : key;
    }
  }
  return out;
}
