import type { Logger } from '../kernel/logger.js';
import type { TaskProcessStore } from '../ports/task-process-store.js';
import { processStartTime } from '../sandbox/process-group.js';
import type { ProcessGroupObserver } from '../sandbox/run-shell.js';

export interface TaskProcessRecorderOptions {
  store: TaskProcessStore;
  /** This process's runner id: recovery finds the groups of a dead runner by it. */
  runnerId: string;
  hostname: string;
  logger: Logger;
  now: () => number;
}

/**
 * Keeps in the store each process group a task attempt starts (shell tasks, agents' `run_shell`)
 * for as long as it runs, with its leader's start time, so that if this process dies, recovery on
 * this host can end the group before the task runs again (see orphaned-process-reaper.ts). A record
 * that cannot be written is logged, not fatal: the command runs on, and still dies with this process
 * where the platform allows (bubblewrap's --die-with-parent, or the die-with-runner wrapper).
 */
export class TaskProcessRecorder {
  private readonly o: TaskProcessRecorderOptions;

  constructor(options: TaskProcessRecorderOptions) {
    this.o = options;
  }

  /** runShell's `group` option for one task attempt. */
  observe(taskId: string, attempt: number): ProcessGroupObserver {
    const key = (pgid: number) => ({ hostname: this.o.hostname, pgid, runnerId: this.o.runnerId });
    return {
      started: async (pgid) => {
        try {
          const leaderStartTime = await processStartTime(pgid);
          await this.o.store.add({ ...key(pgid), taskId, attempt, leaderStartTime, startedAt: this.o.now() });
        } catch (error) {
          this.o.logger.warn({ err: error, taskId, pgid }, 'could not record a task process group: recovery will not know of it');
        }
      },
      ended: async (pgid) => {
        await this.o.store.remove(key(pgid)).catch((error: unknown) => this.o.logger.warn({ err: error, taskId, pgid }, 'could not forget an ended task process group'));
      },
    };
  }
}
