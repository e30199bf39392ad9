import { z } from 'zod';
import type { AgentTypeDefinition } from '../domain/agent.js';
import type { PlanDomain, PlanTask, SwarmPlan } from '../domain/swarm.js';
import type { Provider, TokenUsage } from '../ports/provider.js';
import { callStructured } from '../providers/structured-output.js';
import { planProblem } from './plan-check.js';
import { normalizeDomainsAnswer, normalizePlanAnswer, normalizeReviewAnswer } from './plan-normalize.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';
import { planSchema, planTaskSchema } from './swarm-spec.js';

/** The model calls a coordinating agent (queen, root, manager, aggregator) makes. */
export interface LeaderContext {
  provider: Provider;
  model: string;
  /** The agent type whose system prompt the call is made under. */
  agentType: AgentTypeDefinition;
  signal: AbortSignal;
  onUsage: (usage: TokenUsage) => void;
}

export const PLAN_TOOL = 'submit_plan';
export const DOMAINS_TOOL = 'submit_domains';
export const REVIEW_TOOL = 'review_result';

export interface PlanRequest {
  objective: string;
  /** Agent types workers may be (the catalog's names) and what they are for. */
  workerTypes: readonly { name: string; description: string }[];
  knownTypes: ReadonlySet<string>;
  /** Distributed: the pool labels a task may prefer. */
  pools?: readonly string[];
  /** Hierarchical managers: the domain this plan is for (task ids get its prefix later). */
  domain?: string;
  maxTasks: number;
}

/** Decomposes an objective into a task DAG (structured output, validated, repaired if invalid). */
export async function requestPlan(ctx: LeaderContext, request: PlanRequest): Promise<{ plan: SwarmPlan; attempts: number }> {
  const types = request.workerTypes.map((t) => `- ${t.name}: ${t.description}`).join('\n');
  const lines = [
    `Objective: ${request.objective}`,
    '',
    `Break the objective into at most ${request.maxTasks} tasks for worker agents and call ${PLAN_TOOL}.`,
    'Each task has a short unique id, a title, a self-contained prompt for the worker, dependsOn (ids of tasks whose results it needs),',
    'optionally agentType (one of the types below), capabilities, and kind (research, design, implement, test, review, document, analyze).',
    'Tasks without dependencies run in parallel; do not add dependencies a task does not need.',
  ];
  if (request.pools && request.pools.length > 0) lines.push(`Worker pools: ${request.pools.join(', ')}. Set affinity to a pool when a task belongs there.`);
  lines.push('', 'Worker agent types:', types);
  const answer = await callStructured({
    provider: ctx.provider,
    model: ctx.model,
    system: ctx.agentType.systemPrompt,
    messages: [{ role: 'user', content: [{ type: 'text', text: lines.join('\n') }] }],
    tool: { name: PLAN_TOOL, description: 'Submit the task plan for the objective.', schema: planSchema },
    normalize: (raw) => normalizePlanAnswer(raw, { knownTypes: request.knownTypes, ...(request.pools ? { pools: request.pools } : {}) }),
    check: (plan) =>
      plan.tasks.length > request.maxTasks
        ? `the plan has ${plan.tasks.length} tasks; at most ${request.maxTasks} are allowed`
        : planProblem(plan.tasks, { knownTypes: request.knownTypes }),
    signal: ctx.signal,
    onUsage: ctx.onUsage,
  });
  return { plan: answer.value, attempts: answer.attempts };
}

const domainsSchema = z.strictObject({
  domains: z
    .array(z.strictObject({ name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a domain name is a short lower-case word or words joined by dashes'), objective: z.string().min(1).max(4_000) }))
    .min(1)
    .max(SWARM_DEFAULTS.maxDomains),
});

/** Hierarchical root: splits the objective into domains, each for a manager to plan. */
export async function requestDomains(ctx: LeaderContext, objective: string, maxDomains: number): Promise<PlanDomain[]> {
  const answer = await callStructured({
    provider: ctx.provider,
    model: ctx.model,
    system: ctx.agentType.systemPrompt,
    messages: [
      {
        role: 'user',
        content: [
          {
            type: 'text',
            text: `Objective: ${objective}\n\nSplit the objective into at most ${maxDomains} domains (for example frontend, backend, data), each with its own sub-objective for a domain manager, and call ${DOMAINS_TOOL}.`,
          },
        ],
      },
    ],
    tool: { name: DOMAINS_TOOL, description: 'Submit the domains of the objective.', schema: domainsSchema },
    normalize: normalizeDomainsAnswer,
    check: (answer) => {
      if (answer.domains.length > maxDomains) return `at most ${maxDomains} domains are allowed`;
      const names = answer.domains.map((d) => d.name);
      const dup = names.find((n, i) => names.indexOf(n) !== i);
      return dup === undefined ? undefined : `domain ${dup} appears twice`;
    },
    signal: ctx.signal,
    onUsage: ctx.onUsage,
  });
  return answer.value.domains;
}

const reviewSchema = z.strictObject({
  verdict: z.enum(['accept', 'revise', 'replan']),
  feedback: z.string().max(4_000).default(''),
  /** replan: tasks to add to the plan. */
  newTasks: z.array(planTaskSchema).max(50).optional(),
});

export type ReviewVerdict = z.output<typeof reviewSchema>;

/** The queen (or a manager) judges one worker's result: accept it, send it back, or add tasks. */
export async function requestReview(
  ctx: LeaderContext,
  input: { objective: string; task: PlanTask; result: string; failed: boolean; planned: ReadonlySet<string>; knownTypes: ReadonlySet<string> },
): Promise<ReviewVerdict> {
  const text = [
    `Objective: ${input.objective}`,
    `Task ${input.task.id}: ${input.task.title}`,
    `Prompt given to the worker: ${input.task.prompt}`,
    input.failed ? `The worker FAILED: ${input.result}` : `The worker's result:\n${input.result}`,
    '',
    `Call ${REVIEW_TOOL}: accept the result, revise (send it back to the worker with feedback), or replan (add newTasks to the plan; their dependsOn may name planned tasks).`,
  ].join('\n');
  const answer = await callStructured({
    provider: ctx.provider,
    model: ctx.model,
    system: ctx.agentType.systemPrompt,
    messages: [{ role: 'user', content: [{ type: 'text', text }] }],
    tool: { name: REVIEW_TOOL, description: "Judge a worker's result.", schema: reviewSchema },
    normalize: (raw) => normalizeReviewAnswer(raw, { knownTypes: input.knownTypes, existing: input.planned }),
    check: (verdict) => {
      if (verdict.verdict !== 'replan') return undefined;
      if (!verdict.newTasks || verdict.newTasks.length === 0) return 'replan needs newTasks';
      return planProblem(verdict.newTasks, { knownTypes: input.knownTypes, existing: input.planned });
    },
    signal: ctx.signal,
    onUsage: ctx.onUsage,
  });
  return answer.value;
}

/** Synthesizes one answer to the objective from the parts' results (plain text). */
export async function requestSynthesis(ctx: LeaderContext, objective: string, parts: readonly { title: string; status: string; result: string }[]): Promise<string> {
  const body = parts.map((p, i) => `## ${i + 1}. ${p.title} (${p.status})\n${p.result}`).join('\n\n');
  const response = await ctx.provider.complete({
    model: ctx.model,
    system: ctx.agentType.systemPrompt,
    messages: [
      {
        role: 'user',
        content: [{ type: 'text', text: `Objective: ${objective}\n\nResults of the work done:\n\n${body}\n\nSynthesize one answer to the objective from these results.` }],
      },
    ],
    signal: ctx.signal,
  });
  ctx.onUsage(response.usage);
  const text = response.content
    .filter((p) => p.type === 'text')
    .map((p) => p.text)
    .join('\n')
    .trim();
  return text === '' ? '(the aggregator gave no text)' : text;
}
