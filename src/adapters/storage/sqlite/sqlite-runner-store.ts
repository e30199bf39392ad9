import type { DatabaseSync } from 'node:sqlite';
import type { RunnerRecord, RunnerRegistration, RunnerStore } from '../../../ports/runner-store.js';
import { runnerFromRow } from '../sql/rows.js';
import { SqliteAggregate } from './sqlite-aggregate.js';
import type { WriteBatcher } from './write-batcher.js';

/** Runners and their heartbeats, on the clock of the host the file is on. See `SqliteStore`. */
export class SqliteRunnerStore extends SqliteAggregate implements RunnerStore {
  private readonly fixedClock: (() => number) | undefined;

  constructor(db: DatabaseSync, writes: WriteBatcher, fixedClock?: () => number) {
    super(db, writes);
    this.fixedClock = fixedClock;
  }

  upsert(runner: RunnerRegistration): Promise<void> {
    return this.write('upsert runner', () => {
      this.stmt(
        `INSERT INTO runners (id, pid, hostname, kind, started_at, heartbeat_at, runs_tasks, pools) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
      ).run(runner.id, runner.pid, runner.hostname, runner.kind, runner.startedAt, runner.heartbeatAt, runner.runsTasks === false ? 0 : 1, JSON.stringify(runner.pools ?? []));
    });
  }

  delete(id: string): Promise<void> {
    return this.write('delete runner', () => {
      this.stmt('DELETE FROM runners WHERE id = ?').run(id);
    });
  }

  async list(): Promise<RunnerRecord[]> {
    return (this.all('SELECT * FROM runners ORDER BY started_at') as never[]).map(runnerFromRow);
  }

  /** SQLite's clock: this host's, the one every process sharing the file runs on. */
  async clock(): Promise<number> {
    if (this.fixedClock) return this.fixedClock();
    return Number(this.all(`SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER) AS now`)[0]?.now);
  }
}
