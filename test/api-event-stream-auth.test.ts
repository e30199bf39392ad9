import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { STREAM_CLOSE, STREAM_CLOSE_REASON } from '../src/api/api-defaults.js';
import { startApi, type TestApi } from './support/api-server.js';
import { runCli } from './support/cli.js';
import { eventually } from './support/temp-colony.js';

/** A stream connection's credential stops being valid while it is open: the connection ends (4401). */

const JWT_SECRET = 'a-test-secret-that-is-long-enough-for-hs256!';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Message = Record<string, any>;

class Client {
  readonly ws: WebSocket;
  readonly messages: Message[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, token: string) {
    this.ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } });
    this.ws.on('message', (data) => this.messages.push(JSON.parse(String(data))));
    this.ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  get eventIds(): number[] {
    return this.messages.filter((m) => m.type === 'event').map((m) => m.event.id as number);
  }

  subscribed(): Promise<Message> {
    return eventually(() => this.messages.find((m) => m.type === 'subscribed'));
  }
}

describe('event stream: revoked and expired credentials', () => {
  let api: TestApi;
  const clients: Client[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await api?.close();
  });

  async function start(credentialCheckMs = 50): Promise<{ admin: string }> {
    api = await startApi({ server: { jwtSecret: JWT_SECRET } }, { eventStream: { pollMs: 20, credentialCheckMs } });
    return { admin: (await api.server.keys.create({ role: 'admin' })).key };
  }

  function connect(token: string): Client {
    const client = new Client(`${api.address.events}?types=task.queued`, token);
    clients.push(client);
    return client;
  }

  async function publish(n: number): Promise<void> {
    for (let i = 0; i < n; i++) api.colony.events.publish('task.queued', { taskId: `tsk_${i}`, name: null }, { source: 'test', correlationId: 'auth' });
    await api.colony.events.flush();
  }

  it('revoking a key through the API closes its sockets at once: not one event after the revocation', async () => {
    // A long credential check: only the revocation itself can close the socket in time.
    const { admin } = await start(60_000);
    const revoked = await api.server.keys.create({ role: 'viewer' });
    const other = (await api.server.keys.create({ role: 'viewer' })).key;
    const [a, b, c] = [connect(revoked.key), connect(revoked.key), connect(other)];
    await Promise.all([a.subscribed(), b.subscribed(), c.subscribed()]);
    await publish(1);
    await eventually(() => a.eventIds.length === 1 && b.eventIds.length === 1 && c.eventIds.length === 1);

    expect((await api.request('DELETE', `/api/v2/keys/${revoked.record.id}`, { token: admin })).status).toBe(200);
    await publish(3);
    for (const client of [a, b]) expect(await client.closed).toEqual({ code: STREAM_CLOSE.unauthorized, reason: STREAM_CLOSE_REASON.keyRevoked });
    // The other key's socket is untouched and saw everything; the revoked ones saw nothing after the revocation.
    await eventually(() => c.eventIds.length === 4);
    expect(a.eventIds).toEqual(c.eventIds.slice(0, 1));
    expect(b.eventIds).toEqual(c.eventIds.slice(0, 1));
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    // And the key cannot open a new one.
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(api.address.events, { headers: { authorization: `Bearer ${revoked.key}` } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(401);
  });

  it('`colony keys revoke` in another process closes the sockets too', async () => {
    await start();
    const revoked = await api.server.keys.create({ role: 'operator' });
    const other = (await api.server.keys.create({ role: 'viewer' })).key;
    const [a, c] = [connect(revoked.key), connect(other)];
    await Promise.all([a.subscribed(), c.subscribed()]);

    const cli = await runCli(['keys', 'revoke', revoked.record.id], { cwd: api.dir });
    expect(cli.code, cli.stderr).toBe(0);
    expect(await a.closed).toEqual({ code: STREAM_CLOSE.unauthorized, reason: STREAM_CLOSE_REASON.keyRevoked });
    await publish(2);
    await eventually(() => c.eventIds.length === 2);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    expect(api.server.hub.size).toBe(1);
  });

  it('a JWT stops streaming when it expires', async () => {
    await start();
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    const token = await new SignJWT({ role: 'viewer' }).setProtectedHeader({ alg: 'HS256' }).setSubject('short-lived').setExpirationTime(expiresAt).sign(new TextEncoder().encode(JWT_SECRET));
    const longLived = await new SignJWT({ role: 'viewer' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
    const [short, long] = [connect(token), connect(longLived)];
    await Promise.all([short.subscribed(), long.subscribed()]);
    await publish(1);
    await eventually(() => short.eventIds.length === 1);

    const closed = await short.closed;
    expect(closed).toEqual({ code: STREAM_CLOSE.unauthorized, reason: STREAM_CLOSE_REASON.tokenExpired });
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt * 1000);
    await publish(1);
    await eventually(() => long.eventIds.length === 2);
    expect(short.eventIds).toHaveLength(1);
  });
});
