import type { Logger } from '../kernel/logger.js';
import { CapacityError } from '../domain/errors.js';
import type { ModelCallBudget, ModelCallLedger } from '../ports/model-call-ledger.js';
import type { SwarmStore } from '../ports/swarm-store.js';
import type { CompletionRequest, CompletionResponse, Provider, StreamEvent, TokenUsage } from '../ports/provider.js';
import { estimateCostUsd, modelPrice } from './pricing.js';
import { DEFAULT_MAX_TOKENS } from './provider-defaults.js';

/**
 * A request's input tokens are estimated before the call as one per this many bytes of its JSON
 * (English prose runs about four bytes a token, code and JSON nearer three); the call's own count
 * replaces the estimate when it ends.
 */
const RESERVED_BYTES_PER_INPUT_TOKEN = 3;
/** Below this many output tokens left in the budget, a call is not worth making. */
const MIN_OUTPUT_TOKENS = 16;
/** Admissions lost to other processes' calls in a row before the call is refused as over budget. */
const ADMISSION_ATTEMPTS = 5;

/** Whose call it is: the swarm it counts against, and what made it. */
export interface MeteredCallContext {
  swarmId: string;
  taskId: string | null;
  agentId: string | null;
  runnerId: string | null;
  budget: ModelCallBudget;
}

export interface MeteredProviderOptions {
  ledger: ModelCallLedger;
  context: MeteredCallContext;
  newId: () => string;
  now: () => number;
  /** Where a failed close is reported (the call then counts at its reservation); absent: nowhere. */
  logger?: Pick<Logger, 'warn'>;
}

/**
 * A Provider that records every call of a swarm in the ModelCallLedger before it is made, with a
 * reservation (its input, estimated from above, plus its output cap), and closes it with the real
 * usage after. Admission is checked against the swarm's budget in the store, across processes; the
 * output cap is lowered to what the budget has left, so that the budget holds exactly.
 */
export class MeteredProvider implements Provider {
  readonly id: string;
  readonly #inner: Provider;
  readonly #deps: MeteredProviderOptions;
  /** The close of the last call, written in the background; settles, never rejects. */
  #closing: Promise<void> = Promise.resolve();

  constructor(inner: Provider, options: MeteredProviderOptions) {
    this.id = inner.id;
    this.#inner = inner;
    this.#deps = options;
  }

  /** Resolves when the last call's close is written (or has failed): its usage is in the ledger. */
  closed(): Promise<void> {
    return this.#closing;
  }

  async complete(request: CompletionRequest): Promise<CompletionResponse> {
    const { callId, admitted } = await this.#admit(request);
    let usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
    let model = admitted.model;
    try {
      const response = await this.#inner.complete(admitted);
      usage = response.usage;
      model = response.model;
      return response;
    } finally {
      this.#close(callId, model, usage);
    }
  }

  async *stream(request: CompletionRequest): AsyncIterable<StreamEvent> {
    const { callId, admitted } = await this.#admit(request);
    let usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
    let model = admitted.model;
    try {
      for await (const event of this.#inner.stream(admitted)) {
        if (event.type === 'message_end') {
          usage = event.response.usage;
          model = event.response.model;
        }
        yield event;
      }
    } finally {
      this.#close(callId, model, usage);
    }
  }

  /** Records the call as open within the budget, with the output cap the budget allows. */
  async #admit(request: CompletionRequest): Promise<{ callId: string; admitted: CompletionRequest }> {
    const { ledger, context, newId, now } = this.#deps;
    const { maxTokens, maxCostUsd } = context.budget;
    const model = request.model;
    const inputTokens = Math.ceil(Buffer.byteLength(JSON.stringify([request.system ?? '', request.messages, request.tools ?? []])) / RESERVED_BYTES_PER_INPUT_TOKEN);
    const price = modelPrice(model);
    // This provider's last call counts at its real usage, not its reservation, once its close is in.
    if (maxTokens !== null || maxCostUsd !== null) await this.#closing;
    for (let attempt = 1; attempt <= ADMISSION_ATTEMPTS; attempt++) {
      let outputTokens = request.maxTokens ?? DEFAULT_MAX_TOKENS;
      if (maxTokens !== null || (maxCostUsd !== null && price)) {
        const used = await ledger.swarmUsage(context.swarmId);
        if (maxTokens !== null) {
          const counted = used.inputTokens + used.outputTokens + used.openTokens + used.lostTokens;
          outputTokens = Math.min(outputTokens, maxTokens - counted - inputTokens);
        }
        if (maxCostUsd !== null && price && used.costUsd !== null) {
          const left = maxCostUsd - used.costUsd - (estimateCostUsd(model, { inputTokens, outputTokens: 0 }) ?? 0);
          outputTokens = Math.min(outputTokens, Math.floor((left * 1_000_000) / price.outputPerMillionUsd));
        }
        if (outputTokens < MIN_OUTPUT_TOKENS) break;
      }
      const callId = newId();
      const reservedCostUsd = estimateCostUsd(model, { inputTokens, outputTokens });
      const opened = await ledger.open(
        {
          id: callId,
          swarmId: context.swarmId,
          taskId: context.taskId,
          agentId: context.agentId,
          runnerId: context.runnerId,
          provider: this.id,
          model,
          reservedTokens: inputTokens + outputTokens,
          reservedCostUsd,
          startedAt: now(),
        },
        context.budget,
      );
      if (opened) return { callId, admitted: { ...request, maxTokens: outputTokens } };
    }
    await ledger.refuse({ id: newId(), swarmId: context.swarmId, taskId: context.taskId, agentId: context.agentId, runnerId: context.runnerId, provider: this.id, model, reservedTokens: 0, reservedCostUsd: 0, startedAt: now() });
    throw new CapacityError(`swarm ${context.swarmId} has no budget left for another model call`, {
      details: { reason: 'budget_exhausted', swarmId: context.swarmId, maxTokens, maxCostUsd },
    });
  }

  /**
   * Closes the call with what it used, in the background: the call's caller goes on at once, and the
   * close commits with the next batch of writes. Nothing is lost by not waiting: this process's writes
   * are applied in order, so the close lands before the task's outcome; until it lands, and for good if
   * it fails or the process dies first, the call counts at its reservation, which is never less than
   * what it used.
   */
  #close(callId: string, model: string, usage: TokenUsage): void {
    this.#closing = this.#deps.ledger.close(callId, { ...usage, costUsd: estimateCostUsd(model, usage) }, this.#deps.now()).catch((error: unknown) => {
      this.#deps.logger?.warn({ err: error, callId }, 'could not close a model call; it counts at its reservation');
    });
  }
}

/** What metering a swarm's call needs from the store. */
export interface SwarmMeterDeps {
  store: { swarms: Pick<SwarmStore, 'get'>; modelCalls: ModelCallLedger };
  newId: () => string;
  now: () => number;
  logger?: Pick<Logger, 'warn'>;
}

/** A provider whose calls count against the swarm's usage and budget (the swarm's limits, as the ledger reads them). */
export async function meteredForSwarm(provider: Provider, call: Omit<MeteredCallContext, 'budget'>, deps: SwarmMeterDeps): Promise<MeteredProvider> {
  return new MeteredProvider(provider, {
    ledger: deps.store.modelCalls,
    context: { ...call, budget: await swarmBudget(deps.store, call.swarmId) },
    newId: deps.newId,
    now: deps.now,
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
}

/** The swarm's limits: from the ledger (the limits alone), else from the swarm's whole record. */
async function swarmBudget(store: SwarmMeterDeps['store'], swarmId: string): Promise<ModelCallBudget> {
  if (store.modelCalls.swarmBudget) return store.modelCalls.swarmBudget(swarmId);
  const limits = (await store.swarms.get(swarmId))?.config.limits;
  return { maxTokens: limits?.maxTokens ?? null, maxCostUsd: limits?.maxCostUsd ?? null };
}

/** Whether an error is a MeteredProvider's refusal for want of budget. */
export function isBudgetRefusal(error: unknown): boolean {
  return error instanceof CapacityError && error.details?.reason === 'budget_exhausted';
}
