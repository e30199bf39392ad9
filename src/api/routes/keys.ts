import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { LOCAL_IDENTITY } from '../../security/authenticator.js';
import { ROLES } from '../../security/roles.js';
import { API_PREFIX } from '../api-defaults.js';
import type { ApiContext } from '../api-context.js';
import { ERROR_RESPONSES } from '../schemas.js';

const keyRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  createdAt: z.number(),
  lastUsedAt: z.number().nullable(),
  revokedAt: z.number().nullable(),
});
const listQuery = z.strictObject({ all: z.enum(['true', 'false']).transform((v) => v === 'true').default(false) });
const createBody = z.strictObject({ role: z.enum(ROLES), name: z.string().min(1).max(64).optional() });
const keyParams = z.strictObject({ id: z.string().regex(/^[0-9a-f]{12}$/, 'an API key id is 12 hex characters') });

const tags = ['auth'];

/** API keys over HTTP (admin only), and who the caller is. */
export function registerKeyRoutes(app: FastifyInstance, { keys, auth, hub }: ApiContext): void {
  app.get(
    `${API_PREFIX}/auth/whoami`,
    {
      schema: {
        tags,
        summary: 'The caller: how it authenticated and its role (`local` on a loopback server without auth)',
        response: { 200: z.object({ kind: z.string(), id: z.string(), role: z.enum(ROLES), name: z.string().nullable(), authRequired: z.boolean() }), ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { kind, id, role, name } = request.identity ?? LOCAL_IDENTITY;
      return { kind, id, role, name, authRequired: await auth.required() };
    },
  );

  app.get(
    `${API_PREFIX}/keys`,
    { schema: { tags, summary: 'List API keys (revoked ones with all=true); never the keys themselves', querystring: listQuery, response: { 200: z.object({ items: z.array(keyRecordSchema) }), ...ERROR_RESPONSES } } },
    async (request) => ({ items: await keys.list({ includeRevoked: (request.query as z.output<typeof listQuery>).all }) }),
  );

  app.post(
    `${API_PREFIX}/keys`,
    {
      schema: {
        tags,
        summary: 'Create an API key; the response is the only time the key is shown',
        body: createBody,
        response: { 201: keyRecordSchema.extend({ key: z.string() }), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const body = request.body as z.output<typeof createBody>;
      const created = await keys.create({ role: body.role, name: body.name });
      auth.keysChanged();
      return reply.code(201).header('cache-control', 'no-store').send({ ...created.record, key: created.key });
    },
  );

  app.delete(
    `${API_PREFIX}/keys/:id`,
    { schema: { tags, summary: 'Revoke an API key (effective at once, in every process)', params: keyParams, response: { 200: keyRecordSchema, 409: ERROR_RESPONSES[400], ...ERROR_RESPONSES } } },
    async (request) => {
      const record = await keys.revoke((request.params as z.output<typeof keyParams>).id);
      auth.keysChanged();
      // Its open event streams end now (other processes' revocations: within the hub's credential check).
      hub.revokeKey(record.id);
      return record;
    },
  );
}
