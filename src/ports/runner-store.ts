/**
 * The RunnerStore port: processes that run tasks, with heartbeats, so that crash recovery knows who
 * is alive. Their times (`startedAt`, `heartbeatAt`) are readings of the store's clock (`clock()`),
 * never of a host's own: a runner on another host is live while `clock() - heartbeatAt` is under the
 * lease, whatever either host's clock says. Conformance: `test/conformance/runner-store.ts`.
 */
export interface RunnerStore {
  /**
   * Inserts a runner or, when its id is known, moves its heartbeat to `heartbeatAt` (nothing else of
   * it changes). Absent `runsTasks` and `pools`: it runs tasks, of no pool.
   */
  upsert(runner: RunnerRegistration): Promise<void>;
  delete(id: string): Promise<void>;
  list(): Promise<RunnerRecord[]>;
  /**
   * The time now by the store's clock, in whole epoch milliseconds: the one clock that every process
   * sharing the store agrees on. Leases and liveness are stamped and compared with it, as a host's own
   * clock may be minutes off. SQLite: the clock of the host the database file is on (all its
   * processes share it); PostgreSQL: the server's `now()`.
   */
  clock(): Promise<number>;
}

export interface RunnerRecord {
  id: string;
  pid: number;
  hostname: string;
  /** What kind of process: `server` (`colony up`), `worker`, `run` (a workflow run), `swarm`, `mcp`, `library`. */
  kind: string;
  /**
   * Whether it runs tasks. False for a process that only serves (`colony up --no-work`): it is listed
   * as live, but takes no task and coordinates no swarm.
   */
  runsTasks: boolean;
  /**
   * The worker pools it serves (`colony worker --pool`): it takes the tasks of these pools and unpooled
   * ones. Empty: unpooled tasks only.
   */
  pools: string[];
  /** When it registered, by the store's clock (`RunnerStore.clock()`). */
  startedAt: number;
  /** Its latest heartbeat, by the store's clock (`RunnerStore.clock()`). */
  heartbeatAt: number;
}

/** A runner as it registers: whether it runs tasks and its pools may be left to their defaults (yes, none). */
export type RunnerRegistration = Omit<RunnerRecord, 'runsTasks' | 'pools'> & Partial<Pick<RunnerRecord, 'runsTasks' | 'pools'>>;
