/**
 * Reads how long a server asked us to wait. `retry-after-ms` (sent by OpenAI and Anthropic, finer
 * than the standard header) wins; otherwise `retry-after` as delay-seconds or as an HTTP date.
 * Fractional seconds are accepted, which lets tests ask for short waits.
 */
export function parseRetryAfterMs(headers: Headers | null | undefined, now: number = Date.now()): number | null {
  if (!headers) return null;
  const milliseconds = parseNonNegativeNumber(headers.get('retry-after-ms'));
  if (milliseconds !== null) return Math.ceil(milliseconds);
  const value = headers.get('retry-after')?.trim();
  if (!value) return null;
  const seconds = parseNonNegativeNumber(value);
  if (seconds !== null) return Math.ceil(seconds * 1000);
  // An HTTP date always names its weekday and month; Date.parse alone would take "-5" as a year.
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

function parseNonNegativeNumber(value: string | null): number | null {
  if (value === null || !/^\s*\d+(\.\d+)?\s*$/.test(value)) return null;
  return Number(value);
}
