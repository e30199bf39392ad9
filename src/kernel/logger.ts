import { pino, type Logger } from 'pino';
import { redactUrl, redactUrlsInText } from '../security/redact-url.js';
import type { TraceIds } from '../ports/tracer.js';

export type { Logger };

/** Paths whose values are never logged, whatever object they appear in. */
const REDACT = ['apiKey', '*.apiKey', '*.*.apiKey', 'authorization', '*.authorization', 'headers.authorization', 'token', '*.token', 'secret', '*.secret'];

/** Fields that hold URLs: credentials in them (query, userinfo) are redacted. */
const URL_FIELDS = ['url', 'baseUrl', 'redisUrl', 'databaseUrl'] as const;

const urlSerializer = (value: unknown): unknown => (typeof value === 'string' ? redactUrl(value) : value);

/**
 * Logs go to stderr so that stdout stays clean for `--json` output and piping; `file` sends them to
 * that file instead (appended, its folder created), for commands whose stderr is a live view.
 * `traceIds`, when tracing is on, gives the current span's ids, which each line then carries
 * (`trace_id`, `span_id`).
 */
export function createLogger(level: string, name = 'colony', file?: string, traceIds?: () => TraceIds | undefined): Logger {
  return pino(
    {
      name,
      level,
      ...(traceIds === undefined ? {} : { mixin: () => traceIds() ?? {} }),
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: Object.fromEntries(URL_FIELDS.map((field) => [field, urlSerializer])),
      hooks: {
        // A URL written into the message itself is redacted too.
        logMethod(args, method) {
          const redacted = args.map((arg) => (typeof arg === 'string' ? redactUrlsInText(arg) : arg)) as Parameters<typeof method>;
          return method.apply(this, redacted);
        },
      },
    },
    file === undefined ? pino.destination(2) : pino.destination({ dest: file, mkdir: true, sync: true }),
  );
}
