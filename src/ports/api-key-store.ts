/** The ApiKeyStore port: credentials of the REST API. Only a hash of each key is stored. Conformance: `test/conformance/api-key-store.ts`. */
export interface ApiKeyStore {
  insert(key: StoredApiKey): Promise<void>;
  get(id: string): Promise<StoredApiKey | undefined>;
  /** Oldest first; revoked keys only with `includeRevoked`. */
  list(query: { includeRevoked?: boolean }): Promise<StoredApiKey[]>;
  /** Marks the key revoked at `at`; false when there is no such key or it is already revoked. */
  revoke(id: string, at: number): Promise<boolean>;
  /** Records when the key was last used. */
  touch(id: string, at: number): Promise<void>;
  /** Keys that are not revoked. */
  countActive(): Promise<number>;
}

/** What an API key allows; see src/security/roles.ts. */
export type ApiKeyRole = 'admin' | 'operator' | 'viewer';

export interface ApiKeyRecord {
  /** The public part of the key (`colony_<id>_<secret>`), safe to show and log. */
  id: string;
  name: string;
  role: ApiKeyRole;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface StoredApiKey extends ApiKeyRecord {
  /** SHA-256 (hex) of the whole key. */
  hash: string;
}
