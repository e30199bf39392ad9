import { ProviderError } from './errors.js';

/**
 * A model provider's failure behind an outcome (a swarm that failed, a vote that was not cast):
 * which provider, its HTTP status if it answered, and what it said (the ProviderError's message,
 * which names the provider first: `anthropic 401: invalid x-api-key`).
 */
export interface ProviderFailure {
  provider: string;
  status: number | null;
  message: string;
}

/** The ProviderError an error is or was caused by (following `cause`), as a ProviderFailure; else null. */
export function providerFailureOf(error: unknown): ProviderFailure | null {
  const seen = new Set<unknown>();
  for (let e = error; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (e instanceof ProviderError) {
      const provider = typeof e.details.provider === 'string' ? e.details.provider : 'provider';
      return { provider, status: e.status, message: e.message };
    }
  }
  return null;
}

/** What the provider said, without the provider's name in front: `401 invalid x-api-key`. */
export function providerCause(failure: ProviderFailure): string {
  const prefix = new RegExp(`^${failure.provider.replace(/[-]/g, '\\-')}(?: (\\d{3}))?:\\s*`);
  const rest = failure.message.replace(prefix, '');
  return failure.status === null ? rest : `${failure.status} ${rest}`;
}
