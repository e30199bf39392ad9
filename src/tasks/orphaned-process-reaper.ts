import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../kernel/logger.js';
import type { TaskProcessRecord, TaskProcessStore } from '../ports/task-process-store.js';
import { groupHasLiveMembers, processStartTime, signalGroup } from '../sandbox/process-group.js';

/** How long a dead runner's process group has to end after SIGTERM before it gets SIGKILL. */
export const ORPHAN_KILL_GRACE_MS = 2_000;
/** How long to wait for the group to be gone after SIGKILL before recovery goes on regardless. */
const ORPHAN_KILL_SETTLE_MS = 1_000;
/** Every how often the group is checked while it ends. */
const ORPHAN_POLL_MS = 20;

export interface OrphanedProcessReaperOptions {
  store: TaskProcessStore;
  /** This host: only groups recorded here can be signalled. */
  hostname: string;
  logger: Logger;
  /** Default ORPHAN_KILL_GRACE_MS. */
  graceMs?: number;
}

/**
 * Ends the process groups that dead runners' task attempts left behind, before their tasks are queued
 * again, so that a task never runs twice side by side. Only groups recorded on this host whose leader
 * is still the very process that was recorded (same pid, same start time) are signalled: SIGTERM,
 * then SIGKILL after a grace period. Groups on other hosts are left to run, and logged.
 */
export class OrphanedProcessReaper {
  private readonly o: OrphanedProcessReaperOptions;

  constructor(options: OrphanedProcessReaperOptions) {
    this.o = options;
  }

  /** Ends (on this host) and forgets every group recorded by these runners, which must be dead. */
  async endGroupsOf(runnerIds: readonly string[]): Promise<void> {
    const records = await this.o.store.listHeldBy(runnerIds);
    await Promise.all(
      records.map(async (record) => {
        await this.end(record);
        await this.o.store.remove(record);
      }),
    );
  }

  private async end(record: TaskProcessRecord): Promise<void> {
    const about = { taskId: record.taskId, attempt: record.attempt, pgid: record.pgid, host: record.hostname, deadRunnerId: record.runnerId };
    if (record.hostname !== this.o.hostname) {
      this.o.logger.warn(about, 'a dead runner left a task process group on another host; it is left running there (end it on that host)');
      return;
    }
    if (record.leaderStartTime === null) {
      this.o.logger.warn(about, 'a dead runner left a task process group whose leader cannot be told from a reused pid here; it is left running');
      return;
    }
    // Gone, a zombie, or the pid now names another process: nothing of ours to end.
    if ((await processStartTime(record.pgid)) !== record.leaderStartTime) return;
    this.o.logger.warn(about, 'ending the task process group a dead runner left running, before its task runs again');
    signalGroup(record.pgid, 'SIGTERM');
    if (await this.gone(record.pgid, this.o.graceMs ?? ORPHAN_KILL_GRACE_MS)) return;
    signalGroup(record.pgid, 'SIGKILL');
    if (!(await this.gone(record.pgid, ORPHAN_KILL_SETTLE_MS))) this.o.logger.error(about, 'a dead runner\'s task process group survived SIGKILL');
  }

  /** Waits up to `ms` for the group to have no live member; whether it has none. */
  private async gone(pgid: number, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    while (await groupHasLiveMembers(pgid)) {
      if (Date.now() > until) return false;
      await delay(ORPHAN_POLL_MS);
    }
    return true;
  }
}
