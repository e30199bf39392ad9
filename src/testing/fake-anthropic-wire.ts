import type { ResolvedReply } from './fake-llm-types.js';
import { JSON_PIECE_CHARS, TEXT_PIECE_CHARS, pieces, sseData, type FakeWire } from './fake-wire.js';

/**
 * The Anthropic Messages API as the fake server speaks it: POST /v1/messages, JSON or SSE with the
 * real event sequence (message_start, content_block_start, ping, content_block_delta with
 * text_delta / input_json_delta, content_block_stop, message_delta with stop_reason and usage,
 * message_stop), and errors as { type: 'error', error: { type, message } }.
 */

const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

function usage(reply: ResolvedReply, outputTokens: number) {
  return {
    input_tokens: reply.usage.inputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

function contentBlocks(reply: ResolvedReply): unknown[] {
  const blocks: unknown[] = [];
  if (reply.text !== '' || reply.toolCalls.length === 0) blocks.push({ type: 'text', text: reply.text });
  for (const call of reply.toolCalls) blocks.push({ type: 'tool_use', id: call.id, name: call.name, input: call.input });
  return blocks;
}

export const anthropicWire: FakeWire = {
  messageIdPrefix: 'msg_fake',
  toolIdPrefix: 'toolu_fake',
  deltaEventName: 'content_block_delta',
  requestIdHeader: 'request-id',

  json(reply) {
    return {
      id: reply.id,
      type: 'message',
      role: 'assistant',
      model: reply.model,
      content: contentBlocks(reply),
      stop_reason: reply.stopReason,
      stop_sequence: null,
      usage: usage(reply, reply.usage.outputTokens),
    };
  },

  sseFrames(reply) {
    const frames: string[] = [];
    const emit = (event: string, data: Record<string, unknown>): void => {
      frames.push(sseData({ type: event, ...data }, event));
    };
    emit('message_start', {
      message: {
        id: reply.id,
        type: 'message',
        role: 'assistant',
        model: reply.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: usage(reply, 1),
      },
    });
    let index = 0;
    if (reply.text !== '' || reply.toolCalls.length === 0) {
      emit('content_block_start', { index, content_block: { type: 'text', text: '' } });
      frames.push(sseData({ type: 'ping' }, 'ping'));
      for (const piece of pieces(reply.text, TEXT_PIECE_CHARS)) {
        emit('content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
      }
      emit('content_block_stop', { index });
      index += 1;
    }
    for (const call of reply.toolCalls) {
      emit('content_block_start', { index, content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} } });
      emit('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
      for (const piece of pieces(call.argumentsJson, JSON_PIECE_CHARS)) {
        emit('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
      }
      emit('content_block_stop', { index });
      index += 1;
    }
    emit('message_delta', {
      delta: { stop_reason: reply.stopReason, stop_sequence: null },
      usage: { output_tokens: reply.usage.outputTokens },
    });
    emit('message_stop', {});
    return frames;
  },

  errorBody(status, message, requestId) {
    const type = ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
    return { type: 'error', error: { type, message }, request_id: requestId };
  },
};
