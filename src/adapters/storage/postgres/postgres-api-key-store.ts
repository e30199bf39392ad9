import type { Kysely } from 'kysely';
import type { ApiKeyStore, StoredApiKey } from '../../../ports/api-key-store.js';
import * as q from '../sql/api-key-queries.js';
import type { SqlContext } from '../sql/dialect-sql.js';
import type { ColonyTables } from '../sql/schema.js';
import { mapped } from './postgres-errors.js';

/** API keys (their hashes) on PostgreSQL: one statement per call; revocation is conditional, so only one of two revokes succeeds. */
export class PostgresApiKeyStore implements ApiKeyStore {
  private readonly sql: SqlContext;

  constructor(db: Kysely<ColonyTables>) {
    this.sql = { db, dialect: 'postgres' };
  }

  insert(key: StoredApiKey): Promise<void> {
    return mapped(`insert API key ${key.id}`, () => q.insertApiKey(this.sql, key));
  }

  get(id: string): Promise<StoredApiKey | undefined> {
    return mapped(`read API key ${id}`, () => q.getApiKey(this.sql, id));
  }

  list(query: { includeRevoked?: boolean }): Promise<StoredApiKey[]> {
    return mapped('list API keys', () => q.listApiKeys(this.sql, query));
  }

  revoke(id: string, at: number): Promise<boolean> {
    return mapped(`revoke API key ${id}`, () => q.revokeApiKey(this.sql, id, at));
  }

  touch(id: string, at: number): Promise<void> {
    return mapped(`touch API key ${id}`, () => q.touchApiKey(this.sql, id, at));
  }

  countActive(): Promise<number> {
    return mapped('count active API keys', () => q.countActiveApiKeys(this.sql));
  }
}
