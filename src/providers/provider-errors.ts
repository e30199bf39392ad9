import { CancelledError, ProviderError } from '../domain/errors.js';
import { parseRetryAfterMs } from './retry-after.js';
import { redactSecrets, type Secret } from './secret.js';

/**
 * Turning what an SDK throws into Colony's ProviderError, shared by the adapters.
 *
 * Retryable: 408, 429, 5xx (incl. Anthropic's 529), network failures, timeouts and malformed
 * responses. Not retryable: every other 4xx. Messages are scrubbed of the adapter's key, and the SDK
 * error is not attached as `cause` (its message and headers may echo credentials); what matters of
 * it (status, error type, request id, retry-after) is copied into the ProviderError instead.
 */

/** Error `type`s that arrive without an HTTP status (an SSE `error` event mid-stream). */
const RETRYABLE_ERROR_TYPES: ReadonlySet<string> = new Set(['overloaded_error', 'api_error', 'rate_limit_error', 'timeout_error', 'server_error']);

/** Node/undici error codes that mean the connection, not the request, failed. */
const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

export type SecretList = ReadonlyArray<Secret | string | null | undefined>;

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export interface HttpFailure {
  provider: string;
  /** Null when the failure arrived inside a 200 stream. */
  status: number | null;
  headers: Headers | null | undefined;
  message: string;
  errorType?: string | null;
  requestId?: string | null;
  secrets: SecretList;
}

/** The server answered with an error (status or SSE error event). */
export function providerErrorFromHttp(failure: HttpFailure): ProviderError {
  const retryable =
    failure.status === null ? RETRYABLE_ERROR_TYPES.has(failure.errorType ?? '') : isRetryableStatus(failure.status);
  const prefix = failure.status === null ? `${failure.provider}` : `${failure.provider} ${failure.status}`;
  return new ProviderError(redactSecrets(`${prefix}: ${failure.message}`, failure.secrets), {
    provider: failure.provider,
    status: failure.status,
    retryAfterMs: parseRetryAfterMs(failure.headers),
    retryable,
    details: { errorType: failure.errorType ?? null, requestId: failure.requestId ?? null },
  });
}

/** The call never got a well-formed answer: connection reset, timeout, unparsable body, ... */
export function providerErrorFromTransport(error: unknown, provider: string, secrets: SecretList): ProviderError {
  const { name, message, code } = describe(error);
  const malformed = error instanceof SyntaxError;
  const network = code !== null && NETWORK_ERROR_CODES.has(code);
  const transportLike = malformed || network || isFetchFailure(error) || /timed? ?out|connection|socket|terminated/i.test(message);
  const what = malformed ? 'malformed response' : transportLike ? 'connection failed' : 'unexpected error';
  return new ProviderError(redactSecrets(`${provider}: ${what}: ${message}`, secrets), {
    provider,
    status: null,
    retryable: transportLike,
    details: { reason: malformed ? 'malformed_response' : transportLike ? 'network' : 'unexpected', errorName: name, errorCode: code },
  });
}

export function cancelledError(provider: string): CancelledError {
  return new CancelledError(`${provider}: call cancelled`, { details: { provider } });
}

/** A stream that closed cleanly but without its terminating event was cut short. */
export function incompleteStreamError(provider: string): ProviderError {
  return new ProviderError(`${provider}: stream ended before the message was complete`, {
    provider,
    status: null,
    retryable: true,
    details: { reason: 'incomplete_stream' },
  });
}

/** fetch() reports a dropped connection as TypeError("terminated" | "fetch failed") with a cause. */
function isFetchFailure(error: unknown): boolean {
  return error instanceof TypeError && (error.message === 'terminated' || error.message === 'fetch failed');
}

function describe(error: unknown): { name: string; message: string; code: string | null } {
  if (!(error instanceof Error)) return { name: typeof error, message: String(error), code: null };
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const ownCode = (error as { code?: unknown }).code;
  const code = typeof ownCode === 'string' ? ownCode : typeof cause?.code === 'string' ? cause.code : null;
  const causeText = typeof cause?.message === 'string' && cause.message !== error.message ? ` (${cause.message})` : '';
  return { name: error.name, message: `${error.message}${causeText}`, code };
}
