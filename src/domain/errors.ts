/**
 * Colony's error taxonomy. Every error that crosses an edge (CLI, REST, MCP) is a ColonyError with a
 * stable `code`; each edge maps codes to its own shape exactly once (exit code, HTTP status, isError).
 */
export const ERROR_CODES = [
  'validation',
  'not_found',
  'conflict',
  'config',
  'timeout',
  'cancelled',
  'capacity',
  'execution',
  'storage',
  'provider',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const ERROR_CODE_SET: ReadonlySet<string> = new Set(ERROR_CODES);

/** Whether a value is one of the taxonomy's codes (for an edge that reads a code it did not construct). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && ERROR_CODE_SET.has(value);
}

export interface ColonyErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
  retryable?: boolean;
}

export class ColonyError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: ColonyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ColonyError';
    this.code = code;
    this.details = options.details ?? {};
    this.retryable = options.retryable ?? false;
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export class ValidationError extends ColonyError {
  constructor(message: string, options: ColonyErrorOptions = {}) {
    super('validation', message, options);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends ColonyError {
  constructor(kind: string, id: string) {
    super('not_found', `${kind} not found: ${id}`, { details: { kind, id } });
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends ColonyError {
  constructor(message: string, options: ColonyErrorOptions = {}) {
    super('conflict', message, options);
    this.name = 'ConflictError';
  }
}

export class ConfigError extends ColonyError {
  constructor(message: string, options: ColonyErrorOptions = {}) {
    super('config', message, options);
    this.name = 'ConfigError';
  }
}

export class TimeoutError extends ColonyError {
  constructor(message: string, options: ColonyErrorOptions = {}) {
    super('timeout', message, { retryable: true, ...options });
    this.name = 'TimeoutError';
  }
}

export class CancelledError extends ColonyError {
  constructor(message: string, options: ColonyErrorOptions = {}) {
    super('cancelled', message, options);
    this.name = 'CancelledError';
  }
}

export class CapacityError extends ColonyError {
  constructor(message: string, options: ColonyErrorOptions = {}) {
    super('capacity', message, options);
    this.name = 'CapacityError';
  }
}

export class ExecutionError extends ColonyError {
  constructor(message: string, options: ColonyErrorOptions = {}) {
    super('execution', message, { retryable: true, ...options });
    this.name = 'ExecutionError';
  }
}

export class StorageError extends ColonyError {
  constructor(message: string, options: ColonyErrorOptions = {}) {
    super('storage', message, options);
    this.name = 'StorageError';
  }
}

/**
 * The store does not answer (a database restarting, a connection cut, the server refusing new
 * sessions): a StorageError, so every edge maps it as one (REST 503 with retry-after), always
 * retryable. `details.unavailable` marks it for status output.
 */
export class StoreUnavailableError extends StorageError {
  constructor(message: string, options: ColonyErrorOptions = {}) {
    super(message, { ...options, retryable: true, details: { ...options.details, unavailable: true } });
    this.name = 'StoreUnavailableError';
  }
}

/** A store error that the same write or read may get past when tried again: the store unavailable, a lock, a serialization failure. */
export function isTransientStorageError(error: unknown): error is StorageError {
  return error instanceof ColonyError && error.code === 'storage' && error.retryable;
}

/** The store did not answer at all (see StoreUnavailableError), as opposed to refusing one statement. */
export function isStoreUnavailable(error: unknown): boolean {
  return error instanceof ColonyError && error.code === 'storage' && error.details.unavailable === true;
}

/** A call to an LLM provider failed. `retryable` is true for 429, 5xx and network errors. */
export class ProviderError extends ColonyError {
  readonly status: number | null;
  readonly retryAfterMs: number | null;
  constructor(
    message: string,
    options: ColonyErrorOptions & { status?: number | null; retryAfterMs?: number | null; provider?: string } = {},
  ) {
    super('provider', message, { ...options, details: { provider: options.provider, status: options.status ?? null, ...options.details } });
    this.name = 'ProviderError';
    this.status = options.status ?? null;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}

export function isColonyError(error: unknown): error is ColonyError {
  return error instanceof ColonyError;
}

/** Wraps anything thrown into a ColonyError without losing the original as `cause`. */
export function toColonyError(error: unknown): ColonyError {
  if (error instanceof ColonyError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ColonyError('internal', message, { cause: error });
}
