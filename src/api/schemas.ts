import { z } from 'zod';
import { AGENT_HEALTH, AGENT_STATUSES } from '../domain/agent.js';
import { TASK_STATUSES } from '../domain/task.js';
import { DEFAULT_PAGE_LIMIT, MAX_FILTER_VALUES, MAX_PAGE_LIMIT, MAX_PAGE_OFFSET } from './api-defaults.js';

/** Request and response shapes shared by the route groups. Request schemas are strict: unknown fields are a 400. */

/** Ids of every kind (`tsk_01j…`, `agt_…`), or a unique prefix of one: nothing else reaches the store. */
export const idSchema = z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'an id is 1-64 letters, digits or underscores');
export const idParams = z.strictObject({ id: idSchema });

/** Event types as filters: exact (`task.created`) or a prefix (`task.*`); `*` is every type. */
export const eventTypeFilter = z
  .string()
  .regex(/^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$/, 'an event type (task.created), a prefix (task.*) or *');

/** A query parameter that takes a comma-separated list, or the parameter repeated. */
export function csv<T extends z.ZodType>(item: T) {
  return z.preprocess(
    (value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter((s) => s !== '') : value),
    z.array(item).min(1).max(MAX_FILTER_VALUES),
  );
}

export const limitSchema = (defaultLimit = DEFAULT_PAGE_LIMIT) => z.coerce.number().int().min(1).max(MAX_PAGE_LIMIT).default(defaultLimit);
export const offsetSchema = z.coerce.number().int().min(0).max(MAX_PAGE_OFFSET).default(0);

export const taskStatusSchema = z.enum(TASK_STATUSES);
export const agentStatusSchema = z.enum(AGENT_STATUSES);
export const taskTypeSchema = z.string().regex(/^[a-z][a-z0-9_.-]{0,63}$/, 'a task type is lower-case letters, digits, dot, dash or underscore');
export const agentTypeSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'an agent type is letters, digits, dot, dash or underscore');

// ---- responses (documentation) ----

const json = z.unknown();

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ description: 'An RFC 9457 problem document (application/problem+json)' });

export const taskRecordSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  type: z.string(),
  description: z.string(),
  status: taskStatusSchema,
  priority: z.number().int(),
  input: json,
  dependencies: z.array(z.string()),
  parentId: z.string().nullable(),
  workflowId: z.string().nullable(),
  swarmId: z.string().nullable(),
  requirements: z.object({ capabilities: z.array(z.string()).optional(), agentType: z.string().optional(), agentIds: z.array(z.string()).optional() }),
  assignedAgent: z.string().nullable(),
  timeoutMs: z.number().nullable(),
  maxRetries: z.number().int(),
  maxAttempts: z.number().int(),
  attempts: z.number().int(),
  result: json,
  error: z.object({ code: z.string(), message: z.string(), attempt: z.number().int() }).nullable(),
  runnerId: z.string().nullable(),
  pool: z.string().nullable(),
  traceParent: z.string().nullable().describe('The W3C traceparent of the span that created the task (null when tracing was off); its attempts are traced as children of it.'),
  notBefore: z.number().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
  startedAt: z.number().nullable(),
  completedAt: z.number().nullable(),
});

export const agentRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  type: z.string(),
  status: agentStatusSchema,
  health: z.enum(AGENT_HEALTH),
  capabilities: z.array(z.string()),
  config: z.record(z.string(), json),
  currentTasks: z.array(z.string()),
  maxConcurrency: z.number().int(),
  createdAt: z.number(),
  updatedAt: z.number(),
  terminatedAt: z.number().nullable(),
});

export const eventSchema = z.object({
  id: z.number().int(),
  type: z.string(),
  source: z.string(),
  data: json,
  correlationId: z.string().nullable(),
  timestamp: z.number(),
});

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), total: z.number().int(), limit: z.number().int(), offset: z.number().int() });
}

/** Error responses every route may give, for the document. */
export const ERROR_RESPONSES = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
  429: problemSchema,
} as const;
