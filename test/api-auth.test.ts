import { SignJWT } from 'jose';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createServer } from '../src/api/create-server.js';
import { STUDIO_PAGES } from '../src/api/routes/studio.js';
import type { Ballot } from '../src/consensus/ballot.js';
import { ConfigError } from '../src/domain/errors.js';
import { hashApiKey } from '../src/security/api-keys.js';
import { isLoopbackHost } from '../src/security/bind-policy.js';
import { ROUTE_ACCESS, type RouteKey } from '../src/security/route-access.js';
import { ROLES, type Role } from '../src/security/roles.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { expectProblem, startApi, type TestApi } from './support/api-server.js';
import { tempColony } from './support/temp-colony.js';

/** The secret part of `colony_<id>_<secret>`; the secret itself may contain underscores. */
function secretOf(key: string): string {
  const secret = key.split('_').slice(2).join('_');
  if (secret.length < 20) throw new Error(`unexpected key format: ${key.slice(0, 20)}…`);
  return secret;
}

const JWT_SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';
const jwtKey = new TextEncoder().encode(JWT_SECRET);

async function jwt(claims: Record<string, unknown>, options: { expiresIn?: string; secret?: Uint8Array; alg?: string } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setSubject('ci-bot')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(options.secret ?? jwtKey);
}

/** A request that succeeds for a caller with the route's role: what each route needs, made fresh. */
interface RouteRequest {
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

describe('authorization matrix: every route × every role', () => {
  let api: TestApi;
  let llm: FakeLlmServer;
  const keys = {} as Record<Role, string>;

  beforeAll(async () => {
    llm = new FakeLlmServer();
    const { openaiBaseUrl } = await llm.start();
    api = await startApi({ providers: { openai: { baseUrl: openaiBaseUrl, apiKey: 'sk-fake', maxRetries: 0 } }, server: { jwtSecret: JWT_SECRET } });
    api.colony.registerExecutor({ type: 'echo', execute: async ({ task }) => task.input });
    for (const role of ROLES) keys[role] = (await api.server.keys.create({ role, name: `${role} key` })).key;
  });

  afterAll(async () => {
    await api.close();
    await llm.close();
  });

  const colony = () => api.colony;
  const newTask = async () => (await colony().tasks.submit([{ type: 'echo' }]))[0]?.id as string;
  const newAgent = async () => (await colony().agents.spawn({ type: 'coder' })).id;
  // A task that waits: pinned to a paused agent, it stays queued until assigned elsewhere.
  const waitingTask = async () => {
    const paused = await colony().agents.setStatus(await newAgent(), 'paused');
    return (await colony().tasks.submit([{ type: 'echo', requirements: { agentIds: [paused.id] } }]))[0]?.id as string;
  };
  // The engine is not started here: a swarm is stored and waits (no model is called).
  const swarmSpec = { objective: 'authorization matrix', provider: 'openai', review: false, plan: { tasks: [{ id: 'only', title: 'Only task', prompt: 'Say ok.' }] } };
  const newSwarm = async () => (await colony().swarms.create(swarmSpec)).id;
  // A proposal decided by one in-process voter (no model is called).
  const newProposal = async () => {
    const keyring = colony().consensus.keyring;
    const voter = { id: 'matrix-voter', vote: async (b: Ballot) => [await keyring.sign({ proposalId: b.proposalId, round: b.round, voterId: 'matrix-voter', decision: 'approve', confidence: 1, reason: 'ok' })] };
    return (await colony().consensus.propose({ question: 'matrix?', strategy: 'majority' }, [voter])).id;
  };
  const newMemoryKey = async () => (await (await colony().memory()).store('default', `matrix/${colony().newId('task')}`, 1)).key;

  // Typed against the table: a route added to ROUTE_ACCESS without a request here fails to compile.
  const REQUESTS: Record<RouteKey, () => Promise<RouteRequest>> = {
    'GET /health': async () => ({ path: '/health' }),
    'GET /ready': async () => ({ path: '/ready' }),
    'GET /api/v2/openapi.json': async () => ({ path: '/api/v2/openapi.json' }),
    'GET /': async () => ({ path: '/' }),
    'GET /swarms': async () => ({ path: '/swarms' }),
    'GET /swarms/:id': async () => ({ path: `/swarms/${await newSwarm()}` }),
    'GET /tasks': async () => ({ path: '/tasks' }),
    'GET /tasks/:id': async () => ({ path: `/tasks/${await newTask()}` }),
    'GET /agents': async () => ({ path: '/agents' }),
    'GET /memory': async () => ({ path: '/memory' }),
    'GET /consensus': async () => ({ path: '/consensus' }),
    'GET /providers': async () => ({ path: '/providers' }),
    'GET /keys': async () => ({ path: '/keys' }),
    'GET /system': async () => ({ path: '/system' }),
    'GET /events': async () => ({ path: '/events' }),
    'GET /api/v2/auth/whoami': async () => ({ path: '/api/v2/auth/whoami' }),
    'GET /api/v2/agents': async () => ({ path: '/api/v2/agents' }),
    'POST /api/v2/agents': async () => ({ path: '/api/v2/agents', body: { type: 'coder' } }),
    'GET /api/v2/agents/:id': async () => ({ path: `/api/v2/agents/${await newAgent()}` }),
    'PUT /api/v2/agents/:id': async () => ({ path: `/api/v2/agents/${await newAgent()}`, body: { status: 'paused' } }),
    'DELETE /api/v2/agents/:id': async () => ({ path: `/api/v2/agents/${await newAgent()}` }),
    'GET /api/v2/agents/:id/health': async () => ({ path: `/api/v2/agents/${await newAgent()}/health` }),
    'GET /api/v2/agent-types': async () => ({ path: '/api/v2/agent-types' }),
    'GET /api/v2/agent-types/stats': async () => ({ path: '/api/v2/agent-types/stats' }),
    'GET /api/v2/tasks': async () => ({ path: '/api/v2/tasks?limit=5' }),
    'POST /api/v2/tasks': async () => ({ path: '/api/v2/tasks', body: { type: 'echo' } }),
    'GET /api/v2/tasks/:id': async () => ({ path: `/api/v2/tasks/${await newTask()}` }),
    'PUT /api/v2/tasks/:id': async () => ({ path: `/api/v2/tasks/${await newTask()}`, body: { action: 'cancel' } }),
    'DELETE /api/v2/tasks/:id': async () => ({ path: `/api/v2/tasks/${await newTask()}` }),
    'POST /api/v2/tasks/:id/assign': async () => ({ path: `/api/v2/tasks/${await waitingTask()}/assign`, body: { agentId: await newAgent() } }),
    'GET /api/v2/tasks/:id/transcript': async () => ({ path: `/api/v2/tasks/${await newTask()}/transcript` }),
    'GET /api/v2/tasks/:id/history': async () => ({ path: `/api/v2/tasks/${await newTask()}/history` }),
    'GET /api/v2/tasks/:id/changes': async () => ({ path: `/api/v2/tasks/${await newTask()}/changes` }),
    'GET /api/v2/workflows': async () => ({ path: '/api/v2/workflows?limit=5' }),
    'GET /api/v2/memory': async () => ({ path: '/api/v2/memory?limit=5' }),
    'GET /api/v2/memory-namespaces': async () => ({ path: '/api/v2/memory-namespaces' }),
    'POST /api/v2/memory': async () => ({ path: '/api/v2/memory', body: { key: `matrix/${colony().newId('task')}`, value: { made: 'in a test' } } }),
    'POST /api/v2/memory/batch': async () => ({ path: '/api/v2/memory/batch', body: { entries: [{ key: `matrix/${colony().newId('task')}`, value: 1 }] } }),
    'GET /api/v2/memory/:key': async () => ({ path: `/api/v2/memory/${encodeURIComponent(await newMemoryKey())}` }),
    'PUT /api/v2/memory/:key': async () => ({ path: `/api/v2/memory/${encodeURIComponent(await newMemoryKey())}`, body: { value: 'updated' } }),
    'DELETE /api/v2/memory/:key': async () => ({ path: `/api/v2/memory/${encodeURIComponent(await newMemoryKey())}` }),
    'GET /api/v2/swarms': async () => ({ path: '/api/v2/swarms?limit=5' }),
    'POST /api/v2/swarms': async () => ({ path: '/api/v2/swarms', body: swarmSpec }),
    'GET /api/v2/swarms/:id': async () => ({ path: `/api/v2/swarms/${await newSwarm()}` }),
    'GET /api/v2/swarms/:id/status': async () => ({ path: `/api/v2/swarms/${await newSwarm()}/status` }),
    'GET /api/v2/swarms/:id/votes': async () => ({ path: `/api/v2/swarms/${await newSwarm()}/votes` }),
    'GET /api/v2/swarms/:id/usage': async () => ({ path: `/api/v2/swarms/${await newSwarm()}/usage` }),
    'GET /api/v2/swarms/:id/diff': async () => ({ path: `/api/v2/swarms/${await newSwarm()}/diff` }),
    'POST /api/v2/swarms/:id/control': async () => ({ path: `/api/v2/swarms/${await newSwarm()}/control`, body: { action: 'pause' } }),
    'GET /api/v2/consensus': async () => ({ path: '/api/v2/consensus?limit=5' }),
    // wait: the answer is the decided proposal (201); the fake model never votes validly, so the one voter abstains.
    'POST /api/v2/consensus': async () => ({ path: '/api/v2/consensus', body: { question: 'Matrix: approve?', provider: 'openai', voters: 1, timeout: '10s', wait: true } }),
    'GET /api/v2/consensus/:id': async () => ({ path: `/api/v2/consensus/${await newProposal()}` }),
    'GET /api/v2/providers': async () => ({ path: '/api/v2/providers' }),
    'GET /api/v2/providers/usage': async () => ({ path: '/api/v2/providers/usage' }),
    'POST /api/v2/providers/:id/test': async () => ({ path: '/api/v2/providers/openai/test' }),
    'GET /api/v2/events': async () => ({ path: '/api/v2/events?limit=5' }),
    // Over plain HTTP an authorized caller gets 426 (use WebSocket); the WebSocket itself is tested below.
    'GET /api/v2/events/stream': async () => ({ path: '/api/v2/events/stream' }),
    'GET /api/v2/system/status': async () => ({ path: '/api/v2/system/status' }),
    'GET /api/v2/system/health': async () => ({ path: '/api/v2/system/health' }),
    'GET /api/v2/system/metrics': async () => ({ path: '/api/v2/system/metrics' }),
    'POST /api/v2/system/diagnostics': async () => ({ path: '/api/v2/system/diagnostics' }),
    // MCP: an initialize request (each tool's own role check is tested in mcp.test.ts); GET and DELETE are 405.
    'POST /mcp': async () => ({
      path: '/mcp',
      headers: { accept: 'application/json, text/event-stream' },
      body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'matrix', version: '1' } } },
    }),
    'GET /mcp': async () => ({ path: '/mcp' }),
    'DELETE /mcp': async () => ({ path: '/mcp' }),
    'GET /api/v2/keys': async () => ({ path: '/api/v2/keys' }),
    'POST /api/v2/keys': async () => ({ path: '/api/v2/keys', body: { role: 'viewer', name: 'made in a test' } }),
    'DELETE /api/v2/keys/:id': async () => ({ path: `/api/v2/keys/${(await api.server.keys.create({ role: 'viewer' })).record.id}` }),
  };

  const rank = (r: Role) => ROLES.indexOf(r);
  const matrix = Object.entries(ROUTE_ACCESS).flatMap(([route, access]) =>
    (['anonymous', ...ROLES] as const).map((caller) => ({ route: route as RouteKey, access, caller })),
  );

  it('covers every route of the running server, and nothing else', async () => {
    const registered = new Set<string>();
    const spec = (await api.request('GET', '/api/v2/openapi.json')).json as { paths: Record<string, Record<string, unknown>> };
    for (const [path, methods] of Object.entries(spec.paths)) {
      for (const method of Object.keys(methods)) registered.add(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`);
    }
    registered.add('GET /api/v2/openapi.json'); // hidden from its own document
    for (const page of STUDIO_PAGES) registered.add(`GET ${page}`); // the Studio's pages, not part of the API
    expect([...registered].filter((r) => !r.startsWith('HEAD ')).sort()).toEqual(Object.keys(ROUTE_ACCESS).sort());
  });

  it.each(matrix)('$route as $caller ($access)', async ({ route, access, caller }) => {
    const method = route.split(' ')[0] as string;
    const { path, body, headers } = await REQUESTS[route]();
    const r = await api.request(method, path, { body, ...(headers ? { headers } : {}), ...(caller === 'anonymous' ? {} : { token: keys[caller] }) });
    if (access === 'public') {
      expect(r.status, r.text).toBeLessThan(300);
      return;
    }
    if (caller === 'anonymous') {
      expectProblem(r, 401, 'unauthorized');
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    } else if (rank(caller) < rank(access)) {
      expectProblem(r, 403, 'forbidden');
      expect(r.json.detail).toContain(`needs the ${access} role`);
    } else {
      // The test's project is no git repository: a swarm's diff is refused after the role check.
      const expected = route === 'GET /api/v2/events/stream' ? 426 : route === 'GET /api/v2/swarms/:id/diff' ? 409 : route.endsWith(' /mcp') ? (method === 'POST' ? 200 : 405) : method === 'POST' && !route.endsWith('/test') && !route.endsWith('/diagnostics') && !route.endsWith('/control') && !route.endsWith('/assign') ? 201 : method === 'DELETE' && route.includes('/memory/') ? 204 : 200;
      expect(r.status, r.text).toBe(expected);
    }
  });

  it('refuses bad, revoked and malformed credentials with 401', async () => {
    const path = '/api/v2/tasks';
    const unknownSecret = keys.viewer.slice(0, -4) + (keys.viewer.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    for (const token of [unknownSecret, 'colony_0123456789ab_' + 'A'.repeat(43), 'not-a-key', 'x'.repeat(10_000)]) {
      expectProblem(await api.request('GET', path, { token }), 401, 'unauthorized');
    }
    expectProblem(await api.request('GET', path, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 401);
    // A revoked key stops working at once.
    const { key, record } = await api.server.keys.create({ role: 'admin' });
    expect((await api.request('GET', path, { token: key })).status).toBe(200);
    expect((await api.request('DELETE', `/api/v2/keys/${record.id}`, { token: keys.admin })).status).toBe(200);
    expectProblem(await api.request('GET', path, { token: key }), 401, 'unauthorized');
    // A key revoked by another process (straight in the store) too.
    const other = await api.server.keys.create({ role: 'viewer' });
    expect((await api.request('GET', path, { token: other.key })).status).toBe(200);
    await api.colony.store.apiKeys.revoke(other.record.id, Date.now());
    expectProblem(await api.request('GET', path, { token: other.key }), 401);
  });

  it('accepts the key in X-API-Key too', async () => {
    expect((await api.request('GET', '/api/v2/tasks', { headers: { 'x-api-key': keys.viewer } })).status).toBe(200);
    expectProblem(await api.request('POST', '/api/v2/agents', { headers: { 'x-api-key': keys.viewer }, body: { type: 'coder' } }), 403);
  });

  it('accepts HS256 JWTs with a role claim, and nothing else', async () => {
    const operator = await jwt({ role: 'operator' });
    expect((await api.request('POST', '/api/v2/tasks', { token: operator, body: { type: 'echo' } })).status).toBe(201);
    expectProblem(await api.request('GET', '/api/v2/keys', { token: operator }), 403);
    const whoami = await api.request('GET', '/api/v2/auth/whoami', { token: operator });
    expect(whoami.json).toMatchObject({ kind: 'jwt', id: 'ci-bot', role: 'operator', authRequired: true });
    const rejected = [
      await jwt({ role: 'admin' }, { expiresIn: '-1m' }), // expired
      await jwt({ role: 'admin' }, { secret: new TextEncoder().encode('another-secret-that-is-long-enough-too!!') }), // wrong key
      await jwt({ role: 'superuser' }), // unknown role
      await jwt({}), // no role
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"role":"admin"}').toString('base64url')}.`, // unsigned
    ];
    for (const token of rejected) expectProblem(await api.request('GET', '/api/v2/tasks', { token }), 401, 'unauthorized');
  });

  it('authenticates the WebSocket stream (header or access_token) before upgrading', async () => {
    const url = `${api.address.events}?types=task.*`;
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(refused).toBe(401);
    for (const ws of [new WebSocket(url, { headers: { authorization: `Bearer ${keys.viewer}` } }), new WebSocket(`${url}&access_token=${keys.viewer}`)]) {
      const first = await new Promise<string>((resolve, reject) => {
        ws.once('message', (data) => resolve(String(data)));
        ws.once('error', reject);
      });
      expect(JSON.parse(first)).toMatchObject({ type: 'subscribed' });
      ws.close();
    }
  });

  it('keys are stored hashed: the database never holds a key', async () => {
    const stored = await api.colony.store.apiKeys.list({ includeRevoked: true });
    expect(stored.length).toBeGreaterThanOrEqual(3);
    const viewer = stored.find((k) => k.name === 'viewer key');
    expect(viewer?.hash).toBe(hashApiKey(keys.viewer));
    expect(JSON.stringify(stored)).not.toContain(secretOf(keys.viewer));
    const listed = await api.request('GET', '/api/v2/keys?all=true', { token: keys.admin });
    expect(listed.text).not.toContain(keys.viewer);
    expect(listed.text).not.toContain('hash');
  });
});

describe('authentication modes', () => {
  it('a loopback server with no key and no JWT secret is open (local dev), until the first key exists', async () => {
    const api = await startApi();
    try {
      expect((await api.request('GET', '/api/v2/auth/whoami')).json).toMatchObject({ kind: 'local', role: 'admin', authRequired: false });
      const created = await api.request('POST', '/api/v2/keys', { body: { role: 'admin', name: 'first' } });
      expect(created.status).toBe(201);
      expect(created.json.key).toMatch(/^colony_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      expect(created.headers.get('cache-control')).toBe('no-store');
      // The first key switches authentication on at once.
      expectProblem(await api.request('GET', '/api/v2/tasks'), 401);
      expect((await api.request('GET', '/api/v2/tasks', { token: created.json.key })).status).toBe(200);
      // Public routes stay public.
      expect((await api.request('GET', '/health')).status).toBe(200);
    } finally {
      await api.close();
    }
  });

  it('a key created by another process (the CLI) turns authentication on too', async () => {
    const api = await startApi();
    try {
      expect((await api.request('GET', '/api/v2/tasks')).status).toBe(200);
      await api.colony.store.apiKeys.insert({ id: 'aaaaaaaaaaaa', name: 'cli', role: 'viewer', hash: hashApiKey('x'), createdAt: Date.now(), lastUsedAt: null, revokedAt: null });
      const r = await (async () => {
        for (;;) {
          const res = await api.request('GET', '/api/v2/tasks');
          if (res.status !== 200) return res;
          await new Promise((done) => setTimeout(done, 50));
        }
      })();
      expectProblem(r, 401);
    } finally {
      await api.close();
    }
  });

  it('refuses to serve a non-loopback address without authentication, and requires it there always', async () => {
    const { colony, cleanup } = await tempColony({ server: { port: 0 } });
    try {
      let error: unknown;
      try {
        await createServer(colony, { host: '0.0.0.0', port: 0 });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/refusing to listen on 0\.0\.0\.0 without authentication/);
      expect((error as Error).message).toContain('colony keys create --role admin');
      expect((error as Error).message).toContain('server.jwtSecret');

      const keys = (await import('../src/security/api-keys.js')).ApiKeys;
      const { key, record } = await new keys({ store: colony.store }).create({ role: 'admin' });
      const server = await createServer(colony, { host: '0.0.0.0', port: 0 });
      try {
        const { port } = await server.listen();
        const base = `http://127.0.0.1:${port}`;
        expect((await fetch(`${base}/api/v2/tasks`)).status).toBe(401);
        expect((await fetch(`${base}/api/v2/tasks`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
        // Revoking every key does not open a public server: it stays closed.
        await colony.store.apiKeys.revoke(record.id, Date.now());
        server.auth.keysChanged();
        expect((await fetch(`${base}/api/v2/tasks`)).status).toBe(401);
      } finally {
        await server.close();
      }
    } finally {
      await cleanup();
    }
  });

  it('knows loopback addresses', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
  });
});

describe('rate limiting', () => {
  let api: TestApi;
  const MAX = 3;

  beforeAll(async () => {
    api = await startApi({}, { rateLimit: { max: MAX, windowMs: 60_000 } });
  });

  afterAll(async () => {
    await api.close();
  });

  it('answers 429 with retry-after past the limit, per address for anonymous callers', async () => {
    for (let i = 0; i < MAX; i++) expect((await api.request('GET', '/api/v2/tasks')).status).toBe(200);
    const limited = await api.request('GET', '/api/v2/tasks');
    expectProblem(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.json.detail).toMatch(/at most 3 requests per 1 min/);
    // Probes are never limited.
    for (let i = 0; i < MAX * 2; i++) expect((await api.request('GET', '/health')).status).toBe(200);
  });

  it('counts per key: another key has its own budget', async () => {
    const a = (await api.server.keys.create({ role: 'viewer' })).key;
    const b = (await api.server.keys.create({ role: 'viewer' })).key;
    api.server.auth.keysChanged();
    for (let i = 0; i < MAX; i++) expect((await api.request('GET', '/api/v2/agents', { token: a })).status).toBe(200);
    expectProblem(await api.request('GET', '/api/v2/agents', { token: a }), 429);
    expect((await api.request('GET', '/api/v2/agents', { token: b })).status).toBe(200);
  });

  it('limits attempts with bad credentials per address (no free guessing)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < MAX + 2; i++) statuses.push((await api.request('GET', '/api/v2/agents', { token: `colony_0123456789ab_${String(i).padStart(43, 'A')}` })).status);
    // The anonymous budget of this address was spent above: guesses are limited, not answered.
    expect(statuses.every((s) => s === 429)).toBe(true);
  });
});

describe('secrets in logs', () => {
  it('never writes keys or tokens to the log, even at trace level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: 'trace' }, sink);
    const api = await startApi({}, { logger });
    try {
      const { key } = await api.server.keys.create({ role: 'admin' });
      api.server.auth.keysChanged();
      await api.request('GET', '/api/v2/tasks', { token: key });
      await api.request('GET', '/api/v2/tasks', { headers: { 'x-api-key': key } });
      await api.request('GET', '/api/v2/tasks', { token: 'colony_0123456789ab_notarealsecretnotarealsecretnotarealsecre' });
      // A browser-style token in the URL of the stream.
      await fetch(`${api.base}/api/v2/events/stream?types=task.*&access_token=${key}`);
      // The logger itself redacts credential-shaped fields wherever they are logged.
      api.server.app.log.info({ headers: { authorization: `Bearer ${key}` }, token: key }, 'a careless log line');
      await new Promise((done) => setTimeout(done, 50));
      const text = lines.join('');
      expect(text).toContain('incoming request');
      expect(text).toContain('access_token=[redacted]');
      expect(text).toContain('a careless log line');
      expect(text).not.toContain(key);
      expect(text).not.toContain(secretOf(key));
      expect(text).not.toContain('notarealsecret');
    } finally {
      await api.close();
    }
  });
});

describe('browsers: CORS and security headers', () => {
  it('allows only the configured origins, preflight included', async () => {
    const api = await startApi({ server: { corsOrigins: ['https://app.example'] } });
    try {
      const preflight = await api.request('OPTIONS', '/api/v2/tasks', {
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
      const allowed = await api.request('GET', '/api/v2/tasks', { headers: { origin: 'https://app.example' } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(allowed.headers.get('access-control-expose-headers')).toContain('x-total-count');
      const other = await api.request('GET', '/api/v2/tasks', { headers: { origin: 'https://evil.example' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      for (const header of ['x-content-type-options', 'x-frame-options', 'strict-transport-security', 'content-security-policy', 'referrer-policy']) {
        expect(allowed.headers.get(header), header).not.toBeNull();
      }
    } finally {
      await api.close();
    }
  });
});

describe('server faults', () => {
  it('a broken store gives 500 without internals, and /ready says 503', async () => {
    const api = await startApi();
    try {
      await api.colony.store.close();
      const r = await api.request('GET', '/api/v2/tasks');
      expectProblem(r, 500, 'internal');
      expect(r.json.detail).toBe('internal error; the server log has the details under this request id');
      expect(r.text).not.toMatch(/sqlite|database|at .*\.js/i);
      const ready = await api.request('GET', '/ready');
      expectProblem(ready, 503, 'not_ready');
      expect(ready.headers.get('retry-after')).toBe('1');
      expect((await api.request('GET', '/health')).status).toBe(200);
    } finally {
      await api.close();
    }
  });
});
