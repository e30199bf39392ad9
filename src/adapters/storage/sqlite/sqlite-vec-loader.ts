import { createRequire } from 'node:module';
import type { DatabaseSync } from 'node:sqlite';

/**
 * Loading the sqlite-vec extension (vector KNN in the same SQLite file) into a connection.
 *
 * The connection must have been opened with `allowExtension: true`. Loading is enabled only for the
 * moment of loading and disabled again at once, so no SQL can load anything afterwards. A failure
 * (unsupported platform, missing binary, connection opened without `allowExtension`) is reported,
 * not thrown: everything but vector search works without the extension.
 */
export type VectorExtensionStatus =
  | { available: true; version: string }
  | { available: false; reason: string };

export function loadSqliteVec(db: DatabaseSync): VectorExtensionStatus {
  const already = sqliteVecLoaded(db);
  if (already) return already;
  try {
    // Required, not imported: the package is only needed once memory is used, and require is synchronous.
    const sqliteVec = createRequire(import.meta.url)('sqlite-vec') as { getLoadablePath(): string };
    const path = sqliteVec.getLoadablePath();
    db.enableLoadExtension(true);
    try {
      db.loadExtension(path);
    } finally {
      db.enableLoadExtension(false);
    }
    const row = db.prepare('SELECT vec_version() AS version').get() as { version: string };
    return { available: true, version: row.version };
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/** Whether this connection already has sqlite-vec (loaded by another component sharing it). */
export function sqliteVecLoaded(db: DatabaseSync): VectorExtensionStatus | null {
  try {
    const row = db.prepare('SELECT vec_version() AS version').get() as { version: string };
    return { available: true, version: row.version };
  } catch {
    return null;
  }
}
