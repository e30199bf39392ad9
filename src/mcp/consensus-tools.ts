import { z } from 'zod';
import { CONSENSUS_LIMITS } from '../consensus/consensus-defaults.js';
import type { Colony } from '../app/colony.js';
import { CONSENSUS_STRATEGIES } from '../domain/consensus.js';

/**
 * The consensus tool of the MCP server: `consensus_vote` puts a question to agents (spawned for it)
 * and answers with the outcome and the deciding round's votes. Its schema is kept small; the full
 * request (named agents, quorum, rounds, provider) is the REST route's and the CLI's.
 */

/** Characters of each vote's reason in the answer. */
const REASON_PREVIEW_CHARS = 500;

export const CONSENSUS_TOOL_SCHEMAS = {
  consensus_vote: z.object({
    question: z.string().min(1).max(CONSENSUS_LIMITS.questionMaxChars).describe('the question or proposal to decide'),
    options: z.array(z.string().min(1).max(CONSENSUS_LIMITS.optionMaxChars)).min(2).max(CONSENSUS_LIMITS.maxOptions).optional().describe('the choices; default approve, reject'),
    voters: z.number().int().min(1).max(CONSENSUS_LIMITS.maxSpawnedVoters).optional().describe('agents that vote; default 3'),
    agentType: z.string().min(1).max(64).optional().describe('their agent type; default consensus-voter'),
    strategy: z.enum(CONSENSUS_STRATEGIES).optional().describe('default supermajority (two thirds)'),
    threshold: z.number().gt(0).max(1).optional().describe('share a decision needs'),
  }),
} as const;

export type ConsensusToolName = keyof typeof CONSENSUS_TOOL_SCHEMAS;

export const CONSENSUS_TOOL_DESCRIPTIONS: Record<ConsensusToolName, string> = {
  consensus_vote:
    'Put a question to agents and wait for their decision: each votes with a confidence and a reason, signed; forged or double votes are excluded (operator).',
};

type Args<N extends ConsensusToolName> = z.output<(typeof CONSENSUS_TOOL_SCHEMAS)[N]>;

export function consensusToolHandlers(colony: Colony): { [N in ConsensusToolName]: (args: Args<N>) => Promise<unknown> } {
  return {
    consensus_vote: async (args) => {
      const proposal = await colony.consensus.ask({
        question: args.question,
        ...(args.options === undefined ? {} : { options: args.options }),
        ...(args.voters === undefined ? {} : { voters: args.voters }),
        ...(args.agentType === undefined ? {} : { agentType: args.agentType }),
        ...(args.strategy === undefined ? {} : { strategy: args.strategy }),
        ...(args.threshold === undefined ? {} : { threshold: args.threshold }),
      });
      const outcome = proposal.outcome;
      const lastRound = outcome?.rounds.at(-1)?.round;
      const votes = lastRound === undefined ? [] : await colony.consensus.votes(proposal.id, lastRound);
      return {
        success: true,
        proposalId: proposal.id,
        status: proposal.status,
        decision: outcome?.decision ?? null,
        ratio: outcome?.ratio ?? 0,
        participation: outcome?.participation ?? 0,
        rounds: outcome?.rounds.length ?? 0,
        reason: outcome?.reason ?? null,
        byzantine: outcome?.byzantine ?? [],
        votes: votes.map((v) => ({
          voterId: v.voterId,
          decision: v.decision,
          confidence: v.confidence,
          counted: v.status === 'counted',
          exclusion: v.exclusion,
          reason: v.reason.length > REASON_PREVIEW_CHARS ? `${v.reason.slice(0, REASON_PREVIEW_CHARS)}…` : v.reason,
        })),
      };
    },
  };
}
