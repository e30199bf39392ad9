/**
 * Every timeout, retry and concurrency default in one place. Configuration can override most of
 * them; those it cannot are internal cadences.
 */
export const DEFAULTS = {
  dataDir: '.colony',
  databaseFile: 'colony.db',
  sqliteBusyTimeoutMs: 5_000,
  /** PostgreSQL connections per process. */
  postgresPoolSize: 10,
  postgresConnectionTimeoutMs: 5_000,
  postgresStatementTimeoutMs: 30_000,
  /**
   * A write that must not be lost (a task's outcome, a batch of events) is tried again while the store
   * does not answer (a database restart), backing off from the base delay, doubling, up to the max,
   * for this long at most; past it, crash recovery takes over (the task is run again).
   */
  storeRetryBaseMs: 100,
  storeRetryMaxMs: 2_000,
  storeRetryWindowMs: 60_000,

  /**
   * Attempts one process runs at once, of every type. Most of them wait on I/O (an agent run waits on
   * its model calls), so the bound is memory, not CPUs: a thousand concurrent runs are a few hundred MB.
   */
  taskConcurrency: 1_000,
  /** Shell tasks per CPU one process runs at once (`tasks.shellConcurrency`), and at least this many. */
  shellTasksPerCpu: 2,
  minShellConcurrency: 2,
  taskTimeoutMs: 10 * 60_000,
  taskMaxRetries: 2,
  retryBaseDelayMs: 500,
  retryMaxDelayMs: 30_000,
  /** Fraction of the backoff delay randomised each way ("equal jitter" around the exponential value). */
  retryJitter: 0.25,
  /** How often an engine looks in the store for work submitted by other processes. */
  schedulerPollMs: 250,
  /**
   * With cross-process notifications (PostgreSQL), the poll for ready work is only a safety net for
   * lost hints: it runs at least this far apart, whatever `tasks.pollIntervalMs` says.
   */
  notifiedTaskPollMs: 2_000,
  /**
   * At most one NOTIFY per topic this often from one process: a burst of ready tasks costs one, not one
   * per task. The first goes out at once, the rest wait for the interval's end; at 10 ms, a submit
   * shortly after another waited for it, and claim latency's p99 was 12–13 ms (5–7 ms at 2 ms, with
   * the same throughput; `npm run bench team`).
   */
  notifyCoalesceMs: 2,
  /** The notification connection is opened again after a failure with jittered backoff from this delay up to the next. */
  notifyReconnectBaseMs: 100,
  notifyReconnectMaxMs: 5_000,
  drainTimeoutMs: 30_000,
  /** A cancel that races a claim (or a finish) reads the task again and retries, this often, this far apart. */
  cancelAttempts: 20,
  cancelRetryMs: 25,

  maxAgents: 50,
  /** Memories retrieved into an agent's context for each task. */
  agentContextMemories: 5,
  /** Embedding model used with `memory.embedder: openai`. */
  openaiEmbeddingModel: 'text-embedding-3-small',
  openaiEmbeddingDimensions: 1536,

  shellTimeoutMs: 5 * 60_000,
  shellMaxOutputBytes: 1024 * 1024,

  runnerHeartbeatMs: 2_000,
  /** A runner whose heartbeat is older than this is considered dead by other hosts. */
  runnerLeaseMs: 15_000,

  /** Events buffered per subscriber before the oldest are dropped (a slow subscriber never blocks). */
  subscriberBufferSize: 10_000,

  /** The REST API and WebSocket server (`colony up`). Loopback by default: binding elsewhere needs auth. */
  serverHost: '127.0.0.1',
  serverPort: 3000,
  /** Requests per window per API key (or per address for anonymous requests) before a 429. */
  serverRateLimitMax: 600,
  serverRateLimitWindowMs: 60_000,
  /** Largest request body accepted (413 beyond): room for a batch of a few thousand task specs. */
  serverBodyLimitBytes: 1024 * 1024,
} as const;
