import { leafKeys, type ConfigOrigins, type loadConfig } from '../app/config.js';
import { PROVIDER_ENV_VARIABLES, resolveProvidersConfig, type Environment } from '../providers/provider-config.js';
import { REDACTED, redactConfig, Secret } from '../providers/secret.js';
import { CONFIG_KEY_FLAGS, type GlobalOptions } from './cli-context.js';

/** Where one effective value came from: its default, a config file, an environment variable or a flag. */
export type ValueSource = { source: 'default' } | { source: 'file' | 'env' | 'flag'; name: string };

/** What a secret that is set shows instead of its value. */
const SECRET_SHOWN_AS = 'set';

export interface EffectiveConfig {
  /** The configuration in force, providers resolved against the environment, secrets shown as "set". */
  values: Record<string, unknown>;
  /** By dotted key (`tasks.concurrency`, `providers.anthropic.apiKey`), for every value shown. */
  sources: Record<string, ValueSource>;
}

/**
 * The configuration a command would run with, and where each value came from. Providers are shown
 * resolved, as the engine resolves them: a key or endpoint given only by ANTHROPIC_* or OPENAI_*
 * variables is in force, so it is shown, with that variable as its source. Keys never are.
 */
export function effectiveConfig(loaded: ReturnType<typeof loadConfig>, options: GlobalOptions, env: Environment): EffectiveConfig {
  const { config, origins } = loaded;
  const { anthropic: { id: _a, ...anthropic }, openai: { id: _o, ...openai }, 'claude-code': claudeCode } = resolveProvidersConfig(config.providers, env);
  const providers = { anthropic, openai, 'claude-code': claudeCode };
  const values = redactConfig({
    ...config,
    // A password inside the Redis URL is a secret too.
    memory: { ...config.memory, redisUrl: config.memory.redisUrl?.replace(/\/\/[^@/]*@/, '//[redacted]@') ?? null },
    providers,
    // An MCP server's environment and headers often hold tokens: shown as set, never by value.
    mcp: { ...config.mcp, servers: Object.fromEntries(Object.entries(config.mcp.servers).map(([name, server]) => [name, redactMcpServer(server)])) },
  }) as unknown as Record<string, unknown>;
  const shown = showSecretsAsSet(values) as Record<string, unknown>;
  const sources: Record<string, ValueSource> = {};
  for (const key of leafKeys(shown)) sources[key] = sourceOf(key, origins, options, env);
  return { values: shown, sources };
}

function sourceOf(key: string, origins: ConfigOrigins, options: GlobalOptions, env: Environment): ValueSource {
  if (key === 'projectDir') return options.project ? { source: 'flag', name: '--project' } : { source: 'default' };
  const origin = origins[key];
  if (origin?.kind === 'file') return { source: 'file', name: origin.file };
  if (origin?.kind === 'env') return { source: 'env', name: origin.variable };
  if (origin?.kind === 'override') return { source: 'flag', name: CONFIG_KEY_FLAGS[key] ?? 'options' };
  // Not in the configuration: an API provider's key and endpoint may come from its conventional variables.
  const [section, provider, field] = key.split('.');
  if (section === 'providers' && (provider === 'anthropic' || provider === 'openai')) {
    const variable = (PROVIDER_ENV_VARIABLES[provider] as Record<string, string>)[field as string];
    // As the resolver reads them: blank counts as unset.
    if (variable !== undefined && (env[variable]?.trim() ?? '') !== '') return { source: 'env', name: variable };
  }
  return { source: 'default' };
}

function redactMcpServer<T extends { env?: Record<string, string>; headers?: Record<string, string> }>(server: T): T {
  const hide = (map: Record<string, string>): Record<string, string> => Object.fromEntries(Object.keys(map).map((key) => [key, REDACTED]));
  return { ...server, ...(server.env === undefined ? {} : { env: hide(server.env) }), ...(server.headers === undefined ? {} : { headers: hide(server.headers) }) };
}

function showSecretsAsSet(value: unknown): unknown {
  if (value === REDACTED || value instanceof Secret) return SECRET_SHOWN_AS;
  if (Array.isArray(value)) return value.map(showSecretsAsSet);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, showSecretsAsSet(v)]));
}
