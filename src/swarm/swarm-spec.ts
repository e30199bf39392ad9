import { z } from 'zod';
import { TASK_KIND_PATTERN } from '../agents/task-kind.js';
import { MAX_BUDGET_USD } from '../domain/bounds.js';
import { ValidationError } from '../domain/errors.js';
import { SWARM_TOPOLOGIES } from '../domain/swarm.js';
import { durationSchema } from '../tasks/task-spec.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';

const agentTypeName = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'an agent type is lower-case letters, digits and dashes');
const poolName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a pool label is 1-64 letters, digits, dot, dash or underscore');
export const planTaskIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a plan task id is 1-64 letters, digits, dot, dash or underscore');

/** One task of a plan, as a planner (LLM) or a plan file gives it. */
export const planTaskSchema = z.strictObject({
  id: planTaskIdSchema,
  title: z.string().min(1).max(200),
  prompt: z.string().min(1).max(20_000),
  agentType: agentTypeName.optional(),
  capabilities: z.array(z.string().min(1).max(64)).max(20).optional(),
  dependsOn: z.array(planTaskIdSchema).max(200).default([]),
  kind: z.string().regex(TASK_KIND_PATTERN, 'a kind is a short lower-case word').optional(),
  affinity: poolName.optional(),
  domain: z.string().min(1).max(64).optional(),
});

export const planSchema = z.strictObject({
  summary: z.string().max(4_000).default(''),
  tasks: z.array(planTaskSchema).min(1, 'a plan needs at least one task').max(SWARM_DEFAULTS.maxPlanTasks),
});

export type PlanInput = z.input<typeof planSchema>;

/** What a caller gives to create a swarm. Shared by the library API, the CLI, REST and MCP. */
export const swarmSpecSchema = z
  .strictObject({
    objective: z.string().trim().min(1, 'the objective must not be empty').max(20_000),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/, 'a swarm name is 1-64 letters, digits, space, dot, dash or underscore').optional(),
    topology: z.enum(SWARM_TOPOLOGIES, { error: (i) => `unknown topology ${JSON.stringify(i.input)}; use one of ${SWARM_TOPOLOGIES.join(', ')}` }).default(SWARM_DEFAULTS.topology),
    /** Workers, chosen from the objective (adaptive selection) unless `roster` names them. */
    agents: z.number().int().min(1).max(1_000).optional(),
    roster: z.array(z.strictObject({ type: agentTypeName, count: z.number().int().min(1).max(1_000), pool: poolName.optional() })).min(1).max(50).optional(),
    /** Distributed: workers per pool label, e.g. `{ "eu": 2, "us": 2 }`. */
    pools: z.record(poolName, z.number().int().min(1).max(1_000)).optional(),
    provider: z.enum(['anthropic', 'openai', 'claude-code']).optional(),
    model: z.string().min(1).max(200).optional(),
    maxAgents: z.number().int().min(1).max(1_000).default(SWARM_DEFAULTS.maxAgents),
    concurrency: z.number().int().min(1).max(1_000).default(SWARM_DEFAULTS.concurrency),
    maxTokens: z.number().int().min(1).optional(),
    maxCostUsd: z.number().positive().max(MAX_BUDGET_USD).optional(),
    /** A duration from now (`30m`) or milliseconds. */
    deadline: durationSchema.optional(),
    review: z.boolean().optional(),
    maxRevisions: z.number().int().min(0).max(5).default(SWARM_DEFAULTS.maxRevisions),
    /** A plan to run instead of asking the planner. */
    plan: planSchema.optional(),
    /** In a git repository, each task works in its own worktree and branch (default); false: the shared workspace. */
    worktrees: z.boolean().default(true),
  })
  .refine((s) => !(s.roster && s.agents !== undefined), { message: 'give either agents (a count) or roster, not both', path: ['roster'] })
  .refine((s) => !s.pools || s.topology === 'distributed', { message: 'pools are for the distributed topology', path: ['pools'] });

export type SwarmSpecInput = z.input<typeof swarmSpecSchema>;
export type SwarmSpec = z.output<typeof swarmSpecSchema>;

/** Validates a swarm spec, naming the offending field. */
export function parseSwarmSpec(input: unknown): SwarmSpec {
  const result = swarmSpecSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    const field = issue.path.map(String).join('.') || '(swarm)';
    throw new ValidationError(`swarm: ${field}: ${issue.message}`, { details: { field } });
  }
  return result.data;
}
