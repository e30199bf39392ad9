import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import { taskRevisionSchema, taskSpecSchema } from '../../tasks/task-spec.js';
import type { TaskQuery } from '../../ports/store.js';
import { API_PREFIX, MAX_TASKS_PER_REQUEST } from '../api-defaults.js';
import type { ApiContext } from '../api-context.js';
import { csv, ERROR_RESPONSES, eventSchema, idParams, idSchema, limitSchema, offsetSchema, pageOf, taskRecordSchema, taskStatusSchema, taskTypeSchema } from '../schemas.js';
import { DocsOnly, parseOr400 } from '../zod-compiler.js';

const TASK_SORTS = { createdAt: 'created', '-createdAt': 'created_desc', '-priority': 'priority' } as const satisfies Record<string, TaskQuery['order']>;

const listQuery = z.strictObject({
  limit: limitSchema(),
  offset: offsetSchema,
  status: csv(taskStatusSchema).optional(),
  type: taskTypeSchema.optional(),
  workflowId: idSchema.optional(),
  swarmId: idSchema.optional(),
  parentId: idSchema.optional(),
  agentId: idSchema.optional(),
  search: z.string().min(1).max(200).optional().meta({ description: 'Only tasks whose name or description contains this text (letter case ignored)' }),
  sort: z.enum(Object.keys(TASK_SORTS) as [keyof typeof TASK_SORTS, ...(keyof typeof TASK_SORTS)[]]).default('createdAt'),
});

const batchBody = z.strictObject({ tasks: z.array(z.unknown()).min(1).max(MAX_TASKS_PER_REQUEST) });
const createBodyDocs = z.union([taskSpecSchema, z.strictObject({ tasks: z.array(taskSpecSchema).min(1).max(MAX_TASKS_PER_REQUEST) })]);

const actionBody = z.strictObject({
  action: z.enum(['cancel', 'retry']),
  reason: z.string().min(1).max(1_000).optional(),
});
/** Either an action, or a revision of a task that has not started (the engine validates its fields). */
const updateBody = z.union([actionBody, taskRevisionSchema]);
const assignBody = z.strictObject({ agentId: z.string().regex(/^agt_[0-9a-z]{26}$/, 'an agent id (agt_…)').nullable() });
const cancelQuery = z.strictObject({ reason: z.string().min(1).max(1_000).optional() });
const transcriptQuery = z.strictObject({ attempt: z.coerce.number().int().min(1).max(1_000).optional() });

const tags = ['tasks'];

const transcriptSchema = z.object({
  task: z.object({ id: z.string(), status: taskStatusSchema, attempts: z.number().int() }),
  usage: z.object({ inputTokens: z.number(), outputTokens: z.number(), costUsd: z.number().nullable() }),
  turns: z.array(
    z.object({
      id: z.number().int(),
      taskId: z.string(),
      agentId: z.string().nullable(),
      attempt: z.number().int(),
      turn: z.number().int(),
      role: z.enum(['system', 'user', 'assistant', 'tool']),
      content: z.array(z.unknown()).meta({ description: 'Content parts: text, tool calls, tool results' }),
      usage: z.unknown().meta({ description: 'Token usage of the model call (assistant turns); null otherwise' }),
      model: z.string().nullable(),
      provider: z.string().nullable(),
      createdAt: z.number(),
    }),
  ),
});

const taskErrorSchema = z.object({ code: z.string(), message: z.string(), attempt: z.number().int() });

const historySchema = z.object({
  attempts: z.array(
    z.object({
      attempt: z.number().int(),
      runnerId: z.string().nullable(),
      agentId: z.string().nullable(),
      startedAt: z.number(),
      finishedAt: z.number().nullable(),
      outcome: z.enum(['running', 'completed', 'failed', 'cancelled', 'recovered']),
      error: taskErrorSchema.nullable(),
      willRetry: z.boolean(),
    }),
  ),
  events: z.array(eventSchema),
  truncated: z.boolean().meta({ description: 'The scan of the log stopped at its bound: older events may be missing' }),
});

const diffSchema = z.union([
  z.object({
    hunks: z.array(z.object({ header: z.string(), lines: z.array(z.object({ op: z.enum([' ', '-', '+']), text: z.string() })) })),
    added: z.number().int(),
    removed: z.number().int(),
  }),
  z.object({ tooLarge: z.literal(true), reason: z.string() }),
]);

const changesSchema = z.object({
  journal: z.boolean().meta({ description: 'False when the task wrote no file through the file tools, or its changes were rolled back' }),
  files: z.array(z.object({ path: z.string(), change: z.enum(['created', 'modified']), diff: diffSchema.nullable(), note: z.string().nullable() })),
});

export function registerTaskRoutes(app: FastifyInstance, { colony }: ApiContext): void {
  app.get(
    `${API_PREFIX}/tasks`,
    {
      schema: {
        tags,
        summary: 'List tasks',
        description: 'Filtered and paginated; the total matching count is in `total` and the X-Total-Count header.',
        querystring: listQuery,
        response: { 200: pageOf(taskRecordSchema), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const q = request.query as z.output<typeof listQuery>;
      const filter = { status: q.status, type: q.type, workflowId: q.workflowId, swarmId: q.swarmId, parentId: q.parentId, assignedAgent: q.agentId, text: q.search };
      const [items, total] = await Promise.all([
        colony.tasks.list({ ...filter, limit: q.limit, offset: q.offset, order: TASK_SORTS[q.sort] }),
        colony.tasks.count(filter),
      ]);
      reply.header('x-total-count', String(total));
      return { items, total, limit: q.limit, offset: q.offset };
    },
  );

  app.post(
    `${API_PREFIX}/tasks`,
    {
      schema: {
        tags,
        summary: 'Create tasks',
        description:
          'One task spec, or `{ "tasks": [...] }` to submit a DAG atomically (dependencies name tasks of the batch by `name`, or existing task ids). ' +
          'Validated exactly as the engine validates; nothing is stored when anything is wrong.',
        body: new DocsOnly(createBodyDocs),
        response: { 201: z.union([taskRecordSchema, z.object({ tasks: z.array(taskRecordSchema) })]), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        throw new ValidationError('body: expected a task spec object, or { "tasks": [...] }');
      }
      if ('tasks' in body) {
        const { tasks } = parseOr400(batchBody, body, 'body');
        return reply.code(201).send({ tasks: await colony.tasks.submit(tasks) });
      }
      const [task] = await colony.tasks.submit([body]);
      return reply.code(201).header('location', `${API_PREFIX}/tasks/${task?.id}`).send(task);
    },
  );

  app.get(
    `${API_PREFIX}/tasks/:id`,
    { schema: { tags, summary: 'Get a task (a unique id prefix of 6+ characters is enough)', params: idParams, response: { 200: taskRecordSchema, ...ERROR_RESPONSES } } },
    async (request) => colony.tasks.get((request.params as z.output<typeof idParams>).id),
  );

  app.put(
    `${API_PREFIX}/tasks/:id`,
    {
      schema: {
        tags,
        summary: 'Cancel, retry or revise a task',
        description:
          '`{action: "cancel"}` cancels the task and, transitively, its dependents; `{action: "retry"}` runs a failed or cancelled task again with a fresh retry budget; `{priority?, agentId?}` revises a pending or queued task (its priority, the agent it must run on; `agentId: null` lifts the pin).',
        params: idParams,
        body: updateBody,
        response: { 200: taskRecordSchema, 409: ERROR_RESPONSES[400], ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { id } = request.params as z.output<typeof idParams>;
      const body = request.body as z.output<typeof updateBody>;
      if (!('action' in body)) return colony.tasks.revise(id, body);
      return body.action === 'cancel' ? colony.tasks.cancel(id, body.reason) : colony.tasks.retry(id);
    },
  );

  app.post(
    `${API_PREFIX}/tasks/:id/assign`,
    {
      schema: {
        tags,
        summary: 'Assign a pending or queued task to an agent',
        description: 'The task will run on that agent only (when it has a free slot); `agentId: null` lets any suitable agent run it again.',
        params: idParams,
        body: assignBody,
        response: { 200: taskRecordSchema, 409: ERROR_RESPONSES[400], ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { id } = request.params as z.output<typeof idParams>;
      return colony.tasks.revise(id, { agentId: (request.body as z.output<typeof assignBody>).agentId });
    },
  );

  app.delete(
    `${API_PREFIX}/tasks/:id`,
    {
      schema: {
        tags,
        summary: 'Cancel a task (and every task that depends on it)',
        params: idParams,
        querystring: cancelQuery,
        response: { 200: taskRecordSchema, 409: ERROR_RESPONSES[400], ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { id } = request.params as z.output<typeof idParams>;
      return colony.tasks.cancel(id, (request.query as z.output<typeof cancelQuery>).reason);
    },
  );

  app.get(
    `${API_PREFIX}/tasks/:id/transcript`,
    {
      schema: {
        tags,
        summary: "An agent task's transcript: every model turn, tool call and result, with token usage",
        params: idParams,
        querystring: transcriptQuery,
        response: { 200: transcriptSchema, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { attempt } = request.query as z.output<typeof transcriptQuery>;
      const { task, usage, turns } = await colony.tasks.transcript((request.params as z.output<typeof idParams>).id, attempt ? { attempt } : {});
      return { task: { id: task.id, status: task.status, attempts: task.attempts }, usage, turns };
    },
  );

  app.get(
    `${API_PREFIX}/tasks/:id/history`,
    {
      schema: {
        tags,
        summary: "A task's events and attempts: who ran each attempt, when, and how it ended",
        params: idParams,
        response: { 200: historySchema, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { attempts, events, truncated } = await colony.tasks.history((request.params as z.output<typeof idParams>).id);
      return { attempts, events, truncated };
    },
  );

  app.get(
    `${API_PREFIX}/tasks/:id/changes`,
    {
      schema: {
        tags,
        summary: "An agent task's file changes, as unified diffs (from its file journal and transcript)",
        params: idParams,
        response: { 200: changesSchema, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { journal, files } = await colony.tasks.fileChanges((request.params as z.output<typeof idParams>).id);
      return { journal, files };
    },
  );
}
