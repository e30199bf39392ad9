import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiContext } from '../api-context.js';
import type { StoreHealth } from '../../app/store-health.js';
import { HttpError } from '../error-handler.js';
import { ERROR_RESPONSES } from '../schemas.js';

const tags = ['probes'];

/** What a load balancer's operator reads in the 503. */
function notReadyReason(store: StoreHealth): string {
  if (store.reason === 'unavailable') return `the database is unavailable (down or restarting; work resumes when it answers): ${store.error}`;
  if (store.error !== undefined) return `the store does not answer: ${store.error}`;
  return `the store's schema is ${store.schemaVersion ?? 'missing'}, not ${store.latestSchema}`;
}

/**
 * Liveness and readiness, for process managers and load balancers: public, never rate limited.
 * `/health` answers as long as the process does (a database outage is no reason to restart it: the
 * engine retries and resumes); `/ready` is 503 while the store does not answer.
 */
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
        summary: 'Readiness: the store answers and its schema is at the latest migration (503 otherwise, e.g. while the database restarts)',
        response: { 200: z.object({ status: z.literal('ready'), schemaVersion: z.string() }), 503: ERROR_RESPONSES[400] },
      },
    },
    async () => {
      const store = await colony.health();
      if (!store.ok) throw new HttpError(503, 'not_ready', notReadyReason(store), { 'retry-after': '1' });
      return { status: 'ready' as const, schemaVersion: store.schemaVersion as string };
    },
  );
}
