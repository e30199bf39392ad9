import { randomBytes } from 'node:crypto';
import { ReadyWaiters } from './ready-waiters.js';
import { Redis, type RedisOptions } from 'ioredis';
import { DEFAULTS } from '../../kernel/constants.js';
import type { Logger } from '../../kernel/logger.js';
import { CHANGE_TOPICS, type ChangeNotifier, type ChangeTopic } from '../../ports/change-notifier.js';
import { describeRedisUrl, reconnectDelay } from '../cache/redis/redis-connection.js';
import { NotifyCoalescer } from './notify-coalescer.js';
import { TopicListeners } from './topic-listeners.js';
import { quitRedis } from '../cache/redis/quit-redis.js';

/** A PUBLISH without a reply after this long fails (the hint is kept for the reconnect). */
const COMMAND_TIMEOUT_MS = 1_000;

export interface RedisChangeNotifierOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  url: string;
  /** Each topic's channel is this prefix and the topic: one prefix per colony (per database) sharing the Redis. */
  channelPrefix: string;
  logger: Logger;
  /** Default: DEFAULTS.notifyCoalesceMs. */
  coalesceMs?: number;
  /** Default: DEFAULTS.postgresConnectionTimeoutMs (the store's). */
  connectTimeoutMs?: number;
  /** Default: DEFAULTS.notifyReconnectBaseMs. */
  reconnectBaseMs?: number;
  /** Default: DEFAULTS.notifyReconnectMaxMs. */
  reconnectMaxMs?: number;
  /** Further ioredis options (TLS, username, …); the options above win over these. */
  redisOptions?: RedisOptions;
}

/**
 * Redis pub/sub: one connection publishes (coalesced, see NotifyCoalescer), one subscribes; both are
 * opened on first use. A message carries the sending instance's id, and an instance does not hear its
 * own. ioredis reconnects with capped, jittered backoff; once the subscriber is ready again it
 * subscribes afresh and calls every listener, since messages published meanwhile were missed, and
 * what waited to be published goes out.
 */
export class RedisChangeNotifier implements ChangeNotifier {
  readonly crossProcess = true;
  private readonly o: RedisChangeNotifierOptions;
  private readonly instanceId = randomBytes(8).toString('hex');
  private readonly listeners: TopicListeners;
  private readonly outbox: NotifyCoalescer;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  /** Topics subscribed (or being subscribed) on the subscriber's current connection. */
  private readonly subscribed = new Set<ChangeTopic>();
  private readonly readyWaiters = new ReadyWaiters();
  private started = false;
  private closed = false;
  private outage = false;
  private closing: Promise<void> | undefined;

  constructor(options: RedisChangeNotifierOptions) {
    this.o = options;
    this.listeners = new TopicListeners(options.logger);
    this.outbox = new NotifyCoalescer({ intervalMs: options.coalesceMs ?? DEFAULTS.notifyCoalesceMs, send: (topics) => this.send(topics) });
    const base = options.reconnectBaseMs ?? DEFAULTS.notifyReconnectBaseMs;
    const max = options.reconnectMaxMs ?? DEFAULTS.notifyReconnectMaxMs;
    const common: RedisOptions = {
      ...options.redisOptions,
      connectTimeout: options.connectTimeoutMs ?? DEFAULTS.postgresConnectionTimeoutMs,
      retryStrategy: (times) => reconnectDelay(times, base, max),
      lazyConnect: true,
    };
    // A publish never waits for a connection: while there is none, the coalescer keeps the hint.
    this.publisher = new Redis(options.url, { ...common, connectionName: 'colony-notify-pub', enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: COMMAND_TIMEOUT_MS });
    // Subscriptions are made afresh on each ready (and listeners woken then), not replayed by ioredis.
    this.subscriber = new Redis(options.url, { ...common, connectionName: 'colony-notify-sub', autoResubscribe: false, maxRetriesPerRequest: null });
    this.publisher.on('ready', () => {
      this.restored();
      this.outbox.resume();
      this.releaseWaiters();
    });
    this.subscriber.on('ready', () => {
      this.restored();
      this.subscribed.clear();
      void this.subscribeAll();
    });
    for (const connection of [this.publisher, this.subscriber]) {
      connection.on('error', (error: Error) => this.failed(error));
      connection.on('close', () => this.subscribed.clear());
    }
    this.subscriber.on('message', (channel: string, message: string) => this.heard(channel, message));
  }

  get description(): string {
    return `redis ${describeRedisUrl(this.o.url)} channels ${this.o.channelPrefix}*`;
  }

  notify(topic: ChangeTopic): void {
    if (this.closed) return;
    this.outbox.add(topic);
    this.start();
  }

  listen(topic: ChangeTopic, listener: () => void): () => void {
    if (this.closed) return () => undefined;
    const unlisten = this.listeners.add(topic, listener);
    if (this.subscriber.status === 'ready') void this.subscribeAll();
    this.start();
    return unlisten;
  }

  async ready(timeoutMs: number): Promise<boolean> {
    if (this.closed) return false;
    this.start();
    if (this.isReady()) return true;
    await this.readyWaiters.wait(timeoutMs);
    return this.isReady();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      // A short-lived process must not take its last hint with it, unless Redis is known to be away.
      const reachable = this.publisher.status === 'ready' || this.publisher.status === 'connecting' || this.publisher.status === 'connect';
      if (this.outbox.hasPending && !this.closed && reachable && (await this.ready(this.o.connectTimeoutMs ?? DEFAULTS.postgresConnectionTimeoutMs))) await this.outbox.flush();
      this.closed = true;
      this.outbox.stop();
      this.listeners.clear();
      this.releaseWaiters();
      await Promise.all([quitRedis(this.publisher), quitRedis(this.subscriber)]);
    })();
    return this.closing;
  }

  private start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    // Failures to connect are reported through 'error' and retried by ioredis.
    this.publisher.connect().catch(() => undefined);
    this.subscriber.connect().catch(() => undefined);
  }

  private isReady(): boolean {
    return (
      !this.closed &&
      this.publisher.status === 'ready' &&
      this.subscriber.status === 'ready' &&
      this.listeners.topics().every((topic) => this.subscribed.has(topic))
    );
  }

  /** Subscribes to the topics with listeners not yet subscribed, then wakes their listeners: messages sent before were missed. */
  private async subscribeAll(): Promise<void> {
    const topics = this.listeners.topics().filter((topic) => !this.subscribed.has(topic));
    if (topics.length > 0) {
      for (const topic of topics) this.subscribed.add(topic);
      try {
        await this.subscriber.subscribe(...topics.map((topic) => this.channel(topic)));
      } catch {
        // The connection went: its next ready subscribes again.
        for (const topic of topics) this.subscribed.delete(topic);
        return;
      }
      for (const topic of topics) this.listeners.call(topic);
    }
    if (this.isReady()) this.releaseWaiters();
  }

  private async send(topics: readonly ChangeTopic[]): Promise<boolean> {
    if (this.publisher.status !== 'ready') return false;
    await Promise.all(topics.map((topic) => this.publisher.publish(this.channel(topic), this.instanceId)));
    return true;
  }

  private heard(channel: string, message: string): void {
    if (this.closed || message === this.instanceId) return;
    const topic = CHANGE_TOPICS.find((t) => this.channel(t) === channel);
    if (topic) this.listeners.call(topic);
  }

  private channel(topic: ChangeTopic): string {
    return `${this.o.channelPrefix}${topic}`;
  }

  private failed(error: Error): void {
    if (this.closed || this.outage) return;
    this.outage = true;
    this.o.logger.warn({ err: error, redis: this.description }, 'change notifications: Redis unreachable; reconnecting (meanwhile polls find other processes\' work)');
  }

  private restored(): void {
    if (!this.outage) return;
    this.outage = false;
    this.o.logger.info({ redis: this.description }, 'change notifications: Redis reachable again');
  }

  private releaseWaiters(): void {
    if (!this.isReady() && !this.closed) return;
    this.readyWaiters.release();
  }
}
