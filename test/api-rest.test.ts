import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_MIGRATION } from '../src/adapters/storage/sql/migration-latest.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { expectProblem, startApi, type TestApi } from './support/api-server.js';
import { eventually } from './support/temp-colony.js';

/** Every REST route's happy path, through real HTTP on an ephemeral port. */
describe('REST API', () => {
  let api: TestApi;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    llm = new FakeLlmServer();
    const { openaiBaseUrl } = await llm.start();
    api = await startApi({ providers: { openai: { baseUrl: openaiBaseUrl, apiKey: 'sk-test-not-a-real-key', model: 'fake-model', maxRetries: 0 } } });
    api.colony.registerExecutor({ type: 'echo', execute: async ({ task }) => ({ echoed: task.input }) });
  });

  afterAll(async () => {
    await api.close();
    await llm.close();
  });

  describe('probes, request ids and headers', () => {
    it('GET /health answers, with a request id and security headers', async () => {
      const r = await api.request('GET', '/health');
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ status: 'ok' });
      expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(r.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
      // No CORS unless origins are configured: a cross-origin browser gets nothing to read.
      const cross = await api.request('GET', '/health', { headers: { origin: 'https://evil.example' } });
      expect(cross.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('echoes a well-formed x-request-id and replaces a malformed one', async () => {
      expect((await api.request('GET', '/health', { headers: { 'x-request-id': 'trace-42.a:b' } })).headers.get('x-request-id')).toBe('trace-42.a:b');
      const bad = await api.request('GET', '/health', { headers: { 'x-request-id': 'has spaces\tand tabs' } });
      expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('GET /ready reports the store at the latest schema', async () => {
      const r = await api.request('GET', '/ready');
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ status: 'ready', schemaVersion: LATEST_MIGRATION });
    });
  });

  describe('agents', () => {
    let first: { id: string };
    let second: { id: string };

    it('GET /agent-types lists the catalog, filterable by capability', async () => {
      const r = await api.request('GET', '/api/v2/agent-types');
      expect(r.status).toBe(200);
      expect(r.json.items.length).toBeGreaterThan(50);
      expect(r.json.items.map((t: { name: string }) => t.name)).toContain('coder');
      const filtered = await api.request('GET', '/api/v2/agent-types?capability=code');
      expect(filtered.json.items.length).toBeGreaterThan(0);
      expect(filtered.json.items.every((t: { capabilities: string[] }) => t.capabilities.includes('code'))).toBe(true);
    });

    it('POST /agents spawns, with a Location header', async () => {
      const r = await api.request('POST', '/api/v2/agents', { body: { type: 'coder', name: 'first coder', capabilities: ['rust'] } });
      expect(r.status).toBe(201);
      expect(r.json).toMatchObject({ type: 'coder', name: 'first coder', status: 'idle', health: 'healthy' });
      expect(r.json.capabilities).toContain('rust');
      expect(r.headers.get('location')).toBe(`/api/v2/agents/${r.json.id}`);
      first = r.json;
      second = (await api.request('POST', '/api/v2/agents', { body: { type: 'reviewer' } })).json;
      expect(second.id > first.id).toBe(true);
    });

    it('GET /agents lists with total, filter, sort and pagination', async () => {
      const all = await api.request('GET', '/api/v2/agents');
      expect(all.status).toBe(200);
      expect(all.json).toMatchObject({ total: 2, limit: 50, offset: 0 });
      expect(all.headers.get('x-total-count')).toBe('2');
      expect(all.json.items.map((a: { id: string }) => a.id)).toEqual([first.id, second.id]);
      const byType = await api.request('GET', '/api/v2/agents?type=reviewer');
      expect(byType.json.items.map((a: { id: string }) => a.id)).toEqual([second.id]);
      expect(byType.json.total).toBe(1);
      const desc = await api.request('GET', '/api/v2/agents?sort=-createdAt&limit=1');
      expect(desc.json.items.map((a: { id: string }) => a.id)).toEqual([second.id]);
      expect(desc.json.total).toBe(2);
      const page2 = await api.request('GET', '/api/v2/agents?limit=1&offset=1');
      expect(page2.json.items.map((a: { id: string }) => a.id)).toEqual([second.id]);
    });

    it('GET /agents/:id and its health', async () => {
      const r = await api.request('GET', `/api/v2/agents/${first.id}`);
      expect(r.status).toBe(200);
      expect(r.json.id).toBe(first.id);
      const h = await api.request('GET', `/api/v2/agents/${first.id}/health`);
      expect(h.status).toBe(200);
      expect(h.json).toEqual({ agent: expect.objectContaining({ id: first.id }), trackRecord: { tasksCompleted: 0, tasksFailed: 0, meanDurationMs: null }, load: 0 });
    });

    it('PUT /agents/:id pauses and resumes', async () => {
      const paused = await api.request('PUT', `/api/v2/agents/${first.id}`, { body: { status: 'paused' } });
      expect(paused.status).toBe(200);
      expect(paused.json.status).toBe('paused');
      expect((await api.request('GET', '/api/v2/agents?status=paused')).json.items.map((a: { id: string }) => a.id)).toEqual([first.id]);
      const resumed = await api.request('PUT', `/api/v2/agents/${first.id}`, { body: { status: 'idle' } });
      expect(resumed.json.status).toBe('idle');
    });

    it('DELETE /agents/:id terminates; terminated agents are listed only with all=true', async () => {
      const r = await api.request('DELETE', `/api/v2/agents/${second.id}?reason=done`);
      expect(r.status).toBe(200);
      expect(r.json.status).toBe('terminated');
      expect((await api.request('GET', '/api/v2/agents')).json.total).toBe(1);
      expect((await api.request('GET', '/api/v2/agents?all=true')).json.total).toBe(2);
      expect((await api.request('GET', '/api/v2/agents?status=terminated')).json.total).toBe(1);
      // Terminating it again is a conflict with its state, not a server error.
      expectProblem(await api.request('DELETE', `/api/v2/agents/${second.id}`), 409, 'conflict');
    });
  });

  describe('tasks', () => {
    let single: { id: string };
    let batch: { id: string; name: string }[];

    it('POST /tasks creates one task', async () => {
      const r = await api.request('POST', '/api/v2/tasks', { body: { type: 'echo', name: 'one', input: { n: 1 }, priority: 'high' } });
      expect(r.status).toBe(201);
      expect(r.json).toMatchObject({ type: 'echo', name: 'one', status: 'queued', priority: 75, input: { n: 1 } });
      expect(r.headers.get('location')).toBe(`/api/v2/tasks/${r.json.id}`);
      single = r.json;
    });

    it('POST /tasks with { tasks } submits a DAG atomically', async () => {
      const r = await api.request('POST', '/api/v2/tasks', {
        body: { tasks: [{ type: 'echo', name: 'a', priority: 10 }, { type: 'echo', name: 'b', dependencies: ['a'] }] },
      });
      expect(r.status).toBe(201);
      batch = r.json.tasks;
      expect(batch.map((t) => t.name)).toEqual(['a', 'b']);
      expect(r.json.tasks[1]).toMatchObject({ status: 'pending', dependencies: [batch[0]?.id] });
      // A bad spec anywhere in the batch stores nothing.
      const before = (await api.request('GET', '/api/v2/tasks')).json.total;
      const bad = await api.request('POST', '/api/v2/tasks', { body: { tasks: [{ type: 'echo', name: 'c' }, { type: 'echo', dependencies: ['nope'] }] } });
      expectProblem(bad, 400, 'validation');
      expect((await api.request('GET', '/api/v2/tasks')).json.total).toBe(before);
    });

    it('GET /tasks lists with total, filters, sort and pagination', async () => {
      const all = await api.request('GET', '/api/v2/tasks');
      expect(all.json.total).toBe(3);
      expect(all.headers.get('x-total-count')).toBe('3');
      expect(all.json.items.map((t: { id: string }) => t.id)).toEqual([single.id, batch[0]?.id, batch[1]?.id]);
      const queued = await api.request('GET', '/api/v2/tasks?status=queued');
      expect(queued.json.items.map((t: { name: string }) => t.name).sort()).toEqual(['a', 'one']);
      const both = await api.request('GET', '/api/v2/tasks?status=queued&status=pending');
      expect(both.json.total).toBe(3);
      expect((await api.request('GET', '/api/v2/tasks?status=pending,queued')).json.total).toBe(3);
      expect((await api.request('GET', '/api/v2/tasks?type=shell')).json.total).toBe(0);
      expect((await api.request('GET', '/api/v2/tasks?workflowId=wf_nothing')).json.total).toBe(0);
      const byPriority = await api.request('GET', '/api/v2/tasks?sort=-priority');
      expect(byPriority.json.items.map((t: { name: string }) => t.name)).toEqual(['one', 'b', 'a']);
      const newest = await api.request('GET', '/api/v2/tasks?sort=-createdAt&limit=1&offset=1');
      expect(newest.json.items.map((t: { name: string }) => t.name)).toEqual(['a']);
      expect(newest.json).toMatchObject({ total: 3, limit: 1, offset: 1 });
    });

    it('GET /tasks/:id, by full id or unique prefix', async () => {
      expect((await api.request('GET', `/api/v2/tasks/${single.id}`)).json.id).toBe(single.id);
      expect((await api.request('GET', `/api/v2/tasks/${single.id.slice(0, -2)}`)).json.id).toBe(single.id);
      expectProblem(await api.request('GET', '/api/v2/tasks/tsk_00000000000000000000000000'), 404, 'not_found');
    });

    it('PUT /tasks/:id cancels (with dependents) and retries', async () => {
      const cancelled = await api.request('PUT', `/api/v2/tasks/${batch[0]?.id}`, { body: { action: 'cancel', reason: 'not needed' } });
      expect(cancelled.status).toBe(200);
      expect(cancelled.json).toMatchObject({ status: 'cancelled', error: { message: 'not needed' } });
      await eventually(async () => (await api.request('GET', `/api/v2/tasks/${batch[1]?.id}`)).json.status === 'cancelled');
      const retried = await api.request('PUT', `/api/v2/tasks/${batch[0]?.id}`, { body: { action: 'retry' } });
      expect(retried.status).toBe(200);
      expect(retried.json.status).toBe('queued');
      // The dependent cancelled because of it waits for it again.
      await eventually(async () => (await api.request('GET', `/api/v2/tasks/${batch[1]?.id}`)).json.status === 'pending');
      // Retrying a task that has not failed is a conflict.
      expectProblem(await api.request('PUT', `/api/v2/tasks/${single.id}`, { body: { action: 'retry' } }), 409, 'conflict');
    });

    it('DELETE /tasks/:id cancels; cancelling again is a conflict', async () => {
      const r = await api.request('DELETE', `/api/v2/tasks/${single.id}?reason=bye`);
      expect(r.status).toBe(200);
      expect(r.json.status).toBe('cancelled');
      expectProblem(await api.request('DELETE', `/api/v2/tasks/${single.id}`), 409, 'conflict');
    });

    it('GET /tasks/:id/transcript (empty for a task that is not an agent task)', async () => {
      const r = await api.request('GET', `/api/v2/tasks/${single.id}/transcript`);
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ task: { id: single.id, status: 'cancelled', attempts: 0 }, usage: { inputTokens: 0, outputTokens: 0, costUsd: null }, turns: [] });
    });

    it('runs created tasks when the engine runs, and counts them in the metrics', async () => {
      await api.colony.start();
      try {
        const created = (await api.request('POST', '/api/v2/tasks', { body: { type: 'echo', input: { hello: 'world' } } })).json;
        const done = await eventually(async () => {
          const t = (await api.request('GET', `/api/v2/tasks/${created.id}`)).json;
          return t.status === 'completed' ? t : undefined;
        });
        expect(done.result).toEqual({ echoed: { hello: 'world' } });
        const metrics = await eventually(async () => {
          const text = (await api.request('GET', '/api/v2/system/metrics')).text;
          return /colony_tasks_total\{type="echo",status="completed"\} [1-9]/.test(text) ? text : undefined;
        });
        expect(metrics).toMatch(/colony_task_duration_seconds_bucket\{le="0.1",type="echo"\} [1-9]/);
        expect(metrics).toContain('colony_task_duration_seconds_bucket{le="60",type="echo"}');
        expect(metrics).toMatch(/colony_tasks_total\{type="echo",status="cancelled"\} [1-9]/);
      } finally {
        await api.colony.stop();
      }
    });
  });

  describe('providers', () => {
    it('GET /providers lists them without keys', async () => {
      const r = await api.request('GET', '/api/v2/providers');
      expect(r.status).toBe(200);
      expect(r.json.items.map((p: { id: string }) => p.id)).toEqual(['anthropic', 'openai', 'claude-code']);
      expect(r.json.items.find((p: { id: string }) => p.id === 'openai')).toMatchObject({ keyConfigured: true, model: 'fake-model' });
      expect(r.text).not.toContain('sk-test-not-a-real-key');
    });

    it('POST /providers/:id/test sends one completion and reports it', async () => {
      llm.enqueue({ text: 'ready' });
      const r = await api.request('POST', '/api/v2/providers/openai/test');
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ provider: 'openai', ok: true, reply: 'ready', usage: { inputTokens: expect.any(Number) } });
      llm.enqueue({ fault: 'server_error', status: 400 });
      const failed = await api.request('POST', '/api/v2/providers/openai/test', { body: { model: 'fake-model' } });
      expect(failed.status).toBe(200);
      expect(failed.json).toMatchObject({ provider: 'openai', ok: false, error: { code: 'provider' } });
      expectProblem(await api.request('POST', '/api/v2/providers/nonesuch/test'), 404, 'not_found');
    });
  });

  describe('events', () => {
    it('GET /events filters by type prefix and correlation, and pages with afterId', async () => {
      await api.colony.events.flush();
      const agents = await api.request('GET', '/api/v2/events?types=agent.*');
      expect(agents.status).toBe(200);
      expect(agents.json.items.length).toBeGreaterThan(0);
      expect(agents.json.items.every((e: { type: string }) => e.type.startsWith('agent.'))).toBe(true);
      const exact = await api.request('GET', '/api/v2/events?types=agent.spawned,task.created');
      expect(new Set(exact.json.items.map((e: { type: string }) => e.type))).toEqual(new Set(['agent.spawned', 'task.created']));
      const one = agents.json.items[0];
      const correlated = await api.request('GET', `/api/v2/events?correlationId=${one.correlationId}`);
      expect(correlated.json.items.every((e: { correlationId: string }) => e.correlationId === one.correlationId)).toBe(true);

      const page1 = await api.request('GET', '/api/v2/events?limit=2');
      expect(page1.json.items).toHaveLength(2);
      const page2 = await api.request('GET', `/api/v2/events?limit=2&afterId=${page1.json.nextAfterId}`);
      expect(page2.json.items[0].id).toBeGreaterThan(page1.json.items[1].id);
      const newest = await api.request('GET', '/api/v2/events?order=desc&limit=1');
      const everything = await api.request('GET', '/api/v2/events?limit=1000');
      expect(newest.json.items[0].id).toBe(everything.json.items.at(-1).id);
    });
  });

  describe('system', () => {
    it('GET /system/status', async () => {
      const r = await api.request('GET', '/api/v2/system/status');
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({
        version: expect.any(String),
        server: { pid: process.pid, authRequired: false, eventStreamClients: 0 },
        database: { schemaVersion: LATEST_MIGRATION },
        tasks: { cancelled: expect.any(Number), completed: expect.any(Number) },
        agents: { active: 1 },
      });
    });

    it('GET /system/health reports components', async () => {
      const r = await api.request('GET', '/api/v2/system/health');
      expect(r.status).toBe(200);
      // The engine is stopped in this test's colony: degraded, but the store answers.
      expect(r.json).toMatchObject({ status: 'degraded', components: { store: { ok: true, schemaVersion: LATEST_MIGRATION }, engine: { running: false } } });
    });

    it('GET /system/metrics speaks the Prometheus text format', async () => {
      const r = await api.request('GET', '/api/v2/system/metrics');
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
      expect(r.text).toContain('# TYPE colony_tasks_total counter');
      expect(r.text).toContain('# TYPE colony_task_duration_seconds histogram');
      expect(r.text).toContain('colony_active_agents{type="coder"} 1');
      expect(r.text).toMatch(/^colony_tasks\{status="cancelled"\} \d+$/m);
      expect(r.text).toMatch(/^process_cpu_seconds_total \d/m);
      expect(r.text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
      expect(r.text).toMatch(/colony_http_requests_total\{method="GET",route="\/api\/v2\/tasks",status_code="200"\} [1-9]/);
    });

    it('POST /system/diagnostics runs real checks', async () => {
      const r = await api.request('POST', '/api/v2/system/diagnostics');
      expect(r.status).toBe(200);
      const checks = Object.fromEntries(r.json.checks.map((c: { name: string }) => [c.name, c]));
      expect(Object.keys(checks)).toEqual(['store', 'runners', 'engine', 'providers', 'agent-catalog', 'executors']);
      expect(checks.store).toMatchObject({ ok: true, data: { schemaVersion: LATEST_MIGRATION, latestSchema: LATEST_MIGRATION } });
      expect(checks.runners.ok).toBe(true);
      expect(checks.engine.ok).toBe(false);
      expect(checks.executors.data.types).toEqual(expect.arrayContaining(['echo', 'shell', 'agent']));
      // The failed provider test above opened no circuit (one failure), so providers are fine.
      expect(checks.providers).toMatchObject({ ok: true });
      expect(r.json.ok).toBe(false);
    });
  });

  describe('documentation', () => {
    it('serves OpenAPI 3.1 with every route and interactive docs', async () => {
      const r = await api.request('GET', '/api/v2/openapi.json');
      expect(r.status).toBe(200);
      expect(r.json.openapi).toBe('3.1.0');
      expect(Object.keys(r.json.paths)).toEqual(expect.arrayContaining(['/api/v2/tasks', '/api/v2/tasks/{id}', '/api/v2/agents/{id}/health', '/api/v2/system/metrics', '/health']));
      const list = r.json.paths['/api/v2/tasks'].get;
      expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['limit', 'offset', 'status', 'type', 'workflowId', 'sort']));
      const create = r.json.paths['/api/v2/tasks'].post;
      expect(JSON.stringify(create.requestBody)).toContain('dependencies');
      expect(r.json.paths['/health'].get.security).toEqual([]);
      expect(r.json.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      const docs = await api.request('GET', '/api/v2/docs');
      expect(docs.status).toBe(200);
      expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
      expect(docs.text).toContain('swagger-ui');
    });
  });
});
