import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { cutPatch, PATCH_CUT_MIN_BYTES, SWARM_STATUSES, SWARM_TOPOLOGIES } from '../../domain/swarm.js';
import { swarmSpecSchema } from '../../swarm/swarm-spec.js';
import { API_PREFIX } from '../api-defaults.js';
import type { ApiContext } from '../api-context.js';
import { agentRecordSchema, csv, ERROR_RESPONSES, idParams, limitSchema, offsetSchema, pageOf, taskStatusSchema } from '../schemas.js';
import { DocsOnly, parseOr400 } from '../zod-compiler.js';
import { proposalRecordSchema, voteRecordSchema } from './consensus.js';

const swarmStatusSchema = z.enum(SWARM_STATUSES);
const topologySchema = z.enum(SWARM_TOPOLOGIES);

const diffQuery = z.strictObject({
  maxBytes: z.coerce
    .number()
    .int()
    .min(PATCH_CUT_MIN_BYTES)
    .optional()
    .meta({ description: `The most of the patch returned, in bytes (at least ${PATCH_CUT_MIN_BYTES}), cut at a line end; absent: all of it` }),
});

const listQuery = z.strictObject({
  limit: limitSchema(),
  offset: offsetSchema,
  status: csv(swarmStatusSchema).optional(),
  topology: topologySchema.optional(),
});

const controlBody = z.strictObject({
  action: z.enum(['pause', 'resume', 'stop']),
  reason: z.string().min(1).max(1_000).optional(),
});

// ---- responses (documentation) ----

const json = z.unknown();
const usageSchema = z.object({ inputTokens: z.number(), outputTokens: z.number(), costUsd: z.number().nullable(), calls: z.number().int() });

export const swarmRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  objective: z.string(),
  topology: topologySchema,
  status: swarmStatusSchema,
  config: z.object({
    roster: z.array(z.object({ type: z.string(), count: z.number().int(), pool: z.string().optional() })),
    autoRoster: z.boolean(),
    workers: z.number().int().meta({ description: "Workers in all (the roster's total when one was given)" }),
    pools: z.record(z.string(), z.number().int()).nullable().meta({ description: 'Distributed: workers per pool label' }),
    limits: z.object({
      maxAgents: z.number().int(),
      concurrency: z.number().int(),
      maxTokens: z.number().nullable(),
      maxCostUsd: z.number().nullable(),
      deadline: z.number().nullable(),
    }),
    provider: z.string().nullable(),
    model: z.string().nullable(),
    review: z.boolean(),
    maxRevisions: z.number().int(),
    planSource: z.enum(['llm', 'user']),
    traceParent: z.string().optional().meta({ description: 'The W3C traceparent of the span that created the swarm (absent when tracing was off)' }),
    git: z
      .object({
        repo: z.string(),
        base: z.string().meta({ description: 'The commit the swarm starts from (HEAD when it was created)' }),
        branch: z.string().meta({ description: "The swarm's branch, where its tasks' commits are merged" }),
        dirty: z.boolean().meta({ description: 'The checkout had uncommitted changes to tracked files then (not in base)' }),
      })
      .nullable()
      .optional()
      .meta({ description: 'Where its tasks work, each in a worktree and branch of its own; null or absent: the shared workspace' }),
  }),
  plan: json.meta({ description: 'The plan: summary, tasks (id, title, prompt, dependsOn, …), domains; null until planned' }),
  progress: z.number().meta({ description: 'Fraction of plan tasks completed, 0..1 (failed, skipped and cancelled tasks are not progress)' }),
  result: z
    .object({
      summary: z.string(),
      partial: z.boolean(),
      tasks: z.array(z.object({ planTaskId: z.string(), title: z.string(), taskId: z.string().nullable(), status: z.string(), result: json })),
      domains: z.array(z.object({ name: z.string(), summary: z.string() })).optional(),
      git: z
        .object({
          branch: z.string(),
          base: z.string(),
          head: z.string().meta({ description: "The swarm branch's last commit: `git diff base head` is the swarm's work" }),
          dirty: z.boolean(),
          files: z.array(z.object({ path: z.string(), additions: z.number().int().nullable(), deletions: z.number().int().nullable() })).meta({ description: 'Files changed from base to head (null counts: binary)' }),
          merged: z.array(z.string()).meta({ description: "Plan tasks whose commits are in the swarm's branch" }),
          conflicts: z.array(z.object({ planTaskId: z.string(), branch: z.string(), commit: z.string(), files: z.array(z.string()) })).meta({ description: 'Commits no agent could merge: both branches are kept' }),
          kept: z.array(z.string()).meta({ description: "Task branches kept because their commits are not in the swarm's branch" }),
        })
        .optional(),
    })
    .nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  usage: usageSchema,
  leaderAgentId: z.string().nullable(),
  agentIds: z.array(z.string()),
  runnerId: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
});

const statusReportSchema = z.object({
  swarm: swarmRecordSchema,
  counts: z.record(z.string(), z.number().int()),
  tasks: z.array(
    z.object({
      planTaskId: z.string(),
      title: z.string(),
      taskId: z.string().nullable(),
      status: z.union([taskStatusSchema, z.literal('waiting')]),
      agentId: z.string().nullable(),
      agentType: z.string().nullable(),
      pool: z.string().nullable(),
      workerPool: z.string().nullable(),
      runnerId: z.string().nullable(),
      domain: z.string().nullable(),
      revisions: z.number().int(),
      error: z.object({ code: z.string(), message: z.string(), attempt: z.number().int() }).nullable(),
      startedAt: z.number().nullable().meta({ description: "When the latest dispatch's engine task last started" }),
      completedAt: z.number().nullable().meta({ description: "When the latest dispatch's engine task finished" }),
      attempts: z.number().int(),
    }),
  ),
  agents: z.array(agentRecordSchema),
  proposals: z.array(json).meta({ description: "The swarm's consensus proposals with their outcomes, newest first (at most 50)" }),
});

const swarmVoteSchema = z.object({ proposal: proposalRecordSchema, votes: z.array(voteRecordSchema) });

const usageSumFields = {
  calls: z.number().int(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  costUsd: z.number().nullable().meta({ description: 'Estimated dollars at list prices, over the priced calls only; null when none was priced' }),
  unpricedCalls: z.number().int().meta({ description: 'Calls to a model with no known price' }),
};

const usageReportSchema = z.object({
  swarmId: z.string(),
  total: z.object({
    calls: z.number().int(),
    inputTokens: z.number(),
    outputTokens: z.number(),
    costUsd: z.number().nullable(),
    openCalls: z.number().int(),
    openTokens: z.number(),
    lostCalls: z.number().int(),
    lostTokens: z.number(),
    refusedCalls: z.number().int(),
  }),
  budget: z.object({ maxTokens: z.number().nullable(), maxCostUsd: z.number().nullable(), tokensLeft: z.number().nullable(), costLeftUsd: z.number().nullable() }),
  tasks: z.array(z.object({ taskId: z.string().nullable().meta({ description: "null: the swarm's own calls (planning, review, synthesis)" }), planTaskId: z.string().nullable(), ...usageSumFields })),
  agents: z.array(z.object({ agentId: z.string().nullable(), ...usageSumFields })),
  models: z.array(z.object({ provider: z.string(), model: z.string(), priced: z.boolean(), ...usageSumFields })),
});

const tags = ['swarms'];

export function registerSwarmRoutes(app: FastifyInstance, { colony }: ApiContext): void {
  app.get(
    `${API_PREFIX}/swarms`,
    {
      schema: {
        tags,
        summary: 'List swarms, newest first',
        description: 'Filtered by status and topology, paginated; the total matching count is in `total` and the X-Total-Count header.',
        querystring: listQuery,
        response: { 200: pageOf(swarmRecordSchema), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const q = request.query as z.output<typeof listQuery>;
      const filter = { status: q.status, topology: q.topology };
      const [items, total] = await Promise.all([colony.swarms.list({ ...filter, limit: q.limit, offset: q.offset }), colony.swarms.count(filter)]);
      reply.header('x-total-count', String(total));
      return { items, total, limit: q.limit, offset: q.offset };
    },
  );

  app.post(
    `${API_PREFIX}/swarms`,
    {
      schema: {
        tags,
        summary: 'Create a swarm',
        description:
          'Agents plan and work on the objective under the topology, in the server\'s colony. Give a `plan` to skip the planner. ' +
          'Watch it on the event stream with `correlationId` = the swarm id. Nothing is stored when anything is wrong.',
        body: new DocsOnly(swarmSpecSchema),
        response: { 201: swarmRecordSchema, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      // The shared schema names the field (`body.topology`); the coordinator checks the plan's graph and agent types.
      parseOr400(swarmSpecSchema, request.body, 'body');
      const swarm = await colony.swarms.create(request.body);
      return reply.code(201).header('location', `${API_PREFIX}/swarms/${swarm.id}`).send(swarm);
    },
  );

  app.get(
    `${API_PREFIX}/swarms/:id`,
    { schema: { tags, summary: 'Get a swarm (a unique id prefix is enough)', params: idParams, response: { 200: swarmRecordSchema, ...ERROR_RESPONSES } } },
    async (request) => colony.swarms.get((request.params as z.output<typeof idParams>).id),
  );

  app.get(
    `${API_PREFIX}/swarms/:id/status`,
    {
      schema: {
        tags,
        summary: "A swarm's status report: its plan tasks with their agents, its agents, its votes, usage and result",
        params: idParams,
        response: { 200: statusReportSchema, ...ERROR_RESPONSES },
      },
    },
    async (request) => colony.swarms.status((request.params as z.output<typeof idParams>).id),
  );

  app.get(
    `${API_PREFIX}/swarms/:id/votes`,
    {
      schema: {
        tags,
        summary: "A swarm's votes: its proposals, newest first (at most 50), each with every vote cast",
        description: 'Each vote has its voter, decision, confidence and reason, and whether it was counted or excluded (`exclusion` says why, e.g. a bad signature).',
        params: idParams,
        response: { 200: z.object({ items: z.array(swarmVoteSchema) }), ...ERROR_RESPONSES },
      },
    },
    async (request) => ({ items: await colony.swarms.votes((request.params as z.output<typeof idParams>).id) }),
  );

  app.get(
    `${API_PREFIX}/swarms/:id/usage`,
    {
      schema: {
        tags,
        summary: "A swarm's model usage: tokens and estimated dollars per task, agent and model, with the budget left",
        description: 'From the model-call ledger (every process\'s calls). Dollars are estimates from list prices; a model with no known price counts in `unpricedCalls`, not in `costUsd`.',
        params: idParams,
        response: { 200: usageReportSchema, ...ERROR_RESPONSES },
      },
    },
    async (request) => colony.swarms.usage((request.params as z.output<typeof idParams>).id),
  );

  app.get(
    `${API_PREFIX}/swarms/:id/diff`,
    {
      schema: {
        tags,
        summary: "A swarm's work in its git repository: the patch from its base to its branch's head",
        description: "409 when the swarm has no git branch (its workspace is not a git repository, or it was created with `worktrees: false`).",
        params: idParams,
        querystring: diffQuery,
        response: {
          200: z.object({
            swarmId: z.string(),
            branch: z.string(),
            base: z.string(),
            head: z.string(),
            files: z
              .array(z.object({ path: z.string(), additions: z.number().int().nullable(), deletions: z.number().int().nullable() }))
              .meta({ description: 'The files changed from base to head, with line counts (null: binary)' }),
            patch: z.string().meta({ description: '`git diff base head`, cut at `maxBytes` when given' }),
            patchBytes: z.number().int().meta({ description: 'The whole patch\'s size in bytes (UTF-8)' }),
            truncated: z.boolean().meta({ description: 'Whether `patch` is cut short of the whole (see `maxBytes`)' }),
          }),
          409: ERROR_RESPONSES[400],
          ...ERROR_RESPONSES,
        },
      },
    },
    async (request) => {
      const { maxBytes } = request.query as z.output<typeof diffQuery>;
      const diff = await colony.swarms.diff((request.params as z.output<typeof idParams>).id);
      const { text, cut, patchBytes } = cutPatch(diff.patch, maxBytes);
      return { ...diff, patch: text, patchBytes, truncated: cut };
    },
  );

  app.post(
    `${API_PREFIX}/swarms/:id/control`,
    {
      schema: {
        tags,
        summary: 'Pause, resume or stop a swarm',
        description: '`pause`: no new tasks are dispatched, running ones finish; `resume`; `stop`: unfinished tasks are cancelled and finished work is kept as a partial result.',
        params: idParams,
        body: controlBody,
        response: { 200: swarmRecordSchema, 409: ERROR_RESPONSES[400], ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { id } = request.params as z.output<typeof idParams>;
      const body = request.body as z.output<typeof controlBody>;
      switch (body.action) {
        case 'pause':
          return colony.swarms.pause(id);
        case 'resume':
          return colony.swarms.resume(id);
        case 'stop':
          return colony.swarms.stop(id, body.reason);
      }
    },
  );
}
