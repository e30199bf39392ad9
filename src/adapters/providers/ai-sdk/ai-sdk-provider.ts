import { randomUUID } from 'node:crypto';
import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3Message,
  LanguageModelV3StreamPart,
  LanguageModelV3ToolCallPart,
  LanguageModelV3ToolResultPart,
  LanguageModelV3Usage,
} from '@ai-sdk/provider';
import { ColonyError, ProviderError } from '../../../domain/errors.js';
import type { CompletionRequest, CompletionResponse, ContentPart, Provider, StopReason, StreamEvent, TokenUsage } from '../../../ports/provider.js';
import { cancelledError, incompleteStreamError, isRetryableStatus, providerErrorFromTransport } from '../../../providers/provider-errors.js';
import { parseRetryAfterMs } from '../../../providers/retry-after.js';
import { parseToolArguments } from '../../../providers/tool-input.js';
import { REDACTED, redactSecrets } from '../../../providers/secret.js';

/**
 * A Colony Provider over a Vercel AI SDK language model (specification v3, `ai` 6 /
 * `@ai-sdk/provider` 3): any provider package of that ecosystem (`@ai-sdk/anthropic`,
 * `@ai-sdk/openai-compatible`, `@ai-sdk/google`, ...) works without an adapter of Colony's own.
 *
 * Register it with `colony.providers.register(fromAiSdk(model, { id }))`: the registry wraps it in
 * Colony's retries and circuit breaker, so the model should be created with no retries of its own
 * (the AI SDK's `doGenerate`/`doStream` do not retry; only its `generateText` does).
 */

export interface AiSdkProviderOptions {
  /** The provider id tasks and events name it by (`vertex`, `my-gateway`, ...). */
  id: string;
  /**
   * Values to scrub from error messages: the API key (or keys) the model was created with. The model
   * holds its key, not this adapter, and servers echo keys in their errors. Credential-shaped tokens
   * (`sk-…`, `Bearer …`) are scrubbed as well, listed or not.
   */
  secrets?: readonly string[];
}

/** Tokens shaped like API keys and bearer credentials, scrubbed from every error this adapter makes. */
const CREDENTIAL_SHAPES = /\b(?:sk|pk|rk|api|key)[-_][A-Za-z0-9_-]{12,}|\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/g;

/** One model, or a function giving the model for a request's `model` (e.g. `(id) => openai(id)`). */
export type AiSdkModelSource = LanguageModelV3 | ((modelId: string) => LanguageModelV3);

export function fromAiSdk(model: AiSdkModelSource, options: AiSdkProviderOptions): Provider {
  return new AiSdkProvider(model, options);
}

class AiSdkProvider implements Provider {
  readonly id: string;
  private readonly source: AiSdkModelSource;
  private readonly secrets: readonly string[];

  constructor(source: AiSdkModelSource, options: AiSdkProviderOptions) {
    this.id = options.id;
    this.source = source;
    this.secrets = options.secrets ?? [];
  }

  private failure(error: unknown, signal: AbortSignal | undefined): ColonyError {
    return mapError(error, { provider: this.id, signal, secrets: this.secrets });
  }

  private model(request: CompletionRequest): LanguageModelV3 {
    return typeof this.source === 'function' ? this.source(request.model) : this.source;
  }

  async complete(request: CompletionRequest): Promise<CompletionResponse> {
    const model = this.model(request);
    if (request.signal?.aborted) throw cancelledError(this.id);
    try {
      const result = await model.doGenerate(callOptions(request));
      if (request.signal?.aborted) throw cancelledError(this.id);
      const content = fromContent(result.content);
      return {
        id: result.response?.id ?? `aisdk-${randomUUID()}`,
        model: result.response?.modelId ?? model.modelId,
        content,
        stopReason: stopReason(result.finishReason, content),
        usage: usageOf(result.usage),
      };
    } catch (error) {
      throw this.failure(error, request.signal);
    }
  }

  async *stream(request: CompletionRequest): AsyncIterable<StreamEvent> {
    const model = this.model(request);
    if (request.signal?.aborted) throw cancelledError(this.id);
    let reader: ReadableStreamDefaultReader<LanguageModelV3StreamPart>;
    try {
      reader = (await model.doStream(callOptions(request))).stream.getReader();
    } catch (error) {
      throw this.failure(error, request.signal);
    }
    const content: ContentPart[] = [];
    const texts = new Map<string, { type: 'text'; text: string }>();
    const started = new Set<string>();
    let id: string | undefined;
    let modelId: string | undefined;
    let finish: { reason: LanguageModelV3FinishReason; usage: LanguageModelV3Usage } | undefined;
    let done = false;
    try {
      for (;;) {
        if (request.signal?.aborted) throw cancelledError(this.id);
        let next: Awaited<ReturnType<typeof reader.read>>;
        try {
          next = await reader.read();
        } catch (error) {
          throw this.failure(error, request.signal);
        }
        if (next.done) break;
        const part = next.value;
        switch (part.type) {
          case 'response-metadata':
            id = part.id ?? id;
            modelId = part.modelId ?? modelId;
            break;
          case 'text-start':
          case 'text-delta': {
            let text = texts.get(part.id);
            if (text === undefined) {
              text = { type: 'text', text: '' };
              texts.set(part.id, text);
              content.push(text);
            }
            if (part.type === 'text-delta' && part.delta !== '') {
              text.text += part.delta;
              yield { type: 'text_delta', text: part.delta };
            }
            break;
          }
          case 'tool-input-start':
            if (part.providerExecuted === true) break;
            started.add(part.id);
            yield { type: 'tool_use_start', id: part.id, name: part.toolName };
            break;
          case 'tool-input-delta':
            if (started.has(part.id)) yield { type: 'tool_use_delta', id: part.id, partialJson: part.delta };
            break;
          case 'tool-call':
            if (part.providerExecuted === true) break;
            if (!started.has(part.toolCallId)) {
              // A provider that sends the call whole: consumers still see it start.
              started.add(part.toolCallId);
              yield { type: 'tool_use_start', id: part.toolCallId, name: part.toolName };
              if (part.input !== '') yield { type: 'tool_use_delta', id: part.toolCallId, partialJson: part.input };
            }
            content.push({ type: 'tool_use', id: part.toolCallId, name: part.toolName, input: parseToolArguments(part.input) });
            break;
          case 'finish':
            finish = { reason: part.finishReason, usage: part.usage };
            break;
          case 'error':
            throw this.failure(part.error, request.signal);
          default:
            // Reasoning, sources, files, raw chunks and provider-executed tools have no Colony counterpart.
            break;
        }
      }
      done = true;
    } finally {
      if (!done) await reader.cancel().catch(() => undefined);
      reader.releaseLock();
    }
    if (request.signal?.aborted) throw cancelledError(this.id);
    if (finish === undefined) throw incompleteStreamError(this.id);
    const parts = content.filter((part) => part.type !== 'text' || part.text !== '');
    yield {
      type: 'message_end',
      response: {
        id: id ?? `aisdk-${randomUUID()}`,
        model: modelId ?? model.modelId,
        content: parts,
        stopReason: stopReason(finish.reason, parts),
        usage: usageOf(finish.usage),
      },
    };
  }
}

/** Colony's request as the AI SDK's call options. */
export function callOptions(request: CompletionRequest): LanguageModelV3CallOptions {
  const tools = request.tools ?? [];
  return {
    prompt: toPrompt(request),
    ...(request.maxTokens === undefined ? {} : { maxOutputTokens: request.maxTokens }),
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(tools.length === 0
      ? {}
      : {
          tools: tools.map((tool) => ({ type: 'function' as const, name: tool.name, description: tool.description, inputSchema: tool.inputSchema })),
          toolChoice: request.toolChoice === undefined ? { type: 'auto' as const } : { type: 'tool' as const, toolName: request.toolChoice.name },
        }),
    ...(request.signal === undefined ? {} : { abortSignal: request.signal }),
  };
}

/**
 * Colony's messages as an AI SDK prompt: the system prompt first, tool results (which Colony sends in
 * a user message) as `tool` messages naming the tool of the call they answer.
 */
function toPrompt(request: CompletionRequest): LanguageModelV3Message[] {
  const prompt: LanguageModelV3Message[] = [];
  if (request.system !== undefined && request.system !== '') prompt.push({ role: 'system', content: request.system });
  const toolNames = new Map<string, string>();
  for (const message of request.messages) {
    if (message.role === 'assistant') {
      const content: Array<{ type: 'text'; text: string } | LanguageModelV3ToolCallPart> = [];
      for (const part of message.content) {
        if (part.type === 'text') {
          if (part.text !== '') content.push({ type: 'text', text: part.text });
        } else if (part.type === 'tool_use') {
          toolNames.set(part.id, part.name);
          content.push({ type: 'tool-call', toolCallId: part.id, toolName: part.name, input: part.input ?? {} });
        }
      }
      if (content.length > 0) prompt.push({ role: 'assistant', content });
      continue;
    }
    const results: LanguageModelV3ToolResultPart[] = [];
    const texts: Array<{ type: 'text'; text: string }> = [];
    for (const part of message.content) {
      if (part.type === 'tool_result') {
        results.push({
          type: 'tool-result',
          toolCallId: part.toolUseId,
          toolName: toolNames.get(part.toolUseId) ?? 'unknown',
          output: part.isError === true ? { type: 'error-text', value: part.content } : { type: 'text', value: part.content },
        });
      } else if (part.type === 'text') {
        texts.push({ type: 'text', text: part.text });
      }
    }
    if (results.length > 0) prompt.push({ role: 'tool', content: results });
    if (texts.length > 0) prompt.push({ role: 'user', content: texts });
  }
  return prompt;
}

function fromContent(parts: readonly LanguageModelV3Content[]): ContentPart[] {
  const content: ContentPart[] = [];
  for (const part of parts) {
    if (part.type === 'text') {
      if (part.text !== '') content.push({ type: 'text', text: part.text });
    } else if (part.type === 'tool-call' && part.providerExecuted !== true) {
      content.push({ type: 'tool_use', id: part.toolCallId, name: part.toolName, input: parseToolArguments(part.input) });
    }
  }
  return content;
}

/** The AI SDK's finish reason as Colony's; a reply with tool calls is `tool_use` whatever the provider said. */
export function stopReason(reason: LanguageModelV3FinishReason, content: readonly ContentPart[]): StopReason {
  if (reason.unified === 'length') return 'max_tokens';
  if (reason.unified === 'tool-calls' || content.some((part) => part.type === 'tool_use')) return 'tool_use';
  if (reason.raw === 'stop_sequence') return 'stop_sequence';
  return 'end_turn';
}

function usageOf(usage: LanguageModelV3Usage | undefined): TokenUsage {
  return { inputTokens: usage?.inputTokens.total ?? 0, outputTokens: usage?.outputTokens.total ?? 0 };
}

interface ApiCallErrorLike {
  message: string;
  statusCode?: number;
  responseHeaders?: Record<string, string>;
  isRetryable?: boolean;
  cause?: unknown;
}

/** The AI SDK's errors are recognised by name or marker, so that any copy of the package is. */
function isAiSdkError(error: unknown, name: string): boolean {
  return error instanceof Error && (error.name === name || Object.getOwnPropertySymbols(error).some((s) => s.description === `vercel.ai.error.${name}`));
}

function isApiCallError(error: unknown): error is ApiCallErrorLike {
  return isAiSdkError(error, 'AI_APICallError');
}

/** A body the SDK could not parse or that did not match the provider's schema. */
function isMalformedResponse(error: unknown): boolean {
  return isAiSdkError(error, 'AI_JSONParseError') || isAiSdkError(error, 'AI_TypeValidationError');
}

interface FailureContext {
  provider: string;
  signal: AbortSignal | undefined;
  secrets: readonly string[];
}

function malformedResponse(message: string, context: FailureContext): ProviderError {
  return new ProviderError(scrub(`${context.provider}: malformed response: ${message}`, context.secrets), {
    provider: context.provider,
    status: null,
    retryable: true,
    details: { reason: 'malformed_response' },
  });
}

function scrub(text: string, secrets: readonly string[]): string {
  return redactSecrets(text, secrets).replace(CREDENTIAL_SHAPES, REDACTED);
}

/**
 * What the SDK threw as a ProviderError, the way the built-in adapters map theirs: the server's answers
 * by status; a 2xx whose body could not be read (the SDK reports it as an API call error with the
 * status) as the dropped connection or malformed body it was; keys scrubbed; no `cause` attached.
 */
function mapError(error: unknown, context: FailureContext): ColonyError {
  const { provider, signal, secrets } = context;
  if (signal?.aborted === true || (error instanceof Error && error.name === 'AbortError')) return cancelledError(provider);
  if (error instanceof ColonyError) return error;
  if (isMalformedResponse(error)) return malformedResponse((error as Error).message, context);
  if (isApiCallError(error)) {
    const status = typeof error.statusCode === 'number' ? error.statusCode : null;
    if (status === null || (status >= 200 && status < 300)) {
      if (error.cause !== undefined && !isMalformedResponse(error.cause)) {
        const transport = providerErrorFromTransport(error.cause, provider, []);
        if (transport.retryable) return new ProviderError(scrub(transport.message, secrets), { provider, status: null, retryable: true, details: transport.details });
      }
      if (status !== null) return malformedResponse(error.message, context);
    }
    const headers = new Headers(error.responseHeaders ?? {});
    return new ProviderError(scrub(`${provider}${status === null ? '' : ` ${status}`}: ${error.message}`, secrets), {
      provider,
      status,
      retryAfterMs: parseRetryAfterMs(headers),
      retryable: status === null ? error.isRetryable === true : isRetryableStatus(status),
    });
  }
  const transport = providerErrorFromTransport(error, provider, []);
  return new ProviderError(scrub(transport.message, secrets), { provider, status: null, retryable: transport.retryable, details: transport.details });
}
