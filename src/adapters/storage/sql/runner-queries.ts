import type { RunnerRecord, RunnerRegistration } from '../../../ports/runner-store.js';
import { bytewise, type SqlContext } from './dialect-sql.js';
import { runnerFromRow } from './rows.js';

/** The RunnerStore port's statements, written once for SQLite and PostgreSQL (see dialect-sql.ts); the clock is each adapter's. */

/** Inserts the runner, or moves a known one's heartbeat: one statement. */
export async function upsertRunner({ db }: SqlContext, runner: RunnerRegistration): Promise<void> {
  await db
    .insertInto('runners')
    .values({
      id: runner.id,
      pid: runner.pid,
      hostname: runner.hostname,
      kind: runner.kind,
      started_at: runner.startedAt,
      heartbeat_at: runner.heartbeatAt,
      runs_tasks: runner.runsTasks === false ? 0 : 1,
      pools: JSON.stringify(runner.pools ?? []),
    })
    .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ heartbeat_at: eb.ref('excluded.heartbeat_at') })))
    .execute();
}

export async function deleteRunner({ db }: SqlContext, id: string): Promise<void> {
  await db.deleteFrom('runners').where('id', '=', id).execute();
}

/** Oldest first. */
export async function listRunners({ db, dialect }: SqlContext): Promise<RunnerRecord[]> {
  const rows = await db.selectFrom('runners').selectAll().orderBy('started_at').orderBy(bytewise(dialect, 'id')).execute();
  return rows.map(runnerFromRow);
}
