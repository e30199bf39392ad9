import type { JsonValue } from './json.js';
import type { ProviderFailure } from './provider-failure.js';

export const SWARM_TOPOLOGIES = ['centralized', 'mesh', 'hierarchical', 'distributed'] as const;
export type SwarmTopology = (typeof SWARM_TOPOLOGIES)[number];

export const SWARM_STATUSES = ['planning', 'running', 'paused', 'completed', 'failed', 'stopped'] as const;
export type SwarmStatus = (typeof SWARM_STATUSES)[number];

export const TERMINAL_SWARM_STATUSES: ReadonlySet<SwarmStatus> = new Set(['completed', 'failed', 'stopped']);

export function isSwarmFinished(status: SwarmStatus): boolean {
  return TERMINAL_SWARM_STATUSES.has(status);
}

const SWARM_TRANSITIONS: Record<SwarmStatus, readonly SwarmStatus[]> = {
  planning: ['running', 'paused', 'failed', 'stopped'],
  running: ['paused', 'completed', 'failed', 'stopped'],
  paused: ['planning', 'running', 'failed', 'stopped'],
  completed: [],
  failed: [],
  stopped: [],
};

export function canSwarmTransition(from: SwarmStatus, to: SwarmStatus): boolean {
  return from === to || SWARM_TRANSITIONS[from].includes(to);
}

/** One slot of a swarm's roster: an agent type, how many, and (distributed) the pool label. */
export interface RosterEntry {
  type: string;
  count: number;
  /** The pool (a region or worker group) these agents belong to; distributed topology only. */
  pool?: string;
}

export interface SwarmLimits {
  maxAgents: number;
  /** Worker tasks of this swarm running at once. */
  concurrency: number;
  /** Input plus output tokens over every model call the swarm makes; null: no bound. */
  maxTokens: number | null;
  maxCostUsd: number | null;
  /** Epoch ms by which the swarm must finish; null: no deadline. */
  deadline: number | null;
}

/** What the swarm was asked to do and how: fixed at creation. */
export interface SwarmConfig {
  /** The roster as given; empty when it is derived from the plan (adaptive selection). */
  roster: RosterEntry[];
  /** Whether the roster is derived from the plan rather than given. */
  autoRoster: boolean;
  /** Workers in all (the roster's total when one was given). */
  workers: number;
  /** Distributed: workers per pool label. */
  pools: Record<string, number> | null;
  limits: SwarmLimits;
  provider: string | null;
  model: string | null;
  /** Centralized: the queen reviews each result; mesh: peers vote on each result. */
  review: boolean;
  /** Times a rejected result is sent back with feedback before the swarm takes it as it is. */
  maxRevisions: number;
  /** Where the plan came from: the LLM planner, or a file the user supplied. */
  planSource: 'llm' | 'user';
  /**
   * The W3C traceparent of the span that created the swarm (absent when tracing was off): its
   * coordination, in whichever process, is traced in that trace, and so are all its tasks.
   */
  traceParent?: string;
  /**
   * The git repository the swarm's tasks work in, each in its own worktree (see swarm-worktrees.ts);
   * absent or null: the workspace is shared, as when it is not a repository or worktrees were turned off.
   */
  git?: SwarmGitConfig | null;
}

/** Where a swarm's git work starts and lands, fixed when the swarm is created. */
export interface SwarmGitConfig {
  /** The repository's top level. */
  repo: string;
  /** The commit the swarm starts from: HEAD of the checkout when the swarm was created. */
  base: string;
  /** The swarm's branch, where its tasks' commits are merged (`colony/swarm-<id>`). */
  branch: string;
  /** The checkout had uncommitted changes then: they are not in `base`, so the swarm does not see them. */
  dirty: boolean;
}

/** A task's commit that could not be merged into the swarm's branch: both branches are kept. */
export interface SwarmMergeConflict {
  planTaskId: string;
  /** The task's branch, holding `commit`. */
  branch: string;
  commit: string;
  /** The files git could not merge. */
  files: string[];
}

/** The least a patch may be cut to (REST's and MCP's `maxBytes`): a shorter cut says nothing. */
export const PATCH_CUT_MIN_BYTES = 1_000;

/**
 * The patch cut at a line end within `maxBytes` (UTF-8; none: all of it), so that no line or
 * character is split, with the whole patch's size in bytes.
 */
export function cutPatch(patch: string, maxBytes = Number.POSITIVE_INFINITY): { text: string; cut: boolean; patchBytes: number } {
  const bytes = Buffer.from(patch, 'utf8');
  if (bytes.length <= maxBytes) return { text: patch, cut: false, patchBytes: bytes.length };
  const head = bytes.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
  const lineEnd = head.lastIndexOf('\n');
  return { text: lineEnd < 0 ? head : head.slice(0, lineEnd + 1), cut: true, patchBytes: bytes.length };
}

/** The lines a diff's files add and remove in all (a binary file counts none). */
export function changedLines(files: readonly { additions: number | null; deletions: number | null }[]): { additions: number; deletions: number } {
  let additions = 0;
  let deletions = 0;
  for (const file of files) {
    additions += file.additions ?? 0;
    deletions += file.deletions ?? 0;
  }
  return { additions, deletions };
}

/** What a swarm with a git repository produced: its branch and how it differs from where it started. */
export interface SwarmGitResult {
  branch: string;
  base: string;
  /** The swarm branch's last commit; `git diff base head` is the swarm's work. */
  head: string;
  dirty: boolean;
  /** The files changed from base to head, with line counts (null: binary). */
  files: { path: string; additions: number | null; deletions: number | null }[];
  /** Plan tasks whose commits are in the swarm's branch. */
  merged: string[];
  conflicts: SwarmMergeConflict[];
  /** Task branches kept because their commits are not in the swarm's branch (conflicts, failed tasks). */
  kept: string[];
}

/** One task of a swarm's plan. `id` is unique within the plan and names dependencies. */
export interface PlanTask {
  id: string;
  title: string;
  /** What the worker is asked to do. */
  prompt: string;
  agentType?: string;
  capabilities?: string[];
  dependsOn: string[];
  /** A kind of work (research, implement, test, review, ...) that adaptive selection learns per. */
  kind?: string;
  /** Distributed: the pool the task prefers. */
  affinity?: string;
  /** Hierarchical: the domain (manager) the task belongs to. */
  domain?: string;
}

export interface PlanDomain {
  name: string;
  objective: string;
}

export interface SwarmPlan {
  summary: string;
  tasks: PlanTask[];
  /** Hierarchical plans: the domains the root split the objective into. */
  domains?: PlanDomain[];
  /**
   * The decided reviews of the plan tasks' results, in the order decided (absent until the first).
   * A resumed swarm reviews every finished result that has none here, and no result that has one.
   */
  reviews?: PlanTaskReview[];
}

/** The decided review of one result (one engine task) of a plan task, and what it made of the task. */
export interface PlanTaskReview {
  planTaskId: string;
  /** The engine task whose result was judged. */
  taskId: string;
  verdict: 'accept' | 'revise' | 'replan';
  feedback: string;
  /** Who judged, as `swarm.task_reviewed` says: the leader's seat (`queen`, `root`) or `peers` (a mesh vote). */
  by: string;
  /** Where the plan task went: accepted (done), failed, or back to a worker with the feedback (waiting). */
  outcome: 'done' | 'failed' | 'waiting';
  at: number;
}

export interface SwarmUsage {
  inputTokens: number;
  outputTokens: number;
  /** Null once any call's price was unknown. */
  costUsd: number | null;
  calls: number;
}

export interface SwarmTaskOutcome {
  planTaskId: string;
  title: string;
  taskId: string | null;
  status: string;
  result: JsonValue | null;
}

export interface SwarmResult {
  /** The synthesized answer to the objective. */
  summary: string;
  /** True when the swarm stopped before every task finished (budget, deadline, stop). */
  partial: boolean;
  tasks: SwarmTaskOutcome[];
  /** Hierarchical: each domain manager's synthesis. */
  domains?: { name: string; summary: string }[];
  /** The swarm's branch and diff, when its workspace is a git repository. */
  git?: SwarmGitResult;
}

export interface SwarmErrorInfo {
  code: string;
  message: string;
  /** When a model provider's failure ended the swarm: which provider and what it said. */
  provider?: ProviderFailure;
}

export interface SwarmRecord {
  id: string;
  name: string;
  objective: string;
  topology: SwarmTopology;
  status: SwarmStatus;
  config: SwarmConfig;
  plan: SwarmPlan | null;
  /** Fraction of plan tasks finished, 0..1. */
  progress: number;
  result: SwarmResult | null;
  error: SwarmErrorInfo | null;
  usage: SwarmUsage;
  /** The coordinating agent (queen, root coordinator), if the topology has one. */
  leaderAgentId: string | null;
  /** The agents working for the swarm. */
  agentIds: string[];
  /** The runner (process) coordinating the swarm, so that a crashed one's swarms are resumed. */
  runnerId: string | null;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export function emptyUsage(): SwarmUsage {
  return { inputTokens: 0, outputTokens: 0, costUsd: 0, calls: 0 };
}
