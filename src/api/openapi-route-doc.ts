import { z } from 'zod';
import { accessFor } from '../security/route-access.js';
import { PROBLEM_MEDIA_TYPE, STATUS_TITLES } from './error-handler.js';
import { problemSchema } from './schemas.js';
import { openApiTransform, toJsonSchema } from './zod-compiler.js';

/**
 * How one route appears in the OpenAPI document (@fastify/swagger's `transform`): its zod schemas as
 * JSON Schema, and responses as the server really sends them:
 *  - a response declared with `problemSchema` is `application/problem+json`; others are
 *    `application/json` unless the schema's meta names a `mediaType` (`text/plain` metrics);
 *  - the statuses the edge itself may answer with on any route are added (authentication 401/403 and
 *    rate limits 429 off public routes, 400 validation, 404 for an id in the path, 413/415 where a
 *    body is read, 500/503 server faults), as problem documents.
 * A test (api-contract.test.ts) validates real responses of every operation against the result.
 */

/** Methods whose request body the server reads (and may refuse: 413, 415). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const JSON_MEDIA_TYPE = 'application/json';

type Json = Record<string, unknown>;
interface ResponseDoc {
  description: string;
  /** `null`: a response without a body (204). */
  type?: 'null';
  content?: Record<string, { schema: Json }>;
}

/** The statuses any operation may answer with, beside its own. */
export function edgeStatuses(method: string, url: string): number[] {
  const statuses = [400, 500, 503];
  if (accessFor(method, url) !== 'public') statuses.push(401, 403, 429);
  if (url.includes('/:')) statuses.push(404);
  if (BODY_METHODS.has(method)) statuses.push(413, 415);
  return statuses.sort((a, b) => a - b);
}

function describedResponse(status: string, schema: unknown): ResponseDoc {
  const title = STATUS_TITLES[Number(status)] ?? `Status ${status}`;
  if (!(schema instanceof z.ZodType)) return { description: title };
  const meta = z.globalRegistry.get(schema) as { description?: string; mediaType?: string } | undefined;
  const json = toJsonSchema(schema, 'output');
  delete json.mediaType;
  if (json.type === 'null') return { type: 'null', description: meta?.description ?? title };
  const mediaType = schema === problemSchema ? PROBLEM_MEDIA_TYPE : (meta?.mediaType ?? JSON_MEDIA_TYPE);
  return { description: meta?.description ?? title, content: { [mediaType]: { schema: json } } };
}

function problemResponse(status: number): ResponseDoc {
  return { description: STATUS_TITLES[status] ?? `Status ${status}`, content: { [PROBLEM_MEDIA_TYPE]: { schema: toJsonSchema(problemSchema, 'output') } } };
}

/** Every response of a route: declared ones, plus the edge's, merged by status (a status may carry two media types). */
export function routeResponses(method: string, url: string, declared: Record<string, unknown> | undefined): Record<string, ResponseDoc> {
  const out: Record<string, ResponseDoc> = {};
  for (const [status, schema] of Object.entries(declared ?? {})) out[status] = describedResponse(status, schema);
  for (const status of edgeStatuses(method, url)) {
    const key = String(status);
    const edge = problemResponse(status);
    const existing = out[key];
    if (!existing) out[key] = edge;
    else if (existing.content) existing.content = { ...edge.content, ...existing.content };
  }
  return out;
}

/** @fastify/swagger's `transform` for every route. */
export function openApiRouteDoc({ schema, url, route }: { schema: Json; url: string; route: { method: string | string[] } }): { schema: Json; url: string } {
  const method = Array.isArray(route.method) ? (route.method[0] as string) : route.method;
  const out = openApiTransform({ schema, url });
  if (!schema) return out;
  const doc: Json = { ...out.schema, response: routeResponses(method, url, schema.response as Record<string, unknown> | undefined) };
  if (accessFor(method, url) === 'public') doc.security = [];
  return { schema: doc, url };
}
