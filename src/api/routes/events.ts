import type { FastifyInstance } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { API_PREFIX, STREAM_CLOSE } from '../api-defaults.js';
import type { ApiContext } from '../api-context.js';
import { HttpError } from '../error-handler.js';
import type { StreamFilter } from '../event-stream-hub.js';
import { csv, ERROR_RESPONSES, eventSchema, eventTypeFilter, idSchema, limitSchema } from '../schemas.js';

const correlationSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'a workflow, swarm, task or agent id');
const eventIdSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const listQuery = z.strictObject({
  afterId: eventIdSchema.optional(),
  types: csv(eventTypeFilter).optional(),
  correlationId: correlationSchema.optional(),
  limit: limitSchema(100),
  order: z.enum(['asc', 'desc']).default('asc'),
});

/** The stream's subscription: in the URL's query, or as the first message. */
const subscription = {
  types: csv(eventTypeFilter).optional(),
  correlationId: correlationSchema.optional(),
  agentId: idSchema.optional(),
  /** Replay every matching event after this id (from the store) before the live ones. */
  lastEventId: eventIdSchema.optional(),
};
const streamQuery = z.strictObject({
  ...subscription,
  /** For browsers, which cannot set headers on a WebSocket: the API key or JWT. */
  access_token: z.string().min(1).max(8_192).optional(),
});
const subscribeMessage = z.strictObject({ type: z.literal('subscribe'), ...subscription });

const tags = ['events'];

function filterOf(s: { types?: string[]; correlationId?: string; agentId?: string }): StreamFilter {
  const types = s.types && !s.types.includes('*') ? s.types : undefined;
  return { ...(types ? { types } : {}), ...(s.correlationId ? { correlationId: s.correlationId } : {}), ...(s.agentId ? { agentId: s.agentId } : {}) };
}

export function registerEventRoutes(app: FastifyInstance, { colony, hub, streamLimits }: ApiContext): void {
  app.get(
    `${API_PREFIX}/events`,
    {
      schema: {
        tags,
        summary: 'The persisted event log, oldest first (page on with afterId = nextAfterId)',
        description: 'types: exact types or prefixes such as `task.*`, comma-separated. correlationId: a workflow, swarm, task or agent id.',
        querystring: listQuery,
        response: { 200: z.object({ items: z.array(eventSchema), nextAfterId: z.number().int().nullable() }), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const q = request.query as z.output<typeof listQuery>;
      const types = q.types && !q.types.includes('*') ? q.types : undefined;
      const items = await colony.store.listEvents({
        afterId: q.afterId,
        types,
        correlationId: q.correlationId,
        limit: q.limit,
        newestFirst: q.order === 'desc',
      });
      const last = items[items.length - 1];
      return { items, nextAfterId: q.order === 'asc' ? (last?.id ?? q.afterId ?? null) : null };
    },
  );

  app.route({
    method: 'GET',
    url: `${API_PREFIX}/events/stream`,
    schema: {
      tags,
      summary: 'Live events over WebSocket (upgrade), with filters and replay from lastEventId',
      description:
        'Subscribe with query parameters (types, correlationId, agentId, lastEventId), or, with none, by sending ' +
        '`{"type":"subscribe", ...the same fields}` as the first message within 10 s. The server sends ' +
        '`{"type":"subscribed"}`, then `{"type":"event","event":{...}}` messages (after a replay, `{"type":"replayed","count":n}`). ' +
        'Close codes: 4008 slow consumer (the client did not read fast enough), 4400 bad subscription, 4408 no subscription in time, 1001 server going away.',
      querystring: streamQuery,
      response: { ...ERROR_RESPONSES },
    },
    handler: async () => {
      throw new HttpError(426, 'upgrade_required', 'this endpoint speaks WebSocket: connect with a WebSocket client (Upgrade: websocket)', { upgrade: 'websocket' });
    },
    wsHandler: (socket: WebSocket, request) => {
      const q = request.query as z.output<typeof streamQuery>;
      const fromQuery = q.types !== undefined || q.correlationId !== undefined || q.agentId !== undefined || q.lastEventId !== undefined;
      if (fromQuery) {
        void hub.attach(socket, filterOf(q), q.lastEventId);
        return;
      }
      const timer = setTimeout(() => socket.close(STREAM_CLOSE.subscribeTimeout, 'no subscription received in time'), streamLimits.subscribeTimeoutMs);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
      socket.once('message', (data: RawData, isBinary: boolean) => {
        clearTimeout(timer);
        let message: unknown;
        try {
          message = isBinary ? undefined : JSON.parse(rawText(data));
        } catch {
          message = undefined;
        }
        const parsed = subscribeMessage.safeParse(message);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const detail = message === undefined ? 'expected a JSON text message' : `${issue?.path.join('.') || 'message'}: ${issue?.message ?? 'invalid'}`;
          socket.send(JSON.stringify({ type: 'error', code: 'validation', detail: `bad subscription: ${detail}` }));
          socket.close(STREAM_CLOSE.badSubscription, 'bad subscription');
          return;
        }
        void hub.attach(socket, filterOf(parsed.data), parsed.data.lastEventId);
      });
    },
  });
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
