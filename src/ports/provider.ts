/**
 * The Provider port: one LLM behind a provider-neutral shape. Adapters: `providers/anthropic`
 * (Messages API) and `providers/openai` (Chat Completions: OpenAI, Ollama, vLLM, LM Studio,
 * llama.cpp). `providers/resilient-provider` wraps any of them with timeout, retry, circuit breaker
 * and a concurrency limit; it is the only retry layer, so adapters never retry.
 *
 * Contract:
 * - A failed call rejects with a `ProviderError` (domain/errors) carrying the HTTP status (or null),
 *   `retryAfterMs` when the server said when to come back, and `retryable` (429, 5xx, network,
 *   timeouts). A call cancelled through `signal` rejects with a `CancelledError` instead, so callers
 *   can tell "I stopped it" from "it broke".
 * - No error message, log line or serialised config ever contains an API key.
 * - `stream()` always ends with exactly one `message_end` event whose `response` is what
 *   `complete()` would have returned; if it cannot, the iteration throws.
 * - Tool-call arguments that are not valid JSON never throw: the tool_use input becomes
 *   `{ __invalidJson: '<raw text>' }` (see `InvalidToolInput`), so the runtime can tell the model.
 */

/** Plain text, from the user or the model. */
export interface TextPart {
  type: 'text';
  text: string;
}

/** The model asks for a tool to be run. `input` is the parsed JSON arguments. */
export interface ToolUsePart {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}

/** The result of a tool run, sent back in a user message; `toolUseId` names the request. */
export interface ToolResultPart {
  type: 'tool_result';
  toolUseId: string;
  content: string;
  isError?: boolean;
}

export type ContentPart = TextPart | ToolUsePart | ToolResultPart;

export interface Message {
  role: 'user' | 'assistant';
  content: ContentPart[];
}

/** A tool the model may call. `inputSchema` is a JSON Schema object (type: 'object'). */
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

export interface CompletionRequest {
  model: string;
  system?: string;
  messages: Message[];
  tools?: ToolSpec[];
  /**
   * Makes the model call this tool (structured output): `{ name }` of one of `tools`. Adapters whose
   * API cannot force a tool (Claude Code) ignore it; callers validate the answer either way.
   */
  toolChoice?: { name: string };
  /** Upper bound on generated tokens; adapters fill in a default where the API requires one. */
  maxTokens?: number;
  temperature?: number;
  /** Cancels the call, down to the HTTP request. */
  signal?: AbortSignal;
}

export type StopReason = 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence';

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface CompletionResponse {
  id: string;
  model: string;
  /** Text and tool_use parts, in the order the model produced them. */
  content: ContentPart[];
  stopReason: StopReason;
  usage: TokenUsage;
}

export type StreamEvent =
  | { type: 'text_delta'; text: string }
  | { type: 'tool_use_start'; id: string; name: string }
  /** A piece of the tool call's JSON arguments, as produced; only the final response is parsed. */
  | { type: 'tool_use_delta'; id: string; partialJson: string }
  | { type: 'message_end'; response: CompletionResponse };

export interface Provider {
  /** Stable provider id: `anthropic`, `openai`, ... */
  readonly id: string;
  complete(request: CompletionRequest): Promise<CompletionResponse>;
  /** Streams the reply; always ends with `message_end` (or throws). */
  stream(request: CompletionRequest): AsyncIterable<StreamEvent>;
}

/**
 * The tool_use input an adapter produces when the model's arguments are not valid JSON. The raw
 * text is kept so the runtime can send it back in an error tool_result and let the model fix it.
 */
export interface InvalidToolInput {
  __invalidJson: string;
}

export function isInvalidToolInput(input: unknown): input is InvalidToolInput {
  return (
    typeof input === 'object' &&
    input !== null &&
    !Array.isArray(input) &&
    typeof (input as { __invalidJson?: unknown }).__invalidJson === 'string' &&
    Object.keys(input).length === 1
  );
}
