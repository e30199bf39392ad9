import { createHash } from 'node:crypto';
import type { ColonyConfig } from './config.js';
import { databaseIdentity } from './open-store.js';
import type { EventBus } from '../ports/event-bus.js';
import type { Logger } from '../kernel/logger.js';
import type { Embedder } from '../ports/embedder.js';
import type { Store } from '../ports/store.js';
import { resolveProvidersConfig } from '../providers/provider-config.js';
import { LocalEmbedder } from '../adapters/embedders/local-embedder.js';
import { MemoryManager } from '../memory/memory-manager.js';

export interface MemoryWiring {
  config: ColonyConfig;
  store: Store;
  events: EventBus;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  now: () => number;
}

/**
 * Builds the colony's MemoryManager from configuration: L3 is the store's memory tier; L2 is Redis
 * when `memory.redisUrl` is set (keys prefixed per database, so several projects can share one
 * Redis); the embedder is the built-in local one unless `memory.embedder` is `openai`.
 */
export interface ColonyMemory {
  manager: MemoryManager;
  /** Stops the manager's background work, then closes its Redis connections (the manager leaves them open). */
  close(): Promise<void>;
}

export async function createMemoryManager(wiring: MemoryWiring): Promise<ColonyMemory> {
  const { config, store, events, logger, env, now } = wiring;
  const m = config.memory;
  const project = createHash('sha256').update(databaseIdentity(config.database)).digest('hex').slice(0, 12);
  // The Redis client and the OpenAI embedder load only when configured: ioredis alone is some 90 modules.
  const cache = m.redisUrl ? new (await import('../adapters/cache/redis/redis-cache.js')).RedisCache({ url: m.redisUrl, keyPrefix: `colony:${project}:`, logger }) : undefined;
  if (!cache) logger.info('memory: no Redis configured (memory.redisUrl); running on L1 and the database');
  const embedder: Embedder =
    m.embedder === 'openai'
      ? (await import('../adapters/embedders/openai-embedder.js')).openAIEmbedderFromConfig(resolveProvidersConfig(config.providers, env).openai, {
          model: m.embeddingModel,
          dimensions: m.embeddingDimensions,
        })
      : new LocalEmbedder();
  const manager = new MemoryManager({
    store: store.memory,
    ...(cache ? { cache } : {}),
    embedder,
    events,
    logger,
    tuning: { l1MaxBytes: m.l1MaxBytes, l1TtlMs: m.l1TtlMs, l1RevalidateMs: m.l1RevalidateMs, l2TtlMs: m.l2TtlMs, gcIntervalMs: m.gcIntervalMs },
    now,
  });
  return {
    manager,
    close: async () => {
      await manager.close();
      await cache?.close();
    },
  };
}
