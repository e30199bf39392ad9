import type { ColonyConfig } from './config.js';
import { resolveProvidersConfig } from '../providers/provider-config.js';
import { ProviderRegistry, type ProviderFactories } from '../providers/provider-registry.js';
import type { ResilienceEvent } from '../providers/resilient-provider.js';
import type { Tracer } from '../ports/tracer.js';

/** The vendor adapters the provider registry builds, each loaded on first use (the SDKs cost a few hundred ms to import). */
export const PROVIDER_FACTORIES: ProviderFactories = {
  async api(config, onEvent) {
    const { createProvider: create } = await import('./create-provider.js');
    return create(config, { onEvent });
  },
  async claudeCode(config, run, onEvent, slots) {
    const { createClaudeCodeProvider } = await import('../adapters/providers/claude-code/create-claude-code-provider.js');
    return createClaudeCodeProvider(config, run, { onEvent, slots });
  },
};

/** The configured providers with the vendor adapters above: what a colony uses, and what `colony providers` inspects without opening the database. */
export function createProviderRegistry(config: ColonyConfig, env: NodeJS.ProcessEnv, onEvent: (event: ResilienceEvent) => void, tracer?: Tracer): ProviderRegistry {
  return new ProviderRegistry(resolveProvidersConfig(config.providers, env), config.agents.defaultProvider, PROVIDER_FACTORIES, onEvent, tracer);
}
