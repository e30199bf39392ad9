import type { Colony } from '../app/colony.js';
import { providerCause, type ProviderFailure } from '../domain/provider-failure.js';
import { redactUrl } from '../security/redact-url.js';

/** A ProviderError's message: the provider's name, the HTTP status if it answered, what it said. */
const PROVIDER_MESSAGE = /^([a-z][a-z-]*)(?: (\d{3}))?: /;

/**
 * One line that names the provider, where it was called and what went wrong, e.g.
 * `provider anthropic (http://127.0.0.1:8080): 401 invalid x-api-key`.
 */
export function providerFailureLine(colony: Colony, failure: ProviderFailure): string {
  const where = colony.providers.list().find((p) => p.id === failure.provider)?.baseUrl;
  return `provider ${failure.provider}${where ? ` (${redactUrl(where)})` : ''}: ${providerCause(failure)}`;
}

/** A provider failure from a task's error (`code: provider`, message as ProviderError writes it); else null. */
export function providerFailureOfTaskError(error: { code: string; message: string } | null): ProviderFailure | null {
  if (error?.code !== 'provider') return null;
  const m = PROVIDER_MESSAGE.exec(error.message);
  if (!m) return null;
  return { provider: m[1] as string, status: m[2] === undefined ? null : Number(m[2]), message: error.message };
}
