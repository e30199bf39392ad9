import { inspect } from 'node:util';

/**
 * Keeping API keys out of error messages, logs and serialised configs.
 *
 * A resolved key lives in a `Secret`: JSON.stringify, String(), template literals and
 * util.inspect (so console.log and pino) all print `[REDACTED]`; only `reveal()`, called where the
 * key is handed to an SDK, returns it. Text that may echo a key back (a server's error message)
 * goes through `redactSecrets`, and plain config objects through `redactConfig` before logging.
 */

export const REDACTED = '[REDACTED]';

/** Shorter "secrets" are not scrubbed from text: replacing every "ab" would garble messages. */
const MIN_REDACTABLE_LENGTH = 4;

/** Property names whose values are secrets wherever they appear in a config object. */
const SECRET_KEY_PATTERN = /(api[-_]?key|authorization|auth[-_]?token|secret|password)/i;

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The key itself. Call only at the point of handing it to a client library. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}

/** Replaces every occurrence of each secret in `text` with `[REDACTED]`. */
export function redactSecrets(text: string, secrets: ReadonlyArray<string | Secret | null | undefined>): string {
  let result = text;
  for (const secret of secrets) {
    const value = secret instanceof Secret ? secret.reveal() : secret;
    if (value === null || value === undefined || value.length < MIN_REDACTABLE_LENGTH) continue;
    result = result.split(value).join(REDACTED);
  }
  return result;
}

/** A deep copy of a plain config object with every secret-named property's value replaced. */
export function redactConfig<T>(value: T): T {
  return redactValue(value) as T;
}

function redactValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactValue);
  if (value instanceof Secret) return REDACTED;
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    copy[key] = SECRET_KEY_PATTERN.test(key) && inner !== undefined && inner !== null ? REDACTED : redactValue(inner);
  }
  return copy;
}

/**
 * pino `redact.paths` for objects that may carry provider credentials, for the composition root's
 * logger: `pino({ redact: { paths: PROVIDER_LOG_REDACT_PATHS } })`.
 */
export const PROVIDER_LOG_REDACT_PATHS: readonly string[] = [
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
];
