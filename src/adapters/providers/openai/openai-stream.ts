import type { ChatCompletionChunk } from 'openai/resources/chat/completions/completions';
import type { ContentPart, StreamEvent, TokenUsage } from '../../../ports/provider.js';
import { incompleteStreamError } from '../../../providers/provider-errors.js';
import { parseToolArguments } from '../../../providers/tool-input.js';
import { fromFinishReason } from './openai-mapping.js';

/**
 * Turns Chat Completions chunks into Colony stream events. Tool calls arrive as deltas keyed by
 * `index`: the first carries id and name, later ones pieces of the arguments string. Usage comes in
 * a final chunk with no choices (requested with stream_options.include_usage); servers that ignore
 * that option leave usage at zero. A stream with no finish_reason was cut short and throws.
 */

interface ToolCallSoFar {
  id: string;
  name: string;
  args: string;
  started: boolean;
}

export async function* translateOpenAIStream(chunks: AsyncIterable<ChatCompletionChunk>, provider: string): AsyncGenerator<StreamEvent> {
  let id = '';
  let model = '';
  let text = '';
  let finishReason: string | null = null;
  let usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
  const calls = new Map<number, ToolCallSoFar>();

  for await (const chunk of chunks) {
    if (id === '') id = chunk.id;
    if (model === '') model = chunk.model;
    if (chunk.usage) usage = { inputTokens: chunk.usage.prompt_tokens, outputTokens: chunk.usage.completion_tokens };
    // Colony never asks for n > 1, so only the first choice matters.
    const choice = chunk.choices?.find((candidate) => candidate.index === 0);
    if (!choice) continue;
    const delta = choice.delta ?? {};
    if (typeof delta.content === 'string' && delta.content !== '') {
      text += delta.content;
      yield { type: 'text_delta', text: delta.content };
    }
    for (const callDelta of delta.tool_calls ?? []) {
      // Some servers (older Ollama) send each call whole without an index: treat each as new.
      const index = typeof callDelta.index === 'number' ? callDelta.index : calls.size;
      let call = calls.get(index);
      if (!call) {
        call = { id: callDelta.id ?? `call_${index}`, name: '', args: '', started: false };
        calls.set(index, call);
      }
      if (callDelta.function?.name) call.name += callDelta.function.name;
      const piece = callDelta.function?.arguments ?? '';
      call.args += piece;
      if (!call.started && call.name !== '') {
        call.started = true;
        yield { type: 'tool_use_start', id: call.id, name: call.name };
        if (call.args !== '') yield { type: 'tool_use_delta', id: call.id, partialJson: call.args };
      } else if (call.started && piece !== '') {
        yield { type: 'tool_use_delta', id: call.id, partialJson: piece };
      }
    }
    if (choice.finish_reason) finishReason = choice.finish_reason;
  }

  if (finishReason === null) throw incompleteStreamError(provider);
  const content: ContentPart[] = text === '' ? [] : [{ type: 'text', text }];
  for (const [, call] of [...calls.entries()].sort(([a], [b]) => a - b)) {
    content.push({ type: 'tool_use', id: call.id, name: call.name, input: parseToolArguments(call.args) });
  }
  yield { type: 'message_end', response: { id, model, content, stopReason: fromFinishReason(finishReason), usage } };
}
