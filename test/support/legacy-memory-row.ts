import { createHash } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';

/**
 * What `ttl: 1e16` stored before TTLs were bounded: an expiry far past 2^53 ms, which node:sqlite
 * cannot even read back as a JavaScript number ("Value is too large to be represented...").
 */
export function unreadableExpiry(): bigint {
  return BigInt(Date.now()) + 10_000_000_000_000_000n;
}

export interface LegacyEntry {
  namespace: string;
  key: string;
  /** Text, searchable by keyword. */
  value: string;
  expiresAt: bigint;
}

/**
 * Writes a memory entry straight into a migrated colony database (another connection, as another
 * process would), laid out as the SQLite adapter lays it out: the value's blob, its keyword row and
 * the entry. Nothing of Colony's own code runs, so the row is exactly what the test says.
 */
export function insertLegacyMemoryRow(dbPath: string, entry: LegacyEntry): void {
  const json = JSON.stringify(entry.value);
  const hash = createHash('sha256').update(json).digest('hex');
  const now = Date.now();
  const db = new DatabaseSync(dbPath, { timeout: 10_000 });
  try {
    db.exec('BEGIN IMMEDIATE');
    db.prepare(
      `INSERT INTO memory_blobs (hash, data, compressed, size, refcount) VALUES (?, ?, 0, ?, 1)
       ON CONFLICT (hash) DO UPDATE SET refcount = refcount + 1`,
    ).run(hash, Buffer.from(json, 'utf8'), Buffer.byteLength(json, 'utf8'));
    const fts = db.prepare('INSERT INTO memory_fts (namespace, key, text, tags) VALUES (?, ?, ?, ?)').run(entry.namespace, entry.key, entry.value, '');
    db.prepare(
      `INSERT INTO memory (namespace, key, version, value_ref, tags, metadata, expires_at, created_at, updated_at, accessed_at, access_count, fts_rowid)
       VALUES (?, ?, 1, ?, '[]', '{}', ?, ?, ?, ?, 0, ?)`,
    ).run(entry.namespace, entry.key, hash, entry.expiresAt, now, now, now, fts.lastInsertRowid);
    db.exec('COMMIT');
  } finally {
    db.close();
  }
}

/** The expiry as stored (a BigInt: it may be past what a number holds exactly), or undefined when the row is gone. */
export function storedExpiry(dbPath: string, namespace: string, key: string): bigint | null | undefined {
  const db = new DatabaseSync(dbPath, { timeout: 10_000, readOnly: true });
  try {
    const statement = db.prepare('SELECT expires_at FROM memory WHERE namespace = ? AND key = ?');
    statement.setReadBigInts(true);
    const row = statement.get(namespace, key) as { expires_at: bigint | null } | undefined;
    return row === undefined ? undefined : row.expires_at;
  } finally {
    db.close();
  }
}
