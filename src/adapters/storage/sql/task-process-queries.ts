import type { TaskProcessKey, TaskProcessRecord } from '../../../ports/task-process-store.js';
import { bytewise, isOneOf, type SqlContext } from './dialect-sql.js';

/** The TaskProcessStore port's statements, written once for SQLite and PostgreSQL (see dialect-sql.ts). */

/** A record of the same group id on the same host is stale (that group is gone): it is replaced. */
export async function addTaskProcess({ db }: SqlContext, record: TaskProcessRecord): Promise<void> {
  await db
    .insertInto('task_processes')
    .values({
      hostname: record.hostname,
      pgid: record.pgid,
      runner_id: record.runnerId,
      task_id: record.taskId,
      attempt: record.attempt,
      leader_start_time: record.leaderStartTime,
      started_at: record.startedAt,
    })
    .onConflict((oc) =>
      oc.columns(['hostname', 'pgid']).doUpdateSet((eb) => ({
        runner_id: eb.ref('excluded.runner_id'),
        task_id: eb.ref('excluded.task_id'),
        attempt: eb.ref('excluded.attempt'),
        leader_start_time: eb.ref('excluded.leader_start_time'),
        started_at: eb.ref('excluded.started_at'),
      })),
    )
    .execute();
}

/** Only the runner that wrote the record removes it: a late removal by a dead runner keeps a newer group's. */
export async function removeTaskProcess({ db }: SqlContext, key: TaskProcessKey): Promise<void> {
  await db.deleteFrom('task_processes').where('hostname', '=', key.hostname).where('pgid', '=', key.pgid).where('runner_id', '=', key.runnerId).execute();
}

/** The groups of these runners, oldest first. */
export async function taskProcessesHeldBy({ db, dialect }: SqlContext, runnerIds: readonly string[]): Promise<TaskProcessRecord[]> {
  if (runnerIds.length === 0) return [];
  const rows = await db
    .selectFrom('task_processes')
    .selectAll()
    .where(isOneOf(dialect, 'runner_id', runnerIds))
    .orderBy('started_at')
    .orderBy(bytewise(dialect, 'hostname'))
    .orderBy('pgid')
    .execute();
  return rows.map((row) => ({
    hostname: row.hostname,
    pgid: Number(row.pgid),
    runnerId: row.runner_id,
    taskId: row.task_id,
    attempt: Number(row.attempt),
    leaderStartTime: row.leader_start_time,
    startedAt: Number(row.started_at),
  }));
}
