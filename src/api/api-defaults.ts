/** The REST API's and the event stream's fixed limits and cadences (server config is in core/constants.ts). */

export const API_PREFIX = '/api/v2';

/** Page size when a list request names none, and the largest one accepted. */
export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 1_000;
export const MAX_PAGE_OFFSET = 10_000_000;
/** Task specs accepted in one `POST /tasks` batch (the body limit bounds it too). */
export const MAX_TASKS_PER_REQUEST = 1_000;
/** Values in one comma-separated filter (`?status=a,b,c`). */
export const MAX_FILTER_VALUES = 50;
/**
 * Longest path parameter, as sent (percent-encoded): a memory key of 512 characters, each up to four
 * UTF-8 bytes written as %XX, fits. Longer ones match no route (the router's own limit).
 */
export const MAX_PATH_PARAM_LENGTH = 512 * 12 + 64;

/** An `x-request-id` sent by the client is echoed if it looks like one; otherwise a fresh UUID is used. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The WebSocket event stream (`GET /api/v2/events/stream`). */
export const EVENT_STREAM = {
  /** A ping goes to every client this often; a client that has not answered the previous one is dropped. */
  heartbeatMs: 30_000,
  /** Bytes queued for one client (not yet taken by its socket) beyond which it is disconnected as too slow. */
  maxBufferedBytes: 1024 * 1024,
  /** Messages handed to one client's socket and not yet written, beyond which it is disconnected. */
  maxPendingMessages: 10_000,
  /** A slow client asked to close is cut off after this long if it does not complete the close. */
  closeGraceMs: 5_000,
  /** On shutdown, clients that do not complete the close within this time are cut off. */
  shutdownGraceMs: 1_000,
  /**
   * How often the credentials of connected clients are checked again: an API key revoked (by any
   * process) or a JWT past its expiry closes its sockets (4401) within this time.
   */
  credentialCheckMs: 1_000,
  /** Malformed client messages answered with an error frame before the client is disconnected (4400). */
  maxBadMessages: 20,
  /** Events read from the store per page while replaying from `lastEventId`. */
  replayPageSize: 500,
  /** How often the store is checked for events written by other processes (a CLI, a worker). */
  pollMs: 250,
  /** Largest message a client may send (subscribe, unsubscribe, ping). */
  maxIncomingMessageBytes: 64 * 1024,
} as const;

export type EventStreamLimits = { -readonly [K in keyof typeof EVENT_STREAM]: number };

/** Close codes of the event stream, beside the standard 1000 (normal) and 1001 (server going away). */
export const STREAM_CLOSE = {
  /** The client did not read fast enough: its buffer passed the limit. */
  slowConsumer: 4008,
  /** The client kept sending malformed messages (more than `maxBadMessages`). */
  tooManyBadMessages: 4400,
  /** The connection's credential stopped being valid: its API key was revoked, or its JWT expired. */
  unauthorized: 4401,
} as const;

/** Close reasons that go with STREAM_CLOSE.unauthorized. */
export const STREAM_CLOSE_REASON = {
  keyRevoked: 'api key revoked',
  tokenExpired: 'token expired',
} as const;
