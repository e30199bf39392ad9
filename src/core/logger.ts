import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths whose values are never logged, whatever object they appear in. */
const REDACT = ['apiKey', '*.apiKey', '*.*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'token', '*.token', 'secret', '*.secret'];

/** Logs go to stderr so that stdout stays clean for `--json` output and piping. */
export function createLogger(level: string, name = 'colony'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } }, pino.destination(2));
}
