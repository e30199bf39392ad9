import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { EVENT_STREAM, STREAM_CLOSE } from '../src/api/api-defaults.js';
import type { CreateServerOptions } from '../src/api/create-server.js';
import { EventStreamHub, type StreamFilter } from '../src/api/event-stream-hub.js';
import { matches } from '../src/kernel/local-event-bus.js';
import { createLogger } from '../src/kernel/logger.js';
import type { ColonyEvent, ColonyEventType, StoredEvent } from '../src/domain/events.js';
import type { EventBus, EventFilter, EventHandler, EventMatching, Subscription } from '../src/ports/event-bus.js';
import type { EventQuery } from '../src/ports/store.js';
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
    // A peer that has not answered one ping by the next is dropped: the interval is long enough that a
    // busy test process (the client is in it) still answers in time.
    await start({ eventStream: { heartbeatMs: 250 } });
    const client = connect();
    expect(await client.message('subscribed')).toMatchObject({ filter: {}, replay: false });
    await publish(1, 'task.queued', 'everything');
    await publish(1, 'agent.output', 'everything', 'hello');
    await eventually(() => client.events.length === 2);
    expect(client.events.map((e) => e.type)).toEqual(['task.queued', 'agent.output']);
    // Idle for several heartbeats: the server keeps pinging and the client keeps answering.
    await eventually(() => client.pings >= 4);
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
    await api.colony.store.events.append([
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
    const stored = await api.colony.store.events.list({ types: ['task.queued'], limit: 10_000 });
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

    const expected = (await api.colony.store.events.list({ types: ['task.queued'], afterId: lastEventId, limit: 100_000 })).map((e) => e.id);
    await eventually(() => client.events.length >= expected.length, 10_000);
    const received = client.events.map((e) => e.id);
    expect(received).toEqual(expected);
    expect(new Set(received).size).toBe(received.length);
    expect(client.events.every((e) => e.type === 'task.queued')).toBe(true);
  });

  it('ids with gaps (ids skipped between events, from this process and another): every event once, in order, live and replayed', async () => {
    await start({ eventStream: { replayPageSize: 4 } });
    const live = connect('?types=task.queued');
    await live.message('subscribed');
    // Another connection to the file moves the id sequence on: the next event's id leaves a gap, as
    // ids taken by rolled-back inserts or a sequence's cache do.
    const raw = new DatabaseSync(api.colony.config.database.path, { timeout: 5_000 });
    try {
      for (let i = 0; i < 12; i++) {
        if (i % 3 === 0) raw.prepare(`UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'events'`).run(i + 2);
        if (i % 4 === 1) {
          await api.colony.store.events.append([{ type: 'task.queued', source: 'another-process', data: { taskId: `tsk_other_${i}`, name: null }, correlationId: 'gaps', timestamp: Date.now() }]);
        } else {
          await publish(1, 'task.queued', 'gaps');
        }
        await publish(1, 'agent.output', 'noise', 'n');
      }
    } finally {
      raw.close();
    }
    const expected = (await api.colony.store.events.list({ types: ['task.queued'], limit: 1_000 })).map((e) => e.id);
    expect(expected).toHaveLength(12);
    const all = (await api.colony.store.events.list({ limit: 1_000 })).map((e) => e.id);
    expect(all.some((id, i) => i > 0 && id !== (all[i - 1] as number) + 1)).toBe(true); // there are gaps

    await eventually(() => live.events.length >= expected.length);
    expect(live.events.map((e) => e.id)).toEqual(expected);

    // Replayed from the middle, across the gaps, in pages of four; then live again.
    const replaying = connect(`?types=task.queued&lastEventId=${expected[2]}`);
    expect((await replaying.message('replayed')).count).toBe(9);
    await publish(1, 'task.queued', 'gaps');
    await eventually(() => replaying.events.length === 10 && live.events.length === 13);
    expect(replaying.events.map((e) => e.id)).toEqual(live.events.map((e) => e.id).slice(3));
    expect(new Set(live.events.map((e) => e.id)).size).toBe(13);
  });

  it('pings every heartbeat and drops a peer that stops answering', async () => {
    // Long enough that the healthy client, in this busy test process, answers each ping before the next.
    await start({ eventStream: { heartbeatMs: 250 } });
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

/**
 * An event log as a store with several writers has it: an insert takes the next id (ids may be left
 * unused) and commits, or rolls back, in any order. It keeps the Store port's rule for reads
 * (`Store.events.list`): an event is read only once every smaller id has committed or rolled back.
 * Events committed as this process's are also delivered to subscribers, as the local bus does after
 * persisting them.
 */
class SettlingLog implements EventBus {
  reads = 0;
  private lastId = 0;
  private readonly rows = new Map<number, { event: StoredEvent; committed: boolean }>();
  private readonly handlers = new Set<{ filter: EventFilter; handler: EventHandler }>();

  /** Starts an insert: takes an id (after leaving `skip` ids unused); nobody sees it until it commits. */
  begin(type: ColonyEventType = 'task.queued', options: { skip?: number; correlationId?: string } = {}): number {
    this.lastId += 1 + (options.skip ?? 0);
    const id = this.lastId;
    this.rows.set(id, { event: { id, type, source: 'test', data: { taskId: `tsk_${id}`, name: null }, correlationId: options.correlationId ?? null, timestamp: id }, committed: false });
    return id;
  }

  /** Commits an insert; `local`: this process's own, which its bus delivers now. */
  commit(id: number, options: { local?: boolean } = {}): void {
    const row = this.rows.get(id) as { event: StoredEvent; committed: boolean };
    row.committed = true;
    if (!options.local) return;
    for (const { filter, handler } of this.handlers) {
      if (matches(filter, row.event as ColonyEvent)) void handler(row.event as ColonyEvent);
    }
  }

  rollback(id: number): void {
    this.rows.delete(id);
  }

  /** Commits a run of new events (ids after a gap of `skip` each) made elsewhere. */
  committed(count: number, options: { skip?: number; type?: ColonyEventType } = {}): number[] {
    return Array.from({ length: count }, () => {
      const id = this.begin(options.type, { skip: options.skip ?? 0 });
      this.commit(id);
      return id;
    });
  }

  async list(query: EventQuery = {}): Promise<StoredEvent[]> {
    this.reads++;
    const pending = [...this.rows.values()].filter((r) => !r.committed).map((r) => r.event.id);
    const horizon = Math.min(Infinity, ...pending);
    const settled = [...this.rows.values()]
      .filter((r) => r.committed && r.event.id < horizon && r.event.id > (query.afterId ?? 0))
      .map((r) => r.event)
      .filter((e) => matches({ types: query.types, correlationId: query.correlationId, source: query.source }, e as ColonyEvent))
      .sort((a, b) => (query.newestFirst ? b.id - a.id : a.id - b.id));
    return settled.slice(0, query.limit ?? settled.length);
  }

  subscribe<P extends string = ColonyEventType>(filter: EventFilter<P>, handler: EventHandler<NoInfer<EventMatching<P>>>): Subscription {
    const entry = { filter, handler: handler as EventHandler };
    this.handlers.add(entry);
    return { unsubscribe: () => this.handlers.delete(entry), dropped: 0 };
  }

  publish(): void {
    throw new Error('the hub only reads');
  }

  /** Hints that other processes wrote (`nudge`), as the bus passes on the store's notifications. */
  private readonly external = new Set<() => void>();

  onExternalEvents(listener: () => void): () => void {
    this.external.add(listener);
    return () => this.external.delete(listener);
  }

  /** Another process says it wrote events. */
  nudge(): void {
    for (const listener of this.external) listener();
  }

  async flush(): Promise<void> {}
}

describe('event stream over a log whose ids have gaps and commit out of order', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** A hub over `log`, with real WebSocket connections: `connect` returns the client once subscribed. */
  async function hubOver(log: SettlingLog, limits: { replayPageSize?: number; pollMs?: number } = {}) {
    const hub = new EventStreamHub({
      keys: { get: async () => undefined },
      events: log,
      logger: createLogger('silent'),
      limits: { ...EVENT_STREAM, pollMs: 10, ...limits },
    });
    await hub.start();
    cleanups.push(() => hub.close());
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    cleanups.push(() => new Promise<void>((done) => wss.close(() => done())));
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const connect = async (filter: StreamFilter = {}, lastEventId?: number): Promise<Client> => {
      const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
      const client = new Client(url);
      cleanups.push(() => client.ws.terminate());
      const [socket] = await accepted;
      hub.attach(socket, { keyId: null, expiresAt: null }, filter, lastEventId);
      await client.message('subscribed');
      return client;
    };
    /** Resolves after the hub has read the log twice more: whatever it could send by now, it has sent. */
    const settle = async () => {
      const reads = log.reads;
      await eventually(() => log.reads >= reads + 2);
    };
    return { hub, connect, settle };
  }

  const ids = (client: Client) => client.events.map((e) => e.id);

  it('holds a later id back until the earlier one commits, passes over unused and rolled-back ids, and sends nothing twice', async () => {
    const log = new SettlingLog();
    log.committed(1);
    const { connect, settle } = await hubOver(log);
    const client = await connect();
    expect((await client.message('subscribed')).lastEventId).toBe(1);

    const early = log.begin('task.queued', { skip: 1 }); // 3: id 2 is never used
    const local = log.begin(); // 4
    const after = log.begin('task.queued', { skip: 2 }); // 7
    log.commit(local, { local: true }); // this process's own event, after an uncommitted one
    log.commit(after);
    await settle();
    expect(ids(client)).toEqual([]); // 3 may still commit: nothing after it goes out before it

    log.commit(early);
    await eventually(() => client.events.length === 3);
    expect(ids(client)).toEqual([3, 4, 7]);

    const doomed = log.begin(); // 8
    const mine = log.begin(); // 9
    log.commit(mine, { local: true });
    await settle();
    expect(ids(client)).toEqual([3, 4, 7]);
    log.rollback(doomed);
    await eventually(() => client.events.length === 4);
    // Directly after the cursor: sent as it is published.
    log.commit(log.begin(), { local: true }); // 10
    await eventually(() => client.events.length === 5);
    await settle();
    expect(ids(client)).toEqual([3, 4, 7, 9, 10]);
  });

  it("reads the log on another process's hint, with no poll; after close, hints do nothing", async () => {
    const log = new SettlingLog();
    const { hub, connect } = await hubOver(log, { pollMs: 10 * 60_000 });
    const client = await connect();
    const written = log.committed(3, { skip: 1 });
    log.nudge();
    await eventually(() => client.events.length === 3);
    expect(ids(client)).toEqual(written);
    hub.close();
    const reads = log.reads;
    log.nudge();
    expect(log.reads).toBe(reads);
  });

  it('a client that connects while an earlier id is uncommitted receives it when it commits', async () => {
    const log = new SettlingLog();
    log.committed(1);
    const { connect } = await hubOver(log);
    // Nobody is connected: another process has taken id 2, and this process commits 3 first.
    const early = log.begin();
    log.commit(log.begin(), { local: true });

    const client = await connect();
    log.commit(early);
    await eventually(() => client.events.length === 2, 5_000);
    expect(ids(client)).toEqual([2, 3]);
  });

  it('replays from lastEventId across gaps and uncommitted ids, page by page, then joins the live stream', async () => {
    const log = new SettlingLog();
    const queued = log.committed(6, { skip: 3 });
    log.committed(5, { skip: 1, type: 'agent.output' });
    queued.push(...log.committed(4, { skip: 2 }));
    const pending = log.begin(); // replay cannot pass it
    const later = log.begin('task.queued', { skip: 5 });
    log.commit(later, { local: true });
    const { connect, settle } = await hubOver(log, { replayPageSize: 2 });

    const client = await connect({ types: ['task.queued'] }, queued[1]);
    expect((await client.message('replayed')).count).toBe(8);
    expect(ids(client)).toEqual(queued.slice(2));
    await settle();
    expect(ids(client)).toEqual(queued.slice(2));

    log.commit(pending);
    const more = log.committed(3, { skip: 4 });
    await eventually(() => client.events.length === 13);
    await settle();
    expect(ids(client)).toEqual([...queued.slice(2), pending, later, ...more]);
  });
});
