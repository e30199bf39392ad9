import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../domain/errors.js';

/**
 * Zod as Fastify's schema language: routes declare zod schemas for params, querystring and body;
 * the validator compiler checks requests with them (so REST validates exactly as the engine, the CLI
 * and MCP do), and the OpenAPI transform publishes them as JSON Schema (`z.toJSONSchema`).
 */

/** A schema published in the OpenAPI document but not checked by Fastify: the handler validates. */
export class DocsOnly {
  readonly schema: z.ZodType;
  constructor(schema: z.ZodType) {
    this.schema = schema;
  }
}

/** Where a request part sits in error messages: `query.limit`, `body.tasks.0.type`. */
const PART_NAMES: Record<string, string> = { params: 'path', querystring: 'query', body: 'body', headers: 'header' };

export const zodValidatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  if (schema instanceof DocsOnly) return (data) => ({ value: data });
  if (!(schema instanceof z.ZodType)) throw new Error(`route schema for ${String(httpPart)} must be a zod schema`);
  const part = PART_NAMES[String(httpPart)] ?? String(httpPart);
  return (data) => {
    const result = schema.safeParse(data);
    if (result.success) return { value: result.data };
    return { error: zodIssuesError(result.error, part) };
  };
};

/** A ValidationError naming the first problem, with every issue in `details.errors`. */
export function zodIssuesError(error: z.ZodError, part: string): ValidationError {
  const errors = error.issues.map((issue) => ({ path: [part, ...issue.path.map(String)].join('.'), message: issueMessage(issue) }));
  const first = errors[0] ?? { path: part, message: 'invalid' };
  const detail = part === 'body' && first.path === 'body' ? `body: ${first.message}` : `${first.path}: ${first.message}`;
  return new ValidationError(detail, { details: { errors } });
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return issue.message;
}

/** Parses with a zod schema, throwing a 400-mapped ValidationError naming `part` (for handler-side checks). */
export function parseOr400<S extends z.ZodType>(schema: S, data: unknown, part: string): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw zodIssuesError(result.error, part);
  return result.data;
}

// ---- OpenAPI ----

type Json = Record<string, unknown>;

/** JSON Schema (2020-12, as OpenAPI 3.1 takes it) of a zod schema's input, self-contained. */
export function toJsonSchema(schema: z.ZodType | DocsOnly, io: 'input' | 'output' = 'input'): Json {
  const zod = schema instanceof DocsOnly ? schema.schema : schema;
  const out = z.toJSONSchema(zod, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
    // Recursive JSON values (task input, results) are documented as "any JSON".
    override: (ctx) => {
      if ((ctx.zodSchema as { _zod: { def: { type: string } } })._zod.def.type === 'lazy') {
        for (const key of Object.keys(ctx.jsonSchema)) delete (ctx.jsonSchema as Json)[key];
      }
    },
  }) as Json;
  const defs = (out.$defs ?? {}) as Record<string, Json>;
  delete out.$defs;
  delete out.$schema;
  return inlineRefs(out, defs, 0) as Json;
}

const MAX_INLINE_DEPTH = 32;

function inlineRefs(node: unknown, defs: Record<string, Json>, depth: number): unknown {
  if (Array.isArray(node)) return node.map((n) => inlineRefs(n, defs, depth));
  if (!node || typeof node !== 'object') return node;
  const obj = node as Json;
  if (typeof obj.$ref === 'string' && obj.$ref.startsWith('#/$defs/')) {
    const { $ref, ...rest } = obj;
    const target = defs[($ref as string).slice('#/$defs/'.length)] ?? {};
    return depth >= MAX_INLINE_DEPTH ? rest : inlineRefs({ ...target, ...rest }, defs, depth + 1);
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, inlineRefs(v, defs, depth)]));
}

const SCHEMA_PARTS = ['params', 'querystring', 'body', 'headers'] as const;

/** @fastify/swagger's `transform`: turns a route's zod schemas into JSON Schema for the document. */
export function openApiTransform({ schema, url }: { schema: Record<string, unknown>; url: string }): { schema: Record<string, unknown>; url: string } {
  if (!schema) return { schema, url };
  const out: Record<string, unknown> = { ...schema };
  for (const part of SCHEMA_PARTS) {
    const value = schema[part];
    if (value instanceof z.ZodType || value instanceof DocsOnly) out[part] = toJsonSchema(value);
  }
  if (schema.response && typeof schema.response === 'object') {
    out.response = Object.fromEntries(
      Object.entries(schema.response as Record<string, unknown>).map(([code, value]) => [
        code,
        value instanceof z.ZodType || value instanceof DocsOnly ? toJsonSchema(value, 'output') : value,
      ]),
    );
  }
  return { schema: out, url };
}
