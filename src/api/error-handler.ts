import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isColonyError, type ErrorCode } from '../domain/errors.js';

/**
 * The REST edge's one mapping from errors to responses: every error, whatever threw it (a handler,
 * the engine, a schema, Fastify's body parser, the rate limiter, the router's 404), leaves as an
 * RFC 9457 problem document (`application/problem+json`):
 *
 *   { type, title, status, detail, instance, code, requestId, errors? }
 *
 * A client's mistake is always a 4xx; a 5xx never carries internal details (they are logged, under
 * the request id the response names).
 */

export const PROBLEM_MEDIA_TYPE = 'application/problem+json';
export const PROBLEM_CONTENT_TYPE = `${PROBLEM_MEDIA_TYPE}; charset=utf-8`;
const PROBLEM_TYPE_BASE = 'urn:colony:problem:';

/** Codes that exist only at the HTTP edge, beside the domain's ErrorCode. */
export type HttpOnlyCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'route_not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'upgrade_required'
  | 'not_ready';

export type ProblemCode = ErrorCode | HttpOnlyCode;

/** An error raised by the HTTP layer itself (authentication, rate limits, readiness). */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: ProblemCode;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, code: ProblemCode, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = code;
    this.headers = headers;
  }
}

/** The domain taxonomy, mapped once. */
const STATUS_FOR_CODE: Record<ErrorCode, number> = {
  validation: 400,
  config: 400,
  not_found: 404,
  conflict: 409,
  // A full agent pool is a conflict with the current state, not a rate limit: freeing a slot fixes it.
  capacity: 409,
  cancelled: 409,
  timeout: 504,
  provider: 502,
  execution: 500,
  storage: 500,
  internal: 500,
};

/** Reason phrases, for problem titles and the OpenAPI document's response descriptions. */
export const STATUS_TITLES: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Fastify's own 4xx errors by their codes; anything else 4xx from Fastify is a `bad_request`. */
const FASTIFY_CODES: Record<string, ProblemCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'validation',
  FST_ERR_CTP_INVALID_JSON_BODY: 'validation',
  FST_ERR_VALIDATION: 'validation',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ProblemCode;
  requestId: string;
  /** Validation problems: each offending field. */
  errors?: { path: string; message: string }[];
}

interface Classified {
  status: number;
  code: ProblemCode;
  detail: string;
  errors?: { path: string; message: string }[];
  headers?: Record<string, string>;
  /** Whether the cause is ours (logged at error level) rather than the client's. */
  serverFault: boolean;
}

export function classify(error: unknown): Classified {
  if (error instanceof HttpError) {
    return { status: error.statusCode, code: error.code, detail: error.message, headers: error.headers, serverFault: error.statusCode >= 500 };
  }
  if (isColonyError(error)) {
    const status = STATUS_FOR_CODE[error.code] ?? 500;
    const errors = Array.isArray(error.details.errors) ? (error.details.errors as { path: string; message: string }[]) : undefined;
    if (error.code === 'storage' && error.retryable) {
      // "database is busy": a transient condition the client may retry, not a bug.
      return { status: 503, code: 'storage', detail: 'the database is busy; retry shortly', headers: { 'retry-after': '1' }, serverFault: true };
    }
    if (status >= 500 && error.code !== 'provider') return { status, code: error.code, detail: 'internal error; the server log has the details under this request id', serverFault: true };
    return { status, code: error.code, detail: error.message, ...(errors ? { errors } : {}), serverFault: status >= 500 };
  }
  const e = error as Partial<FastifyError> & { status?: number };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : typeof e?.status === 'number' ? e.status : 500;
  if (status >= 400 && status < 500) {
    const code = (e.code ? FASTIFY_CODES[e.code] : undefined) ?? codeForStatus(status);
    return { status, code, detail: clientMessage(e), serverFault: false };
  }
  return { status: 500, code: 'internal', detail: 'internal error; the server log has the details under this request id', serverFault: true };
}

function codeForStatus(status: number): ProblemCode {
  switch (status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'route_not_found';
    case 405:
      return 'method_not_allowed';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'rate_limited';
    default:
      return 'bad_request';
  }
}

/** Fastify's messages are written for developers; a few get a clearer wording. */
function clientMessage(e: Partial<FastifyError>): string {
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'request body is too large';
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return `unsupported content type; send application/json`;
  if (e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return 'body: expected a JSON document, got an empty body';
  if (e instanceof SyntaxError || e.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return `body: malformed JSON (${e.message})`;
  return e.message ?? 'bad request';
}

export function problemBody(request: FastifyRequest, c: Classified): Problem {
  return {
    type: `${PROBLEM_TYPE_BASE}${c.code}`,
    title: STATUS_TITLES[c.status] ?? (c.status >= 500 ? 'Server Error' : 'Client Error'),
    status: c.status,
    detail: c.detail,
    instance: request.url.split('?')[0] ?? request.url,
    code: c.code,
    requestId: request.id,
    ...(c.errors ? { errors: c.errors } : {}),
  };
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply {
  const c = classify(error);
  if (c.serverFault) request.log.error({ err: error, reqId: request.id }, 'request failed');
  for (const [name, value] of Object.entries(c.headers ?? {})) reply.header(name, value);
  return reply.code(c.status).header('content-type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(problemBody(request, c)));
}

/**
 * Installs the error and not-found handlers: every error response of the app goes through here. A
 * path that exists with other methods (`allowedMethods`) answers 405 with an `Allow` header.
 */
export function installErrorHandling(app: FastifyInstance, allowedMethods: (path: string) => string[] = () => []): void {
  app.setErrorHandler((error, request, reply) => sendProblem(request, reply, error));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? request.url;
    const allowed = allowedMethods(path);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      const allow = allowed.join(', ');
      return sendProblem(request, reply, new HttpError(405, 'method_not_allowed', `${request.method} is not allowed on ${path}; allowed: ${allow}`, { allow }));
    }
    return sendProblem(request, reply, new HttpError(404, 'route_not_found', `no route ${request.method} ${path}`));
  });
}
