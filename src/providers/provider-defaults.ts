/**
 * Every provider default in one place: timeouts, retries, breaker, concurrency, endpoints.
 * The resilient wrapper is the only retry layer, so the SDKs are always built with maxRetries 0.
 */

/** Per attempt: for complete() the whole call, for stream() the longest wait for any one event. */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 120_000;

/** Retries after the first attempt (so at most 1 + this many HTTP requests per call). */
export const DEFAULT_MAX_RETRIES = 3;
/** First backoff step; later steps grow exponentially with jitter. */
export const DEFAULT_RETRY_BASE_DELAY_MS = 500;
/** Backoff ceiling (a server's retry-after may ask for longer, up to DEFAULT_MAX_RETRY_AFTER_MS). */
export const DEFAULT_RETRY_MAX_DELAY_MS = 30_000;
/**
 * A retry-after longer than this is not waited out in-process: the call fails at once with the
 * ProviderError (retryAfterMs set) so the task layer can reschedule instead of holding a slot.
 */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/** Consecutive failed attempts that open a provider's circuit. */
export const DEFAULT_BREAKER_THRESHOLD = 5;
/** How long an open circuit fails fast before letting one probe call through (half-open). */
export const DEFAULT_BREAKER_HALF_OPEN_AFTER_MS = 30_000;

/**
 * Concurrent calls per configured provider; more wait in a queue. A model call is I/O: what limits it
 * is the vendor's rate limit (a 429 with retry-after, which the retries honour) or the model server's
 * own queue, not this process, so the bound only keeps a burst from opening thousands of sockets.
 */
export const DEFAULT_MAX_CONCURRENCY = 64;
/**
 * Concurrent calls of a provider a program registers in code, unless its `resilience.maxConcurrency`
 * says otherwise: an in-process model has no sockets to spare, and `tasks.concurrency` bounds the runs.
 */
export const DEFAULT_REGISTERED_MAX_CONCURRENCY = 10_000;
/** Calls allowed to wait for a slot before new ones are rejected as over capacity. */
export const DEFAULT_MAX_QUEUED_CALLS = 10_000;

/** Anthropic requires max_tokens; used when a request does not say. */
export const DEFAULT_MAX_TOKENS = 4096;

/** Without /v1, as ANTHROPIC_BASE_URL is read by the official SDK and Claude Code. */
export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';
/** With /v1, as OPENAI_BASE_URL is read by the OpenAI SDK. */
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export const ANTHROPIC_DEFAULT_MODEL = 'claude-sonnet-5';
export const OPENAI_DEFAULT_MODEL = 'gpt-5';

/**
 * Sent as the key to OpenAI-compatible local servers (Ollama, vLLM, LM Studio, llama.cpp) that
 * need none; the SDK refuses to start without one.
 */
export const LOCAL_SERVER_PLACEHOLDER_KEY = 'no-key-needed';

export const PROVIDER_IDS = ['anthropic', 'openai'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** The Claude Code CLI, found on PATH unless configured. */
export const CLAUDE_CODE_DEFAULT_BINARY = 'claude';
/** A headless Claude Code run does a whole agent loop, so it gets longer than one API call. */
export const CLAUDE_CODE_DEFAULT_TIMEOUT_MS = 600_000;

/** Upper bound accepted in configuration for maxRetries: more only multiplies the wait. */
export const MAX_CONFIGURABLE_RETRIES = 10;
