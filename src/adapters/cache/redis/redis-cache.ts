import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../../kernel/logger.js';
import { REDIS_CACHE_DEFAULTS } from '../../../memory/memory-defaults.js';
import type { Cache } from '../../../ports/cache.js';
import { describeRedisUrl, reconnectDelay } from './redis-connection.js';
import { quitRedis } from './quit-redis.js';

export interface RedisCacheOptions {
  /** `redis://[user:password@]host:port[/db]`; default 127.0.0.1:6379. */
  url?: string;
  /** Every key lives under this prefix (so several colonies can share one Redis). */
  keyPrefix?: string;
  /** Pub/sub channel of invalidations; default `<keyPrefix>invalidations`. */
  channel?: string;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** Outages are logged here: once when Redis becomes unreachable, once when it is back. */
  logger: Logger;
  /** Further ioredis options (TLS, username, …); the resilience options above win over these. */
  redisOptions?: RedisOptions;
}

/**
 * Memory's L2 on Redis. Two connections: one for commands, one subscribed to the invalidation
 * channel. Commands never wait for a connection (`enableOfflineQueue: false`, no retries per
 * request, a short command timeout), so a down or slow Redis turns every call into a miss / no-op
 * at once, and `healthy` goes false. ioredis reconnects in the background with capped exponential
 * backoff; `healthy` comes back when both connections are ready again.
 *
 * Invalidation messages carry the publishing instance's id, and an instance does not hear its own:
 * the publisher already holds the new value.
 */
export class RedisCache implements Cache {
  readonly description: string;
  private readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly prefix: string;
  private readonly channel: string;
  private readonly instanceId = randomBytes(8).toString('hex');
  private readonly listeners = new Set<(key: string) => void>();
  private readonly logger: Logger;
  private readonly readyWaiters = new Set<() => void>();
  private outageLogged = false;
  private everHealthy = false;
  private closed = false;
  /** Commands that failed on a connection that looked ready (timeouts, errors); logged at debug. */
  private commandErrors = 0;

  constructor(options: RedisCacheOptions) {
    const url = options.url ?? REDIS_CACHE_DEFAULTS.url;
    this.prefix = options.keyPrefix ?? REDIS_CACHE_DEFAULTS.keyPrefix;
    this.channel = options.channel ?? `${this.prefix}invalidations`;
    this.logger = options.logger;
    this.description = `redis ${describeRedisUrl(url)} prefix ${this.prefix}`;
    const base = options.reconnectBaseMs ?? REDIS_CACHE_DEFAULTS.reconnectBaseMs;
    const max = options.reconnectMaxMs ?? REDIS_CACHE_DEFAULTS.reconnectMaxMs;
    const common: RedisOptions = {
      ...options.redisOptions,
      connectTimeout: options.connectTimeoutMs ?? REDIS_CACHE_DEFAULTS.connectTimeoutMs,
      retryStrategy: (times) => reconnectDelay(times, base, max),
      lazyConnect: false,
    };
    this.client = new Redis(url, {
      ...common,
      connectionName: 'colony-cache',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? REDIS_CACHE_DEFAULTS.commandTimeoutMs,
      autoResendUnfulfilledCommands: false,
    });
    // The subscriber only ever sends SUBSCRIBE: it may queue it until connected, and ioredis
    // re-subscribes by itself after every reconnect.
    this.subscriber = new Redis(url, {
      ...common,
      connectionName: 'colony-cache-sub',
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      autoResubscribe: true,
    });

    for (const connection of [this.client, this.subscriber]) {
      connection.on('ready', () => this.onStateChange());
      connection.on('close', () => this.onStateChange());
      connection.on('end', () => this.onStateChange());
      connection.on('error', (error: Error) => this.onStateChange(error));
    }
    this.subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    this.subscriber.subscribe(this.channel).catch((error: unknown) => {
      if (!this.closed) this.logger.warn({ err: error, channel: this.channel }, 'L2 cache: could not subscribe to invalidations');
    });
  }

  get healthy(): boolean {
    return !this.closed && this.client.status === 'ready' && this.subscriber.status === 'ready';
  }

  /** Resolves true once both connections are ready, false after `timeoutMs` (or when closed). */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.healthy) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.readyWaiters.delete(done);
        resolve(this.healthy);
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      this.readyWaiters.add(done);
    });
  }

  async get(key: string): Promise<Buffer | undefined> {
    if (!this.healthy) return undefined;
    try {
      const value = await this.client.getBuffer(this.prefix + key);
      return value ?? undefined;
    } catch (error) {
      this.commandFailed('get', error);
      return undefined;
    }
  }

  async set(key: string, value: Buffer, ttlMs: number | null): Promise<void> {
    if (!this.healthy) return;
    try {
      if (ttlMs === null) {
        await this.client.set(this.prefix + key, value);
      } else if (ttlMs >= 1) {
        await this.client.set(this.prefix + key, value, 'PX', Math.ceil(ttlMs));
      } else {
        // Already expired (or a TTL under a millisecond): the cache must not hold it.
        await this.client.del(this.prefix + key);
      }
    } catch (error) {
      this.commandFailed('set', error);
    }
  }

  async delete(key: string): Promise<void> {
    if (!this.healthy) return;
    try {
      await this.client.del(this.prefix + key);
    } catch (error) {
      this.commandFailed('delete', error);
    }
  }

  async publishInvalidation(key: string): Promise<void> {
    if (!this.healthy) return;
    try {
      await this.client.publish(this.channel, `${this.instanceId} ${key}`);
    } catch (error) {
      this.commandFailed('publish', error);
    }
  }

  onInvalidation(listener: (key: string) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    for (const done of [...this.readyWaiters]) done();
    await Promise.all([quitRedis(this.client), quitRedis(this.subscriber)]);
  }

  private onMessage(channel: string, message: string): void {
    if (channel !== this.channel || this.closed) return;
    const space = message.indexOf(' ');
    if (space < 0) return;
    if (message.slice(0, space) === this.instanceId) return;
    const key = message.slice(space + 1);
    for (const listener of this.listeners) {
      try {
        listener(key);
      } catch (error) {
        this.logger.error({ err: error }, 'L2 cache: invalidation listener failed');
      }
    }
  }

  private onStateChange(error?: Error): void {
    if (this.closed) return;
    if (this.healthy) {
      if (this.outageLogged) this.logger.info({ cache: this.description }, 'L2 cache reachable again');
      this.outageLogged = false;
      this.everHealthy = true;
      for (const done of [...this.readyWaiters]) done();
      return;
    }
    // One line per outage: the first sign of it (an error, or losing a connection we had).
    if (!this.outageLogged && (error !== undefined || this.everHealthy)) {
      this.outageLogged = true;
      this.logger.warn(
        { cache: this.description, err: error },
        'L2 cache unreachable: memory works on L1 and L3 until it is back',
      );
    }
  }

  private commandFailed(command: string, error: unknown): void {
    this.commandErrors++;
    this.logger.debug({ err: error, command, failures: this.commandErrors }, 'L2 cache command failed (treated as a miss)');
  }
}
