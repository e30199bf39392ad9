import { describeMs, MAX_TIMER_MS } from '../domain/bounds.js';
import { ValidationError } from '../domain/errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Parses `500ms`, `30s`, `5m`, `1h`, `1m30s` or a bare number of milliseconds. At most `max` ms
 * (default: the longest timer, 2^31-1 ms, since most durations become one).
 */
export function parseDuration(text: string, max: number = MAX_TIMER_MS): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return checkDurationMs(Number(trimmed), max, text);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new ValidationError(`invalid duration "${text}": use e.g. 500ms, 30s, 5m or 1h`);
  }
  return checkDurationMs(
    Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * (UNITS[p[2] as string] as number), 0)),
    max,
    text,
  );
}

/** A duration in milliseconds: a positive whole number up to `max`. `shown` is what the caller gave. */
export function checkDurationMs(ms: number, max: number = MAX_TIMER_MS, shown: string = String(ms)): number {
  if (Number.isNaN(ms) || ms <= 0) throw new ValidationError(`invalid duration "${shown}": must be greater than zero`);
  if (!(ms <= max)) throw new ValidationError(`invalid duration "${shown}": at most ${max} ms (${describeMs(max)})`);
  return Math.round(ms);
}

/**
 * A duration for people: `464ms`, `1.2s`, `30s`, `3m5s`, `2h10m`. Rounds before choosing the unit,
 * so that 999.7 ms reads `1s` and 59.97 s reads `1m0s` (never `1000ms`, `60.0s` or `1m60s`).
 */
export function formatDuration(ms: number): string {
  const whole = Math.max(0, Math.round(Number.isFinite(ms) ? ms : 0));
  if (whole < 1_000) return `${whole}ms`;
  if (Math.round(whole / 100) < 600) return `${(whole / 1_000).toFixed(1).replace(/\.0$/, '')}s`;
  const seconds = Math.round(whole / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}
