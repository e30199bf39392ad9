import OpenAI, { APIConnectionError, APIError, APIUserAbortError } from 'openai';
import { ConfigError, type ColonyError } from '../../../domain/errors.js';
import type { CompletionRequest, CompletionResponse, Provider, StreamEvent } from '../../../ports/provider.js';
import { DEFAULT_PROVIDER_TIMEOUT_MS, LOCAL_SERVER_PLACEHOLDER_KEY, OPENAI_DEFAULT_BASE_URL } from '../../../providers/provider-defaults.js';
import { providerErrorFromSdk, type SdkErrorMapping } from '../../../providers/provider-errors.js';
import { Secret } from '../../../providers/secret.js';
import { fromOpenAICompletion, toOpenAIParams, type MaxTokensParam } from './openai-mapping.js';
import { translateOpenAIStream } from './openai-stream.js';

/** How the OpenAI SDK reports failures, for the shared mapping to ColonyError. */
const OPENAI_ERRORS: SdkErrorMapping<APIError> = {
  isAbort: (error) => error instanceof APIUserAbortError,
  apiError: (error) => (error instanceof APIError && !(error instanceof APIConnectionError) ? error : null),
  message: (error) => {
    const body = error.error as { message?: unknown } | undefined;
    return typeof body?.message === 'string' ? body.message : error.message;
  },
  errorType: (error) => error.type ?? error.code ?? null,
};

export interface OpenAIProviderOptions {
  /** Required for api.openai.com; optional for local servers (Ollama, vLLM, LM Studio, llama.cpp). */
  apiKey?: Secret | string | null;
  /** With /v1, as OPENAI_BASE_URL: e.g. http://localhost:11434/v1 for Ollama. */
  baseUrl?: string;
  /** SDK-level backstop; the resilient wrapper enforces the real per-attempt timeout. */
  timeoutMs?: number;
  /** Defaults to max_completion_tokens on api.openai.com and max_tokens elsewhere. */
  maxTokensParam?: MaxTokensParam;
  /** Provider id reported in errors and events; lets several compatible servers coexist. */
  id?: string;
}

/**
 * OpenAI-compatible Chat Completions through the official SDK, so the same adapter serves OpenAI,
 * Ollama, vLLM, LM Studio and llama.cpp by base URL. As with Anthropic: maxRetries 0 (one retry
 * layer), logging off, base URL always explicit (environment read only in provider-config).
 */
export class OpenAIProvider implements Provider {
  readonly id: string;
  readonly #client: OpenAI;
  readonly #apiKey: Secret | null;
  readonly #maxTokensParam: MaxTokensParam;

  constructor(options: OpenAIProviderOptions = {}) {
    this.id = options.id ?? 'openai';
    const baseUrl = options.baseUrl ?? OPENAI_DEFAULT_BASE_URL;
    const isOpenAI = new URL(baseUrl).hostname === new URL(OPENAI_DEFAULT_BASE_URL).hostname;
    const given = options.apiKey === '' ? null : (options.apiKey ?? null);
    if (given === null && isOpenAI) {
      throw new ConfigError('openai: no API key; set OPENAI_API_KEY or providers.openai.apiKey');
    }
    this.#apiKey = given === null ? null : given instanceof Secret ? given : new Secret(given);
    this.#maxTokensParam = options.maxTokensParam ?? (isOpenAI ? 'max_completion_tokens' : 'max_tokens');
    this.#client = new OpenAI({
      apiKey: this.#apiKey?.reveal() ?? LOCAL_SERVER_PLACEHOLDER_KEY,
      baseURL: baseUrl,
      timeout: options.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS,
      maxRetries: 0,
      logLevel: 'off',
      // Never pick up OPENAI_ORG_ID / OPENAI_PROJECT_ID behind the config's back.
      organization: null,
      project: null,
    });
  }

  async complete(request: CompletionRequest): Promise<CompletionResponse> {
    try {
      const params = { ...toOpenAIParams(request, this.#maxTokensParam), stream: false as const };
      const completion = await this.#client.chat.completions.create(params, { signal: request.signal });
      return fromOpenAICompletion(completion, this.id);
    } catch (error) {
      throw this.#toColonyError(error, request.signal);
    }
  }

  async *stream(request: CompletionRequest): AsyncGenerator<StreamEvent> {
    try {
      const params = {
        ...toOpenAIParams(request, this.#maxTokensParam),
        stream: true as const,
        stream_options: { include_usage: true },
      };
      const chunks = await this.#client.chat.completions.create(params, { signal: request.signal });
      yield* translateOpenAIStream(chunks, this.id);
    } catch (error) {
      throw this.#toColonyError(error, request.signal);
    }
  }

  #toColonyError(error: unknown, signal: AbortSignal | undefined): ColonyError {
    return providerErrorFromSdk(error, { provider: this.id, signal, secrets: [this.#apiKey] }, OPENAI_ERRORS);
  }
}
