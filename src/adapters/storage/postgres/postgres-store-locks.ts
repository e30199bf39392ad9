import { sql, type RawBuilder } from 'kysely';
import { ADVISORY_LOCK_NAMESPACE } from './advisory-locks.js';

/**
 * Transaction advisory locks of the main store's adapters (beside advisory-locks.ts, whose namespaces
 * they continue). The second key is `hashtext(current_schema())`: advisory locks are per database, and
 * Colonies in other schemas of it (teams, tests) have logs and pools of their own, so they do not wait
 * for each other (a hash collision only makes two of them take turns).
 */

/** Held by each append of events from taking its ids to its commit, so that id order is commit order. */
export const EVENT_APPEND_LOCK_NAMESPACE = ADVISORY_LOCK_NAMESPACE + 2;

/** Held by each insert of an agent under a pool bound, so that two inserts never count the pool at once. */
export const AGENT_POOL_LOCK_NAMESPACE = ADVISORY_LOCK_NAMESPACE + 3;

/** `pg_advisory_xact_lock(namespace, hashtext(current_schema()))`: released at the end of the transaction. */
export function schemaLock(namespace: number): RawBuilder<unknown> {
  return sql`pg_advisory_xact_lock(${sql.lit(namespace)}, hashtext(current_schema()))`;
}
