import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { MAX_TIMER_MS } from '../domain/bounds.js';
import { ConfigError } from '../domain/errors.js';
import {
  ANTHROPIC_DEFAULT_BASE_URL,
  ANTHROPIC_DEFAULT_MODEL,
  CLAUDE_CODE_DEFAULT_BINARY,
  CLAUDE_CODE_DEFAULT_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_RETRIES,
  DEFAULT_PROVIDER_TIMEOUT_MS,
  MAX_CONFIGURABLE_RETRIES,
  OPENAI_DEFAULT_BASE_URL,
  OPENAI_DEFAULT_MODEL,
} from './provider-defaults.js';
import { Secret } from './secret.js';

/**
 * Provider configuration: the zod schema for the `providers` section of Colony's config, and the
 * resolver that fills gaps from the environment and from provider-defaults.
 *
 * Precedence: explicit configuration, then the conventional environment variables
 * (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL without /v1, OPENAI_API_KEY, OPENAI_BASE_URL with /v1),
 * then defaults. Resolved keys are `Secret`s, so a resolved config can be logged or serialised.
 */

/** A provider call's timeout: a timer, with a minute to spare for the margins wrappers add around it. */
const MAX_PROVIDER_TIMEOUT_MS = MAX_TIMER_MS - 60_000;
const providerTimeoutMs = z.number().int().positive().max(MAX_PROVIDER_TIMEOUT_MS, `at most ${MAX_PROVIDER_TIMEOUT_MS} ms (about 24.8 days)`);

const apiProviderSchema = z.strictObject({
  apiKey: z.string().min(1).optional(),
  baseUrl: z.url().optional(),
  model: z.string().min(1).optional(),
  timeoutMs: providerTimeoutMs.optional(),
  maxRetries: z.number().int().min(0).max(MAX_CONFIGURABLE_RETRIES).optional(),
  maxConcurrency: z.number().int().positive().optional(),
});

const claudeCodeSchema = z.strictObject({
  binary: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  timeoutMs: providerTimeoutMs.optional(),
  /** Claude Code runs at once in one process, each a CLI process of its own; default: the CPU count. */
  maxConcurrency: z.number().int().positive().max(10_000).optional(),
});

export const providersConfigSchema = z.strictObject({
  anthropic: apiProviderSchema.optional(),
  openai: apiProviderSchema.optional(),
  'claude-code': claudeCodeSchema.optional(),
});

export type ProvidersConfig = z.infer<typeof providersConfigSchema>;
export type ApiProviderConfig = z.infer<typeof apiProviderSchema>;

export interface ResolvedApiProviderConfig {
  id: 'anthropic' | 'openai';
  /** Null when neither config nor environment gives one (fine for local OpenAI-compatible servers). */
  apiKey: Secret | null;
  baseUrl: string;
  model: string;
  timeoutMs: number;
  maxRetries: number;
  maxConcurrency: number;
}

export interface ResolvedClaudeCodeConfig {
  binary: string;
  /** Null lets Claude Code pick its own default model. */
  model: string | null;
  timeoutMs: number;
  /** Runs at once in this process, shared by every agent task (each run is a process). */
  maxConcurrency: number;
}

export interface ResolvedProvidersConfig {
  anthropic: ResolvedApiProviderConfig;
  openai: ResolvedApiProviderConfig;
  'claude-code': ResolvedClaudeCodeConfig;
}

export type Environment = Readonly<Record<string, string | undefined>>;

/** The conventional environment variables each API provider falls back on, by the setting they give. */
export const PROVIDER_ENV_VARIABLES = {
  anthropic: { apiKey: 'ANTHROPIC_API_KEY', baseUrl: 'ANTHROPIC_BASE_URL' },
  openai: { apiKey: 'OPENAI_API_KEY', baseUrl: 'OPENAI_BASE_URL' },
} as const;

/** Validates `input` (the `providers` config section) and resolves it against `env`. */
export function resolveProvidersConfig(input: unknown = {}, env: Environment = process.env): ResolvedProvidersConfig {
  const parsed = providersConfigSchema.safeParse(input ?? {});
  if (!parsed.success) {
    // Paths and messages only: zod issues do not carry the rejected values, so no key leaks here.
    const problems = parsed.error.issues.map((issue) => `${['providers', ...issue.path].join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid provider configuration: ${problems.join('; ')}`, { details: { problems } });
  }
  const config = parsed.data;
  const claudeCode = config['claude-code'] ?? {};
  return {
    anthropic: resolveApiProvider('anthropic', config.anthropic ?? {}, {
      apiKey: readEnv(env, PROVIDER_ENV_VARIABLES.anthropic.apiKey),
      baseUrl: readUrlEnv(env, PROVIDER_ENV_VARIABLES.anthropic.baseUrl),
      defaultBaseUrl: ANTHROPIC_DEFAULT_BASE_URL,
      defaultModel: ANTHROPIC_DEFAULT_MODEL,
    }),
    openai: resolveApiProvider('openai', config.openai ?? {}, {
      apiKey: readEnv(env, PROVIDER_ENV_VARIABLES.openai.apiKey),
      baseUrl: readUrlEnv(env, PROVIDER_ENV_VARIABLES.openai.baseUrl),
      defaultBaseUrl: OPENAI_DEFAULT_BASE_URL,
      defaultModel: OPENAI_DEFAULT_MODEL,
    }),
    'claude-code': {
      binary: claudeCode.binary ?? CLAUDE_CODE_DEFAULT_BINARY,
      model: claudeCode.model ?? null,
      timeoutMs: claudeCode.timeoutMs ?? CLAUDE_CODE_DEFAULT_TIMEOUT_MS,
      maxConcurrency: claudeCode.maxConcurrency ?? Math.max(2, availableParallelism()),
    },
  };
}

interface EnvFallbacks {
  apiKey: string | undefined;
  baseUrl: string | undefined;
  defaultBaseUrl: string;
  defaultModel: string;
}

function resolveApiProvider(
  id: 'anthropic' | 'openai',
  config: ApiProviderConfig,
  fallbacks: EnvFallbacks,
): ResolvedApiProviderConfig {
  const apiKey = config.apiKey ?? fallbacks.apiKey;
  const baseUrl = normaliseBaseUrl(id, config.baseUrl ?? fallbacks.baseUrl ?? fallbacks.defaultBaseUrl);
  return {
    id,
    apiKey: apiKey === undefined ? null : new Secret(apiKey),
    baseUrl,
    model: config.model ?? fallbacks.defaultModel,
    timeoutMs: config.timeoutMs ?? DEFAULT_PROVIDER_TIMEOUT_MS,
    maxRetries: config.maxRetries ?? DEFAULT_MAX_RETRIES,
    maxConcurrency: config.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
  };
}

/**
 * Trailing slashes go. For Anthropic a trailing /v1 goes too: the SDK appends /v1/messages itself,
 * and "https://host/v1" is the most common mistake when copying an OpenAI-style base URL.
 */
function normaliseBaseUrl(id: 'anthropic' | 'openai', url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return id === 'anthropic' ? trimmed.replace(/\/v1$/, '') : trimmed;
}

function readEnv(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function readUrlEnv(env: Environment, name: string): string | undefined {
  const value = readEnv(env, name);
  if (value !== undefined && !URL.canParse(value)) {
    throw new ConfigError(`${name} is not a valid URL`, { details: { variable: name } });
  }
  return value;
}
