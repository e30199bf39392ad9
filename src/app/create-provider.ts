import type { Provider } from '../ports/provider.js';
import { AnthropicProvider } from '../adapters/providers/anthropic/anthropic-provider.js';
import { OpenAIProvider } from '../adapters/providers/openai/openai-provider.js';
import type { ResolvedApiProviderConfig } from '../providers/provider-config.js';
import { ResilientProvider, type ResilienceOptions } from '../providers/resilient-provider.js';

/**
 * Builds a ready-to-use provider from resolved configuration: the SDK adapter for `config.id`
 * inside a ResilientProvider carrying the configured timeout, retries and concurrency. The
 * composition root calls this once per provider, so each has its own breaker and bulkhead.
 */
export function createProvider(
  config: ResolvedApiProviderConfig,
  resilience: Omit<ResilienceOptions, 'timeoutMs' | 'maxRetries' | 'maxConcurrency'> = {},
): ResilientProvider {
  const inner: Provider =
    config.id === 'anthropic'
      ? new AnthropicProvider({ apiKey: config.apiKey, baseUrl: config.baseUrl, timeoutMs: config.timeoutMs })
      : new OpenAIProvider({ apiKey: config.apiKey, baseUrl: config.baseUrl, timeoutMs: config.timeoutMs });
  return new ResilientProvider(inner, {
    ...resilience,
    timeoutMs: config.timeoutMs,
    maxRetries: config.maxRetries,
    maxConcurrency: config.maxConcurrency,
  });
}
