import { ExponentialBackoff, type IBackoff, type IBackoffFactory, type IRetryBackoffContext } from 'cockatiel';
import { ProviderError } from '../domain/errors.js';

type RetryContext = IRetryBackoffContext<unknown>;

/**
 * Exponential backoff with decorrelated jitter (cockatiel's default generator, which spreads
 * retries from many agents apart) that never waits less than a server's retry-after: each step
 * lasts max(jittered exponential delay, retryAfterMs of the error that caused it).
 */
export function retryAfterAwareBackoff(options: { initialDelayMs: number; maxDelayMs: number }): IBackoffFactory<RetryContext> {
  const exponential = new ExponentialBackoff({ initialDelay: options.initialDelayMs, maxDelay: options.maxDelayMs });
  return { next: (context) => honourRetryAfter(exponential.next(), context) };
}

function honourRetryAfter(backoff: IBackoff<unknown>, context: RetryContext): IBackoff<RetryContext> {
  return {
    duration: Math.max(backoff.duration, retryAfterOf(context)),
    next: (nextContext) => honourRetryAfter(backoff.next(nextContext), nextContext),
  };
}

function retryAfterOf(context: RetryContext): number {
  const error = 'error' in context.result ? context.result.error : null;
  return error instanceof ProviderError && error.retryAfterMs !== null ? error.retryAfterMs : 0;
}
