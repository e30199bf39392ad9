import type { WebSocket } from 'ws';
import type { EventBus, Subscription } from '../ports/event-bus.js';
import type { Logger } from '../kernel/logger.js';
import type { ColonyEvent, StoredEvent } from '../domain/events.js';
import type { ApiKeys } from '../security/api-keys.js';
import { STREAM_CLOSE, STREAM_CLOSE_REASON, type EventStreamLimits } from './api-defaults.js';

/** What a stream client asked for. Types are exact (`task.created`) or prefixes (`task.*`). */
export interface StreamFilter {
  types?: string[];
  /** A workflow, swarm, task or agent id that events are correlated with. */
  correlationId?: string;
  /** Events about one agent: correlated with it, or carrying it as `data.agentId`. */
  agentId?: string;
}

export function streamFilterMatches(filter: StreamFilter, event: StoredEvent): boolean {
  if (filter.correlationId !== undefined && event.correlationId !== filter.correlationId) return false;
  if (filter.agentId !== undefined && event.correlationId !== filter.agentId) {
    const data = event.data;
    if (data === null || typeof data !== 'object' || Array.isArray(data) || data.agentId !== filter.agentId) return false;
  }
  if (!filter.types || filter.types.length === 0) return true;
  return filter.types.some((t) => (t.endsWith('.*') ? event.type.startsWith(t.slice(0, -1)) : t === event.type));
}

const OPEN = 1;

/** The credential a connection was opened with, re-checked while it lasts. */
export interface StreamCredential {
  /** The API key's id, when the connection authenticated with one. */
  keyId: string | null;
  /** When the connection's token expires (ms), or null. */
  expiresAt: number | null;
}

/** One connected client: its filter, how far it has been sent, and its share of the socket's buffer. */
export class StreamClient {
  readonly ws: WebSocket;
  readonly credential: StreamCredential;
  /** What the client receives; null after `unsubscribe` (nothing). */
  filter: StreamFilter | null = null;
  /** Bumped by each subscribe or unsubscribe: a replay of an older subscription stops. */
  generation = 0;
  /** Malformed messages received so far. */
  badMessages = 0;
  /** Id of the last event this client has been sent or has skipped (its position in the event log). */
  lastId = 0;
  /** Receives events from the hub's live dispatch (replay done). */
  live = false;
  closed = false;
  /** Answered the last ping. */
  alive = true;
  /** Messages handed to the socket whose write has not completed. */
  pending = 0;
  private readonly limits: EventStreamLimits;
  private waiters: (() => void)[] = [];

  constructor(ws: WebSocket, credential: StreamCredential, limits: EventStreamLimits) {
    this.ws = ws;
    this.credential = credential;
    this.limits = limits;
  }

  /** Whether another message may be queued without passing the limits. */
  fits(bytes: number): boolean {
    return this.ws.bufferedAmount + bytes <= this.limits.maxBufferedBytes && this.pending < this.limits.maxPendingMessages;
  }

  /** Below half the limits: a replay may send more. */
  private roomy(): boolean {
    return this.ws.bufferedAmount <= this.limits.maxBufferedBytes / 2 && this.pending <= this.limits.maxPendingMessages / 2;
  }

  /** Resolves when the socket has drained below half its limits, or the client is gone. */
  whenRoomy(): Promise<void> {
    if (this.closed || this.roomy()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  write(text: string): void {
    this.pending++;
    this.ws.send(text, () => {
      this.pending--;
      if (this.waiters.length > 0 && (this.closed || this.roomy())) this.release();
    });
  }

  release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

export interface EventStreamHubOptions {
  /** Where live connections' API keys are re-checked (revoked by any process). */
  keys: Pick<ApiKeys, 'get'>;
  /** Local events as they happen; `events.list` reads the persisted log of every process, `events.onExternalEvents` says when others wrote. */
  events: EventBus;
  logger: Logger;
  limits: EventStreamLimits;
  now?: () => number;
}

/**
 * Fans the event log out to WebSocket clients. The store's events table is the single source: the hub
 * follows it with a cursor (nudged by this process's event bus, by the bus's hints that other processes
 * wrote events, and polled in case a hint was lost), so every client sees events in id order, from
 * every process, none skipped and none twice. A client that asks for `lastEventId` is first replayed
 * from the store, page by page at the pace its socket drains, and joins the live dispatch only at a
 * moment when nothing is left between the two: no gap, and no duplicate (a live event at or below its
 * position is skipped).
 *
 * The cursor is a position in the log, not a count: ids have gaps (an insert rolled back, ids taken by
 * a sequence and never used) and, with several writers, commit out of id order. The cursor only moves
 * to an id the log has settled: one read back from the log, which returns only events that no
 * earlier-id event can still appear before (`Store.events.list`), or a local event that directly follows
 * the cursor (nothing can come between). Anything else this process publishes (after a gap, or past
 * another process's uncommitted event) is only a nudge to read the log. So an event committed late,
 * below ids already written, is still sent once it commits, and never skipped.
 *
 * Each event is serialised once for all clients. A client whose socket buffer passes the limits
 * (bytes or messages) is disconnected with close code 4008, so a client that stops reading costs a
 * bounded amount of memory; heartbeats drop peers that stop answering pings.
 *
 * Each connection keeps the credential it opened with: when its API key is revoked (through this
 * server at once, by another process within `credentialCheckMs`) or its JWT expires, it is closed
 * with 4401.
 */
export class EventStreamHub {
  private readonly o: EventStreamHubOptions;
  private readonly clients = new Set<StreamClient>();
  /**
   * The hub's position in the log: every event at or below it has been dispatched (or was written
   * while no client listened), and none at or below it can still appear.
   */
  private cursor = 0;
  private pumping = false;
  private again = false;
  private closed = false;
  private subscription: Subscription | null = null;
  private unwatchExternal: (() => void) | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private credentialTimer: NodeJS.Timeout | null = null;
  private checkingCredentials = false;
  private readonly now: () => number;

  constructor(options: EventStreamHubOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.clients.size;
  }

  async start(): Promise<void> {
    this.cursor = await this.latestId();
    this.subscription = this.o.events.subscribe({}, (event) => this.onLocalEvent(event));
    this.unwatchExternal = this.o.events.onExternalEvents(() => {
      if (this.clients.size > 0) this.schedulePump();
    });
    this.pollTimer = setInterval(() => {
      if (this.clients.size > 0) this.schedulePump();
    }, this.o.limits.pollMs);
    this.pollTimer.unref();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.o.limits.heartbeatMs);
    this.heartbeatTimer.unref();
    this.credentialTimer = setInterval(() => void this.checkCredentials(), this.o.limits.credentialCheckMs);
    this.credentialTimer.unref();
  }

  /**
   * Takes a new connection and subscribes it: events matching `filter` after `lastEventId` first
   * (from the store), then live ones; without `lastEventId`, from now on. Returns the client at once
   * (for `subscribe`, `unsubscribe` and `reply`; a later `subscribe` supersedes this first one), or
   * null when the hub is closed or the credential has already expired.
   */
  attach(ws: WebSocket, credential: StreamCredential, filter: StreamFilter, lastEventId?: number): StreamClient | null {
    if (this.closed) {
      ws.close(1001, 'server shutting down');
      return null;
    }
    const client = new StreamClient(ws, credential, this.o.limits);
    const wasIdle = this.clients.size === 0;
    this.clients.add(client);
    ws.on('close', () => this.detach(client));
    ws.on('pong', () => {
      client.alive = true;
    });
    if (credential.expiresAt !== null && this.now() >= credential.expiresAt) {
      this.drop(client, STREAM_CLOSE.unauthorized, STREAM_CLOSE_REASON.tokenExpired);
      return null;
    }
    void this.subscribe(client, filter, lastEventId, wasIdle);
    return client;
  }

  /** Replaces a client's subscription (a `subscribe` message): replays from `lastEventId` when given. */
  async subscribe(client: StreamClient, filter: StreamFilter, lastEventId?: number, wasIdle = false): Promise<void> {
    const generation = ++client.generation;
    client.live = false;
    client.filter = filter;
    try {
      if (wasIdle) {
        // Nobody listened: the cursor may lag behind the log's head (local events after a gap only
        // nudge). Nothing earlier is wanted: start at the head.
        const head = await this.latestId();
        if (!this.pumping) this.cursor = Math.max(this.cursor, head);
      }
      const from = lastEventId ?? Math.max(this.cursor, await this.latestId());
      if (client.generation !== generation) return;
      client.lastId = from;
      this.control(client, { type: 'subscribed', filter, lastEventId: from, replay: lastEventId !== undefined });
      await this.replay(client, generation, lastEventId !== undefined);
    } catch (error) {
      this.o.logger.error({ err: error }, 'event stream: subscription failed');
      this.drop(client, 1011, 'internal error');
    }
  }

  /** Stops sending events to a client (an `unsubscribe` message); the connection stays open. */
  unsubscribe(client: StreamClient): void {
    client.generation++;
    client.filter = null;
    client.live = true;
    this.control(client, { type: 'unsubscribed' });
  }

  /** Sends a protocol message (a pong, an error frame) to one client. */
  reply(client: StreamClient, message: Record<string, unknown>): void {
    this.control(client, message);
  }

  /** A malformed message from the client: an error frame, or past the limit, the end of the connection. */
  badMessage(client: StreamClient, detail: string): void {
    client.badMessages++;
    if (client.badMessages > this.o.limits.maxBadMessages) {
      this.drop(client, STREAM_CLOSE.tooManyBadMessages, `more than ${this.o.limits.maxBadMessages} malformed messages`);
      return;
    }
    this.control(client, { type: 'error', code: 'validation', detail });
  }

  /** Closes every connection made with this API key (4401): it was just revoked. */
  revokeKey(keyId: string): number {
    let count = 0;
    for (const client of [...this.clients]) {
      if (client.credential.keyId !== keyId) continue;
      this.drop(client, STREAM_CLOSE.unauthorized, STREAM_CLOSE_REASON.keyRevoked);
      count++;
    }
    return count;
  }

  /** Closes every client (1001) and stops following the log. */
  close(): void {
    this.closed = true;
    this.subscription?.unsubscribe();
    this.unwatchExternal?.();
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.credentialTimer) clearInterval(this.credentialTimer);
    for (const client of [...this.clients]) this.drop(client, 1001, 'server shutting down', this.o.limits.shutdownGraceMs);
  }

  /** The id of the newest settled event: no event at or below it can still appear. */
  private async latestId(): Promise<number> {
    const [last] = await this.o.events.list({ newestFirst: true, limit: 1 });
    return last?.id ?? 0;
  }

  private onLocalEvent(event: ColonyEvent): void {
    // Persisted, and directly after the cursor: no event can come between the two, so this is the
    // log's next event; send it as it is (with nobody to send to, just keep the cursor at the head).
    if (!this.pumping && event.id === this.cursor + 1) {
      if (this.clients.size > 0) this.dispatch(event as StoredEvent);
      this.cursor = event.id;
      return;
    }
    // After a gap, another process's events may come first, or an earlier id may not have committed
    // yet: read the log, which returns events only once everything before them has settled.
    if (this.clients.size > 0) this.schedulePump();
  }

  private schedulePump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.again = false;
        for (;;) {
          const page = await this.o.events.list({ afterId: this.cursor, limit: this.o.limits.replayPageSize });
          for (const event of page) {
            this.dispatch(event);
            this.cursor = event.id;
          }
          if (page.length < this.o.limits.replayPageSize || this.closed) break;
        }
      } while (this.again && !this.closed);
    } catch (error) {
      this.o.logger.warn({ err: error }, 'event stream: reading the event log failed; retrying at the next poll');
    } finally {
      this.pumping = false;
    }
  }

  private dispatch(event: StoredEvent): void {
    let text: string | undefined;
    let now: number | undefined;
    for (const client of this.clients) {
      if (!client.live || client.filter === null || event.id <= client.lastId || !streamFilterMatches(client.filter, event)) continue;
      const expiresAt = client.credential.expiresAt;
      if (expiresAt !== null && (now ??= this.now()) >= expiresAt) {
        this.drop(client, STREAM_CLOSE.unauthorized, STREAM_CLOSE_REASON.tokenExpired);
        continue;
      }
      text ??= eventMessage(event);
      client.lastId = event.id;
      this.send(client, text);
    }
  }

  /** Live delivery never waits for a client: one that cannot keep up is cut off. */
  private send(client: StreamClient, text: string): void {
    if (client.closed || client.ws.readyState !== OPEN) return;
    if (!client.fits(text.length)) {
      this.drop(
        client,
        STREAM_CLOSE.slowConsumer,
        `slow consumer: more than ${this.o.limits.maxBufferedBytes} bytes or ${this.o.limits.maxPendingMessages} messages unread`,
      );
      return;
    }
    client.write(text);
  }

  private async replay(client: StreamClient, generation: number, announce: boolean): Promise<void> {
    const { events, limits } = this.o;
    const filter = client.filter;
    if (filter === null) return;
    const current = () => !client.closed && client.generation === generation;
    const types = filter.types?.includes('*') ? undefined : filter.types;
    let count = 0;
    while (current()) {
      const head = this.cursor;
      const page = await events.list({ afterId: client.lastId, types, correlationId: filter.correlationId, limit: limits.replayPageSize });
      for (const event of page) {
        if (!current()) return;
        if (streamFilterMatches(filter, event)) {
          await client.whenRoomy();
          if (!current() || client.ws.readyState !== OPEN) return;
          client.write(eventMessage(event));
          count++;
        }
        client.lastId = event.id;
      }
      if (page.length === limits.replayPageSize) continue;
      // The read saw the whole log up to the hub's cursor, and the hub has dispatched nothing since:
      // from here on the live dispatch has exactly what comes next.
      if (this.cursor === head) {
        client.live = true;
        if (announce) this.control(client, { type: 'replayed', count, lastEventId: client.lastId });
        return;
      }
    }
  }

  private heartbeat(): void {
    for (const client of [...this.clients]) {
      if (!client.alive) {
        this.detach(client);
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      if (client.ws.readyState === OPEN) client.ws.ping();
    }
  }

  /**
   * Re-checks every connection's credential: API keys against the store (revoked by any process),
   * tokens against their expiry.
   */
  private async checkCredentials(): Promise<void> {
    if (this.checkingCredentials || this.clients.size === 0) return;
    this.checkingCredentials = true;
    try {
      const now = this.now();
      const keyIds = new Set<string>();
      for (const client of [...this.clients]) {
        const { keyId, expiresAt } = client.credential;
        if (expiresAt !== null && now >= expiresAt) this.drop(client, STREAM_CLOSE.unauthorized, STREAM_CLOSE_REASON.tokenExpired);
        else if (keyId !== null) keyIds.add(keyId);
      }
      for (const keyId of keyIds) {
        const key = await this.o.keys.get(keyId);
        if (!key || key.revokedAt !== null) this.revokeKey(keyId);
      }
    } catch (error) {
      this.o.logger.warn({ err: error }, 'event stream: checking credentials failed; retrying at the next check');
    } finally {
      this.checkingCredentials = false;
    }
  }

  /** Protocol messages pass the same buffer limits as events: a client that floods pings and never reads is cut off. */
  private control(client: StreamClient, message: Record<string, unknown>): void {
    this.send(client, JSON.stringify(message));
  }

  private detach(client: StreamClient): void {
    client.closed = true;
    this.clients.delete(client);
    client.release();
  }

  /** Closes a client with a code and reason; one that does not complete the close is cut off. */
  private drop(client: StreamClient, code: number, reason: string, graceMs = this.o.limits.closeGraceMs): void {
    this.detach(client);
    const ws = client.ws;
    if (ws.readyState === OPEN) ws.close(code, reason.slice(0, 120));
    const timer = setTimeout(() => ws.terminate(), graceMs);
    timer.unref();
    ws.once('close', () => clearTimeout(timer));
  }
}

function eventMessage(event: StoredEvent): string {
  return `{"type":"event","event":${JSON.stringify({
    id: event.id,
    type: event.type,
    source: event.source,
    data: event.data,
    correlationId: event.correlationId,
    timestamp: event.timestamp,
  })}}`;
}
