import type { StoredApiKey } from '../../../ports/api-key-store.js';
import { bytewise, changedOne, type SqlContext } from './dialect-sql.js';
import { apiKeyFromRow } from './rows.js';

/** The ApiKeyStore port's statements, written once for SQLite and PostgreSQL (see dialect-sql.ts). */

export async function insertApiKey({ db }: SqlContext, key: StoredApiKey): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({ id: key.id, name: key.name, role: key.role, hash: key.hash, created_at: key.createdAt, last_used_at: key.lastUsedAt, revoked_at: key.revokedAt })
    .execute();
}

export async function getApiKey({ db }: SqlContext, id: string): Promise<StoredApiKey | undefined> {
  const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? apiKeyFromRow(row) : undefined;
}

/** Oldest first; revoked keys only with `includeRevoked`. */
export async function listApiKeys({ db, dialect }: SqlContext, query: { includeRevoked?: boolean }): Promise<StoredApiKey[]> {
  let select = db.selectFrom('api_keys').selectAll();
  if (!query.includeRevoked) select = select.where('revoked_at', 'is', null);
  const rows = await select.orderBy('created_at').orderBy(bytewise(dialect, 'id')).execute();
  return rows.map(apiKeyFromRow);
}

/** False when there is no such key or it is already revoked. */
export async function revokeApiKey({ db }: SqlContext, id: string, at: number): Promise<boolean> {
  return changedOne(await db.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst());
}

export async function touchApiKey({ db }: SqlContext, id: string, at: number): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
}

export async function countActiveApiKeys({ db }: SqlContext): Promise<number> {
  const row = await db
    .selectFrom('api_keys')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('revoked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
