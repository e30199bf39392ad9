import { ValidationError } from '../domain/errors.js';
import type { CompletionRequest, CompletionResponse, Provider, StreamEvent } from '../ports/provider.js';
import { incompleteStreamError } from './provider-errors.js';

/** A provider a program registers: `complete`, `stream`, or both. */
export type RegistrableProvider = { readonly id?: string } & (
  | { complete(request: CompletionRequest): Promise<CompletionResponse>; stream?(request: CompletionRequest): AsyncIterable<StreamEvent> }
  | { complete?(request: CompletionRequest): Promise<CompletionResponse>; stream(request: CompletionRequest): AsyncIterable<StreamEvent> }
);

/**
 * The whole Provider port, under `id`, from a program's provider that implements one half of it or
 * both: a stream made of the completion (its text as deltas, then `message_end`), or a completion
 * that is the stream's `message_end`. Agents stream; consensus votes and planners complete.
 */
export function wholeProvider(id: string, given: RegistrableProvider): Provider {
  const complete = typeof given?.complete === 'function' ? given.complete.bind(given) : undefined;
  const stream = typeof given?.stream === 'function' ? given.stream.bind(given) : undefined;
  if (complete && stream) return { id, complete, stream };
  if (complete) {
    return {
      id,
      complete,
      async *stream(request) {
        const response = await complete(request);
        for (const part of response.content) if (part.type === 'text' && part.text !== '') yield { type: 'text_delta', text: part.text };
        yield { type: 'message_end', response };
      },
    };
  }
  if (stream) {
    return {
      id,
      stream,
      async complete(request) {
        for await (const event of stream(request)) if (event.type === 'message_end') return event.response;
        throw incompleteStreamError(id);
      },
    };
  }
  throw new ValidationError(`provider "${id}" must implement complete(request), stream(request) or both`, { details: { provider: id } });
}
