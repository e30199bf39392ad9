import { ColonyError, ConflictError, StorageError, ValidationError } from '../../../domain/errors.js';

/** Maps SQLite's constraint errors onto Colony's taxonomy, so callers see what they did wrong. */
export function mapSqliteError(error: unknown, what: string): ColonyError {
  if (error instanceof ColonyError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/UNIQUE constraint failed|PRIMARY KEY/i.test(message)) {
    return new ConflictError(`${what}: already exists (${message})`, { cause: error });
  }
  if (/FOREIGN KEY constraint failed/i.test(message)) {
    return new ValidationError(`${what}: refers to a record that does not exist`, { cause: error });
  }
  if (/CHECK constraint failed|NOT NULL constraint failed/i.test(message)) {
    return new ValidationError(`${what}: invalid value (${message})`, { cause: error });
  }
  if (/database is locked|SQLITE_BUSY/i.test(message)) {
    return new StorageError(`${what}: database is busy`, { cause: error, retryable: true });
  }
  return new StorageError(`${what}: ${message}`, { cause: error });
}
