import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { ReadyWaiters } from './ready-waiters.js';
import pg from 'pg';
import { DEFAULTS } from '../../kernel/constants.js';
import type { Logger } from '../../kernel/logger.js';
import { CHANGE_TOPICS, type ChangeNotifier, type ChangeTopic } from '../../ports/change-notifier.js';
import { SCHEMA_CHANNELS_QUERY } from '../storage/postgres/schema-channels.js';
import { NotifyCoalescer } from './notify-coalescer.js';
import { TopicListeners } from './topic-listeners.js';

/**
 * The PostgreSQL channel of each topic is its schema's (schema-channels.ts: the name ends in a hash of
 * the connection's schema, read from the server once connected), so Colonies in several schemas of one
 * database do not wake each other. `events` is the channel the event log notifies at the commit of
 * each append (postgres-event-log.ts), so every process's events wake listeners with no NOTIFY of
 * their own; `tasks` says that ready work may exist.
 */
type Channels = Readonly<Record<ChangeTopic, string>>;

export interface PostgresChangeNotifierOptions {
  /** The database's URL, as the store's. */
  url: string;
  logger: Logger;
  /** Default: DEFAULTS.postgresConnectionTimeoutMs. */
  connectionTimeoutMs?: number;
  /** Default: DEFAULTS.notifyCoalesceMs. */
  coalesceMs?: number;
  /** Default: DEFAULTS.notifyReconnectBaseMs. */
  reconnectBaseMs?: number;
  /** Default: DEFAULTS.notifyReconnectMaxMs. */
  reconnectMaxMs?: number;
  /** Shown in pg_stat_activity. Default: `colony-notify`. */
  applicationName?: string;
}

type State = 'idle' | 'connecting' | 'ready' | 'waiting' | 'closed';

/**
 * LISTEN/NOTIFY on one dedicated connection, opened on first use (a process that neither listens nor
 * notifies holds none). NOTIFYs go out on that connection too, coalesced (see NotifyCoalescer), and a
 * notification whose sender is this connection's own backend is not delivered back to it.
 *
 * When the connection fails (the server restarted, the backend was terminated, the network dropped),
 * it is opened again with jittered exponential backoff; once listening again, every listener is
 * called, since notifications sent meanwhile were missed, and notifications that waited go out.
 * The outage is logged once, and its end.
 */
export class PostgresChangeNotifier implements ChangeNotifier {
  readonly crossProcess = true;
  private readonly o: PostgresChangeNotifierOptions;
  private readonly listeners: TopicListeners;
  private readonly outbox: NotifyCoalescer;
  private readonly backoffFactory: ExponentialBackoff<unknown>;
  private backoff: IBackoff<unknown> | undefined;
  private state: State = 'idle';
  /** The connection being opened or open; null between attempts. */
  private client: pg.Client | null = null;
  /** Its backend's pid, once connected: notifications from it are this instance's own. */
  private pid: number | null = null;
  /** The schema's channels, read once connected (the schema does not change between connections of one URL). */
  private channels: Channels | null = null;
  /** Topics LISTENed (or being LISTENed) on the current connection. */
  private readonly listening = new Set<ChangeTopic>();
  private retryTimer: NodeJS.Timeout | null = null;
  private readonly readyWaiters = new ReadyWaiters();
  private outage = false;
  private closing: Promise<void> | undefined;

  constructor(options: PostgresChangeNotifierOptions) {
    this.o = options;
    this.listeners = new TopicListeners(options.logger);
    this.outbox = new NotifyCoalescer({ intervalMs: options.coalesceMs ?? DEFAULTS.notifyCoalesceMs, send: (topics) => this.send(topics) });
    this.backoffFactory = new ExponentialBackoff({
      initialDelay: options.reconnectBaseMs ?? DEFAULTS.notifyReconnectBaseMs,
      maxDelay: options.reconnectMaxMs ?? DEFAULTS.notifyReconnectMaxMs,
    });
  }

  /** The pid of the connection's backend while connected (for diagnosis, and tests that terminate it). */
  get backendPid(): number | null {
    return this.state === 'ready' ? this.pid : null;
  }

  notify(topic: ChangeTopic): void {
    if (this.state === 'closed') return;
    this.outbox.add(topic);
    this.start();
  }

  listen(topic: ChangeTopic, listener: () => void): () => void {
    if (this.state === 'closed') return () => undefined;
    const unlisten = this.listeners.add(topic, listener);
    // Channels stay LISTENed when their last listener goes: a notification nobody hears is dropped here.
    if (this.state === 'ready') void this.listenAll();
    else this.start();
    return unlisten;
  }

  async ready(timeoutMs: number): Promise<boolean> {
    if (this.state === 'closed') return false;
    this.start();
    if (this.isListening()) return true;
    await this.readyWaiters.wait(timeoutMs);
    return this.isListening();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.outbox.hasPending && (this.state === 'connecting' || this.state === 'ready')) {
        // A short-lived process (a CLI that submitted tasks) must not take its last hint with it; while
        // the server is known to be away (waiting to reconnect), it is left to the others' polls.
        if (await this.ready(this.o.connectionTimeoutMs ?? DEFAULTS.postgresConnectionTimeoutMs)) await this.outbox.flush();
      }
      this.state = 'closed';
      this.outbox.stop();
      this.listeners.clear();
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = null;
      this.releaseWaiters();
      const client = this.client;
      this.client = null;
      await client?.end().catch(() => undefined);
    })();
    return this.closing;
  }

  private start(): void {
    if (this.state === 'idle') void this.connect();
  }

  private isListening(): boolean {
    return this.state === 'ready' && this.listeners.topics().every((topic) => this.listening.has(topic));
  }

  private async connect(): Promise<void> {
    this.retryTimer = null;
    this.state = 'connecting';
    this.listening.clear();
    const client = new pg.Client({
      connectionString: this.o.url,
      connectionTimeoutMillis: this.o.connectionTimeoutMs ?? DEFAULTS.postgresConnectionTimeoutMs,
      application_name: this.o.applicationName ?? 'colony-notify',
      // A connection that dies without a word (a host gone) is noticed by TCP keepalive, not only at the next NOTIFY.
      keepAlive: true,
    });
    this.client = client;
    // Errors after the failure has been handled (the end of a terminated connection) are expected.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('the connection ended')));
    client.on('notification', (message) => this.heard(client, message));
    try {
      await client.connect();
      const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      const { rows: named } = await client.query<Record<ChangeTopic, string>>(SCHEMA_CHANNELS_QUERY);
      if (this.client !== client) return;
      this.pid = rows[0]?.pid ?? null;
      if (named[0]) this.channels = named[0];
      this.state = 'ready';
      this.backoff = undefined;
      if (this.outage) {
        this.outage = false;
        this.o.logger.info('change notifications: connection to PostgreSQL restored');
      }
      await this.listenAll();
      if (this.isListening()) this.releaseWaiters();
      this.outbox.resume();
    } catch (error) {
      this.lost(client, error as Error);
    }
  }

  /** LISTENs to the topics with listeners not yet listened to, then wakes their listeners: hints sent before may have been missed. */
  private async listenAll(): Promise<void> {
    const client = this.client;
    const channels = this.channels;
    const topics = this.listeners.topics().filter((topic) => !this.listening.has(topic));
    if (!client || !channels || topics.length === 0) return;
    for (const topic of topics) this.listening.add(topic);
    try {
      await client.query(topics.map((topic) => `listen ${channels[topic]}`).join('; '));
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    if (this.client !== client || this.state !== 'ready') return;
    if (this.isListening()) this.releaseWaiters();
    for (const topic of topics) this.listeners.call(topic);
  }

  private async send(topics: readonly ChangeTopic[]): Promise<boolean> {
    const client = this.client;
    const channels = this.channels;
    if (!client || !channels || this.state !== 'ready') return false;
    await client.query(topics.map((topic) => `notify ${channels[topic]}`).join('; '));
    return true;
  }

  private heard(client: pg.Client, message: pg.Notification): void {
    const channels = this.channels;
    if (client !== this.client || message.processId === this.pid || !channels) return;
    const topic = CHANGE_TOPICS.find((t) => channels[t] === message.channel);
    if (topic) this.listeners.call(topic);
  }

  /** The connection failed: drop it and try again after a backoff. */
  private lost(client: pg.Client, error: Error): void {
    if (client !== this.client) return;
    this.client = null;
    this.pid = null;
    this.listening.clear();
    client.end().catch(() => undefined);
    if (this.state === 'closed') return;
    if (!this.outage) {
      this.outage = true;
      this.o.logger.warn({ err: error }, 'change notifications: no connection to PostgreSQL; reconnecting (meanwhile polls find other processes\' work)');
    }
    this.state = 'waiting';
    this.backoff = (this.backoff ?? this.backoffFactory).next(undefined);
    this.retryTimer = setTimeout(() => void this.connect(), this.backoff.duration);
    this.retryTimer.unref();
  }

  private releaseWaiters(): void {
    this.readyWaiters.release();
  }
}
