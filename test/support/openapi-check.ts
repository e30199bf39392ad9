import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import http from 'node:http';
import type { ApiResponse } from './api-server.js';

/**
 * Checks real responses against the served OpenAPI document: the status is documented for the
 * operation, the media type is one the document names for it, and the body validates against its
 * schema (strictly: `additionalProperties: false` is enforced, so an undeclared field fails).
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OpenApiDoc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: any }> }> }>> };

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** `METHOD /path/{id}` for every operation of the document. */
export function operationsOf(doc: OpenApiDoc): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((m) => (HTTP_METHODS as readonly string[]).includes(m))
      .map((m) => `${m.toUpperCase()} ${path}`),
  );
}

export class OpenApiChecker {
  private readonly ajv: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction>();
  private readonly doc: OpenApiDoc;

  constructor(doc: OpenApiDoc) {
    this.doc = doc;
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    (addFormats as unknown as (ajv: Ajv2020) => void)(this.ajv);
  }

  /** Every problem with `response` as an answer to `operation` (`GET /api/v2/tasks/{id}`); empty when it conforms. */
  problems(operation: string, response: ApiResponse): string[] {
    const [method, path] = operation.split(' ') as [string, string];
    const op = this.doc.paths[path]?.[method.toLowerCase()];
    if (!op) return [`${operation} is not in the document`];
    const documented = op.responses[String(response.status)];
    if (!documented) return [`${operation}: status ${response.status} is not documented (documented: ${Object.keys(op.responses).join(', ')}); body ${response.text.slice(0, 300)}`];
    const contentType = response.headers.get('content-type');
    if (!documented.content) return response.text === '' ? [] : [`${operation} ${response.status}: documented without a body, got ${contentType}`];
    const essence = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const media = Object.entries(documented.content).find(([type]) => type.split(';')[0]?.trim().toLowerCase() === essence);
    if (!media) return [`${operation} ${response.status}: served as ${contentType}, documented as ${Object.keys(documented.content).join(', ')}`];
    if (!essence.endsWith('json')) return typeof media[1].schema === 'object' && media[1].schema.type === 'string' ? [] : [`${operation} ${response.status}: ${essence} needs a string schema`];
    const key = `${operation} ${response.status} ${media[0]}`;
    let validate = this.cache.get(key);
    if (!validate) {
      validate = this.ajv.compile(media[1].schema);
      this.cache.set(key, validate);
    }
    if (validate(response.json)) return [];
    return [`${operation} ${response.status}: body does not match the schema: ${this.ajv.errorsText(validate.errors, { separator: '; ' })}; body ${response.text.slice(0, 400)}`];
  }
}

/** A request with any method (fetch refuses TRACE and CONNECT), as an ApiResponse. */
export function rawRequest(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const h = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) h.set(name, Array.isArray(value) ? value.join(', ') : value);
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: h, text, json });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
