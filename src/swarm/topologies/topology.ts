import type { AgentRecord } from '../../domain/agent.js';
import type { PlanTask, SwarmPlan, SwarmRecord, SwarmResult } from '../../domain/swarm.js';
import type { LeaderContext, ReviewVerdict } from '../leader-calls.js';

/** A finished plan task, as strategies see it for review and aggregation. */
export interface TaskOutcome {
  task: PlanTask;
  taskId: string | null;
  /** The agent that produced the result (its author), or null when unknown: it never reviews its own work. */
  agentId: string | null;
  status: 'done' | 'failed' | 'skipped' | 'cancelled';
  /** The worker's report (or error), cut to a preview. */
  text: string;
}

/** Where a task goes: the agents allowed to run it, and the pool they form (distributed). */
export interface Route {
  agentIds: string[];
  pool: string | null;
}

/**
 * What a topology strategy may ask of the swarm run it serves: the swarm, its workers, model calls
 * made as a coordinating agent (with failover), and spawning agents for the swarm.
 */
export interface SwarmRunContext {
  readonly swarm: SwarmRecord;
  readonly signal: AbortSignal;
  /** The swarm's live workers (terminated ones are replaced by the run). */
  workers(): AgentRecord[];
  /** Spawns the swarm's workers for a plan (the roster, or one derived from the plan). */
  staffFor(plan: SwarmPlan, groups?: readonly { label: string; share: number }[]): Promise<void>;
  /** The group (pool or domain) label of each worker, if the roster has groups. */
  groupOf(agentId: string): string | null;
  /** Runs `fn` as the seat's agent (spawned on first use, replaced when it fails or is terminated). */
  asSeat<T>(seat: string, type: string, fn: (ctx: LeaderContext) => Promise<T>): Promise<T>;
  /** Worker agent types and descriptions the planner may use. */
  workerTypes(): Promise<{ name: string; description: string }[]>;
  knownTypes(): Promise<ReadonlySet<string>>;
  /** Tasks in flight per group label. */
  inflightByGroup(): Map<string, number>;
  /** Puts a question about a result to some of the swarm's agents (mesh review). */
  vote(input: { question: string; context: string; voterIds: string[]; taskId: string | null }): Promise<{ accepted: boolean; reasons: string[] }>;
}

export interface TopologyStrategy {
  readonly topology: SwarmRecord['topology'];
  /** The seat whose agent is the swarm's leader (shown as leaderAgentId), or null. */
  readonly leaderSeat: { seat: string; type: string } | null;
  /** Produces the plan (and staffs the swarm for it). */
  plan(ctx: SwarmRunContext, maxTasks: number): Promise<SwarmPlan>;
  /** Staffs the swarm for a plan that was given, not planned. */
  staff(ctx: SwarmRunContext, plan: SwarmPlan): Promise<void>;
  route(ctx: SwarmRunContext, task: PlanTask): Route;
  /** Judges a finished task; strategies without review accept everything. */
  review(ctx: SwarmRunContext, outcome: TaskOutcome, planned: ReadonlySet<string>): Promise<ReviewVerdict>;
  /** The swarm's one synthesized result. */
  aggregate(ctx: SwarmRunContext, outcomes: readonly TaskOutcome[], plan: SwarmPlan): Promise<Pick<SwarmResult, 'summary' | 'domains'>>;
}

export const ACCEPT: ReviewVerdict = { verdict: 'accept', feedback: '' };
