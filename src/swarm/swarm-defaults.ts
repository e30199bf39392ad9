/** Swarm defaults: every count, bound and cadence of the coordinator in one place. */
export const SWARM_DEFAULTS = {
  topology: 'centralized',
  /** Workers when neither a count nor a roster is given. */
  agents: 3,
  maxAgents: 20,
  concurrency: 4,
  /** Largest plan accepted, from the planner or a file. */
  maxPlanTasks: 2_000,
  /** Times a rejected result goes back to a worker with feedback. */
  maxRevisions: 1,
  /** How often a coordinator re-reads its swarm (pause/stop from another process) and the task table. */
  pollMs: 250,
  /** Least time between two saves of a swarm's progress (events report every change). */
  progressSaveMs: 1_000,
  /** Characters of each task's result given to reviewers and to the final synthesis. */
  resultPreviewChars: 4_000,
  /** Peers voting on one result in a mesh. */
  meshReviewers: 3,
  /** Domains a hierarchical root may create. */
  maxDomains: 8,
  /** Times a task whose agent was terminated under it is dispatched again. */
  maxLostAgentRedispatches: 3,
  /** Successor leaders tried before the swarm fails for want of one. */
  maxLeaderFailovers: 3,
  /** Engine retries for a worker task before the plan task counts as failed. */
  workerMaxRetries: 1,
  /** Compare-and-set attempts to save the swarm record while others keep changing it. */
  saveAttempts: 5,
} as const;
