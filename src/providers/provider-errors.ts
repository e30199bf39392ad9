import { CancelledError, ColonyError, ProviderError } from '../domain/errors.js';
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

/**
 * API error `type`s worth another attempt when they arrive without an HTTP status: an SSE `error`
 * event mid-stream, or an API error Claude Code reports from its run.
 */
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

export function isRetryableErrorType(errorType: string | null | undefined): boolean {
  return RETRYABLE_ERROR_TYPES.has(errorType ?? '');
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
    failure.status === null ? isRetryableErrorType(failure.errorType) : isRetryableStatus(failure.status);
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

/** What every SDK's HTTP error carries (the Anthropic and OpenAI SDKs share this shape). */
export interface SdkApiError {
  readonly status: number | undefined;
  readonly headers: Headers | undefined;
  readonly requestID: string | null | undefined;
  readonly message: string;
}

/** An adapter's vendor specifics: how its SDK reports an abort and an answer from the server. */
export interface SdkErrorMapping<E extends SdkApiError> {
  /** The SDK's own error for a call its caller aborted. */
  isAbort(error: unknown): boolean;
  /** The error as the SDK's HTTP error when the server answered (not a connection failure), else null. */
  apiError(error: unknown): E | null;
  /** The server's own words for the failure. */
  message(error: E): string;
  /** The error's `type` (or code), which decides retrying when no status came with it. */
  errorType(error: E): string | null;
}

export interface SdkCall {
  provider: string;
  signal: AbortSignal | undefined;
  secrets: SecretList;
}

/**
 * The one mapping from what an SDK adapter's call threw to a ColonyError: cancelled when the call was
 * aborted (checked first: an aborted SDK stream just ends, which the translator reports as
 * incomplete), ColonyErrors as they are, the server's answers by status, and the rest as transport
 * failures.
 */
export function providerErrorFromSdk<E extends SdkApiError>(error: unknown, call: SdkCall, sdk: SdkErrorMapping<E>): ColonyError {
  if (sdk.isAbort(error) || call.signal?.aborted === true) return cancelledError(call.provider);
  if (error instanceof ColonyError) return error;
  const api = sdk.apiError(error);
  if (api !== null) {
    return providerErrorFromHttp({
      provider: call.provider,
      status: typeof api.status === 'number' ? api.status : null,
      headers: api.headers,
      message: sdk.message(api),
      errorType: sdk.errorType(api),
      requestId: api.requestID ?? null,
      secrets: call.secrets,
    });
  }
  return providerErrorFromTransport(error, call.provider, call.secrets);
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
