import type { AgentRecord } from '../domain/agent.js';
import type { ProposalRecord, VoteRecord } from '../domain/consensus.js';
import type { SwarmRecord } from '../domain/swarm.js';
import type { TaskErrorInfo, TaskStatus } from '../domain/task.js';
import type { GitDiffFile } from '../ports/git.js';
import type { SwarmQuery } from '../ports/swarm-store.js';
import type { SwarmUsageReport } from './swarm-usage.js';

/** One plan task as it stands: which engine task runs it (the latest revision) and how it went. */
export interface SwarmTaskView {
  planTaskId: string;
  title: string;
  /** The engine task of the latest dispatch, or null while not yet dispatched. */
  taskId: string | null;
  status: TaskStatus | 'waiting';
  agentId: string | null;
  agentType: string | null;
  /** The plan's pool (a distributed swarm's label). */
  pool: string | null;
  /**
   * The worker pool (`colony worker --pool`) its engine task was left to, or null: any runner took it
   * (no live runner served the pool when it was dispatched, or the plan named none).
   */
  workerPool: string | null;
  /** The process that runs it, or ran its latest attempt. */
  runnerId: string | null;
  domain: string | null;
  revisions: number;
  /** Why the latest dispatch failed, if it did. */
  error: TaskErrorInfo | null;
  /** When the latest dispatch's engine task last started and finished (null: not yet). */
  startedAt: number | null;
  completedAt: number | null;
  /** Attempts of the latest dispatch so far. */
  attempts: number;
}

/** What a swarm changed in its git repository: the patch from its base to its branch's head. */
export interface SwarmDiff {
  swarmId: string;
  branch: string;
  base: string;
  head: string;
  /** The files changed from base to head, with line counts (null: binary). */
  files: GitDiffFile[];
  /** `git diff base head`. */
  patch: string;
}

/** A proposal the swarm put to a vote, with every vote cast on it (counted or excluded, and why). */
export interface SwarmVote {
  proposal: ProposalRecord;
  votes: VoteRecord[];
}

export interface SwarmStatusReport {
  swarm: SwarmRecord;
  counts: Record<TaskStatus | 'waiting', number>;
  tasks: SwarmTaskView[];
  agents: AgentRecord[];
  /** The swarm's consensus proposals, newest first (at most 50). */
  proposals: ProposalRecord[];
}

/**
 * The swarm API of a colony (`colony.swarms`). A swarm is created with an objective and runs in
 * whichever started colony holds it: at once in this process if it is started, else in the next
 * `colony.start()` (which also resumes swarms whose coordinating process died).
 */
export interface Swarms {
  /** Validates the spec (see swarm-spec.ts), persists the swarm, and starts it if this colony runs. */
  create(spec: unknown): Promise<SwarmRecord>;
  get(idOrPrefix: string): Promise<SwarmRecord>;
  list(query?: SwarmQuery): Promise<SwarmRecord[]>;
  count(query?: Omit<SwarmQuery, 'limit' | 'offset'>): Promise<number>;
  status(idOrPrefix: string): Promise<SwarmStatusReport>;
  /** The swarm's votes: its proposals, newest first (at most 50), each with its votes in the order cast. */
  votes(idOrPrefix: string): Promise<SwarmVote[]>;
  /** Tokens and estimated dollars from the model-call ledger, per task, agent and model, with the budget left. */
  usage(idOrPrefix: string): Promise<SwarmUsageReport>;
  /**
   * The swarm's work in its git repository, as a patch from its base to its branch's head (the head
   * it ended with, else the branch's head now). ConflictError for a swarm with no git branch.
   */
  diff(idOrPrefix: string): Promise<SwarmDiff>;
  /** No new tasks are dispatched; running ones finish. */
  pause(idOrPrefix: string): Promise<SwarmRecord>;
  resume(idOrPrefix: string): Promise<SwarmRecord>;
  /** Cancels what has not finished and keeps what has, as a partial result. */
  stop(idOrPrefix: string, reason?: string): Promise<SwarmRecord>;
  /** Resolves with the swarm once it is completed, failed or stopped. */
  waitFor(idOrPrefix: string, signal?: AbortSignal): Promise<SwarmRecord>;
}
