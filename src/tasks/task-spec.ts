import { z } from 'zod';
import { ValidationError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../domain/json-depth.js';
import { POOL_NAME_PATTERN, POOL_NAME_RULE, PRIORITIES, PRIORITY_MAX, PRIORITY_MIN } from '../domain/task.js';
import { checkDurationMs, parseDuration } from './duration.js';

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]),
);

/** JSON within MAX_JSON_DEPTH levels: the depth is checked without recursion before the recursive schema runs. */
const jsonInput = z
  .custom<unknown>((value) => !jsonDepthExceeds(value, MAX_JSON_DEPTH), { message: `nested more than ${MAX_JSON_DEPTH} levels deep` })
  .pipe(jsonValue);

const PRIORITY_HELP = `expected ${Object.keys(PRIORITIES).join(', ')} or a whole number from ${PRIORITY_MIN} to ${PRIORITY_MAX}`;

export const prioritySchema = z.union(
  [
    z.enum(Object.keys(PRIORITIES) as [keyof typeof PRIORITIES, ...(keyof typeof PRIORITIES)[]]).transform((p) => PRIORITIES[p]),
    z.number().int().min(PRIORITY_MIN).max(PRIORITY_MAX),
  ],
  { error: (issue) => `${PRIORITY_HELP}, got ${JSON.stringify(issue.input)}` },
);

/** A duration: milliseconds, or text such as `30s`, `5m`, `1h` (see duration.ts); at most the longest timer (about 24.8 days). */
export const durationSchema = z.union([z.number().int().positive(), z.string().max(64)]).transform((value, ctx) => {
  try {
    return typeof value === 'number' ? checkDurationMs(value) : parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** A worker pool's name (`colony worker --pool`). */
export const poolNameSchema = z.string().regex(POOL_NAME_PATTERN, POOL_NAME_RULE);

export const taskNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a name is 1-128 letters, digits, dot, dash or underscore, starting with a letter or digit');

/** What a caller submits. Shared by the library API, the CLI, REST and MCP. */
export const taskSpecSchema = z
  .object({
    type: z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'a task type is lower-case letters, digits, dot, dash or underscore'),
    name: taskNameSchema.optional(),
    description: z.string().max(100_000).default(''),
    priority: prioritySchema.default(PRIORITIES.normal),
    input: jsonInput.default({}),
    /** Ids of existing tasks, or names of tasks submitted in the same batch. */
    dependencies: z.array(z.string().min(1)).max(10_000).default([]),
    parentId: z.string().min(1).optional(),
    timeoutMs: durationSchema.optional(),
    maxRetries: z.number().int().min(0).max(100).optional(),
    requirements: z
      .object({
        capabilities: z.array(z.string().min(1)).optional(),
        agentType: z.string().min(1).optional(),
        agentIds: z.array(z.string().min(1)).min(1).max(1_000).optional(),
      })
      .strict()
      .default({}),
    /** The worker pool whose runners alone may run it (`colony worker --pool`); absent: any runner of unpooled work. */
    pool: poolNameSchema.optional(),
  })
  .strict();

export type TaskSpecInput = z.input<typeof taskSpecSchema>;
export type TaskSpec = z.output<typeof taskSpecSchema>;

/** What an operator may change of a task that has not started. */
export const taskRevisionSchema = z
  .object({
    priority: prioritySchema.optional(),
    /** The agent the task must run on; null lifts a pin. */
    agentId: z.string().regex(/^agt_[0-9a-z]{26}$/, 'an agent id (agt_…)').nullable().optional(),
    /** The worker pool whose workers alone may run it; null: any runner of unpooled work. */
    pool: poolNameSchema.nullable().optional(),
  })
  .strict()
  .refine((r) => r.priority !== undefined || r.agentId !== undefined || r.pool !== undefined, { message: 'give priority or agentId, or pool (any of them)' });

export function parseTaskRevision(input: unknown): z.output<typeof taskRevisionSchema> {
  const result = taskRevisionSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    throw new ValidationError(`task revision: ${issue.path.join('.') || '(revision)'}: ${issue.message}`, { details: { field: issue.path.join('.') } });
  }
  return result.data;
}

/** Validates specs, naming the offending task and field in the error. */
export function parseTaskSpecs(input: unknown[]): TaskSpec[] {
  return input.map((raw, index) => {
    const result = taskSpecSchema.safeParse(raw);
    if (!result.success) {
      const issue = result.error.issues[0] as z.core.$ZodIssue;
      const label = (raw as { name?: unknown })?.name ?? `#${index + 1}`;
      const field = issue.path.join('.') || '(task)';
      throw new ValidationError(`task ${String(label)}: ${field}: ${issue.message}`, { details: { index, field } });
    }
    return result.data;
  });
}
