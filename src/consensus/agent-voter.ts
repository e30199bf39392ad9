import { z } from 'zod';
import type { Logger } from '../kernel/logger.js';
import type { AgentTypeDefinition } from '../domain/agent.js';
import type { SignedVote } from '../domain/consensus.js';
import type { Provider, TokenUsage } from '../ports/provider.js';
import { callStructured } from '../providers/structured-output.js';
import type { Ballot, Voter } from './ballot.js';
import { CONSENSUS_LIMITS, VOTE_MAX_TOKENS } from './consensus-defaults.js';
import type { VoterKeyring } from './vote-signing.js';
import { normalizeVoteAnswer } from './vote-normalize.js';
import type { VoteCall } from './vote-usage.js';

export const CAST_VOTE_TOOL = 'cast_vote';

export interface AgentVoterOptions {
  /** The voting agent: its id is the voter's identity. */
  agentId: string;
  agentType: AgentTypeDefinition;
  provider: Provider;
  providerId: string;
  model: string;
  keyring: VoterKeyring;
  logger: Logger;
  /** Each model call's usage (repairs included); the vote waits for it (e.g. metrics written). */
  onUsage?(call: VoteCall): Promise<unknown> | void;
}

/** The arguments of cast_vote for a ballot's options. */
export function castVoteSchema(options: readonly string[]) {
  return z.strictObject({
    decision: z.enum(options as [string, ...string[]]).describe('the option you vote for'),
    confidence: z.number().min(0).max(1).describe('how sure you are, from 0 to 1, given the evidence'),
    reason: z.string().trim().min(1).max(CONSENSUS_LIMITS.reasonMaxChars).describe('why, in a few sentences tied to the evidence'),
  });
}

/**
 * An agent that votes through its model: the agent type's prompt as the system prompt, the ballot
 * as the user message, and a forced `cast_vote` call (structured output, repaired a bounded number
 * of times). The vote is signed with the agent's key. A model that gives no valid vote, or a
 * provider that fails: the call throws, and the engine records the agent as abstaining with that
 * reason (the round goes on without it); a round that ends first: no vote.
 */
export function createAgentVoter(options: AgentVoterOptions): Voter {
  return {
    id: options.agentId,
    async vote(ballot: Ballot, signal: AbortSignal): Promise<SignedVote[]> {
      const written: Promise<unknown>[] = [];
      const onUsage = (usage: TokenUsage) => {
        const pending = options.onUsage?.({ voterId: options.agentId, proposalId: ballot.proposalId, provider: options.providerId, model: options.model, usage });
        if (pending) written.push(pending);
      };
      try {
        const answer = await callStructured({
          provider: options.provider,
          model: options.model,
          system: systemPrompt(options.agentType),
          messages: [{ role: 'user', content: [{ type: 'text', text: ballotText(ballot) }] }],
          tool: {
            name: CAST_VOTE_TOOL,
            description: `Cast your vote on proposal ${ballot.proposalId}: one of ${ballot.options.join(', ')}, with your confidence and your reason.`,
            schema: castVoteSchema(ballot.options),
          },
          normalize: (raw) => normalizeVoteAnswer(raw, ballot.options),
          maxTokens: VOTE_MAX_TOKENS,
          signal,
          onUsage,
        });
        await Promise.all(written);
        return [
          await options.keyring.sign({
            proposalId: ballot.proposalId,
            round: ballot.round,
            voterId: options.agentId,
            decision: answer.value.decision,
            confidence: answer.value.confidence,
            reason: answer.value.reason,
          }),
        ];
      } catch (error) {
        await Promise.allSettled(written);
        // The round is over (or cancelled): nothing to say. Otherwise the engine records why no vote came.
        if (signal.aborted) return [];
        throw error;
      }
    },
  };
}

function systemPrompt(type: AgentTypeDefinition): string {
  return [
    type.systemPrompt.trim(),
    '## This vote',
    `You are voting in a Colony consensus round. Answer by calling the ${CAST_VOTE_TOOL} tool exactly once: ` +
      'decision (exactly one of the options given), confidence (0 to 1) and reason. No other tools are available in a vote, ' +
      `and the ${CAST_VOTE_TOOL} fields take precedence over any answer format described above.`,
  ]
    .filter((part) => part !== '')
    .join('\n\n');
}

/** The ballot as the voter reads it. */
export function ballotText(ballot: Ballot): string {
  const parts = [`Proposal ${ballot.proposalId}, round ${ballot.round}.`, `Question:\n${ballot.question}`, `Options (choose exactly one): ${ballot.options.join(', ')}`];
  if (ballot.context) parts.push(`Context:\n${ballot.context}`);
  const p = ballot.previous;
  if (p) {
    const support = Object.entries(p.support)
      .map(([option, s]) => `${option} ${round2(s)}`)
      .join(', ');
    const standing = p.leading === null ? 'no option led' : `${p.leading} led with ${Math.round(p.ratio * 100)}%, not enough to decide`;
    const lines = [`Round ${p.round} was not decided: ${standing} (support: ${support}; ${Math.round(p.participation * 100)}% of voters voted).`];
    if (p.question !== ballot.question) lines.push(`The question then was:\n${p.question}`);
    if (p.dissent.length > 0) lines.push(`Reasons given against the leading option:\n${p.dissent.map((d) => `- ${d.decision}: ${d.reason}`).join('\n')}`);
    parts.push(lines.join('\n'));
  }
  return parts.join('\n\n');
}

function round2(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
