import { ColonyError, ConflictError, StorageError, StoreUnavailableError, ValidationError } from '../../../domain/errors.js';

/**
 * SQLSTATE codes (PostgreSQL manual, appendix A) that say the same statement may succeed when tried
 * again although the server answers: serialization failures, deadlocks, a lock not available, a
 * cancelled statement (a statement timeout), a configuration limit.
 */
const RETRYABLE = new Set(['40001', '40P01', '55P03', '57014', '53400']);

/**
 * SQLSTATE codes that say the server is not there for us (class 08, connection exceptions, is matched
 * by its prefix): shut down by an administrator (57P01, what a restart's fast shutdown sends every
 * session), crashed (57P02), not accepting connections while it starts up, shuts down or recovers
 * (57P03), out of connection slots (53300).
 */
const UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300']);

/** Node's socket errors of a connection that could not be made or was cut. */
const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** pg's own words for a lost connection or a pool that could not get one (they carry no code). */
const LOST_CONNECTION = /timeout exceeded when trying to connect|Connection terminated|connection error and is not queryable|Query read timeout/i;

/** Maps PostgreSQL's errors (by SQLSTATE, never by message) onto Colony's taxonomy. */
export function mapPostgresError(error: unknown, what: string): ColonyError {
  if (error instanceof ColonyError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = sqlState(error);
  if (code === '23505') return new ConflictError(`${what}: already exists (${message})`, { cause: error });
  if (code === '23503') return new ValidationError(`${what}: refers to a record that does not exist`, { cause: error });
  // 23502 not null, 23514 check; class 22 is bad data (out of range, invalid text for the type, bad JSON).
  if (code === '23502' || code === '23514' || code?.startsWith('22')) {
    return new ValidationError(`${what}: invalid value (${message})`, { cause: error });
  }
  const details = code === undefined ? {} : { sqlState: code };
  if (isConnectionError(error)) return new StoreUnavailableError(`${what}: the database is unavailable (${message})`, { cause: error, details });
  const retryable = code !== undefined && RETRYABLE.has(code);
  return new StorageError(`${what}: ${message}`, { cause: error, retryable, details });
}

/**
 * Whether the error says the server is not there (restarting, shut down, unreachable, the connection
 * cut), rather than that it refused one statement. A socket error or a pool's connect timeout has no
 * SQLSTATE but is the same condition; Node reports a refused connection to a name with several
 * addresses as an AggregateError with the code of its parts.
 */
export function isConnectionError(error: unknown): boolean {
  const code = sqlState(error);
  if (code !== undefined) return UNAVAILABLE.has(code) || code.startsWith('08');
  const nodeCode = (error as { code?: unknown } | null)?.code;
  if (typeof nodeCode === 'string' && SOCKET_ERRORS.has(nodeCode)) return true;
  if (error instanceof AggregateError && error.errors.some(isConnectionError)) return true;
  return error instanceof Error && LOST_CONNECTION.test(error.message);
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  // Node's socket errors (EPIPE…) have codes too; no SQLSTATE class starts with E.
  return typeof code === 'string' && /^[0-9A-DF-Z][0-9A-Z]{4}$/.test(code) ? code : undefined;
}

/** Runs a query and maps what it throws. */
export async function mapped<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw mapPostgresError(error, what);
  }
}
