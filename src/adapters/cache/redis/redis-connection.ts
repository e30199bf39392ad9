/** Share of the reconnect delay randomised (so that many processes do not reconnect in lockstep). */
const RECONNECT_JITTER = 0.2;

/** Reconnect backoff for ioredis' `retryStrategy`: exponential from `baseMs`, capped at `maxMs`, jittered down. */
export function reconnectDelay(attempt: number, baseMs: number, maxMs: number): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.max(1, Math.round(exponential * (1 - RECONNECT_JITTER * Math.random())));
}

/** `host:port/db` of a Redis URL, without credentials (for logs and descriptions). */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const db = parsed.pathname && parsed.pathname !== '/' ? parsed.pathname : '';
    return `${parsed.hostname}:${parsed.port || '6379'}${db}`;
  } catch {
    return '(invalid url)';
  }
}
