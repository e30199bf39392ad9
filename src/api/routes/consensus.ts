import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { checkAsk, consensusAskFields } from '../../consensus/consensus-input.js';
import { CONSENSUS_STRATEGIES, PROPOSAL_STATUSES, type ByzantineReason } from '../../domain/consensus.js';
import { API_PREFIX } from '../api-defaults.js';
import type { ApiContext } from '../api-context.js';
import { csv, ERROR_RESPONSES, idParams, idSchema, limitSchema, offsetSchema, pageOf } from '../schemas.js';

const statusSchema = z.enum(PROPOSAL_STATUSES);
const BYZANTINE_REASONS = ['bad_signature', 'equivocation', 'unknown_voter', 'flagged'] as const satisfies readonly ByzantineReason[];

const listQuery = z.strictObject({
  limit: limitSchema(),
  offset: offsetSchema,
  status: csv(statusSchema).optional(),
  taskId: idSchema.optional(),
  swarmId: idSchema.optional(),
});

/** The request of `colony.consensus.ask`, plus `wait`. */
const createBody = z
  .strictObject({
    ...consensusAskFields,
    wait: z.boolean().optional().meta({ description: 'answer when the vote is decided (201) instead of at once (202)' }),
  })
  .superRefine(checkAsk);

// ---- responses (documentation) ----

const tallySchema = z.object({
  round: z.number().int(),
  question: z.string(),
  support: z.record(z.string(), z.number()),
  votesCounted: z.number().int(),
  eligible: z.number().int(),
  participation: z.number(),
  ratio: z.number(),
  leading: z.string().nullable(),
  achieved: z.boolean(),
  timedOut: z.boolean(),
  quorumMet: z.boolean(),
  abstentions: z
    .array(z.object({ voterId: z.string(), reason: z.string(), provider: z.object({ provider: z.string(), status: z.number().int().nullable(), message: z.string() }).optional() }))
    .optional(),
});

export const proposalRecordSchema = z.object({
  id: z.string(),
  question: z.string(),
  options: z.array(z.string()),
  context: z.string().nullable(),
  settings: z.object({
    strategy: z.enum(CONSENSUS_STRATEGIES),
    threshold: z.number(),
    quorum: z.number(),
    timeoutMs: z.number().int(),
    maxRounds: z.number().int(),
  }),
  status: statusSchema,
  swarmId: z.string().nullable(),
  taskId: z.string().nullable(),
  voterIds: z.array(z.string()),
  outcome: z
    .object({
      achieved: z.boolean(),
      decision: z.string().nullable(),
      ratio: z.number(),
      participation: z.number(),
      rounds: z.array(tallySchema),
      byzantine: z.array(z.object({ voterId: z.string(), reason: z.enum(BYZANTINE_REASONS), round: z.number().int() })),
      reason: z.string().nullable(),
    })
    .nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
  decidedAt: z.number().nullable(),
});

export const voteRecordSchema = z.object({
  id: z.number().int(),
  proposalId: z.string(),
  round: z.number().int(),
  voterId: z.string(),
  decision: z.string(),
  confidence: z.number(),
  reason: z.string(),
  signature: z.string().meta({ description: 'Ed25519 over the canonical JSON of the vote, base64' }),
  weight: z.number(),
  status: z.enum(['counted', 'excluded']),
  exclusion: z.string().nullable(),
  createdAt: z.number(),
});

const proposalWithVotes = z.object({ proposal: proposalRecordSchema, votes: z.array(voteRecordSchema) });

const tags = ['consensus'];

export function registerConsensusRoutes(app: FastifyInstance, { colony }: ApiContext): void {
  app.get(
    `${API_PREFIX}/consensus`,
    {
      schema: {
        tags,
        summary: 'List proposals, newest first',
        description: 'Filtered and paginated; the total matching count is in `total` and the X-Total-Count header.',
        querystring: listQuery,
        response: { 200: pageOf(proposalRecordSchema), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const q = request.query as z.output<typeof listQuery>;
      const filter = {
        ...(q.status === undefined ? {} : { status: q.status }),
        ...(q.taskId === undefined ? {} : { taskId: q.taskId }),
        ...(q.swarmId === undefined ? {} : { swarmId: q.swarmId }),
      };
      const [items, total] = await Promise.all([colony.consensus.list({ ...filter, limit: q.limit, offset: q.offset }), colony.consensus.count(filter)]);
      reply.header('x-total-count', String(total));
      return { items, total, limit: q.limit, offset: q.offset };
    },
  );

  app.post(
    `${API_PREFIX}/consensus`,
    {
      schema: {
        tags,
        summary: 'Put a question to agents',
        description:
          'Named agents (`agentIds`) or `voters` agents of `agentType` (default 3 consensus-voter agents, spawned for the vote) decide by `strategy`. ' +
          'Answers 202 with the open proposal at once and runs the vote in this server (follow it on the event stream: vote.cast, voter.flagged, ' +
          'consensus.round_finished, consensus.decided, or GET the proposal); with `"wait": true`, answers 201 once it is decided. ' +
          'Everything is validated before anything is stored or spawned.',
        body: createBody,
        response: { 201: proposalWithVotes, 202: proposalWithVotes, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { wait, ...ask } = request.body as z.output<typeof createBody>;
      const running = await colony.consensus.start(ask);
      const location = `${API_PREFIX}/consensus/${running.proposal.id}`;
      if (!wait) {
        running.done.catch((error: unknown) => request.log.warn({ err: error, proposalId: running.proposal.id }, 'a proposal failed'));
        return reply.code(202).header('location', location).send({ proposal: running.proposal, votes: [] });
      }
      const proposal = await running.done;
      return reply.code(201).header('location', location).send({ proposal, votes: await colony.consensus.votes(proposal.id) });
    },
  );

  app.get(
    `${API_PREFIX}/consensus/:id`,
    {
      schema: {
        tags,
        summary: 'A proposal with its votes, counted and excluded (a unique id prefix of 6+ characters is enough)',
        params: idParams,
        response: { 200: proposalWithVotes, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const proposal = await colony.consensus.get((request.params as z.output<typeof idParams>).id);
      return { proposal, votes: await colony.consensus.votes(proposal.id) };
    },
  );
}
