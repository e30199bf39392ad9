import { z } from 'zod';
import { CONSENSUS_STRATEGIES, type ConsensusSettings } from '../domain/consensus.js';
import { ValidationError } from '../domain/errors.js';
import { PROVIDER_IDS } from '../providers/provider-ids.js';
import { parseDuration } from '../tasks/duration.js';
import { CONSENSUS_DEFAULTS, CONSENSUS_LIMITS, DEFAULT_THRESHOLDS } from './consensus-defaults.js';

/**
 * What a consensus request may say, as one zod schema shared by the library (`colony.consensus`),
 * the CLI, REST and MCP, so that all four accept and refuse exactly the same things.
 */

const L = CONSENSUS_LIMITS;
const idText = z.string().regex(/^[A-Za-z0-9_]{1,64}$/, 'an id is 1-64 letters, digits or underscores');

/** Milliseconds, or a duration such as `30s` or `2m`. */
const duration = z
  .union([z.number().int().positive(), z.string().min(1).max(50)])
  .transform((value, ctx) => {
    let ms: number;
    try {
      ms = typeof value === 'number' ? value : parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
    if (ms > L.maxTimeoutMs) {
      ctx.addIssue({ code: 'custom', message: `at most ${L.maxTimeoutMs / 60_000} minutes` });
      return z.NEVER;
    }
    return ms;
  });

const share = (what: string) => z.number().gt(0, `${what} must be greater than 0`).max(1, `${what} is a share: at most 1`);

/** The proposal itself and how it is decided: common to questions for agents and for custom voters. */
const proposalShape = {
  question: z.string().trim().min(1, 'must not be empty').max(L.questionMaxChars),
  options: z
    .array(z.string().trim().min(1, 'an option must not be empty').max(L.optionMaxChars))
    .min(L.minOptions, `at least ${L.minOptions} options`)
    .max(L.maxOptions, `at most ${L.maxOptions} options`)
    .refine((options) => new Set(options).size === options.length, 'options must be distinct')
    .optional(),
  context: z.string().max(L.contextMaxChars).optional(),
  strategy: z.enum(CONSENSUS_STRATEGIES, { error: (i) => `unknown strategy ${JSON.stringify(i.input)}; one of ${CONSENSUS_STRATEGIES.join(', ')}` }).optional(),
  threshold: share('threshold').optional(),
  quorum: share('quorum').optional(),
  /** How long voters have per round. */
  timeout: duration.optional(),
  maxRounds: z.number().int().min(1).max(L.maxRounds).optional(),
  swarmId: idText.optional(),
  taskId: idText.optional(),
};

/** A question put to agents: named ones, or agents of a type spawned for it (the fields, for schemas that add their own, such as REST's `wait`). */
export const consensusAskFields = {
  ...proposalShape,
  agentIds: z.array(idText).min(1).max(L.maxVoters).optional(),
  agentType: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'an agent type is letters, digits, dot, dash or underscore').optional(),
  voters: z.number().int().min(1).max(L.maxSpawnedVoters, `at most ${L.maxSpawnedVoters} agents are spawned for one question`).optional(),
  provider: z.enum(PROVIDER_IDS, { error: (i) => `unknown provider ${JSON.stringify(i.input)}; known providers: ${PROVIDER_IDS.join(', ')}` }).optional(),
  model: z.string().min(1).max(200).optional(),
};

function checkRounds(value: { strategy?: string | undefined; maxRounds?: number | undefined }, ctx: z.RefinementCtx): void {
  if (value.maxRounds !== undefined && value.maxRounds > 1 && (value.strategy ?? CONSENSUS_DEFAULTS.strategy) !== 'multi-round') {
    ctx.addIssue({ code: 'custom', path: ['maxRounds'], message: 'only the multi-round strategy has more than one round' });
  }
}

export const consensusProposeSchema = z.strictObject(proposalShape).superRefine(checkRounds);

/** The checks across fields of a question put to agents. */
export function checkAsk(
  value: { strategy?: string | undefined; maxRounds?: number | undefined; agentIds?: string[] | undefined; agentType?: string | undefined; voters?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  checkRounds(value, ctx);
  if (value.agentIds !== undefined && (value.agentType !== undefined || value.voters !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['agentIds'], message: 'give either agentIds or agentType/voters, not both' });
  }
  if (value.agentIds !== undefined && new Set(value.agentIds).size !== value.agentIds.length) {
    ctx.addIssue({ code: 'custom', path: ['agentIds'], message: 'an agent is listed twice' });
  }
}

export const consensusAskSchema = z.strictObject(consensusAskFields).superRefine(checkAsk);

export type ConsensusProposeInput = z.input<typeof consensusProposeSchema>;
export type ConsensusProposeRequest = z.output<typeof consensusProposeSchema>;
export type ConsensusAskInput = z.input<typeof consensusAskSchema>;
export type ConsensusAskRequest = z.output<typeof consensusAskSchema>;

/** Parses with one of the schemas above; the error names the field (`threshold: …`). */
export function parseConsensusInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((issue) => {
    const field = issue.path.map(String).join('.');
    const message = issue.code === 'unrecognized_keys' ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    return { field: field || 'input', message };
  });
  const first = errors[0] ?? { field: 'input', message: 'invalid' };
  throw new ValidationError(`${first.field}: ${first.message}`, { details: { field: first.field, errors } });
}

/** The settings a request asks for, defaults filled in. */
export function settingsOf(request: Pick<ConsensusProposeRequest, 'strategy' | 'threshold' | 'quorum' | 'timeout' | 'maxRounds'>): ConsensusSettings {
  const strategy = request.strategy ?? CONSENSUS_DEFAULTS.strategy;
  return {
    strategy,
    threshold: request.threshold ?? DEFAULT_THRESHOLDS[strategy],
    quorum: request.quorum ?? CONSENSUS_DEFAULTS.quorum,
    timeoutMs: request.timeout ?? CONSENSUS_DEFAULTS.timeoutMs,
    maxRounds: strategy === 'multi-round' ? (request.maxRounds ?? CONSENSUS_DEFAULTS.multiRoundMaxRounds) : 1,
  };
}
