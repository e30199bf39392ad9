import type {
  ContentBlockParam,
  Message as AnthropicMessage,
  MessageCreateParamsBase,
  MessageParam,
  StopReason as AnthropicStopReason,
  Tool,
} from '@anthropic-ai/sdk/resources/messages/messages';
import type {
  CompletionRequest,
  CompletionResponse,
  ContentPart,
  InvalidToolInput,
  Message,
  StopReason,
  TokenUsage,
} from '../../../ports/provider.js';
import { DEFAULT_MAX_TOKENS } from '../../../providers/provider-defaults.js';

/** Colony's provider-neutral request and response, to and from the Anthropic Messages API. */

/**
 * `temperature` is no longer in the SDK's types (recent models reject sampling parameters with a
 * 400) but older models accept it, so a caller who sets it gets it sent, and a clear 400 if the
 * model refuses, rather than having it silently dropped.
 */
type AnthropicParams = MessageCreateParamsBase & { temperature?: number };

export function toAnthropicParams(request: CompletionRequest): AnthropicParams {
  const params: AnthropicParams = {
    model: request.model,
    max_tokens: request.maxTokens ?? DEFAULT_MAX_TOKENS,
    messages: request.messages.map(toAnthropicMessage),
  };
  if (request.system !== undefined) params.system = request.system;
  if (request.temperature !== undefined) params.temperature = request.temperature;
  if (request.tools !== undefined && request.tools.length > 0) params.tools = request.tools.map(toAnthropicTool);
  if (request.toolChoice !== undefined) params.tool_choice = { type: 'tool', name: request.toolChoice.name };
  return params;
}

function toAnthropicMessage(message: Message): MessageParam {
  return { role: message.role, content: message.content.map(toAnthropicBlock) };
}

function toAnthropicBlock(part: ContentPart): ContentBlockParam {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'tool_use':
      return { type: 'tool_use', id: part.id, name: part.name, input: part.input };
    case 'tool_result':
      return part.isError === undefined
        ? { type: 'tool_result', tool_use_id: part.toolUseId, content: part.content }
        : { type: 'tool_result', tool_use_id: part.toolUseId, content: part.content, is_error: part.isError };
  }
}

function toAnthropicTool(tool: { name: string; description: string; inputSchema: Record<string, unknown> }): Tool {
  return { name: tool.name, description: tool.description, input_schema: { type: 'object', ...tool.inputSchema } };
}

export function fromAnthropicMessage(message: AnthropicMessage): CompletionResponse {
  const content: ContentPart[] = [];
  for (const block of message.content) {
    // Thinking, server-tool and citation blocks have no neutral counterpart and are dropped.
    if (block.type === 'text') content.push({ type: 'text', text: block.text });
    else if (block.type === 'tool_use') content.push({ type: 'tool_use', id: block.id, name: block.name, input: toolInput(block.input) });
  }
  return {
    id: message.id,
    model: message.model,
    content,
    stopReason: fromAnthropicStopReason(message.stop_reason),
    usage: fromAnthropicUsage(message.usage),
  };
}

/** The API sends tool input as a parsed object; anything else is reported like broken JSON. */
function toolInput(input: unknown): unknown {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) return input;
  const invalid: InvalidToolInput = { __invalidJson: typeof input === 'string' ? input : JSON.stringify(input) ?? '' };
  return invalid;
}

/**
 * `model_context_window_exceeded` is a length stop like max_tokens. `refusal` and `pause_turn`
 * (server tools, which Colony does not send) end the turn as far as the runtime is concerned.
 */
export function fromAnthropicStopReason(reason: AnthropicStopReason | null | undefined): StopReason {
  switch (reason) {
    case 'tool_use':
    case 'max_tokens':
    case 'stop_sequence':
    case 'end_turn':
      return reason;
    case 'model_context_window_exceeded':
      return 'max_tokens';
    default:
      return 'end_turn';
  }
}

interface AnthropicUsageLike {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/** Input counts cache writes and reads too: Anthropic reports them apart, but all were sent. */
export function fromAnthropicUsage(usage: AnthropicUsageLike | null | undefined): TokenUsage {
  return {
    inputTokens: (usage?.input_tokens ?? 0) + (usage?.cache_creation_input_tokens ?? 0) + (usage?.cache_read_input_tokens ?? 0),
    outputTokens: usage?.output_tokens ?? 0,
  };
}
