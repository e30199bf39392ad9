/**
 * The task scheduler's internal counts and cadences in one place. What configuration sets (concurrency,
 * timeouts, retry backoff, the poll interval, the drain timeout) is in `core/constants.ts`.
 */
export const TASK_DEFAULTS = {
  /** Tasks read from the store per reconciliation query at most (blocked, promotable); the rest come on later passes. */
  pollBatch: 1_000,
  /** Pending tasks read when the scheduler starts, so that completions here promote them in the same write. */
  initialPendingScan: 10_000,
  /** Every how many passes the thorough reconciliation runs (dead runners, dependencies settled elsewhere). */
  recoveryEveryPolls: 4,
} as const;
