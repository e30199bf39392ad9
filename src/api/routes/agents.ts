import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { TASK_KIND_HINT, TASK_KIND_PATTERN } from '../../agents/task-kind.js';
import type { AgentStatus } from '../../domain/agent.js';
import { API_PREFIX, MAX_FILTER_VALUES } from '../api-defaults.js';
import type { ApiContext } from '../api-context.js';
import { agentRecordSchema, agentStatusSchema, agentTypeSchema, csv, ERROR_RESPONSES, idParams, limitSchema, offsetSchema, pageOf } from '../schemas.js';

const AGENT_SORTS = { createdAt: 'created', '-createdAt': 'created_desc' } as const;

const listQuery = z.strictObject({
  limit: limitSchema(),
  offset: offsetSchema,
  status: csv(agentStatusSchema).optional(),
  type: agentTypeSchema.optional(),
  /** Include terminated agents (a `status` filter that names `terminated` includes them too). */
  all: z.enum(['true', 'false']).transform((v) => v === 'true').default(false),
  sort: z.enum(['createdAt', '-createdAt']).default('createdAt'),
});

const capability = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'a capability is lower-case letters, digits, dot, dash or underscore');

const spawnBody = z.strictObject({
  type: agentTypeSchema,
  name: z.string().min(1).max(64).optional(),
  capabilities: z.array(capability).max(MAX_FILTER_VALUES).optional(),
});

const updateBody = z.strictObject({
  /** `paused`: not selected for tasks; `idle`: resumed (and any unhealthy mark cleared). */
  status: z.enum(['idle', 'paused']),
});

const terminateQuery = z.strictObject({ reason: z.string().min(1).max(1_000).optional() });
const typesQuery = z.strictObject({ capability: csv(capability).optional() });

const statsQuery = z.strictObject({ kind: z.string().regex(TASK_KIND_PATTERN, TASK_KIND_HINT).optional() });

const armStatsSchema = z.object({
  taskKind: z.string(),
  agentType: z.string(),
  runs: z.number().int(),
  successes: z.number().int(),
  failures: z.number().int(),
  successRate: z.number(),
  meanLatencyMs: z.number().nullable(),
  meanCostUsd: z.number().nullable(),
});

const healthSchema = z.object({
  agent: agentRecordSchema,
  trackRecord: z.object({ tasksCompleted: z.number().int(), tasksFailed: z.number().int(), meanDurationMs: z.number().nullable() }),
  load: z.number(),
});

const tags = ['agents'];

const agentTypesSchema = z.object({
  items: z.array(
    z.object({
      name: z.string(),
      description: z.string(),
      capabilities: z.array(z.string()),
      tools: z.array(z.string()),
      model: z.string().nullable(),
      maxConcurrency: z.number().int(),
      source: z.enum(['builtin', 'project', 'claude']),
    }),
  ),
});

export function registerAgentRoutes(app: FastifyInstance, { colony }: ApiContext): void {
  app.get(
    `${API_PREFIX}/agents`,
    {
      schema: {
        tags,
        summary: 'List agents (terminated ones with all=true)',
        querystring: listQuery,
        response: { 200: pageOf(agentRecordSchema), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const q = request.query as z.output<typeof listQuery>;
      const filter = {
        status: q.status as AgentStatus[] | undefined,
        type: q.type,
        excludeTerminated: !q.all && !q.status?.includes('terminated'),
      };
      const [items, total] = await Promise.all([
        colony.agents.list({ ...filter, limit: q.limit, offset: q.offset, order: AGENT_SORTS[q.sort] }),
        colony.agents.count(filter),
      ]);
      reply.header('x-total-count', String(total));
      return { items, total, limit: q.limit, offset: q.offset };
    },
  );

  app.post(
    `${API_PREFIX}/agents`,
    {
      schema: {
        tags,
        summary: 'Spawn an agent of a catalog type (see GET /agent-types)',
        body: spawnBody,
        response: { 201: agentRecordSchema, 409: ERROR_RESPONSES[400], ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const body = request.body as z.output<typeof spawnBody>;
      const agent = await colony.agents.spawn({ type: body.type, name: body.name, capabilities: body.capabilities });
      return reply.code(201).header('location', `${API_PREFIX}/agents/${agent.id}`).send(agent);
    },
  );

  app.get(
    `${API_PREFIX}/agents/:id`,
    { schema: { tags, summary: 'Get an agent', params: idParams, response: { 200: agentRecordSchema, ...ERROR_RESPONSES } } },
    async (request) => colony.agents.get((request.params as z.output<typeof idParams>).id),
  );

  app.put(
    `${API_PREFIX}/agents/:id`,
    {
      schema: {
        tags,
        summary: 'Pause or resume an agent',
        params: idParams,
        body: updateBody,
        response: { 200: agentRecordSchema, 409: ERROR_RESPONSES[400], ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      colony.agents.setStatus((request.params as z.output<typeof idParams>).id, (request.body as z.output<typeof updateBody>).status),
  );

  app.delete(
    `${API_PREFIX}/agents/:id`,
    {
      schema: {
        tags,
        summary: 'Terminate an agent (its running tasks are retried on another agent)',
        params: idParams,
        querystring: terminateQuery,
        response: { 200: agentRecordSchema, 409: ERROR_RESPONSES[400], ...ERROR_RESPONSES },
      },
    },
    async (request) =>
      colony.agents.terminate((request.params as z.output<typeof idParams>).id, (request.query as z.output<typeof terminateQuery>).reason),
  );

  app.get(
    `${API_PREFIX}/agents/:id/health`,
    {
      schema: { tags, summary: "An agent's health, load and track record", params: idParams, response: { 200: healthSchema, ...ERROR_RESPONSES } },
    },
    async (request) => colony.agents.health((request.params as z.output<typeof idParams>).id),
  );

  app.get(
    `${API_PREFIX}/agent-types`,
    {
      schema: {
        tags,
        summary: 'The agent catalog: built-in types plus the project\'s .claude/agents and .colony/agents',
        querystring: typesQuery,
        response: { 200: agentTypesSchema, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { capability: wanted } = request.query as z.output<typeof typesQuery>;
      const types = await colony.agents.types();
      return {
        items: types
          .filter((t) => !wanted || wanted.every((c) => t.capabilities.includes(c)))
          .map((t) => ({
            name: t.name,
            description: t.description,
            capabilities: t.capabilities,
            tools: t.tools,
            model: t.model,
            maxConcurrency: t.maxConcurrency,
            source: t.source,
          })),
      };
    },
  );

  app.get(
    `${API_PREFIX}/agent-types/stats`,
    {
      schema: {
        tags,
        summary: 'What adaptive agent selection has learnt: outcomes, latency and cost per task kind and agent type',
        description: 'One item per (taskKind, agentType) that has finished agent tasks; `kind` narrows to one kind of task (an agent task input\'s `kind`, default `general`).',
        querystring: statsQuery,
        response: { 200: z.object({ items: z.array(armStatsSchema) }), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { kind } = request.query as z.output<typeof statsQuery>;
      const arms = await colony.selection.stats(kind === undefined ? {} : { taskKind: kind });
      return { items: arms.map((a) => ({ ...a, runs: a.successes + a.failures, successRate: a.successes / Math.max(1, a.successes + a.failures) })) };
    },
  );
}
