import type { StoredApiKey } from '../../../ports/store.js';
import { apiKeyFromRow } from '../sql/rows.js';
import type { ApiKeyRow } from '../sql/schema.js';
import type { ApiKeyStore } from '../../../ports/api-key-store.js';
import { SqliteAggregate, type Row } from './sqlite-aggregate.js';

/** API keys (hashes only). See `SqliteStore`. */
export class SqliteApiKeyStore extends SqliteAggregate implements ApiKeyStore {
  insert(key: StoredApiKey): Promise<void> {
    return this.write('insert API key', () => {
      this.stmt('INSERT INTO api_keys (id, name, role, hash, created_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        key.id,
        key.name,
        key.role,
        key.hash,
        key.createdAt,
        key.lastUsedAt,
        key.revokedAt,
      );
    });
  }

  async get(id: string): Promise<StoredApiKey | undefined> {
    const row = this.stmt('SELECT * FROM api_keys WHERE id = ?').get(id) as ApiKeyRow | undefined;
    return row ? apiKeyFromRow(row) : undefined;
  }

  async list(query: { includeRevoked?: boolean }): Promise<StoredApiKey[]> {
    const rows = query.includeRevoked
      ? this.all('SELECT * FROM api_keys ORDER BY created_at, id')
      : this.all('SELECT * FROM api_keys WHERE revoked_at IS NULL ORDER BY created_at, id');
    return (rows as unknown as ApiKeyRow[]).map(apiKeyFromRow);
  }

  revoke(id: string, at: number): Promise<boolean> {
    return this.write(`revoke API key ${id}`, () => {
      const result = this.stmt('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id);
      return Number(result.changes) === 1;
    });
  }

  touch(id: string, at: number): Promise<void> {
    return this.write(`touch API key ${id}`, () => {
      this.stmt('UPDATE api_keys SET last_used_at = ? WHERE id = ?').run(at, id);
    });
  }

  async countActive(): Promise<number> {
    return Number((this.stmt('SELECT count(*) AS n FROM api_keys WHERE revoked_at IS NULL').get() as Row).n);
  }
}
