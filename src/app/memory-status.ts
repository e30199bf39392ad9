import type { Logger } from '../kernel/logger.js';
import { MEMORY_DEFAULTS } from '../memory/memory-defaults.js';
import type { MemoryManager } from '../memory/memory-manager.js';

/** Which of memory's tiers work now, for `colony status` and GET /api/v2/system/status. */
export interface MemoryStatus {
  /** The tiers reads go through now: `L1` (this process), `L2` (Redis, shared between processes), `L3` (the database). */
  tiers: ('L1' | 'L2' | 'L3')[];
  /** The configured L2 (`memory.redisUrl`), without credentials; null when none is configured. */
  redis: { description: string; healthy: boolean } | null;
  /**
   * A configured Redis does not answer: memory runs on L1 and the database until it does (every
   * read that misses L1 goes to the database; other processes' writes reach this one's L1 only by
   * revalidation, `memory.l1RevalidateMs`, instead of at once).
   */
  degraded: boolean;
  /** One line for people. */
  summary: string;
}

export interface MemoryStatusInput {
  redisUrl: string | null;
  /** The colony's memory if it has been opened (its own view of Redis); else Redis is probed. */
  opened: Promise<{ manager: MemoryManager }> | null;
  logger: Logger;
  /** How long a probe waits for Redis to answer. Default: MEMORY_DEFAULTS.l2ConnectWaitMs. */
  connectWaitMs?: number;
}

/**
 * Reports memory's tiers without opening memory: the opened memory's own L2 state when there is
 * one, otherwise a probe (a connection made and closed) of the configured Redis. Never throws.
 */
export async function memoryStatus(input: MemoryStatusInput): Promise<MemoryStatus> {
  if (!input.redisUrl) return describe(null);
  const opened = await input.opened?.catch(() => null);
  if (opened) {
    const { l2 } = await opened.manager.stats().catch(() => ({ l2: null }));
    if (l2?.configured) return describe({ description: l2.description ?? input.redisUrl, healthy: l2.healthy });
  }
  // Loaded only here: a command that never looks at Redis never loads its client.
  const [{ RedisCache }, { describeRedisUrl }] = await Promise.all([import('../adapters/cache/redis/redis-cache.js'), import('../adapters/cache/redis/redis-connection.js')]);
  // The probe's own outage line would only repeat what the status says.
  const cache = new RedisCache({ url: input.redisUrl, keyPrefix: 'colony:probe:', logger: input.logger.child({}, { level: 'silent' }) });
  try {
    const healthy = await cache.ready(input.connectWaitMs ?? MEMORY_DEFAULTS.l2ConnectWaitMs);
    return describe({ description: `redis ${describeRedisUrl(input.redisUrl)}`, healthy });
  } finally {
    await cache.close();
  }
}

function describe(redis: MemoryStatus['redis']): MemoryStatus {
  if (redis === null) return { tiers: ['L1', 'L3'], redis, degraded: false, summary: 'L1 and the database (no Redis configured: memory.redisUrl)' };
  if (redis.healthy) return { tiers: ['L1', 'L2', 'L3'], redis, degraded: false, summary: `L1, ${redis.description} and the database` };
  return {
    tiers: ['L1', 'L3'],
    redis,
    degraded: true,
    summary: `DEGRADED: ${redis.description} does not answer; memory runs on L1 and the database until it does`,
  };
}
