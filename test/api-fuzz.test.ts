import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { startApi, type TestApi } from './support/api-server.js';
import { OpenApiChecker, operationsOf, type OpenApiDoc } from './support/openapi-check.js';

/**
 * Property-based fuzzing driven by the OpenAPI document: for every operation, requests whose path
 * parameters, query strings and bodies are generated from the documented schemas, mixed with junk.
 * Whatever comes in, the server never answers 5xx, every 4xx is a problem document (MCP's own
 * JSON-RPC errors aside), and it stays healthy. Bounded: a fixed seed and a few runs per operation.
 */

const SEED = 20_261_206;
const RUNS_PER_OPERATION = 10;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Schema = Record<string, any>;

const junkText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', ' ', '..', '%00', '%', '../../etc/passwd', "'; DROP TABLE tasks; --", '\u0000', '9'.repeat(40), '-1', 'NaN', '[]', '{}', 'null', '\uFFFF'),
);

/** Values of the schema's shape (mostly valid, sometimes not), nested a few levels at most. */
function fromSchema(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 3) return fc.jsonValue({ maxDepth: 2 });
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  if (schema.const !== undefined) return fc.constant(schema.const);
  const alternatives = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (alternatives?.length) return fc.oneof(...alternatives.map((s) => fromSchema(s, depth + 1)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return fc.oneof(fc.string({ maxLength: 30 }), fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/));
    case 'integer':
      return fc.oneof(fc.integer({ min: -5, max: 100 }), fc.integer());
    case 'number':
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(fromSchema(schema.items as Schema, depth + 1), { maxLength: 3 });
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const keys = Object.keys(properties);
      if (keys.length === 0) return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
      return fc.record(Object.fromEntries(keys.map((k) => [k, fromSchema(properties[k], depth + 1)])), {
        requiredKeys: ((schema.required ?? []) as string[]).filter((k) => keys.includes(k)),
      });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

interface Operation {
  method: string;
  template: string;
  parameters: { name: string; in: string; schema?: Schema }[];
  body: Schema | undefined;
}

interface FuzzRequest {
  path: string;
  query: string;
  body: { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; text: string; contentType: string };
}

function requestArbitrary(op: Operation): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.parameters.filter((p) => p.in === 'path');
  const queryParams = op.parameters.filter((p) => p.in === 'query');
  const path = fc.tuple(...pathParams.map(() => fc.oneof(fc.stringMatching(/^[a-z]{3}_[a-z0-9]{4,26}$/), fc.constant('openai'), fc.constant('ffffffffffff'), junkText))).map((values) =>
    pathParams.reduce((p, param, i) => p.replace(`{${param.name}}`, encodeURIComponent(String(values[i]) || 'x')), op.template),
  );
  const queryPair = fc.oneof(
    ...(queryParams.length ? [fc.constantFrom(...queryParams).chain((p) => fromSchema(p.schema).map((v) => [p.name, typeof v === 'string' ? v : JSON.stringify(v)] as const))] : []),
    fc.tuple(fc.oneof(fc.constantFrom(...queryParams.map((p) => p.name), 'junk'), fc.string({ maxLength: 8 })), junkText),
  );
  const query = fc.array(queryPair, { maxLength: 3 }).map((pairs) => (pairs.length ? `?${new URLSearchParams(pairs.map(([k, v]) => [k, v] as [string, string])).toString()}` : ''));
  const body: fc.Arbitrary<FuzzRequest['body']> = fc.oneof(
    fc.constant({ kind: 'none' as const }),
    fromSchema(op.body).map((value) => ({ kind: 'json' as const, value })),
    fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })),
    fc.tuple(junkText, fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1')).map(([text, contentType]) => ({ kind: 'raw' as const, text, contentType })),
  );
  return fc.record({ path, query, body });
}

describe('OpenAPI-driven fuzzing', () => {
  let api: TestApi;
  let llm: FakeLlmServer;
  let operations: Operation[];
  let checker: OpenApiChecker;

  beforeAll(async () => {
    llm = new FakeLlmServer();
    const { openaiBaseUrl } = await llm.start();
    // A generous rate limit: the fuzzer is one busy client.
    api = await startApi({ providers: { openai: { baseUrl: openaiBaseUrl, apiKey: 'sk-fake', maxRetries: 0 } } }, { rateLimit: { max: 1_000_000, windowMs: 60_000 } });
    const doc = (await api.request('GET', '/api/v2/openapi.json')).json as OpenApiDoc;
    checker = new OpenApiChecker(doc);
    operations = operationsOf(doc).map((key) => {
      const [method, template] = key.split(' ') as [string, string];
      const op = doc.paths[template]?.[method.toLowerCase()] as unknown as { parameters?: Operation['parameters']; requestBody?: { content: Record<string, { schema: Schema }> } };
      return { method, template, parameters: op.parameters ?? [], body: op.requestBody?.content['application/json']?.schema };
    });
  });

  afterAll(async () => {
    await api?.close();
    await llm?.close();
  });

  it('never answers 5xx, answers 4xx with problem documents, and stays healthy', async () => {
    expect(operations.length).toBeGreaterThan(40);
    const seen = new Map<number, number>();
    for (const op of operations) {
      await fc.assert(
        fc.asyncProperty(requestArbitrary(op), async (req) => {
          // fetch sends no body with GET.
          const options =
            op.method === 'GET'
              ? {}
              : req.body.kind === 'json'
              ? { body: req.body.value }
              : req.body.kind === 'raw'
                  ? { raw: req.body.text, headers: { 'content-type': req.body.contentType } }
                  : {};
          const r = await api.request(op.method, `${req.path}${req.query}`, options);
          seen.set(r.status, (seen.get(r.status) ?? 0) + 1);
          const where = `${op.method} ${req.path}${req.query} → ${r.status} ${r.text.slice(0, 200)}`;
          expect(r.status, where).toBeLessThan(500);
          // Whatever the answer, the document describes it.
          expect(checker.problems(`${op.method} ${op.template}`, r), where).toEqual([]);
          if (r.status >= 400) {
            const mcpOwn = req.path === '/mcp' && r.headers.get('content-type')?.startsWith('application/json');
            if (!mcpOwn) expect(r.headers.get('content-type'), where).toMatch(/^application\/problem\+json/);
          }
        }),
        { seed: SEED, numRuns: RUNS_PER_OPERATION, endOnFailure: true },
      );
    }
    // Both outcomes were exercised: the generator reaches successes and refusals.
    expect([...seen.keys()].some((s) => s < 300)).toBe(true);
    expect([...seen.keys()].some((s) => s >= 400)).toBe(true);
    expect((await api.request('GET', '/health')).status).toBe(200);
    expect((await api.request('GET', '/ready')).status).toBe(200);
  });
});
