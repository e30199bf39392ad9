import type { CompletionRequest, CompletionResponse, Provider, StreamEvent } from '../ports/provider.js';
import type { Span, SpanAttributes, Tracer } from '../ports/tracer.js';

/** The GenAI semantic conventions' operation for a chat completion. */
const CHAT_OPERATION = 'chat';

/**
 * A model call is a client span `chat <model>` with the OpenTelemetry GenAI attributes: provider,
 * requested and answering model, input and output tokens, finish reason. One span per logical call,
 * its retries inside it (they are the resilient wrapper's, under this one).
 */
export class TracedProvider implements Provider {
  readonly id: string;
  readonly #inner: Provider;
  readonly #providerId: string;
  readonly #tracer: Tracer;

  constructor(inner: Provider, providerId: string, tracer: Tracer) {
    this.id = inner.id;
    this.#inner = inner;
    this.#providerId = providerId;
    this.#tracer = tracer;
  }

  async complete(request: CompletionRequest): Promise<CompletionResponse> {
    const span = this.#start(request);
    try {
      const response = await this.#inner.complete(request);
      span.setAttributes(responseAttributes(response));
      return response;
    } catch (error) {
      span.fail(error);
      throw error;
    } finally {
      span.end();
    }
  }

  async *stream(request: CompletionRequest): AsyncIterable<StreamEvent> {
    const span = this.#start(request);
    try {
      for await (const event of this.#inner.stream(request)) {
        if (event.type === 'message_end') span.setAttributes(responseAttributes(event.response));
        yield event;
      }
    } catch (error) {
      span.fail(error);
      throw error;
    } finally {
      span.end();
    }
  }

  #start(request: CompletionRequest): Span {
    return this.#tracer.startSpan(`${CHAT_OPERATION} ${request.model}`, {
      kind: 'client',
      attributes: {
        'gen_ai.operation.name': CHAT_OPERATION,
        'gen_ai.provider.name': this.#providerId,
        // The attribute's older name, still what many backends read.
        'gen_ai.system': this.#providerId,
        'gen_ai.request.model': request.model,
        'gen_ai.request.max_tokens': request.maxTokens,
        'gen_ai.request.temperature': request.temperature,
      },
    });
  }
}

function responseAttributes(response: CompletionResponse): SpanAttributes {
  return {
    'gen_ai.response.id': response.id || undefined,
    'gen_ai.response.model': response.model || undefined,
    'gen_ai.response.finish_reasons': [response.stopReason],
    'gen_ai.usage.input_tokens': response.usage.inputTokens,
    'gen_ai.usage.output_tokens': response.usage.outputTokens,
  };
}

/** `provider` traced when tracing is on; as it is (no wrapper, no cost) when it is off. */
export function traced(provider: Provider, providerId: string, tracer: Tracer | undefined): Provider {
  return tracer?.enabled ? new TracedProvider(provider, providerId, tracer) : provider;
}
