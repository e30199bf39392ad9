import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from '../api-context.js';
import { HttpError } from '../error-handler.js';
import { ERROR_RESPONSES } from '../schemas.js';

const tags = ['probes'];

/** Liveness and readiness, for process managers and load balancers: public, never rate limited. */
export function registerProbeRoutes(app: FastifyInstance, { colony }: ApiContext): void {
  app.get(
    '/health',
    { schema: { tags, summary: 'Liveness: the process answers', response: { 200: z.object({ status: z.literal('ok') }) } } },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags,
        summary: 'Readiness: the store answers and its schema is at the latest migration (503 otherwise)',
        response: { 200: z.object({ status: z.literal('ready'), schemaVersion: z.string() }), 503: ERROR_RESPONSES[400] },
      },
    },
    async () => {
      const store = await colony.health();
      if (!store.ok) {
        throw new HttpError(
          503,
          'not_ready',
          store.error ? `the store does not answer: ${store.error}` : `the store's schema is ${store.schemaVersion ?? 'missing'}, not ${store.latestSchema}`,
          { 'retry-after': '1' },
        );
      }
      return { status: 'ready' as const, schemaVersion: store.schemaVersion as string };
    },
  );
}
