import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, startApi, type TestApi } from './support/api-server.js';

/**
 * Bad input of every kind gets a 4xx problem document naming what was wrong, changes nothing, and
 * never a 5xx: malformed JSON, wrong types, unknown fields, huge bodies, invalid ids, and injection
 * strings in ids and filters.
 */
describe('REST API: bad input', () => {
  let api: TestApi;
  let taskId: string;
  let agentId: string;

  const SQL = "'; DROP TABLE tasks; --";
  const PATH = '../../etc/passwd';
  const enc = encodeURIComponent;

  beforeAll(async () => {
    api = await startApi();
    api.colony.registerExecutor({ type: 'echo', execute: async ({ task }) => task.input });
    taskId = (await api.request('POST', '/api/v2/tasks', { body: { type: 'echo', name: 'keep' } })).json.id;
    agentId = (await api.request('POST', '/api/v2/agents', { body: { type: 'coder' } })).json.id;
  });

  afterAll(async () => {
    await api.close();
  });

  interface Case {
    name: string;
    method: string;
    path: () => string;
    body?: unknown;
    raw?: string | Buffer;
    headers?: Record<string, string>;
    status: number;
    code?: string;
    /** A fragment the problem's detail must contain (what was wrong). */
    detail?: RegExp;
  }

  const cases: Case[] = [
    // Malformed JSON
    { name: 'malformed JSON creating a task', method: 'POST', path: () => '/api/v2/tasks', raw: '{"type": "echo",', status: 400, code: 'validation', detail: /malformed JSON/ },
    { name: 'malformed JSON spawning an agent', method: 'POST', path: () => '/api/v2/agents', raw: "{type: 'coder'}", status: 400, detail: /malformed JSON/ },
    { name: 'malformed JSON updating a task', method: 'PUT', path: () => `/api/v2/tasks/${taskId}`, raw: '{"action":', status: 400 },
    { name: 'an empty JSON body', method: 'POST', path: () => '/api/v2/agents', raw: '', status: 400 },
    { name: 'a JSON array where an object belongs', method: 'POST', path: () => '/api/v2/agents', body: [{ type: 'coder' }], status: 400, detail: /body/ },
    { name: 'JSON null as a task', method: 'POST', path: () => '/api/v2/tasks', raw: 'null', status: 400 },
    { name: 'prototype poisoning', method: 'POST', path: () => '/api/v2/agents', raw: '{"type":"coder","__proto__":{"admin":true}}', status: 400 },
    { name: 'a text/plain body', method: 'POST', path: () => '/api/v2/tasks', raw: 'type=echo', headers: { 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type' },
    { name: 'a form body', method: 'POST', path: () => '/api/v2/agents', raw: 'type=coder', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 },

    // Wrong types
    { name: 'a number as an agent type', method: 'POST', path: () => '/api/v2/agents', body: { type: 5 }, status: 400, detail: /body\.type/ },
    { name: 'an unknown priority', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', priority: 'urgent' }, status: 400, detail: /priority/ },
    { name: 'a string as retries', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', maxRetries: 'three' }, status: 400, detail: /maxRetries/ },
    { name: 'an unknown task type', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'nonesuch' }, status: 400, detail: /unknown task type/ },
    { name: 'a bad duration', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', timeoutMs: '5 fortnights' }, status: 400 },
    { name: 'an unknown action', method: 'PUT', path: () => `/api/v2/tasks/${taskId}`, body: { action: 'explode' }, status: 400, detail: /action/ },
    { name: 'an agent status that is not pause/resume', method: 'PUT', path: () => `/api/v2/agents/${agentId}`, body: { status: 'terminated' }, status: 400, detail: /status/ },
    { name: 'a tasks batch that is not an array', method: 'POST', path: () => '/api/v2/tasks', body: { tasks: { type: 'echo' } }, status: 400, detail: /tasks/ },
    { name: 'an empty tasks batch', method: 'POST', path: () => '/api/v2/tasks', body: { tasks: [] }, status: 400 },
    { name: 'a negative limit', method: 'GET', path: () => '/api/v2/tasks?limit=-1', status: 400, detail: /query\.limit/ },
    { name: 'a non-numeric limit', method: 'GET', path: () => '/api/v2/tasks?limit=abc', status: 400, detail: /query\.limit/ },
    { name: 'a limit past the maximum', method: 'GET', path: () => '/api/v2/agents?limit=100000', status: 400 },
    { name: 'a fractional offset', method: 'GET', path: () => '/api/v2/tasks?offset=1.5', status: 400 },
    { name: 'an unknown status filter', method: 'GET', path: () => '/api/v2/tasks?status=queued,exploded', status: 400, detail: /status/ },
    { name: 'an unknown sort', method: 'GET', path: () => '/api/v2/tasks?sort=name', status: 400, detail: /sort/ },
    { name: 'a non-numeric afterId', method: 'GET', path: () => '/api/v2/events?afterId=last', status: 400 },
    { name: 'a provider test with a numeric model', method: 'POST', path: () => '/api/v2/providers/openai/test', body: { model: 42 }, status: 400 },
    { name: 'a key with an unknown role', method: 'POST', path: () => '/api/v2/keys', body: { role: 'root' }, status: 400, detail: /role/ },

    // Unknown fields
    { name: 'an unknown field spawning an agent', method: 'POST', path: () => '/api/v2/agents', body: { type: 'coder', admin: true }, status: 400, detail: /unknown field "admin"/ },
    { name: 'an unknown field in a task', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', command: 'rm -rf /' }, status: 400, detail: /command/ },
    { name: 'an unknown field in a batch', method: 'POST', path: () => '/api/v2/tasks', body: { tasks: [{ type: 'echo' }], atomic: false }, status: 400, detail: /atomic/ },
    { name: 'an unknown field updating an agent', method: 'PUT', path: () => `/api/v2/agents/${agentId}`, body: { status: 'paused', name: 'x' }, status: 400, detail: /name/ },
    { name: 'an unknown field updating a task', method: 'PUT', path: () => `/api/v2/tasks/${taskId}`, body: { action: 'cancel', priority: 5 }, status: 400 },
    { name: 'an unknown query parameter', method: 'GET', path: () => '/api/v2/tasks?colour=red', status: 400, detail: /colour/ },
    { name: 'a body on diagnostics', method: 'POST', path: () => '/api/v2/system/diagnostics', body: { deep: true }, status: 400 },

    // Invalid ids
    { name: 'an id with punctuation', method: 'GET', path: () => '/api/v2/tasks/not-an-id!', status: 400, detail: /path\.id/ },
    { name: 'an id with a NUL byte', method: 'GET', path: () => '/api/v2/agents/agt%00x', status: 400 },
    { name: 'an overlong id', method: 'GET', path: () => `/api/v2/tasks/${'a'.repeat(80)}`, status: 400 },
    { name: 'an unknown task id', method: 'GET', path: () => '/api/v2/tasks/tsk_nothing_here', status: 404, code: 'not_found' },
    { name: 'an unknown agent id', method: 'PUT', path: () => '/api/v2/agents/agt_nothing_here', body: { status: 'paused' }, status: 404 },
    { name: 'a too-short id prefix', method: 'GET', path: () => '/api/v2/tasks/tsk', status: 404 },
    { name: 'an unknown API key id', method: 'DELETE', path: () => '/api/v2/keys/0123456789ab', status: 404 },
    { name: 'a malformed API key id', method: 'DELETE', path: () => '/api/v2/keys/xyz', status: 400 },
    { name: 'an unknown provider', method: 'POST', path: () => '/api/v2/providers/skynet/test', status: 404 },

    // Injection strings in ids and filters
    { name: 'SQL in a task id', method: 'GET', path: () => `/api/v2/tasks/${enc(SQL)}`, status: 400 },
    { name: 'SQL in an agent id (DELETE)', method: 'DELETE', path: () => `/api/v2/agents/${enc(SQL)}`, status: 400 },
    { name: 'a path traversal in a task id', method: 'GET', path: () => `/api/v2/tasks/${enc(PATH)}`, status: 400 },
    { name: 'a path traversal in a transcript id', method: 'GET', path: () => `/api/v2/tasks/${enc(PATH)}/transcript`, status: 400 },
    { name: 'SQL in a type filter', method: 'GET', path: () => `/api/v2/tasks?type=${enc(SQL)}`, status: 400 },
    { name: 'SQL in a status filter', method: 'GET', path: () => `/api/v2/tasks?status=${enc(SQL)}`, status: 400 },
    { name: 'a path traversal in a workflow filter', method: 'GET', path: () => `/api/v2/tasks?workflowId=${enc(PATH)}`, status: 400 },
    { name: 'SQL in an agent type filter', method: 'GET', path: () => `/api/v2/agents?type=${enc(SQL)}`, status: 400 },
    { name: 'SQL in an event type filter', method: 'GET', path: () => `/api/v2/events?types=${enc(`task.*${SQL}`)}`, status: 400 },
    { name: 'a path traversal in a correlation filter', method: 'GET', path: () => `/api/v2/events?correlationId=${enc(PATH)}`, status: 400 },
    { name: 'SQL as a dependency', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', dependencies: [SQL] }, status: 400, detail: /unknown/ },
    { name: 'SQL as a parent', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', parentId: SQL }, status: 400 },
    { name: 'SQL as a task name', method: 'POST', path: () => '/api/v2/tasks', body: { type: 'echo', name: SQL }, status: 400, detail: /name/ },
    { name: 'a path traversal as an agent type', method: 'POST', path: () => '/api/v2/agents', body: { type: PATH }, status: 400 },
    { name: 'SQL as an agent name', method: 'POST', path: () => '/api/v2/agents', body: { type: 'coder', name: SQL }, status: 400, detail: /name/ },
    { name: 'SQL as a provider id', method: 'POST', path: () => `/api/v2/providers/${enc(SQL)}/test`, status: 400 },

    // Unknown routes and methods
    { name: 'an unknown route', method: 'GET', path: () => '/api/v2/nothing', status: 404, code: 'route_not_found' },
    { name: 'an unknown API version', method: 'GET', path: () => '/api/v1/tasks', status: 404 },
    { name: 'a method the route does not have', method: 'PATCH', path: () => '/api/v2/tasks', body: {}, status: 404 },
    { name: 'a traversal outside the API', method: 'GET', path: () => '/api/v2/..%2F..%2Fetc%2Fpasswd', status: 404 },
  ];

  it.each(cases)('$name → $status', async (c) => {
    const r = await api.request(c.method, c.path(), { body: c.body, raw: c.raw, headers: c.headers });
    expectProblem(r, c.status, c.code);
    if (c.detail) expect(r.json.detail).toMatch(c.detail);
  });

  it('a huge body is refused with 413 before it is parsed', async () => {
    const huge = JSON.stringify({ type: 'echo', input: { blob: 'x'.repeat(api.colony.config.server.bodyLimitBytes + 1) } });
    const r = await api.request('POST', '/api/v2/tasks', { raw: huge });
    expectProblem(r, 413, 'payload_too_large');
  });

  it('a huge body without a length (chunked) is refused with 413 too', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const limit = api.colony.config.server.bodyLimitBytes;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > limit * 2) return controller.close();
        sent += chunk.length;
        controller.enqueue(sent === chunk.length ? Buffer.concat([Buffer.from('{"type":"echo","input":"'), chunk]) : chunk);
      },
    });
    const response = await fetch(`${api.base}/api/v2/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('changed nothing: the tasks table and its one task are intact', async () => {
    const r = await api.request('GET', '/api/v2/tasks');
    expect(r.status).toBe(200);
    expect(r.json.total).toBe(1);
    expect(r.json.items[0]).toMatchObject({ id: taskId, name: 'keep', status: 'queued' });
    const agents = await api.request('GET', '/api/v2/agents');
    expect(agents.json.items).toEqual([expect.objectContaining({ id: agentId, status: 'idle' })]);
    // And every bad request above was counted as a 4xx, none as a 5xx.
    const metrics = (await api.request('GET', '/api/v2/system/metrics')).text;
    expect(metrics).not.toMatch(/colony_http_requests_total\{[^}]*status_code="5\d\d"/);
  });
});
