import type { DatabaseSync } from 'node:sqlite';
import type { TaskProcessKey, TaskProcessRecord, TaskProcessStore } from '../../../ports/task-process-store.js';
import { StatementCache } from './statement-cache.js';
import type { WriteBatcher } from './write-batcher.js';

interface TaskProcessRow {
  hostname: string;
  pgid: number;
  runner_id: string;
  task_id: string;
  attempt: number;
  leader_start_time: string | null;
  started_at: number;
}

const COLUMNS = 'hostname, pgid, runner_id, task_id, attempt, leader_start_time, started_at';

/** Task process groups on the shared SQLite connection and write batcher (see SqliteStore). */
export class SqliteTaskProcessStore implements TaskProcessStore {
  private readonly writes: WriteBatcher;
  private readonly statements: StatementCache;

  constructor(db: DatabaseSync, writes: WriteBatcher) {
    this.writes = writes;
    this.statements = new StatementCache(db);
  }

  add(record: TaskProcessRecord): Promise<void> {
    return this.writes.write(`record process group ${record.pgid}`, () => {
      // A record of the same group id on this host is stale: that group is gone, or its id could not be ours.
      this.statements
        .get(
          `INSERT INTO task_processes (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (hostname, pgid) DO UPDATE SET runner_id = excluded.runner_id, task_id = excluded.task_id,
             attempt = excluded.attempt, leader_start_time = excluded.leader_start_time, started_at = excluded.started_at`,
        )
        .run(record.hostname, record.pgid, record.runnerId, record.taskId, record.attempt, record.leaderStartTime, record.startedAt);
    });
  }

  remove(key: TaskProcessKey): Promise<void> {
    return this.writes.write(`forget process group ${key.pgid}`, () => {
      this.statements.get('DELETE FROM task_processes WHERE hostname = ? AND pgid = ? AND runner_id = ?').run(key.hostname, key.pgid, key.runnerId);
    });
  }

  async listHeldBy(runnerIds: readonly string[]): Promise<TaskProcessRecord[]> {
    if (runnerIds.length === 0) return [];
    const marks = runnerIds.map(() => '?').join(', ');
    const rows = this.statements.all(
      `SELECT ${COLUMNS} FROM task_processes WHERE runner_id IN (${marks}) ORDER BY started_at, hostname, pgid`,
      ...runnerIds,
    ) as unknown as TaskProcessRow[];
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
}
