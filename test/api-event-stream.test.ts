import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { STREAM_CLOSE } from '../src/api/api-defaults.js';
import type { CreateServerOptions } from '../src/api/create-server.js';
import { startApi, type TestApi } from './support/api-server.js';
import { eventually } from './support/temp-colony.js';

interface StreamEvent {
  id: number;
  type: string;
  correlationId: string | null;
  data: Record<string, unknown>;
}

/** A real WebSocket client that records every message and how the connection ended. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Message = Record<string, any>;

class Client {
  readonly ws: WebSocket;
  readonly messages: Message[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  pings = 0;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => this.messages.push(JSON.parse(String(data))));
    this.ws.on('ping', () => this.pings++);
    this.ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => this.ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  get events(): StreamEvent[] {
    return this.messages.filter((m) => m.type === 'event').map((m) => m.event as StreamEvent);
  }

  /** Resolves with the first message matching, waiting for it if need be. */
  message(type: string): Promise<Message> {
    return eventually(() => this.messages.find((m) => m.type === type));
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }
}

describe('WebSocket event stream', () => {
  let api: TestApi;
  const clients: Client[] = [];

  async function start(options: CreateServerOptions = {}): Promise<TestApi> {
    api = await startApi({}, { ...options, eventStream: { pollMs: 20, ...options.eventStream } });
    api.colony.registerExecutor({ type: 'echo', execute: async ({ task }) => task.input });
    return api;
  }

  function connect(query = '', options: WebSocket.ClientOptions = {}): Client {
    const client = new Client(`${api.address.events}${query}`, options);
    clients.push(client);
    return client;
  }

  /** Publishes `n` events of a type through the colony's bus and waits until they are stored. */
  async function publish(n: number, type: 'task.queued' | 'agent.output' = 'task.queued', correlationId = 'test', text = ''): Promise<void> {
    for (let i = 0; i < n; i++) {
      if (type === 'task.queued') api.colony.events.publish('task.queued', { taskId: `tsk_${i}`, name: null }, { source: 'test', correlationId });
      else api.colony.events.publish('agent.output', { taskId: 'tsk_x', agentId: null, text }, { source: 'test', correlationId });
    }
    await api.colony.events.flush();
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await api?.close();
  });

  it('filters by type prefix, correlation id and agent id given in the query', async () => {
    await start();
    const tasks = connect('?types=task.*');
    const agentsOnly = connect('?types=agent.spawned,agent.updated');
    await Promise.all([tasks.message('subscribed'), agentsOnly.message('subscribed')]);

    const [task] = await api.colony.tasks.submit([{ type: 'echo', name: 'watched' }]);
    const correlated = connect(`?correlationId=${task?.id}`);
    await correlated.message('subscribed');
    const a = await api.colony.agents.spawn({ type: 'coder' });
    const b = await api.colony.agents.spawn({ type: 'coder' });
    const byAgent = connect(`?agentId=${a.id}`);
    await byAgent.message('subscribed');
    await api.colony.agents.setStatus(a.id, 'paused');
    await api.colony.agents.setStatus(b.id, 'paused');
    await api.colony.tasks.cancel(task?.id as string);

    await eventually(() => tasks.events.some((e) => e.type === 'task.cancelled'));
    expect(tasks.events.every((e) => e.type.startsWith('task.'))).toBe(true);
    expect(tasks.events.map((e) => e.type)).toEqual(['task.created', 'task.cancelled']);

    await eventually(() => agentsOnly.events.length === 4);
    expect(agentsOnly.events.map((e) => e.type)).toEqual(['agent.spawned', 'agent.spawned', 'agent.updated', 'agent.updated']);

    await eventually(() => correlated.events.some((e) => e.type === 'task.cancelled'));
    expect(correlated.events.every((e) => e.correlationId === task?.id)).toBe(true);

    await eventually(() => byAgent.events.length >= 1);
    await api.colony.events.flush();
    expect(byAgent.events.map((e) => [e.type, e.data.agentId])).toEqual([['agent.updated', a.id]]);
  });

  it('with no filter in the URL, streams every event at once, and stays connected while idle', async () => {
    await start({ eventStream: { heartbeatMs: 40 } });
    const client = connect();
    expect(await client.message('subscribed')).toMatchObject({ filter: {}, replay: false });
    await publish(1, 'task.queued', 'everything');
    await publish(1, 'agent.output', 'everything', 'hello');
    await eventually(() => client.events.length === 2);
    expect(client.events.map((e) => e.type)).toEqual(['task.queued', 'agent.output']);
    // Idle for several heartbeats: the server keeps pinging and the client keeps answering.
    await eventually(() => client.pings >= 5);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    await publish(1, 'task.queued', 'still-there');
    await eventually(() => client.events.length === 3);
  });

  it('accepts subscribe, unsubscribe and ping at any time', async () => {
    await start();
    const client = connect('?types=agent.output');
    const witness = connect('?types=task.queued');
    await Promise.all([client.message('subscribed'), witness.message('subscribed')]);

    client.send({ type: 'ping', id: 'p-1' });
    expect(await client.message('pong')).toEqual({ type: 'pong', id: 'p-1' });

    // Re-subscribe, narrower and to another type: only what the new filter names arrives.
    client.send({ type: 'subscribe', types: ['task.queued'], correlationId: 'second' });
    await eventually(() => client.messages.filter((m) => m.type === 'subscribed').length === 2);
    await publish(2, 'task.queued', 'other');
    await publish(3, 'task.queued', 'second');
    await publish(2, 'agent.output', 'second', 'old filter');
    await eventually(() => client.events.length === 3);
    expect(client.events.every((e) => e.type === 'task.queued' && e.correlationId === 'second')).toBe(true);

    // Unsubscribe: nothing more arrives. The witness receives the events; a ping answered after that
    // proves the unsubscribed client was passed over (the hub writes to every client in one pass).
    client.send({ type: 'unsubscribe' });
    await client.message('unsubscribed');
    await eventually(() => witness.events.length === 5);
    await publish(4, 'task.queued', 'second');
    await eventually(() => witness.events.length === 9);
    client.send({ type: 'ping', id: 2 });
    await eventually(() => client.messages.some((m) => m.type === 'pong' && m.id === 2));
    expect(client.events).toHaveLength(3);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);

    // Subscribe again with lastEventId: the events it missed are replayed, then live ones follow.
    const missedFrom = client.events[2]?.id as number;
    client.send({ type: 'subscribe', types: ['task.queued'], correlationId: 'second', lastEventId: missedFrom });
    const replayed = await client.message('replayed');
    expect(replayed.count).toBe(4);
    await publish(1, 'task.queued', 'second');
    await eventually(() => client.events.length === 8);
    const ids = client.events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('answers malformed messages with an error frame and stays open; persistent garbage is cut off (4400)', async () => {
    await start({ eventStream: { maxBadMessages: 3 } });
    const client = connect('?types=task.*');
    await client.message('subscribed');
    client.ws.send('not json');
    client.send({ type: 'subscribe', types: ["task.*'; DROP TABLE events; --"] });
    client.send({ type: 'dance' });
    await eventually(() => client.messages.filter((m) => m.type === 'error').length === 3);
    const errors = client.messages.filter((m) => m.type === 'error');
    expect(errors.every((m) => m.code === 'validation' && typeof m.detail === 'string')).toBe(true);
    expect(errors[0]?.detail).toMatch(/JSON/);
    expect(errors[1]?.detail).toMatch(/^types\.0: /);
    expect(errors[2]?.detail).toMatch(/subscribe.*unsubscribe.*ping/);
    // Still subscribed and answering.
    client.send({ type: 'ping' });
    expect(await client.message('pong')).toEqual({ type: 'pong', id: null });
    await publish(1, 'task.queued');
    await eventually(() => client.events.length === 1);

    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await client.closed).toEqual({ code: STREAM_CLOSE.tooManyBadMessages, reason: 'more than 3 malformed messages' });

    // Bad filters in the URL are refused before the upgrade.
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${api.address.events}?types=${encodeURIComponent('../../etc/passwd')}`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(400);
    await eventually(() => api.server.hub.size === 0);
  });

  it('delivers events written by other processes (straight to the store)', async () => {
    await start();
    const client = connect('?types=workflow.started');
    await client.message('subscribed');
    await api.colony.store.appendEvents([
      { type: 'workflow.started', source: 'another-process', data: { workflowId: 'wf_1', name: 'x', tasks: 1, resumed: false }, correlationId: 'wf_1', timestamp: Date.now() },
    ]);
    await eventually(() => client.events.length === 1);
    expect(client.events[0]).toMatchObject({ type: 'workflow.started', correlationId: 'wf_1' });
  });

  it('replays from lastEventId and joins the live stream with no gap and no duplicate', async () => {
    // Small pages, so that the replay takes many reads while events keep arriving.
    await start({ eventStream: { replayPageSize: 7 } });
    await publish(200, 'task.queued', 'replay');
    await publish(50, 'agent.output', 'noise', 'n');
    const stored = await api.colony.store.listEvents({ types: ['task.queued'], limit: 10_000 });
    const lastEventId = (stored[99] as { id: number }).id;

    // Publish continuously while the client connects and replays.
    let publishing = true;
    const publisher = (async () => {
      let i = 0;
      while (publishing) {
        api.colony.events.publish('task.queued', { taskId: `tsk_live_${i++}`, name: null }, { source: 'test', correlationId: 'replay' });
        api.colony.events.publish('agent.output', { taskId: 'tsk_x', agentId: null, text: 'noise' }, { source: 'test', correlationId: 'noise' });
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const client = connect(`?types=task.queued&lastEventId=${lastEventId}`);
    const replayed = await client.message('replayed');
    expect(replayed.count).toBeGreaterThanOrEqual(100);
    await eventually(() => client.events.length > replayed.count + 50);
    publishing = false;
    await publisher;
    await api.colony.events.flush();

    const expected = (await api.colony.store.listEvents({ types: ['task.queued'], afterId: lastEventId, limit: 100_000 })).map((e) => e.id);
    await eventually(() => client.events.length >= expected.length, 10_000);
    const received = client.events.map((e) => e.id);
    expect(received).toEqual(expected);
    expect(new Set(received).size).toBe(received.length);
    expect(client.events.every((e) => e.type === 'task.queued')).toBe(true);
  });

  it('pings every heartbeat and drops a peer that stops answering', async () => {
    await start({ eventStream: { heartbeatMs: 40 } });
    const healthy = connect('?types=task.*');
    const dead = connect('?types=task.*', { autoPong: false });
    await Promise.all([healthy.message('subscribed'), dead.message('subscribed')]);
    const closed = await dead.closed;
    expect(closed.code).toBe(1006); // terminated, no close handshake
    await eventually(() => healthy.pings >= 3);
    expect(healthy.ws.readyState).toBe(WebSocket.OPEN);
    expect(api.server.hub.size).toBe(1);
  });

  it('disconnects a client that stops reading (4008), and its buffer stays bounded', async () => {
    const maxBufferedBytes = 256 * 1024;
    await start({ eventStream: { maxBufferedBytes, closeGraceMs: 30_000 } });
    const slow = connect('?types=agent.output');
    await slow.message('subscribed');
    const fast = connect('?types=task.queued');
    await fast.message('subscribed');
    const serverSide = [...(api.server.app as unknown as { websocketServer: { clients: Set<WebSocket> } }).websocketServer.clients];
    expect(serverSide).toHaveLength(2);

    // The client stops reading its socket: everything piles up in kernel buffers, then in the server's.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const text = 'x'.repeat(64 * 1024);
    let published = 0;
    let maxSeen = 0;
    while (api.server.hub.size === 2 && published < 4_000) {
      await publish(8, 'agent.output', 'flood', text);
      published += 8;
      for (const ws of serverSide) maxSeen = Math.max(maxSeen, ws.bufferedAmount);
    }
    expect(api.server.hub.size).toBe(1); // the slow one is gone; the other client stays
    // Never more than the limit plus the one message that would have passed it.
    expect(maxSeen).toBeLessThanOrEqual(maxBufferedBytes + text.length + 1024);

    // Once dropped, nothing more is queued for it, however much is published.
    const dropped = serverSide.find((ws) => ws.readyState !== WebSocket.OPEN) as WebSocket;
    const held = dropped.bufferedAmount;
    await publish(32, 'agent.output', 'flood', text);
    expect(dropped.bufferedAmount).toBeLessThanOrEqual(held);

    // The fast client was not disturbed.
    await publish(1, 'task.queued');
    await eventually(() => fast.events.length === 1);

    // When the slow client reads again it finds the close frame, with the code and the reason.
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await slow.closed;
    expect(closed.code).toBe(STREAM_CLOSE.slowConsumer);
    expect(closed.reason).toMatch(/^slow consumer/);
  });

  it('closes clients with 1001 when the server shuts down', async () => {
    await start();
    const client = connect('?types=task.*');
    await client.message('subscribed');
    await api.server.close();
    expect((await client.closed).code).toBe(1001);
  });
});
