import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ballot } from '../src/consensus/ballot.js';
import { accessFor } from '../src/security/route-access.js';
import { ROLES, type Role } from '../src/security/roles.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { expectProblem, startApi, type ApiResponse, type TestApi } from './support/api-server.js';
import { OpenApiChecker, operationsOf, rawRequest, type OpenApiDoc } from './support/openapi-check.js';

/**
 * The OpenAPI document is true: for every operation it lists, real requests (a success where one can
 * be made, and the errors: 400, 401, 403, 404, 409, 413, 415) get a documented status, with a
 * documented media type, and a body that validates against the documented schema. An operation
 * added to the server without cases here fails the coverage test.
 */

const JWT_SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';
const BODY_LIMIT = 64 * 1024;

/** One request to make, and the status it must get. */
interface Case {
  name: string;
  path: string;
  status: number;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  /** The caller (default admin). */
  as?: Role | 'anonymous';
}

describe('OpenAPI document vs. real responses', () => {
  let api: TestApi;
  let llm: FakeLlmServer;
  let doc: OpenApiDoc;
  let checker: OpenApiChecker;
  const keys = {} as Record<Role, string>;

  beforeAll(async () => {
    llm = new FakeLlmServer();
    const { openaiBaseUrl } = await llm.start();
    api = await startApi({ providers: { openai: { baseUrl: openaiBaseUrl, apiKey: 'sk-fake', maxRetries: 0 } }, server: { jwtSecret: JWT_SECRET, bodyLimitBytes: BODY_LIMIT } });
    api.colony.registerExecutor({ type: 'echo', execute: async ({ task }) => task.input });
    for (const role of ROLES) keys[role] = (await api.server.keys.create({ role, name: `${role} key` })).key;
    doc = (await api.request('GET', '/api/v2/openapi.json')).json as OpenApiDoc;
    checker = new OpenApiChecker(doc);
  });

  afterAll(async () => {
    await api?.close();
    await llm?.close();
  });

  const colony = () => api.colony;
  const newTask = async () => (await colony().tasks.submit([{ type: 'echo', input: { n: 1 } }]))[0]?.id as string;
  const newAgent = async () => (await colony().agents.spawn({ type: 'coder' })).id;
  const waitingTask = async () => {
    const paused = await colony().agents.setStatus(await newAgent(), 'paused');
    return (await colony().tasks.submit([{ type: 'echo', requirements: { agentIds: [paused.id] } }]))[0]?.id as string;
  };
  const swarmSpec = { objective: 'contract test', provider: 'openai', review: false, plan: { tasks: [{ id: 'only', title: 'Only task', prompt: 'Say ok.' }] } };
  const newSwarm = async () => (await colony().swarms.create(swarmSpec)).id;
  const newProposal = async () => {
    const keyring = colony().consensus.keyring;
    const voter = { id: 'contract-voter', vote: async (b: Ballot) => [await keyring.sign({ proposalId: b.proposalId, round: b.round, voterId: 'contract-voter', decision: 'approve', confidence: 1, reason: 'ok' })] };
    return (await colony().consensus.propose({ question: 'contract?', strategy: 'majority' }, [voter])).id;
  };
  const newMemoryKey = async () => (await (await colony().memory()).store('default', `contract/${colony().newId('task')}`, { v: 1 })).key;
  const mem = (key: string) => `/api/v2/memory/${encodeURIComponent(key)}`;
  const MISSING_ID = 'tsk_doesnotexist0000000000';
  const mcpInit = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'contract', version: '1' } } };
  const mcpAccept = { accept: 'application/json, text/event-stream' };

  /** The operation's own cases: a success, and the errors peculiar to it. */
  const CASES: Record<string, () => Promise<Case[]>> = {
    'GET /health': async () => [{ name: 'ok', path: '/health', status: 200 }],
    'GET /ready': async () => [{ name: 'ready', path: '/ready', status: 200 }],
    'GET /api/v2/auth/whoami': async () => [{ name: 'jwt-less key', path: '/api/v2/auth/whoami', status: 200, as: 'viewer' }],
    'GET /api/v2/keys': async () => [
      { name: 'all', path: '/api/v2/keys?all=true', status: 200 },
      { name: 'bad flag', path: '/api/v2/keys?all=maybe', status: 400 },
    ],
    'POST /api/v2/keys': async () => [
      { name: 'create', path: '/api/v2/keys', body: { role: 'viewer', name: 'contract' }, status: 201 },
      { name: 'bad role', path: '/api/v2/keys', body: { role: 'root' }, status: 400 },
    ],
    'DELETE /api/v2/keys/{id}': async () => {
      const id = (await api.server.keys.create({ role: 'viewer' })).record.id;
      return [
        { name: 'revoke', path: `/api/v2/keys/${id}`, status: 200 },
        { name: 'again', path: `/api/v2/keys/${id}`, status: 409 },
        { name: 'unknown', path: '/api/v2/keys/ffffffffffff', status: 404 },
        { name: 'malformed id', path: '/api/v2/keys/xyz', status: 400 },
      ];
    },
    'GET /api/v2/agents': async () => [
      { name: 'page', path: '/api/v2/agents?limit=5', status: 200 },
      { name: 'bad limit', path: '/api/v2/agents?limit=0', status: 400 },
    ],
    'POST /api/v2/agents': async () => [
      { name: 'spawn', path: '/api/v2/agents', body: { type: 'coder' }, status: 201 },
      { name: 'unknown field', path: '/api/v2/agents', body: { type: 'coder', colour: 'blue' }, status: 400 },
    ],
    'GET /api/v2/agents/{id}': async () => [
      { name: 'get', path: `/api/v2/agents/${await newAgent()}`, status: 200 },
      { name: 'missing', path: '/api/v2/agents/agt_doesnotexist000000000', status: 404 },
    ],
    'PUT /api/v2/agents/{id}': async () => [{ name: 'pause', path: `/api/v2/agents/${await newAgent()}`, body: { status: 'paused' }, status: 200 }],
    'DELETE /api/v2/agents/{id}': async () => {
      const id = await newAgent();
      return [
        { name: 'terminate', path: `/api/v2/agents/${id}`, status: 200 },
        { name: 'again', path: `/api/v2/agents/${id}`, status: 409 },
      ];
    },
    'GET /api/v2/agents/{id}/health': async () => [{ name: 'health', path: `/api/v2/agents/${await newAgent()}/health`, status: 200 }],
    'GET /api/v2/agent-types': async () => [
      { name: 'catalog', path: '/api/v2/agent-types', status: 200 },
      { name: 'by capability', path: '/api/v2/agent-types?capability=code', status: 200 },
    ],
    'GET /api/v2/agent-types/stats': async () => [{ name: 'stats', path: '/api/v2/agent-types/stats', status: 200 }],
    'GET /api/v2/tasks': async () => [
      { name: 'page', path: '/api/v2/tasks?limit=5', status: 200 },
      { name: 'bad status', path: '/api/v2/tasks?status=sleeping', status: 400 },
    ],
    'POST /api/v2/tasks': async () => [
      { name: 'one', path: '/api/v2/tasks', body: { type: 'echo', input: { a: 1 } }, status: 201 },
      { name: 'batch', path: '/api/v2/tasks', body: { tasks: [{ type: 'echo' }, { type: 'echo' }] }, status: 201 },
    ],
    'GET /api/v2/tasks/{id}': async () => [
      { name: 'get', path: `/api/v2/tasks/${await newTask()}`, status: 200 },
      { name: 'missing', path: `/api/v2/tasks/${MISSING_ID}`, status: 404 },
    ],
    'PUT /api/v2/tasks/{id}': async () => {
      const id = await newTask();
      return [
        { name: 'cancel', path: `/api/v2/tasks/${id}`, body: { action: 'cancel' }, status: 200 },
        { name: 'cancel again', path: `/api/v2/tasks/${id}`, body: { action: 'cancel' }, status: 409 },
      ];
    },
    'DELETE /api/v2/tasks/{id}': async () => [{ name: 'cancel', path: `/api/v2/tasks/${await newTask()}`, status: 200 }],
    'POST /api/v2/tasks/{id}/assign': async () => [{ name: 'assign', path: `/api/v2/tasks/${await waitingTask()}/assign`, body: { agentId: await newAgent() }, status: 200 }],
    'GET /api/v2/tasks/{id}/transcript': async () => [{ name: 'empty transcript', path: `/api/v2/tasks/${await newTask()}/transcript`, status: 200 }],
    'GET /api/v2/tasks/{id}/history': async () => [
      { name: 'history', path: `/api/v2/tasks/${await newTask()}/history`, status: 200 },
      { name: 'missing', path: `/api/v2/tasks/${MISSING_ID}/history`, status: 404 },
    ],
    'GET /api/v2/tasks/{id}/changes': async () => [{ name: 'no journal', path: `/api/v2/tasks/${await newTask()}/changes`, status: 200 }],
    'GET /api/v2/workflows': async () => [
      { name: 'list', path: '/api/v2/workflows?limit=5', status: 200 },
      { name: 'bad status', path: '/api/v2/workflows?status=sleeping', status: 400 },
    ],
    'GET /api/v2/consensus': async () => [{ name: 'page', path: '/api/v2/consensus?limit=5', status: 200 }],
    'POST /api/v2/consensus': async () => [
      { name: 'decided', path: '/api/v2/consensus', body: { question: 'Contract: approve?', provider: 'openai', voters: 1, timeout: '10s', wait: true }, status: 201 },
    ],
    'GET /api/v2/consensus/{id}': async () => [{ name: 'get', path: `/api/v2/consensus/${await newProposal()}`, status: 200 }],
    'GET /api/v2/swarms': async () => [{ name: 'page', path: '/api/v2/swarms?limit=5', status: 200 }],
    'POST /api/v2/swarms': async () => [{ name: 'create', path: '/api/v2/swarms', body: swarmSpec, status: 201 }],
    'GET /api/v2/swarms/{id}': async () => [{ name: 'get', path: `/api/v2/swarms/${await newSwarm()}`, status: 200 }],
    'GET /api/v2/swarms/{id}/status': async () => [{ name: 'status', path: `/api/v2/swarms/${await newSwarm()}/status`, status: 200 }],
    'GET /api/v2/swarms/{id}/votes': async () => [{ name: 'votes', path: `/api/v2/swarms/${await newSwarm()}/votes`, status: 200 }],
    'GET /api/v2/swarms/{id}/usage': async () => [{ name: 'usage', path: `/api/v2/swarms/${await newSwarm()}/usage`, status: 200 }],
    'GET /api/v2/swarms/{id}/diff': async () => [{ name: 'no git repository', path: `/api/v2/swarms/${await newSwarm()}/diff`, status: 409 }],
    'POST /api/v2/swarms/{id}/control': async () => [{ name: 'pause', path: `/api/v2/swarms/${await newSwarm()}/control`, body: { action: 'pause' }, status: 200 }],
    'GET /api/v2/memory': async () => [
      { name: 'page', path: '/api/v2/memory?limit=5', status: 200 },
      { name: 'search', path: '/api/v2/memory?q=contract', status: 200 },
    ],
    'GET /api/v2/memory-namespaces': async () => [{ name: 'namespaces', path: '/api/v2/memory-namespaces', status: 200 }],
    'POST /api/v2/memory': async () => [{ name: 'store', path: '/api/v2/memory', body: { key: `contract/${colony().newId('task')}`, value: { x: 1 } }, status: 201 }],
    'POST /api/v2/memory/batch': async () => [
      { name: 'batch', path: '/api/v2/memory/batch', body: { entries: [{ key: `contract/${colony().newId('task')}`, value: { x: 1 }, tags: ['b'] }, { key: `contract/${colony().newId('task')}`, value: 2 }] }, status: 201 },
    ],
    'GET /api/v2/memory/{key}': async () => [
      { name: 'get', path: mem(await newMemoryKey()), status: 200 },
      { name: 'missing', path: mem('contract/never-written'), status: 404 },
    ],
    'PUT /api/v2/memory/{key}': async () => [
      { name: 'update', path: mem(await newMemoryKey()), body: { value: 'updated' }, status: 200 },
      { name: 'create', path: mem(`contract/${colony().newId('task')}`), body: { value: 'new' }, status: 201 },
    ],
    'DELETE /api/v2/memory/{key}': async () => [{ name: 'delete', path: mem(await newMemoryKey()), status: 204 }],
    'GET /api/v2/providers': async () => [{ name: 'list', path: '/api/v2/providers', status: 200 }],
    'GET /api/v2/providers/usage': async () => [
      { name: 'usage', path: '/api/v2/providers/usage', status: 200 },
      { name: 'since', path: '/api/v2/providers/usage?since=0', status: 200 },
    ],
    'POST /api/v2/providers/{id}/test': async () => [{ name: 'test', path: '/api/v2/providers/openai/test', status: 200 }],
    'GET /api/v2/events': async () => [
      { name: 'page', path: '/api/v2/events?limit=5', status: 200 },
      { name: 'older', path: '/api/v2/events?order=desc&beforeId=5&limit=5', status: 200 },
      { name: 'bad type', path: '/api/v2/events?types=..', status: 400 },
    ],
    // Over plain HTTP: 426 (the WebSocket itself is tested in api-event-stream*.test.ts).
    'GET /api/v2/events/stream': async () => [{ name: 'plain HTTP', path: '/api/v2/events/stream', status: 426 }],
    'GET /api/v2/system/status': async () => [{ name: 'status', path: '/api/v2/system/status', status: 200 }],
    'GET /api/v2/system/health': async () => [{ name: 'health', path: '/api/v2/system/health', status: 200 }],
    'GET /api/v2/system/metrics': async () => [{ name: 'metrics', path: '/api/v2/system/metrics', status: 200 }],
    'POST /api/v2/system/diagnostics': async () => [{ name: 'run', path: '/api/v2/system/diagnostics', status: 200 }],
    'POST /mcp': async () => [
      { name: 'initialize', path: '/mcp', headers: mcpAccept, body: mcpInit, status: 200 },
      { name: 'not acceptable', path: '/mcp', headers: { accept: 'text/html' }, body: mcpInit, status: 406 },
    ],
    'GET /mcp': async () => [{ name: 'no stream', path: '/mcp', status: 405 }],
    'DELETE /mcp': async () => [{ name: 'no session', path: '/mcp', status: 405 }],
  };

  /** The errors every operation may give, made from the document itself. */
  function edgeCases(operation: string): Case[] {
    const [method, template] = operation.split(' ') as [string, string];
    const op = doc.paths[template]?.[method.toLowerCase()] as unknown as { security?: unknown[]; parameters?: { in: string; name: string }[]; requestBody?: unknown };
    const path = template.replace(/\{key\}/, 'contract%2Fnone').replace(/\{id\}/, template.startsWith('/api/v2/keys') ? 'ffffffffffff' : 'openai');
    const cases: Case[] = [];
    const isPublic = Array.isArray(op.security) && op.security.length === 0;
    if (!isPublic) {
      cases.push({ name: 'anonymous', path, status: 401, as: 'anonymous' });
      const access = accessFor(method, template.replace(/\{(\w+)\}/g, ':$1'));
      if (access !== 'viewer') cases.push({ name: 'viewer', path, status: 403, as: 'viewer', ...(op.requestBody ? { body: {} } : {}) });
    }
    if (op.parameters?.some((p) => p.in === 'query') && !template.startsWith('/mcp')) cases.push({ name: 'unknown query parameter', path: `${path}?no_such_param=1`, status: 400, ...(op.requestBody ? { body: {} } : {}) });
    if (op.requestBody) {
      cases.push({ name: 'malformed JSON', path, raw: '{"oops": ', status: 400 });
      cases.push({ name: 'text body', path, raw: 'hello', headers: { 'content-type': 'text/plain' }, status: 415 });
      cases.push({ name: 'huge body', path, raw: JSON.stringify({ pad: 'x'.repeat(BODY_LIMIT) }), status: 413 });
    }
    return cases;
  }

  async function send(method: string, c: Case): Promise<ApiResponse> {
    const as = c.as ?? 'admin';
    return api.request(method, c.path, {
      ...(c.body !== undefined ? { body: c.body } : {}),
      ...(c.raw !== undefined ? { raw: c.raw } : {}),
      ...(c.headers ? { headers: c.headers } : {}),
      ...(as === 'anonymous' ? {} : { token: keys[as] }),
    });
  }

  it('has cases for every operation in the document, and none for operations it does not list', () => {
    expect(operationsOf(doc).sort()).toEqual(Object.keys(CASES).sort());
  });

  it('every response of every operation is documented: status, media type and body', async () => {
    const failures: string[] = [];
    for (const operation of operationsOf(doc)) {
      const method = operation.split(' ')[0] as string;
      const cases = [...(await (CASES[operation] ?? (async () => []))()), ...edgeCases(operation)];
      for (const c of cases) {
        const response = await send(method, c);
        if (response.status !== c.status) failures.push(`${operation} [${c.name}]: expected ${c.status}, got ${response.status}: ${response.text.slice(0, 300)}`);
        failures.push(...checker.problems(operation, response).map((p) => `[${c.name}] ${p}`));
      }
    }
    expect(failures).toEqual([]);
  });

  it('answers methods a known path does not have with 405, an Allow header and a problem document', async () => {
    const checked: string[] = [];
    // A path another template also matches (`/memory/batch` is a key for `/memory/{key}`) has that template's methods too.
    const templates = Object.entries(doc.paths).map(([t, item]) => ({
      pattern: new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`),
      methods: Object.keys(item).map((m) => m.toUpperCase()),
    }));
    for (const [template, item] of Object.entries(doc.paths)) {
      const path = template.replace(/\{key\}/, 'k').replace(/\{id\}/, 'abc');
      const allowed = Object.keys(item).map((m) => m.toUpperCase());
      const elsewhere = new Set(templates.filter((t) => t.pattern.test(path)).flatMap((t) => t.methods));
      for (const method of ['TRACE', 'PATCH', 'PUT', 'DELETE', 'POST'].filter((m) => !allowed.includes(m) && !elsewhere.has(m))) {
        const r = await rawRequest(api.base, method, path, { authorization: `Bearer ${keys.admin}` });
        expectProblem(r, 405, 'method_not_allowed');
        const allow = (r.headers.get('allow') ?? '').split(/,\s*/);
        for (const m of allowed) expect(allow, `${method} ${path}`).toContain(m);
        expect(allow).not.toContain(method);
        checked.push(`${method} ${path}`);
      }
    }
    expect(checked.length).toBeGreaterThan(40);
    // An unknown path is still a 404.
    expectProblem(await rawRequest(api.base, 'TRACE', '/api/v2/nothing-here'), 404, 'route_not_found');
  });
});
