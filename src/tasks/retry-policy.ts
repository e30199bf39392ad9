export interface RetryPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
  /** 0..1: the share of the delay that is randomised. */
  jitter: number;
}

/**
 * Exponential backoff with jitter: attempt 1 failed -> about base, 2 -> 2x base, ... capped at max.
 * Jitter spreads retries of tasks that failed together so they do not retry in lockstep.
 */
export function retryDelayMs(policy: RetryPolicy, failedAttempt: number, random: () => number = Math.random): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failedAttempt - 1));
  const spread = exponential * policy.jitter;
  return Math.max(0, Math.round(exponential - spread + random() * 2 * spread));
}
