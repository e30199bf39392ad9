import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  ConsecutiveBreaker,
  TaskCancelledError,
  circuitBreaker,
  handleWhen,
  retry,
  type CircuitBreakerPolicy,
  type RetryPolicy,
} from 'cockatiel';
import { ColonyError, ProviderError } from '../domain/errors.js';
import type { CompletionRequest, CompletionResponse, Provider, StreamEvent } from '../ports/provider.js';
import { acquireLease } from './bulkhead-lease.js';
import { ProviderSlots } from './provider-slots.js';
import { withDeadline } from './call-deadline.js';
import {
  DEFAULT_BREAKER_HALF_OPEN_AFTER_MS,
  DEFAULT_BREAKER_THRESHOLD,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_QUEUED_CALLS,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MAX_RETRY_AFTER_MS,
  DEFAULT_PROVIDER_TIMEOUT_MS,
  DEFAULT_RETRY_BASE_DELAY_MS,
  DEFAULT_RETRY_MAX_DELAY_MS,
} from './provider-defaults.js';
import { cancelledError, incompleteStreamError, providerErrorFromTransport } from './provider-errors.js';
import { retryAfterAwareBackoff } from './retry-after-backoff.js';
import { raceAbort } from '../kernel/race-abort.js';

/**
 * Wraps any Provider with cockatiel policies; the one retry layer between Colony and an LLM.
 *
 * Per logical call: a bulkhead slot (held for the whole call, retry waits and the entire stream
 * included, so a rate-limited provider is not hammered by queued calls), then retries
 * (exponential backoff with jitter, never shorter than retry-after; only retryable ProviderErrors),
 * each attempt through the provider's circuit breaker (opens after N consecutive retryable
 * failures, fails fast, lets one probe through after the half-open delay) and a timeout.
 *
 * Streams are retried only until their first event is yielded: after that the consumer has seen
 * output and a retry would duplicate it, so later failures surface as they are. For streams the
 * timeout bounds the wait for each event (a long generation is fine; a stalled one is not).
 *
 * Cancellation: `request.signal` aborts the waiting for a slot, a retry wait, and the HTTP request
 * itself; the call rejects with CancelledError at once.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export type ResilienceEvent =
  | { type: 'breaker'; provider: string; state: BreakerState }
  | { type: 'retry'; provider: string; attempt: number; delayMs: number; error: ProviderError }
  /** Every slot of the concurrency limit is taken and calls wait (`reached`), or nobody waits any more. */
  | { type: 'limit'; provider: string; maxConcurrency: number; reached: boolean };

export interface ResilienceOptions {
  timeoutMs?: number;
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Longer retry-after values are not waited out: the error is returned for the caller to schedule. */
  maxRetryAfterMs?: number;
  breakerThreshold?: number;
  halfOpenAfterMs?: number;
  maxConcurrency?: number;
  maxQueued?: number;
  /** A concurrency limit shared with other wrappers (Claude Code: one wrapper per task, one limit per process); it replaces `maxConcurrency` and `maxQueued`. */
  slots?: ProviderSlots;
  /** Called synchronously; exceptions it throws are swallowed so that observers cannot break calls. */
  onEvent?: (event: ResilienceEvent) => void;
}

interface OpenedStream {
  iterator: AsyncIterator<StreamEvent>;
  controller: AbortController;
  first: StreamEvent;
}

export class ResilientProvider implements Provider {
  readonly id: string;
  readonly #inner: Provider;
  readonly #retry: RetryPolicy;
  readonly #breaker: CircuitBreakerPolicy;
  /** The latest failure of a call, named when the circuit it opened refuses calls. */
  #lastFailure: ProviderError | null = null;
  readonly #slots: ProviderSlots;
  readonly #timeoutMs: number;
  readonly #halfOpenAfterMs: number;
  readonly #onEvent: (event: ResilienceEvent) => void;

  constructor(inner: Provider, options: ResilienceOptions = {}) {
    this.id = inner.id;
    this.#inner = inner;
    const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.#halfOpenAfterMs = options.halfOpenAfterMs ?? DEFAULT_BREAKER_HALF_OPEN_AFTER_MS;
    const listener = options.onEvent;
    this.#onEvent = (event) => {
      try {
        listener?.(event);
      } catch {
        // An observer's bug must not fail an LLM call.
      }
    };

    this.#retry = retry(
      handleWhen((error) => isRetryable(error) && ((error as ProviderError).retryAfterMs ?? 0) <= maxRetryAfterMs),
      {
        maxAttempts: options.maxRetries ?? DEFAULT_MAX_RETRIES,
        backoff: retryAfterAwareBackoff({
          initialDelayMs: options.baseDelayMs ?? DEFAULT_RETRY_BASE_DELAY_MS,
          maxDelayMs: options.maxDelayMs ?? DEFAULT_RETRY_MAX_DELAY_MS,
        }),
      },
    );
    this.#breaker = circuitBreaker(handleWhen(isRetryable), {
      halfOpenAfter: this.#halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.breakerThreshold ?? DEFAULT_BREAKER_THRESHOLD),
    });
    this.#slots = options.slots ?? new ProviderSlots(options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY, options.maxQueued ?? DEFAULT_MAX_QUEUED_CALLS);
    // Aggressive: the attempt rejects at the deadline even if the inner provider ignores its signal.
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS;

    this.#breaker.onStateChange((state) => this.#onEvent({ type: 'breaker', provider: this.id, state: toBreakerState(state) }));
    this.#retry.onRetry((event) => {
      if ('error' in event && event.error instanceof ProviderError) {
        this.#onEvent({ type: 'retry', provider: this.id, attempt: event.attempt, delayMs: event.delay, error: event.error });
      }
    });
  }

  breakerState(): BreakerState {
    return toBreakerState(this.#breaker.state);
  }

  async complete(request: CompletionRequest): Promise<CompletionResponse> {
    const signal = request.signal;
    const release = await this.#lease(signal);
    try {
      return await this.#withRetries(signal, () =>
        withDeadline(this.#timeoutMs, signal, () => this.#timedOut(), (attemptSignal) => this.#inner.complete({ ...request, signal: attemptSignal })),
      );
    } finally {
      release();
    }
  }

  async *stream(request: CompletionRequest): AsyncGenerator<StreamEvent> {
    const signal = request.signal;
    const release = await this.#lease(signal);
    try {
      const { iterator, controller, first } = await this.#withRetries(signal, () => this.#openStream(request));
      let ended = false;
      try {
        yield first;
        for (;;) {
          const next = await this.#nextEvent(iterator, controller, signal).catch((error: unknown) => {
            throw this.#classify(error, signal);
          });
          if (next.done === true) {
            ended = true;
            return;
          }
          yield next.value;
        }
      } finally {
        // Closes the HTTP response if the consumer stopped early or the stream failed (a finished
        // stream has nothing to close, and an abort costs a DOMException).
        if (!ended) {
          controller.abort();
          await iterator.return?.().catch(() => undefined);
        }
      }
    } finally {
      release();
    }
  }

  /** One attempt at a stream: start it and wait (under the timeout) for its first event. */
  async #openStream(request: CompletionRequest): Promise<OpenedStream> {
    const controller = new AbortController();
    const signal = request.signal ? AbortSignal.any([request.signal, controller.signal]) : controller.signal;
    const iterator = this.#inner.stream({ ...request, signal })[Symbol.asyncIterator]();
    try {
      const first = await this.#nextEvent(iterator, controller, request.signal);
      if (first.done === true) throw incompleteStreamError(this.id);
      return { iterator, controller, first: first.value };
    } catch (error) {
      controller.abort();
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
      throw error;
    }
  }

  /** iterator.next() under the per-event timeout; a timeout aborts the attempt's HTTP request. */
  #nextEvent(iterator: AsyncIterator<StreamEvent>, controller: AbortController, signal: AbortSignal | undefined) {
    return withDeadline(this.#timeoutMs, signal, () => this.#timedOut(), async (deadline) => {
      const onDeadline = (): void => controller.abort();
      deadline.addEventListener('abort', onDeadline, { once: true });
      try {
        return await iterator.next();
      } finally {
        deadline.removeEventListener('abort', onDeadline);
      }
    });
  }

  /** retry( breaker( attempt ) ), rejecting at once when the caller aborts, even mid-backoff. */
  #withRetries<T>(signal: AbortSignal | undefined, attempt: () => Promise<T>): Promise<T> {
    const run = this.#retry.execute(async () => {
      if (signal?.aborted === true) throw cancelledError(this.id);
      try {
        return await this.#breaker.execute(async () => {
          try {
            return await attempt();
          } catch (error) {
            const classified = this.#classify(error, signal);
            if (classified instanceof ProviderError) this.#lastFailure = classified;
            throw classified;
          }
        });
      } catch (error) {
        if (error instanceof BrokenCircuitError) throw this.#circuitOpenError();
        throw error;
      }
    }, signal);
    return raceAbort(run, signal, () => cancelledError(this.id));
  }

  async #lease(signal: AbortSignal | undefined): Promise<() => void> {
    const slots = this.#slots;
    if (!slots.saturated && slots.full) this.#limit(true);
    try {
      const release = await acquireLease(slots.policy, signal);
      return () => {
        release();
        // Still saturated while anyone waits: the freed slot goes to the next in line.
        if (slots.saturated && slots.idleQueue) this.#limit(false);
      };
    } catch (error) {
      if (error instanceof BulkheadRejectedError) {
        throw new ProviderError(`${this.id}: too many calls waiting for the provider`, {
          provider: this.id,
          retryable: true,
          details: { reason: 'capacity' },
        });
      }
      throw cancelledError(this.id);
    }
  }

  #limit(reached: boolean): void {
    this.#slots.saturated = reached;
    this.#onEvent({ type: 'limit', provider: this.id, maxConcurrency: this.#slots.maxConcurrency, reached });
  }

  #timedOut(): ProviderError {
    return new ProviderError(`${this.id}: timed out`, { provider: this.id, retryable: true, details: { reason: 'timeout' } });
  }

  /** Whatever an attempt threw, as a ColonyError: the caller's abort, our timeout, or the provider's. */
  #classify(error: unknown, signal: AbortSignal | undefined): ColonyError {
    if (signal?.aborted === true) return cancelledError(this.id);
    if (error instanceof TaskCancelledError || (error instanceof ColonyError && error.code === 'cancelled')) {
      // Not the caller's abort, so it was our deadline (surfacing from the inner provider seeing its
      // signal abort).
      return this.#timedOut();
    }
    if (error instanceof ColonyError) return error;
    return providerErrorFromTransport(error, this.id, []);
  }

  #circuitOpenError(): ProviderError {
    // The failure that opened the circuit is what the caller needs to know (a closed port, a 500).
    const last = this.#lastFailure === null ? '' : ` (last failure: ${this.#lastFailure.message.replace(`${this.id}`, '').replace(/^:?\s*/, '')})`;
    return new ProviderError(`${this.id}: circuit open after repeated failures${last}; failing fast`, {
      provider: this.id,
      retryable: true,
      retryAfterMs: this.#halfOpenAfterMs,
      details: { reason: 'circuit_open' },
    });
  }
}

/** Retryable provider failures, except a fast-failing open circuit (retrying it just spins). */
function isRetryable(error: Error): boolean {
  return error instanceof ProviderError && error.retryable && error.details.reason !== 'circuit_open';
}

function toBreakerState(state: CircuitState): BreakerState {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.HalfOpen:
      return 'half-open';
    default:
      return 'open';
  }
}

