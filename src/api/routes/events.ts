import type { FastifyInstance } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import type { Identity } from '../../security/authenticator.js';
import { API_PREFIX } from '../api-defaults.js';
import type { ApiContext } from '../api-context.js';
import { HttpError } from '../error-handler.js';
import type { StreamCredential, StreamFilter } from '../event-stream-hub.js';
import { correlationSchema, eventIdSchema, parseClientMessage, subscriptionFields } from '../event-stream-protocol.js';
import { csv, ERROR_RESPONSES, eventSchema, eventTypeFilter, limitSchema, problemSchema } from '../schemas.js';

const listQuery = z.strictObject({
  afterId: eventIdSchema.optional(),
  beforeId: eventIdSchema.optional(),
  types: csv(eventTypeFilter).optional(),
  correlationId: correlationSchema.optional(),
  limit: limitSchema(100),
  order: z.enum(['asc', 'desc']).default('asc'),
});

/** The stream's first subscription, in the URL's query (later ones are `subscribe` messages). */
const streamQuery = z.strictObject({
  ...subscriptionFields,
  /** For browsers, which cannot set headers on a WebSocket: the API key or JWT. */
  access_token: z.string().min(1).max(8_192).optional(),
});

const tags = ['events'];

/** What a connection's credential is re-checked against while it lasts. */
function credentialOf(identity: Identity | null): StreamCredential {
  return { keyId: identity?.kind === 'api-key' ? identity.id : null, expiresAt: identity?.expiresAt ?? null };
}

function filterOf(s: { types?: string[]; correlationId?: string; agentId?: string }): StreamFilter {
  const types = s.types && !s.types.includes('*') ? s.types : undefined;
  return { ...(types ? { types } : {}), ...(s.correlationId ? { correlationId: s.correlationId } : {}), ...(s.agentId ? { agentId: s.agentId } : {}) };
}

export function registerEventRoutes(app: FastifyInstance, { colony, hub }: ApiContext): void {
  app.get(
    `${API_PREFIX}/events`,
    {
      schema: {
        tags,
        summary: 'The persisted event log, oldest first (page on with afterId = nextAfterId), or newest first (page back with beforeId)',
        description: 'types: exact types or prefixes such as `task.*`, comma-separated. correlationId: a workflow, swarm, task or agent id.',
        querystring: listQuery,
        response: { 200: z.object({ items: z.array(eventSchema), nextAfterId: z.number().int().nullable() }), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const q = request.query as z.output<typeof listQuery>;
      const types = q.types && !q.types.includes('*') ? q.types : undefined;
      const items = await colony.events.list({
        afterId: q.afterId,
        beforeId: q.beforeId,
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
      description: STREAM_DESCRIPTION,
      querystring: streamQuery,
      response: { 426: problemSchema, ...ERROR_RESPONSES },
    },
    handler: async () => {
      throw new HttpError(426, 'upgrade_required', 'this endpoint speaks WebSocket: connect with a WebSocket client (Upgrade: websocket)', { upgrade: 'websocket' });
    },
    wsHandler: (socket: WebSocket, request) => {
      const q = request.query as z.output<typeof streamQuery>;
      const client = hub.attach(socket, credentialOf(request.identity), filterOf(q), q.lastEventId);
      if (!client) return;
      socket.on('message', (data: RawData, isBinary: boolean) => {
        const parsed = parseClientMessage(data, isBinary);
        if (!parsed.ok) hub.badMessage(client, parsed.detail);
        else if (parsed.message.type === 'ping') hub.reply(client, { type: 'pong', id: parsed.message.id ?? null });
        else if (parsed.message.type === 'unsubscribe') hub.unsubscribe(client);
        // A replay runs on in the background: pings and later messages are answered meanwhile.
        else void hub.subscribe(client, filterOf(parsed.message), parsed.message.lastEventId);
      });
    },
  });
}

const STREAM_DESCRIPTION = [
  'A WebSocket (upgrade) carrying JSON text messages both ways.',
  'Without filters in the URL the connection is subscribed to every event from the moment it opens; query parameters ' +
    '(types, correlationId, agentId, lastEventId) make the first subscription narrower, or replay from lastEventId.',
  'Client messages, at any time: `{"type":"subscribe","types"?:[…],"correlationId"?,"agentId"?,"lastEventId"?}` replaces the ' +
    'subscription (with lastEventId, matching events after it are replayed first); `{"type":"unsubscribe"}` stops events, ' +
    'the connection staying open; `{"type":"ping","id"?}` is answered with `{"type":"pong","id"}`.',
  'Server messages: `{"type":"subscribed","filter","lastEventId","replay"}`, `{"type":"event","event":{…}}`, ' +
    '`{"type":"replayed","count","lastEventId"}` after a replay, `{"type":"unsubscribed"}`, `{"type":"pong","id"}`, and ' +
    '`{"type":"error","code":"validation","detail"}` for a malformed message (the connection stays open).',
  'The server pings (WebSocket ping frames) every 30 s and drops a peer that did not answer the previous ping; an idle ' +
    'client that answers stays connected indefinitely.',
  'Close codes: 1001 server going away; 4008 slow consumer (the client did not read fast enough); 4400 too many malformed ' +
    'messages; 4401 the credential stopped being valid ("api key revoked", "token expired").',
].join('\n\n');
