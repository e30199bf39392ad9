import { ColonyError, ConflictError, StorageError, ValidationError } from '../../../domain/errors.js';

/**
 * SQLSTATE classes and codes (PostgreSQL manual, appendix A) that say the same statement may
 * succeed when tried again: serialization failures, deadlocks, cancelled statements (a statement
 * timeout), lost connections and an overloaded server.
 */
const RETRYABLE = new Set(['40001', '40P01', '55P03', '57014', '57P01', '57P02', '57P03', '53300', '53400']);

const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

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
  // Class 08: the connection failed. A socket error or a pool timeout has no SQLSTATE but is just as transient.
  const retryable =
    (code !== undefined && (RETRYABLE.has(code) || code.startsWith('08'))) ||
    SOCKET_ERRORS.has(String((error as { code?: unknown } | null)?.code)) ||
    /timeout exceeded when trying to connect|Connection terminated/i.test(message);
  return new StorageError(`${what}: ${message}`, { cause: error, retryable, details: code === undefined ? {} : { sqlState: code } });
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
