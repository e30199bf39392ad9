/**
 * The TaskProcessStore port: the OS process groups that task attempts have started (shell tasks,
 * agents' `run_shell`) and that are still running, with the host they run on and a fingerprint of
 * their leader. When a runner dies, recovery on the same host ends its groups before the task runs
 * again, so that the task never runs twice side by side; the fingerprint keeps a reused pid safe.
 * A record lives exactly as long as its group: written when the group starts, removed when it ends.
 * Adapters: SQLite (`adapters/storage/sqlite/sqlite-task-process-store.ts`).
 * Conformance: `test/support/task-process-store-conformance.ts`.
 */
export interface TaskProcessStore {
  /** Records a group that started; replaces a stale record of the same group id on the same host. */
  add(record: TaskProcessRecord): Promise<void>;
  /** Removes the record of a group that ended; only the runner that wrote it can remove it. No error when there is none. */
  remove(key: TaskProcessKey): Promise<void>;
  /** The groups recorded by any of these runners, oldest first. */
  listHeldBy(runnerIds: readonly string[]): Promise<TaskProcessRecord[]>;
}

/** One record: a group id on a host, as written by one runner. */
export interface TaskProcessKey {
  hostname: string;
  pgid: number;
  runnerId: string;
}

export interface TaskProcessRecord extends TaskProcessKey {
  taskId: string;
  /** The task attempt (1-based) that started the group. */
  attempt: number;
  /**
   * When the group's leader started, as the OS counts it (Linux: field 22 of /proc/<pid>/stat, clock
   * ticks since boot); a process with the same pid and another start time is not this group's.
   * Null where the platform does not say: such a group is never signalled by recovery.
   */
  leaderStartTime: string | null;
  startedAt: number;
}
