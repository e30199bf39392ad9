import type { FakeStopReason, RecordedRequest, ResolvedReply } from './fake-llm-types.js';
import { JSON_PIECE_CHARS, TEXT_PIECE_CHARS, pieces, sseData, type FakeWire } from './fake-wire.js';

/**
 * OpenAI Chat Completions as the fake server speaks it: POST /v1/chat/completions, JSON or SSE
 * chunks (role chunk, content deltas, tool_calls deltas keyed by index with the arguments in
 * pieces, a finish_reason chunk, a usage chunk with no choices when stream_options.include_usage
 * is set, then `data: [DONE]`), and errors as { error: { message, type, param, code } }.
 */

const FINISH_REASONS: Readonly<Record<FakeStopReason, string>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  tool_use: 'tool_calls',
  max_tokens: 'length',
};

const ERRORS: Readonly<Record<number, { type: string; code: string | null }>> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory' },
  404: { type: 'invalid_request_error', code: 'model_not_found' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
};

function usage(reply: ResolvedReply) {
  return {
    prompt_tokens: reply.usage.inputTokens,
    completion_tokens: reply.usage.outputTokens,
    total_tokens: reply.usage.inputTokens + reply.usage.outputTokens,
  };
}

function wantsUsage(request: RecordedRequest): boolean {
  const options = (request.body as { stream_options?: { include_usage?: unknown } } | undefined)?.stream_options;
  return options?.include_usage === true;
}

export const openaiWire: FakeWire = {
  messageIdPrefix: 'chatcmpl-fake',
  toolIdPrefix: 'call_fake',
  deltaEventName: undefined,
  requestIdHeader: 'x-request-id',

  json(reply) {
    const toolCalls = reply.toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.argumentsJson },
    }));
    return {
      id: reply.id,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: reply.model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: reply.text === '' && toolCalls.length > 0 ? null : reply.text,
            refusal: null,
            annotations: [],
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
          logprobs: null,
          finish_reason: FINISH_REASONS[reply.stopReason],
        },
      ],
      usage: usage(reply),
      system_fingerprint: 'fp_fake',
    };
  },

  sseFrames(reply, request) {
    const includeUsage = wantsUsage(request);
    const created = Math.floor(Date.now() / 1000);
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
      sseData({
        id: reply.id,
        object: 'chat.completion.chunk',
        created,
        model: reply.model,
        system_fingerprint: 'fp_fake',
        choices,
        ...(includeUsage ? { usage: null } : {}),
        ...extra,
      });
    const delta = (value: Record<string, unknown>, finishReason: string | null = null) => [
      { index: 0, delta: value, logprobs: null, finish_reason: finishReason },
    ];

    const frames = [chunk(delta({ role: 'assistant', content: '', refusal: null }))];
    for (const piece of pieces(reply.text, TEXT_PIECE_CHARS)) frames.push(chunk(delta({ content: piece })));
    reply.toolCalls.forEach((call, index) => {
      frames.push(
        chunk(delta({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] })),
      );
      for (const piece of pieces(call.argumentsJson, JSON_PIECE_CHARS)) {
        frames.push(chunk(delta({ tool_calls: [{ index, function: { arguments: piece } }] })));
      }
    });
    frames.push(chunk(delta({}, FINISH_REASONS[reply.stopReason])));
    if (includeUsage) frames.push(chunk([], { usage: usage(reply) }));
    frames.push(sseData('[DONE]'));
    return frames;
  },

  errorBody(status, message) {
    const known = ERRORS[status] ?? { type: status >= 500 ? 'server_error' : 'invalid_request_error', code: null };
    return { error: { message, type: known.type, param: null, code: known.code } };
  },
};
