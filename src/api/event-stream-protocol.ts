import type { RawData } from 'ws';
import { z } from 'zod';
import { csv, eventTypeFilter, idSchema } from './schemas.js';

/**
 * The event stream's message protocol (`GET /api/v2/events/stream`, JSON text frames both ways).
 *
 * Client → server, at any time:
 *   {"type":"subscribe", "types"?, "correlationId"?, "agentId"?, "lastEventId"?}   replaces the filter;
 *       with lastEventId, the matching events after it are replayed from the log first
 *   {"type":"unsubscribe"}                        stop receiving events (the connection stays open)
 *   {"type":"ping", "id"?}                        answered with {"type":"pong","id":…}
 * Server → client:
 *   {"type":"subscribed","filter","lastEventId","replay"}, {"type":"replayed","count","lastEventId"},
 *   {"type":"unsubscribed"}, {"type":"pong","id"}, {"type":"event","event":{…}},
 *   {"type":"error","code":"validation","detail"} for a malformed message (the connection stays open).
 *
 * A connection with no filter in its URL is subscribed to every event from the moment it opens.
 */

export const correlationSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'a workflow, swarm, task or agent id');
export const eventIdSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** What a subscription may name, in the stream URL's query or in a `subscribe` message. */
export const subscriptionFields = {
  types: csv(eventTypeFilter).optional(),
  correlationId: correlationSchema.optional(),
  agentId: idSchema.optional(),
  /** Replay every matching event after this id (from the store) before the live ones. */
  lastEventId: eventIdSchema.optional(),
};

/** A ping's id, echoed in its pong: a short string or a number. */
const pingId = z.union([z.string().max(128), z.number()]);

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('subscribe'), ...subscriptionFields }),
  z.strictObject({ type: z.literal('unsubscribe') }),
  z.strictObject({ type: z.literal('ping'), id: pingId.optional() }),
]);

export type ClientMessage = z.output<typeof clientMessageSchema>;

export type ParsedClientMessage = { ok: true; message: ClientMessage } | { ok: false; detail: string };

/** Reads one frame from a client: a JSON text message of the protocol, or what is wrong with it. */
export function parseClientMessage(data: RawData, isBinary: boolean): ParsedClientMessage {
  if (isBinary) return { ok: false, detail: 'expected a JSON text message, got a binary one' };
  let message: unknown;
  try {
    message = JSON.parse(rawText(data));
  } catch {
    return { ok: false, detail: 'expected a JSON text message' };
  }
  const parsed = clientMessageSchema.safeParse(message);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.join('.') || 'message';
  const hint = issue?.code === 'invalid_union' && issue.path.length === 1 ? 'expected "subscribe", "unsubscribe" or "ping"' : (issue?.message ?? 'invalid');
  return { ok: false, detail: `${where}: ${hint}` };
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
