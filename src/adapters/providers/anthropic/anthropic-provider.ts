import Anthropic, { APIConnectionError, APIError, APIUserAbortError } from '@anthropic-ai/sdk';
import { ConfigError, type ColonyError } from '../../../domain/errors.js';
import type { CompletionRequest, CompletionResponse, Provider, StreamEvent } from '../../../ports/provider.js';
import { ANTHROPIC_DEFAULT_BASE_URL, DEFAULT_PROVIDER_TIMEOUT_MS } from '../../../providers/provider-defaults.js';
import { providerErrorFromSdk, type SdkErrorMapping } from '../../../providers/provider-errors.js';
import { Secret } from '../../../providers/secret.js';
import { fromAnthropicMessage, toAnthropicParams } from './anthropic-mapping.js';
import { translateAnthropicStream } from './anthropic-stream.js';

/** How the Anthropic SDK reports failures, for the shared mapping to ColonyError. */
const ANTHROPIC_ERRORS: SdkErrorMapping<APIError> = {
  isAbort: (error) => error instanceof APIUserAbortError,
  apiError: (error) => (error instanceof APIError && !(error instanceof APIConnectionError) ? error : null),
  message: (error) => error.apiMessage ?? error.message,
  errorType: (error) => error.type,
};

export interface AnthropicProviderOptions {
  apiKey: Secret | string | null | undefined;
  /** Without /v1 (the SDK appends /v1/messages), as ANTHROPIC_BASE_URL. */
  baseUrl?: string;
  /** SDK-level backstop; the resilient wrapper enforces the real per-attempt timeout. */
  timeoutMs?: number;
}

/**
 * The Anthropic Messages API through the official SDK. The SDK never retries (maxRetries 0: the
 * resilient wrapper is the one retry layer) and never logs (logLevel off: failures surface as
 * ProviderError, and nothing the SDK prints can carry the key). The base URL is always passed
 * explicitly so that environment variables are read in one place, provider-config.
 */
export class AnthropicProvider implements Provider {
  readonly id = 'anthropic';
  readonly #client: Anthropic;
  readonly #apiKey: Secret;

  constructor(options: AnthropicProviderOptions) {
    if (options.apiKey === null || options.apiKey === undefined || options.apiKey === '') {
      throw new ConfigError('anthropic: no API key; set ANTHROPIC_API_KEY or providers.anthropic.apiKey');
    }
    this.#apiKey = options.apiKey instanceof Secret ? options.apiKey : new Secret(options.apiKey);
    this.#client = new Anthropic({
      apiKey: this.#apiKey.reveal(),
      baseURL: options.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL,
      timeout: options.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS,
      maxRetries: 0,
      logLevel: 'off',
    });
  }

  async complete(request: CompletionRequest): Promise<CompletionResponse> {
    try {
      const message = await this.#client.messages.create({ ...toAnthropicParams(request), stream: false }, { signal: request.signal });
      return fromAnthropicMessage(message);
    } catch (error) {
      throw this.#toColonyError(error, request.signal);
    }
  }

  async *stream(request: CompletionRequest): AsyncGenerator<StreamEvent> {
    try {
      const events = await this.#client.messages.create({ ...toAnthropicParams(request), stream: true }, { signal: request.signal });
      yield* translateAnthropicStream(events, this.id);
    } catch (error) {
      throw this.#toColonyError(error, request.signal);
    }
  }

  #toColonyError(error: unknown, signal: AbortSignal | undefined): ColonyError {
    return providerErrorFromSdk(error, { provider: this.id, signal, secrets: [this.#apiKey] }, ANTHROPIC_ERRORS);
  }
}
