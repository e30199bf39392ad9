import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { ApiKeyRecord, Store, StoredApiKey } from '../ports/store.js';
import { isRole, ROLES, type Role } from './roles.js';

/**
 * API keys: `colony_<id>_<secret>`, where `id` (12 hex characters) is public and names the key in
 * listings and logs, and `secret` is 32 random bytes (base64url). Only the SHA-256 of the whole key
 * is stored; a presented key is looked up by its id and its hash compared in constant time. A key
 * is shown once, when it is created, and cannot be recovered afterwards.
 */
export const API_KEY_PREFIX = 'colony';
const KEY_ID_BYTES = 6;
const KEY_SECRET_BYTES = 32;
const KEY_PATTERN = /^colony_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
export const KEY_ID_PATTERN = /^[0-9a-f]{12}$/;
const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 _.@-]{0,63}$/;
/** `last_used_at` is written at most this often per key, so that authenticating is not a write per request. */
export const KEY_LAST_USED_RESOLUTION_MS = 60_000;

export interface CreatedApiKey {
  /** The key itself: shown once, never stored. */
  key: string;
  record: ApiKeyRecord;
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Whether the text has the shape of a Colony API key (as opposed to, say, a JWT). */
export function looksLikeApiKey(text: string): boolean {
  return text.startsWith(`${API_KEY_PREFIX}_`);
}

function publicRecord(stored: StoredApiKey): ApiKeyRecord {
  const { hash: _hash, ...record } = stored;
  return record;
}

export class ApiKeys {
  private readonly store: Store;
  private readonly now: () => number;
  private readonly lastTouched = new Map<string, number>();

  constructor(options: { store: Store; now?: () => number }) {
    this.store = options.store;
    this.now = options.now ?? Date.now;
  }

  async create(input: { role: string; name?: string }): Promise<CreatedApiKey> {
    if (!isRole(input.role)) throw new ValidationError(`invalid role "${input.role}": expected one of ${ROLES.join(', ')}`, { details: { role: input.role } });
    const role: Role = input.role;
    if (input.name !== undefined && !KEY_NAME_PATTERN.test(input.name)) {
      throw new ValidationError(`invalid key name "${input.name}": 1-64 letters, digits, space, dot, dash, underscore or @`);
    }
    const id = randomBytes(KEY_ID_BYTES).toString('hex');
    const key = `${API_KEY_PREFIX}_${id}_${randomBytes(KEY_SECRET_BYTES).toString('base64url')}`;
    const stored: StoredApiKey = {
      id,
      name: input.name ?? `${role}-${id.slice(0, 4)}`,
      role,
      hash: hashApiKey(key),
      createdAt: this.now(),
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.store.apiKeys.insert(stored);
    return { key, record: publicRecord(stored) };
  }

  async list(options: { includeRevoked?: boolean } = {}): Promise<ApiKeyRecord[]> {
    return (await this.store.apiKeys.list({ includeRevoked: options.includeRevoked ?? false })).map(publicRecord);
  }

  /** The key's record (never its hash), revoked or not; undefined when there is no such key. */
  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const stored = await this.store.apiKeys.get(id);
    return stored && publicRecord(stored);
  }

  async revoke(id: string): Promise<ApiKeyRecord> {
    if (!KEY_ID_PATTERN.test(id)) throw new ValidationError(`invalid API key id "${id}": 12 hex characters, as \`colony keys list\` shows them`);
    const existing = await this.store.apiKeys.get(id);
    if (!existing) throw new NotFoundError('API key', id);
    if (existing.revokedAt !== null) throw new ConflictError(`API key ${id} is already revoked`);
    const at = this.now();
    if (!(await this.store.apiKeys.revoke(id, at))) throw new ConflictError(`API key ${id} is already revoked`);
    return publicRecord({ ...existing, revokedAt: at });
  }

  /** The key's record if `presented` is a valid, unrevoked key; null otherwise. */
  async verify(presented: string): Promise<ApiKeyRecord | null> {
    const match = KEY_PATTERN.exec(presented);
    if (!match) return null;
    const stored = await this.store.apiKeys.get(match[1] as string);
    if (!stored || stored.revokedAt !== null) return null;
    const expected = Buffer.from(stored.hash, 'hex');
    const actual = Buffer.from(hashApiKey(presented), 'hex');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
    const now = this.now();
    if (now - (this.lastTouched.get(stored.id) ?? 0) >= KEY_LAST_USED_RESOLUTION_MS) {
      this.lastTouched.set(stored.id, now);
      // Bookkeeping only: a failed write must not fail the request.
      void this.store.apiKeys.touch(stored.id, now).catch(() => undefined);
    }
    return publicRecord(stored);
  }

  activeCount(): Promise<number> {
    return this.store.apiKeys.countActive();
  }
}
