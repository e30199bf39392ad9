import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../../domain/errors.js';
import { PROVIDER_IDS } from '../../providers/provider-registry.js';
import { API_PREFIX } from '../api-defaults.js';
import type { ApiContext } from '../api-context.js';
import { ERROR_RESPONSES } from '../schemas.js';

const providerParams = z.strictObject({ id: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'a provider id, e.g. anthropic') });
const testBody = z.strictObject({ model: z.string().min(1).max(200).optional() }).nullish();

/** A provider test asks for a handful of tokens: enough to prove the round trip. */
const TEST_MAX_TOKENS = 32;
const TEST_PROMPT = 'Reply with the single word: ready';

const providerSchema = z.object({
  id: z.enum(PROVIDER_IDS),
  baseUrl: z.string().nullable(),
  model: z.string().nullable(),
  keyConfigured: z.boolean(),
  breaker: z.enum(['closed', 'open', 'half-open']).nullable(),
  default: z.boolean(),
});

const tags = ['providers'];

const usageQuery = z.strictObject({ since: z.coerce.number().int().min(0).optional().meta({ description: 'Only calls started at or after this time (epoch ms)' }) });
const usageSchema = z.object({
  provider: z.string(),
  model: z.string(),
  calls: z.number().int().meta({ description: 'Calls that ended, successfully or not' }),
  failed: z.number().int().meta({ description: 'Calls that ended having used no tokens: the provider call failed' }),
  openCalls: z.number().int(),
  lostCalls: z.number().int().meta({ description: 'Calls whose process died before they ended' }),
  refusedCalls: z.number().int().meta({ description: 'Calls the swarm budget had no room for' }),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  costUsd: z.number().meta({ description: 'Dollars of the calls whose model price is known' }),
  unpricedCalls: z.number().int().meta({ description: 'Ended calls whose model price is unknown (not in costUsd)' }),
  meanLatencyMs: z.number().nullable(),
  lastCallAt: z.number().nullable(),
});

/** Every agent run's model calls per provider and model (ModelCallTotals). */
const agentCallsSchema = z.object({
  provider: z.string(),
  model: z.string(),
  calls: z.number().int(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  costUsd: z.number().meta({ description: 'Estimated from list prices, for the calls of priced models' }),
  unpricedCalls: z.number().int(),
  lastCallAt: z.number().nullable(),
});

/** A provider test's outcome: the reply and usage, or the error (a failed call is still a 200: the test ran). */
const testResultSchema = z.object({
  provider: z.string(),
  model: z.string(),
  ok: z.boolean(),
  latencyMs: z.number(),
  usage: z.object({ inputTokens: z.number(), outputTokens: z.number() }).loose().optional(),
  reply: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

export function registerProviderRoutes(app: FastifyInstance, { colony }: ApiContext): void {
  app.get(
    `${API_PREFIX}/providers`,
    {
      schema: {
        tags,
        summary: 'Configured LLM providers (whether a key is set, never the key) and their circuit breakers in this process',
        response: { 200: z.object({ items: z.array(providerSchema) }), ...ERROR_RESPONSES },
      },
    },
    async () => ({ items: colony.providers.list().map((p) => ({ ...p, default: p.id === colony.providers.defaultProvider })) }),
  );

  app.get(
    `${API_PREFIX}/providers/usage`,
    {
      schema: {
        tags,
        summary: 'Model calls per provider and model, by every process',
        description:
          "`items`: swarms' calls from the model-call ledger (calls, failures, tokens, dollars, mean latency). " +
          '`agentCalls`: every agent run\'s calls, swarm or not, from their usage metrics (calls, tokens, dollars).',
        querystring: usageQuery,
        response: { 200: z.object({ items: z.array(usageSchema), agentCalls: z.array(agentCallsSchema) }), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { since } = request.query as z.output<typeof usageQuery>;
      const [items, agentCalls] = await Promise.all([colony.providerUsage(since), colony.modelCallTotals(since)]);
      return { items, agentCalls };
    },
  );

  app.post(
    `${API_PREFIX}/providers/:id/test`,
    {
      schema: {
        tags,
        summary: 'Send one small completion through the full stack (timeouts, retries, breaker); reports latency and usage, or the error',
        params: providerParams,
        body: testBody,
        response: { 200: testResultSchema, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { id } = request.params as z.output<typeof providerParams>;
      if (!(PROVIDER_IDS as readonly string[]).includes(id)) throw new NotFoundError('provider', id);
      const body = request.body as z.output<typeof testBody>;
      const { provider, providerId, model } = await colony.providers.get(id, body?.model);
      const started = performance.now();
      try {
        const response = await provider.complete({
          model,
          maxTokens: TEST_MAX_TOKENS,
          messages: [{ role: 'user', content: [{ type: 'text', text: TEST_PROMPT }] }],
        });
        const text = response.content.flatMap((p) => (p.type === 'text' ? [p.text] : [])).join('').trim();
        return { provider: providerId, model: response.model, ok: true, latencyMs: Math.round(performance.now() - started), usage: response.usage, reply: text };
      } catch (error) {
        const e = error as { code?: string; message: string };
        return { provider: providerId, model, ok: false, latencyMs: Math.round(performance.now() - started), error: { code: e.code ?? 'internal', message: e.message } };
      }
    },
  );
}
