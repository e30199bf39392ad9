import type { EventBus } from '../ports/event-bus.js';
import type { Logger } from '../kernel/logger.js';
import type { JsonValue } from '../domain/json.js';
import type { TokenUsage } from '../ports/provider.js';
import type { MetricSample, Store } from '../ports/store.js';
import { estimateCostUsd } from '../providers/pricing.js';
import { CONSENSUS_EVENT_SOURCE } from './consensus-engine.js';

/** One model call a voter made. */
export interface VoteCall {
  voterId: string;
  proposalId: string;
  provider: string;
  model: string;
  usage: TokenUsage;
}

/** A model call's usage as reported to callers (swarms count tokens and cost with it). */
export interface VoteUsage extends TokenUsage {
  voterId: string;
  proposalId: string;
  provider: string;
  model: string;
  costUsd: number | null;
}

export interface VoteUsageDeps {
  store: Store;
  events: EventBus;
  logger: Logger;
  now: () => number;
}

/**
 * Records a voter's model call as the agent runtime records its turns: usage metrics for the voting
 * agent, the proposal and (when the vote reviews a task) the task, and an `llm.usage` event naming
 * the task (null for a question about no task) and the swarm, if any.
 * Resolves with the usage and its cost (null when the model's price is unknown) once the metrics are
 * written; a failed metrics write is logged, it does not cost the vote.
 */
export async function recordVoteUsage(
  deps: VoteUsageDeps,
  call: VoteCall,
  refs: { taskId: string | null; swarmId: string | null },
  correlationId: string,
): Promise<VoteUsage> {
  const { taskId, swarmId } = refs;
  const costUsd = estimateCostUsd(call.model, call.usage);
  const timestamp = deps.now();
  const metadata: Record<string, JsonValue> = { provider: call.provider, model: call.model, proposalId: call.proposalId };
  const entities = [
    { entityType: 'agent', entityId: call.voterId },
    { entityType: 'proposal', entityId: call.proposalId },
    ...(taskId === null ? [] : [{ entityType: 'task', entityId: taskId }]),
  ];
  const samples: MetricSample[] = entities.flatMap((entity) => [
    { ...entity, metadata, name: 'llm.input_tokens', value: call.usage.inputTokens, timestamp },
    { ...entity, metadata, name: 'llm.output_tokens', value: call.usage.outputTokens, timestamp },
    ...(costUsd === null ? [] : [{ ...entity, metadata, name: 'llm.cost_usd', value: costUsd, timestamp }]),
  ]);
  deps.events.publish(
    'llm.usage',
    {
      taskId,
      agentId: call.voterId,
      provider: call.provider,
      model: call.model,
      inputTokens: call.usage.inputTokens,
      outputTokens: call.usage.outputTokens,
      costUsd,
      ...(swarmId === null ? {} : { swarmId }),
    },
    { source: CONSENSUS_EVENT_SOURCE, correlationId },
  );
  try {
    await deps.store.metrics.record(samples);
  } catch (error) {
    deps.logger.warn({ err: error, proposalId: call.proposalId }, 'vote usage metrics could not be recorded');
  }
  return { ...call.usage, voterId: call.voterId, proposalId: call.proposalId, provider: call.provider, model: call.model, costUsd };
}
