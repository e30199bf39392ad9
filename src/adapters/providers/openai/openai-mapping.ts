import type {
  ChatCompletion,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
  ChatCompletionTool,
} from 'openai/resources/chat/completions/completions';
import { ProviderError } from '../../../domain/errors.js';
import type { CompletionRequest, CompletionResponse, ContentPart, Message, StopReason, ToolSpec } from '../../../ports/provider.js';
import { parseToolArguments } from '../../../providers/tool-input.js';

/**
 * Colony's provider-neutral request and response, to and from Chat Completions.
 *
 * Differences bridged here: the system prompt is a message; tool results are separate `tool`
 * messages that must directly follow the assistant turn, so a user turn's tool_result parts are
 * emitted first and its text after; Chat Completions has no is_error flag, so failed tool results
 * are prefixed with TOOL_ERROR_PREFIX; tool arguments travel as a JSON string.
 */

export const TOOL_ERROR_PREFIX = '[tool error] ';

/** `max_completion_tokens` for OpenAI itself (its reasoning models reject max_tokens); most
 * compatible servers (Ollama, llama.cpp, older vLLM) only know `max_tokens`. */
export type MaxTokensParam = 'max_tokens' | 'max_completion_tokens';

export function toOpenAIParams(request: CompletionRequest, maxTokensParam: MaxTokensParam): ChatCompletionCreateParamsBase {
  const messages: ChatCompletionMessageParam[] = [];
  if (request.system !== undefined) messages.push({ role: 'system', content: request.system });
  for (const message of request.messages) messages.push(...toOpenAIMessages(message));
  const params: ChatCompletionCreateParamsBase = { model: request.model, messages };
  if (request.maxTokens !== undefined) params[maxTokensParam] = request.maxTokens;
  if (request.temperature !== undefined) params.temperature = request.temperature;
  if (request.tools !== undefined && request.tools.length > 0) params.tools = request.tools.map(toOpenAITool);
  if (request.toolChoice !== undefined) params.tool_choice = { type: 'function', function: { name: request.toolChoice.name } };
  return params;
}

function toOpenAIMessages(message: Message): ChatCompletionMessageParam[] {
  const text = message.content
    .filter((part) => part.type === 'text')
    .map((part) => part.text)
    .join('\n');
  if (message.role === 'assistant') {
    const toolCalls: ChatCompletionMessageToolCall[] = message.content
      .filter((part) => part.type === 'tool_use')
      .map((part) => ({ id: part.id, type: 'function', function: { name: part.name, arguments: JSON.stringify(part.input ?? {}) } }));
    return [toolCalls.length > 0 ? { role: 'assistant', content: text === '' ? null : text, tool_calls: toolCalls } : { role: 'assistant', content: text }];
  }
  const result: ChatCompletionMessageParam[] = message.content
    .filter((part) => part.type === 'tool_result')
    .map((part) => ({
      role: 'tool',
      tool_call_id: part.toolUseId,
      content: part.isError === true ? `${TOOL_ERROR_PREFIX}${part.content}` : part.content,
    }));
  if (text !== '' || result.length === 0) result.push({ role: 'user', content: text });
  return result;
}

function toOpenAITool(tool: ToolSpec): ChatCompletionTool {
  return { type: 'function', function: { name: tool.name, description: tool.description, parameters: tool.inputSchema } };
}

export function fromOpenAICompletion(completion: ChatCompletion, provider: string): CompletionResponse {
  const choice = completion.choices[0];
  if (choice === undefined) {
    throw new ProviderError(`${provider}: response had no choices`, { provider, retryable: true, details: { reason: 'malformed_response' } });
  }
  const content: ContentPart[] = [];
  if (typeof choice.message.content === 'string' && choice.message.content !== '') {
    content.push({ type: 'text', text: choice.message.content });
  }
  for (const call of choice.message.tool_calls ?? []) {
    if (call.type !== 'function') continue;
    content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: parseToolArguments(call.function.arguments ?? '') });
  }
  return {
    id: completion.id,
    model: completion.model,
    content,
    stopReason: fromFinishReason(choice.finish_reason),
    usage: { inputTokens: completion.usage?.prompt_tokens ?? 0, outputTokens: completion.usage?.completion_tokens ?? 0 },
  };
}

/** content_filter ends the turn; function_call is the legacy spelling of tool_calls. */
export function fromFinishReason(reason: string | null | undefined): StopReason {
  switch (reason) {
    case 'tool_calls':
    case 'function_call':
      return 'tool_use';
    case 'length':
      return 'max_tokens';
    default:
      return 'end_turn';
  }
}
