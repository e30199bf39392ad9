/**
 * Keys of the PostgreSQL advisory locks Colony takes, in the two-int4 form `(namespace, key)`, so
 * that they never meet another application's single-bigint locks (Kysely's own migration lock is one).
 * Advisory locks are per database: every schema in one database shares them.
 */
export const ADVISORY_LOCK_NAMESPACE = 0x436f6c6e; // 'Coln'

/** Held (per session) while migrations run: one process migrates, the others wait and then find nothing to do. */
export const MIGRATION_LOCK_KEY = 1;

/**
 * Held (per transaction) while a model call is admitted against its swarm's budget; the second key
 * is `hashtext(swarm_id)`, so admissions of one swarm queue behind each other and other swarms' do not.
 */
export const MODEL_CALL_ADMISSION_LOCK_NAMESPACE = ADVISORY_LOCK_NAMESPACE + 1;
