import type { RawMessageStreamEvent, StopReason as AnthropicStopReason } from '@anthropic-ai/sdk/resources/messages/messages';
import type { ContentPart, StreamEvent } from '../../../ports/provider.js';
import { incompleteStreamError } from '../../../providers/provider-errors.js';
import { parseToolArguments } from '../../../providers/tool-input.js';
import { fromAnthropicStopReason, fromAnthropicUsage } from './anthropic-mapping.js';

/**
 * Turns the Messages API's SSE events (message_start, content_block_start/delta/stop,
 * message_delta, message_stop) into Colony stream events, assembling the final response on the way.
 * A stream that ends before message_stop was cut short and throws a retryable ProviderError.
 */

type Block = { kind: 'text'; text: string } | { kind: 'tool'; id: string; name: string; json: string };

interface UsageSoFar {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

export async function* translateAnthropicStream(
  events: AsyncIterable<RawMessageStreamEvent>,
  provider: string,
): AsyncGenerator<StreamEvent> {
  let id = '';
  let model = '';
  let stopReason: AnthropicStopReason | null = null;
  let usage: UsageSoFar = {};
  const blocks = new Map<number, Block>();

  for await (const event of events) {
    switch (event.type) {
      case 'message_start':
        id = event.message.id;
        model = event.message.model;
        usage = { ...event.message.usage };
        break;
      case 'content_block_start': {
        const block = event.content_block;
        if (block.type === 'text') {
          blocks.set(event.index, { kind: 'text', text: block.text });
          if (block.text !== '') yield { type: 'text_delta', text: block.text };
        } else if (block.type === 'tool_use') {
          blocks.set(event.index, { kind: 'tool', id: block.id, name: block.name, json: '' });
          yield { type: 'tool_use_start', id: block.id, name: block.name };
        }
        break;
      }
      case 'content_block_delta': {
        const block = blocks.get(event.index);
        if (event.delta.type === 'text_delta' && block?.kind === 'text') {
          block.text += event.delta.text;
          yield { type: 'text_delta', text: event.delta.text };
        } else if (event.delta.type === 'input_json_delta' && block?.kind === 'tool' && event.delta.partial_json !== '') {
          // The API opens every tool block with an empty piece; passing it on would only be noise.
          block.json += event.delta.partial_json;
          yield { type: 'tool_use_delta', id: block.id, partialJson: event.delta.partial_json };
        }
        break;
      }
      case 'content_block_stop':
        break;
      case 'message_delta':
        stopReason = event.delta.stop_reason ?? stopReason;
        // message_delta carries cumulative counts; null means "unchanged".
        usage = mergeUsage(usage, event.usage);
        break;
      case 'message_stop':
        yield {
          type: 'message_end',
          response: {
            id,
            model,
            content: assembleContent(blocks),
            stopReason: fromAnthropicStopReason(stopReason),
            usage: fromAnthropicUsage(usage),
          },
        };
        return;
    }
  }
  throw incompleteStreamError(provider);
}

function mergeUsage(current: UsageSoFar, update: UsageSoFar): UsageSoFar {
  const merged: UsageSoFar = { ...current };
  for (const key of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const) {
    const value = update[key];
    if (value !== null && value !== undefined) merged[key] = value;
  }
  return merged;
}

function assembleContent(blocks: Map<number, Block>): ContentPart[] {
  return [...blocks.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, block]): ContentPart =>
      block.kind === 'text'
        ? { type: 'text', text: block.text }
        : { type: 'tool_use', id: block.id, name: block.name, input: parseToolArguments(block.json) },
    );
}
