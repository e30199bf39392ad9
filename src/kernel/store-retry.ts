import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import { isTransientStorageError } from '../domain/errors.js';
import { DEFAULTS } from './constants.js';

/** How a store write that must not be lost is tried again while the store does not answer. */
export interface StoreRetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  /** No new try starts this long after the first: the last error is thrown. */
  windowMs: number;
}

export const DEFAULT_STORE_RETRY: StoreRetryPolicy = {
  baseDelayMs: DEFAULTS.storeRetryBaseMs,
  maxDelayMs: DEFAULTS.storeRetryMaxMs,
  windowMs: DEFAULTS.storeRetryWindowMs,
};

export interface StoreRetryOptions {
  policy?: StoreRetryPolicy;
  /** Told before each wait (a log line); `attempt` is the try that failed, from 1. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * Runs `write`, and runs it again with jittered exponential backoff (cockatiel's) for as long as it
 * fails with a transient store error (the database restarting or unreachable, a lock, a serialization
 * failure: `isTransientStorageError`) within the window. Any other error, or the last one, is thrown.
 * `attempt` starts at 1: a later attempt may find that an earlier one committed although its answer
 * was lost with the connection, and must count that as done (the writes it guards are compare-and-set).
 */
export async function retryStoreWrite<T>(write: (attempt: number) => Promise<T>, options: StoreRetryOptions = {}): Promise<T> {
  const policy = options.policy ?? DEFAULT_STORE_RETRY;
  const started = performance.now();
  const retrying = retry(
    handleWhen((error) => isTransientStorageError(error) && performance.now() - started < policy.windowMs),
    { backoff: new ExponentialBackoff({ initialDelay: policy.baseDelayMs, maxDelay: policy.maxDelayMs }) },
  );
  const { onRetry } = options;
  const listener = onRetry ? retrying.onRetry((event) => 'error' in event && onRetry(event.error, event.attempt, event.delay)) : undefined;
  try {
    return await retrying.execute(({ attempt }) => write(attempt + 1));
  } finally {
    listener?.dispose();
  }
}
