import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MAX_MEMORY_TTL_MS } from '../../domain/bounds.js';
import { ColonyError, NotFoundError, ValidationError } from '../../domain/errors.js';
import type { JsonValue } from '../../domain/json.js';
import { embedderLabel } from '../../memory/embedder-label.js';
import type { SearchMode, StoreOptions } from '../../memory/memory-manager.js';
import { checkKey, checkMetadata, checkTags, checkTtl } from '../../memory/memory-validation.js';
import { MAX_MEMORY_BATCH_ENTRIES, MAX_MEMORY_TAG_LENGTH, MAX_MEMORY_TAGS, MEMORY_NAMESPACE_PATTERN } from '../../ports/memory-store.js';
import { parseDuration } from '../../tasks/duration.js';
import { API_PREFIX, MAX_PAGE_LIMIT } from '../api-defaults.js';
import type { ApiContext } from '../api-context.js';
import { csv, ERROR_RESPONSES, limitSchema, offsetSchema, pageOf } from '../schemas.js';

/** The namespace of a key route that names none: the CLI's and MCP's default too. */
export const DEFAULT_MEMORY_NAMESPACE = 'default';
/** Longest search text accepted. */
const MAX_QUERY_LENGTH = 10_000;
/** Longest key prefix filter: a key is at most 512 characters, so a longer prefix matches nothing anyway. */
const MAX_PREFIX_LENGTH = 2_048;

/** A zod check that runs one of memory's own validators, so REST refuses exactly what memory refuses. */
function memoryCheck<T>(check: (value: T) => unknown) {
  return (value: T, ctx: z.RefinementCtx) => {
    try {
      check(value);
    } catch (error) {
      if (!(error instanceof ColonyError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message });
    }
  };
}

const namespaceSchema = z
  .string()
  .regex(MEMORY_NAMESPACE_PATTERN, 'a namespace is 1 to 64 lowercase letters, digits and _ . : -, starting with a letter or digit');
const keySchema = z.string().superRefine(memoryCheck((key: string) => checkKey(key)));
const tagSchema = z.string().min(1).max(MAX_MEMORY_TAG_LENGTH);
const tagsSchema = z.array(tagSchema).max(MAX_MEMORY_TAGS).superRefine(memoryCheck((tags: string[]) => checkTags(tags)));
/** A TTL: milliseconds, or a duration such as `30s`, `5m`, `1h`; at most MAX_MEMORY_TTL_MS (ten years). */
const ttlSchema = z.union([z.number().positive().finite(), z.string().min(1).max(64)]).transform((ttl, ctx) => {
  try {
    return checkTtl(typeof ttl === 'number' ? ttl : parseDuration(ttl, MAX_MEMORY_TTL_MS), 'ttl') as number;
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : 'invalid duration' });
    return z.NEVER;
  }
});
/** Optimistic concurrency: the version being replaced, or null for "must not exist yet". */
const expectedVersionSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable();
const metadataSchema = z.record(z.string(), z.unknown()).superRefine(memoryCheck((m: Record<string, unknown>) => checkMetadata(m)));
const valueSchema = z.unknown().refine((v) => v !== undefined, 'value is required (any JSON)');

const writeFields = {
  namespace: namespaceSchema.optional(),
  value: valueSchema,
  ttl: ttlSchema.optional(),
  tags: tagsSchema.optional(),
  metadata: metadataSchema.optional(),
  expectedVersion: expectedVersionSchema.optional(),
};
const storeBody = z.strictObject({ key: keySchema, ...writeFields });
const updateBody = z.strictObject(writeFields);
/** A batch: entries as POST takes them, without expectedVersion (a batch writes unconditionally). */
const { expectedVersion: _unconditional, ...batchFields } = writeFields;
const batchBody = z.strictObject({ entries: z.array(z.strictObject({ key: keySchema, ...batchFields })).max(MAX_MEMORY_BATCH_ENTRIES) });

const keyParams = z.strictObject({ key: keySchema });
const namespaceQuery = z.strictObject({ namespace: namespaceSchema.optional() });
const deleteQuery = z.strictObject({
  namespace: namespaceSchema.optional(),
  expectedVersion: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

const SEARCH_MODES = { keyword: 'keyword', semantic: 'semantic', vector: 'semantic', hybrid: 'hybrid' } as const satisfies Record<string, SearchMode>;

const listQuery = z
  .strictObject({
    namespace: namespaceSchema.optional(),
    prefix: z.string().min(1).max(MAX_PREFIX_LENGTH).optional(),
    tags: csv(tagSchema).optional(),
    q: z.string().min(1).max(MAX_QUERY_LENGTH).optional(),
    mode: z.enum(Object.keys(SEARCH_MODES) as [keyof typeof SEARCH_MODES, ...(keyof typeof SEARCH_MODES)[]]).optional(),
    limit: limitSchema(),
    offset: offsetSchema,
  })
  .superRefine((q, ctx) => {
    if (q.q === undefined && q.mode !== undefined) ctx.addIssue({ code: 'custom', path: ['mode'], message: 'mode applies to a search: give the search text in q' });
    if (q.q !== undefined && q.prefix !== undefined) ctx.addIssue({ code: 'custom', path: ['prefix'], message: 'prefix filters a listing and cannot be combined with a search (q)' });
    if (q.q !== undefined && q.offset + q.limit > MAX_PAGE_LIMIT) {
      ctx.addIssue({ code: 'custom', path: ['offset'], message: `a search reaches at most ${MAX_PAGE_LIMIT} results: offset + limit must not exceed it` });
    }
  });

// ---- responses (documentation) ----

const json = z.unknown();
const memoryEntrySchema = z.object({
  namespace: z.string(),
  key: z.string(),
  value: json,
  version: z.number().int(),
  tags: z.array(z.string()),
  metadata: z.record(z.string(), json),
  expiresAt: z.number().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
  accessedAt: z.number(),
  accessCount: z.number().int(),
  size: z.number().int(),
});
const searchResultSchema = z.object({
  query: z.string(),
  mode: z.enum(['keyword', 'semantic', 'hybrid']),
  embedder: z
    .object({ model: z.string(), dimensions: z.number().int(), kind: z.enum(['local', 'remote']), local: z.boolean(), label: z.string() })
    .nullable()
    .meta({ description: 'The embedder behind the semantic part (null for keyword search). `local: true` is the built-in lexical embedder: it matches shared words, not meaning.' }),
  items: z.array(z.object({ entry: memoryEntrySchema, score: z.number(), matchedBy: z.array(z.enum(['keyword', 'semantic'])) })),
  limit: z.number().int(),
  offset: z.number().int(),
});
const conflict = { 409: ERROR_RESPONSES[400] };
const embedderSchema = z.object({ model: z.string(), dimensions: z.number().int(), kind: z.enum(['local', 'remote']), local: z.boolean(), label: z.string() });
const namespacesSchema = z.object({
  items: z.array(z.object({ namespace: z.string(), entries: z.number().int() })),
  entries: z.number().int(),
  embedder: embedderSchema.nullable().meta({ description: 'The embedder vector and hybrid searches use; null: none (search is by keyword alone)' }),
});

const tags = ['memory'];

export function registerMemoryRoutes(app: FastifyInstance, { colony }: ApiContext): void {
  const entryUrl = (namespace: string, key: string) => `${API_PREFIX}/memory/${encodeURIComponent(key)}?namespace=${encodeURIComponent(namespace)}`;

  app.get(
    `${API_PREFIX}/memory`,
    {
      schema: {
        tags,
        summary: 'List or search memory entries',
        description:
          'Without `q`: entries ordered by namespace then key, filtered by namespace, key prefix and tags (every tag listed), paginated, with the total in `total` and X-Total-Count. ' +
          'With `q`: a search, best first — `keyword` (BM25), `semantic` (alias `vector`: nearest embeddings) or `hybrid` (both, fused; the default). ' +
          'The response names the embedder; the built-in local one is lexical (shared words, not meaning). Entries are embedded in the background a moment after they are written.',
        querystring: listQuery,
        response: { 200: z.union([pageOf(memoryEntrySchema), searchResultSchema]), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const q = request.query as z.output<typeof listQuery>;
      const memory = await colony.memory();
      const filter = { ...(q.namespace === undefined ? {} : { namespace: q.namespace }), ...(q.tags === undefined ? {} : { tags: q.tags }) };
      if (q.q !== undefined) {
        const found = await memory.search(q.q, { ...filter, limit: q.offset + q.limit, mode: SEARCH_MODES[q.mode ?? 'hybrid'] });
        return {
          query: found.query,
          mode: found.mode,
          embedder: found.embedder === null ? null : { ...found.embedder, label: embedderLabel(found.embedder) },
          items: found.hits.slice(q.offset),
          limit: q.limit,
          offset: q.offset,
        };
      }
      const listFilter = { ...filter, ...(q.prefix === undefined ? {} : { keyPrefix: q.prefix }) };
      const [items, total] = await Promise.all([memory.list({ ...listFilter, limit: q.limit, offset: q.offset }), memory.count(listFilter)]);
      reply.header('x-total-count', String(total));
      return { items, total, limit: q.limit, offset: q.offset };
    },
  );

  app.get(
    `${API_PREFIX}/memory-namespaces`,
    {
      schema: {
        tags,
        summary: 'Memory namespaces with their live entry counts, and the embedder searches use',
        response: { 200: namespacesSchema, ...ERROR_RESPONSES },
      },
    },
    async () => {
      const stats = await (await colony.memory()).stats();
      return { items: stats.namespaces, entries: stats.entries, embedder: stats.embedder === null ? null : { ...stats.embedder, label: embedderLabel(stats.embedder) } };
    },
  );

  app.post(
    `${API_PREFIX}/memory`,
    {
      schema: {
        tags,
        summary: 'Store a memory entry',
        description:
          '`value` is any JSON (up to 1 MiB). `ttl`: milliseconds or a duration (`30s`, `5m`, `1h`), at most ten years. ' +
          '`expectedVersion`: the version being replaced, or null for "must not exist yet"; a stale one is a 409 and writes nothing. Publishes `memory.stored`.',
        body: storeBody,
        response: { 201: memoryEntrySchema, ...conflict, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { key, namespace = DEFAULT_MEMORY_NAMESPACE, value, ...rest } = request.body as z.output<typeof storeBody>;
      const entry = await (await colony.memory()).store(namespace, key, value as JsonValue, storeOptions(rest));
      return reply.code(201).header('location', entryUrl(entry.namespace, entry.key)).send(entry);
    },
  );

  app.post(
    `${API_PREFIX}/memory/batch`,
    {
      schema: {
        tags,
        summary: 'Store many memory entries in one transaction',
        description:
          `\`entries\`: up to ${MAX_MEMORY_BATCH_ENTRIES} entries with POST's fields except \`expectedVersion\` (each is written unconditionally). ` +
          'All or nothing: a bad entry is a 400 naming it, and nothing is written. A key given twice is written twice (the last value wins, versions count up). ' +
          'Returns the entries as written, in order. Publishes `memory.stored` for each.',
        body: batchBody,
        response: { 201: z.object({ items: z.array(memoryEntrySchema) }), ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { entries } = request.body as z.output<typeof batchBody>;
      const items = await (await colony.memory()).storeMany(
        entries.map(({ key, namespace = DEFAULT_MEMORY_NAMESPACE, value, ...rest }) => ({ namespace, key, value: value as JsonValue, ...storeOptions(rest) })),
      );
      return reply.code(201).send({ items });
    },
  );

  app.get(
    `${API_PREFIX}/memory/:key`,
    {
      schema: {
        tags,
        summary: 'Get a memory entry (the key URL-encoded; namespace default: default)',
        params: keyParams,
        querystring: namespaceQuery,
        response: { 200: memoryEntrySchema, ...ERROR_RESPONSES },
      },
    },
    async (request) => {
      const { key } = request.params as z.output<typeof keyParams>;
      const { namespace = DEFAULT_MEMORY_NAMESPACE } = request.query as z.output<typeof namespaceQuery>;
      const entry = await (await colony.memory()).retrieve(namespace, key);
      if (entry === undefined) throw new NotFoundError('memory entry', `${namespace}/${key}`);
      return entry;
    },
  );

  app.put(
    `${API_PREFIX}/memory/:key`,
    {
      schema: {
        tags,
        summary: 'Write a memory entry at a key (201 when it did not exist, 200 when it replaced one)',
        description:
          'The namespace goes in the body or the query (`?namespace=`, as for GET and DELETE), default `default`. Same fields as POST; ' +
          'with `expectedVersion` it updates only that version (409 otherwise; null: only if the entry does not exist yet).',
        params: keyParams,
        querystring: namespaceQuery,
        body: updateBody,
        response: { 200: memoryEntrySchema, 201: memoryEntrySchema, ...conflict, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { key } = request.params as z.output<typeof keyParams>;
      const fromQuery = (request.query as z.output<typeof namespaceQuery>).namespace;
      const { namespace: fromBody, value, ...rest } = request.body as z.output<typeof updateBody>;
      if (fromQuery !== undefined && fromBody !== undefined && fromQuery !== fromBody) {
        throw new ValidationError(`namespace: the query says ${JSON.stringify(fromQuery)} and the body ${JSON.stringify(fromBody)}; give one`, {
          details: { errors: [{ path: 'body.namespace', message: 'differs from query.namespace' }] },
        });
      }
      const namespace = fromBody ?? fromQuery ?? DEFAULT_MEMORY_NAMESPACE;
      const entry = await (await colony.memory()).store(namespace, key, value as JsonValue, storeOptions(rest));
      // Versions restart at 1 for an entry that did not exist (or had been deleted or had expired).
      if (entry.version === 1) return reply.code(201).header('location', entryUrl(entry.namespace, entry.key)).send(entry);
      return entry;
    },
  );

  app.delete(
    `${API_PREFIX}/memory/:key`,
    {
      schema: {
        tags,
        summary: 'Delete a memory entry (204; 404 when there is none)',
        description: 'With `expectedVersion`, only that version (409 otherwise). Publishes `memory.deleted`.',
        params: keyParams,
        querystring: deleteQuery,
        response: { 204: z.null().meta({ description: 'Deleted' }), ...conflict, ...ERROR_RESPONSES },
      },
    },
    async (request, reply) => {
      const { key } = request.params as z.output<typeof keyParams>;
      const { namespace = DEFAULT_MEMORY_NAMESPACE, expectedVersion } = request.query as z.output<typeof deleteQuery>;
      const deleted = await (await colony.memory()).delete(namespace, key, expectedVersion === undefined ? {} : { expectedVersion });
      if (!deleted) throw new NotFoundError('memory entry', `${namespace}/${key}`);
      return reply.code(204).send();
    },
  );
}

function storeOptions(body: { ttl?: number | undefined; tags?: string[] | undefined; metadata?: Record<string, unknown> | undefined; expectedVersion?: number | null | undefined }): StoreOptions {
  return {
    ...(body.ttl === undefined ? {} : { ttlMs: body.ttl }),
    ...(body.tags === undefined ? {} : { tags: body.tags }),
    ...(body.metadata === undefined ? {} : { metadata: body.metadata as Record<string, JsonValue> }),
    ...(body.expectedVersion === undefined ? {} : { expectedVersion: body.expectedVersion }),
  };
}
