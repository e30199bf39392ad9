import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { describeMs, MAX_MEMORY_TTL_MS, MAX_TIMER_MS } from '../domain/bounds.js';
import { ConfigError } from '../domain/errors.js';
import { loadYaml } from '../kernel/load-yaml.js';
import { describeSyntaxError } from '../kernel/describe-syntax-error.js';
import { providersConfigSchema } from '../providers/provider-config.js';
import { SANDBOX_DEFAULT_CONFIG, sandboxConfigSchema } from '../sandbox/sandbox-config.js';
import { AGENT_DEFAULT_MAX_TOKENS, AGENT_DEFAULT_MAX_TURNS } from '../agents/runtime/runtime-defaults.js';
import { MEMORY_DEFAULTS } from '../memory/memory-defaults.js';
import { MCP_DEFAULT_CONFIG, mcpConfigSchema } from '../adapters/mcp-client/mcp-server-config.js';
import { DEFAULTS } from '../kernel/constants.js';
import { HOOKS_DEFAULT_CONFIG, hooksConfigSchema } from '../hooks/hook-config.js';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
const TIMER_LIMIT = `at most ${MAX_TIMER_MS} ms (${describeMs(MAX_TIMER_MS)}), the longest a timer waits`;
/** A timeout, interval or delay: it becomes a timer, so at most MAX_TIMER_MS. */
const timerMs = positiveInt.max(MAX_TIMER_MS, TIMER_LIMIT);
const nonNegativeTimerMs = nonNegativeInt.max(MAX_TIMER_MS, TIMER_LIMIT);
/** How long a cached entry lives. */
const cacheTtlMs = positiveInt.max(MAX_MEMORY_TTL_MS, `at most ${MAX_MEMORY_TTL_MS} ms (${describeMs(MAX_MEMORY_TTL_MS)})`);

/** The database kinds this build can open, by URL scheme. */
export const SUPPORTED_DATABASE_SCHEMES = ['sqlite:', 'postgres://', 'postgresql://'] as const;
export type DatabaseKind = 'sqlite' | 'postgres';

/** The kind of database a URL names, or undefined when this build cannot open it. */
export function databaseUrlKind(url: string): DatabaseKind | undefined {
  if (url.startsWith('sqlite:')) return url.length > 'sqlite:'.length ? 'sqlite' : undefined;
  if (/^postgres(ql)?:\/\/[^/]/.test(url)) return 'postgres';
  return undefined;
}

/** The kind of database the configuration names: PostgreSQL by URL, else the SQLite file. */
export function databaseKind(database: ColonyConfig['database']): DatabaseKind {
  return database.url ? (databaseUrlKind(database.url) ?? 'sqlite') : 'sqlite';
}

/** The file of a `sqlite:` URL (`sqlite:/abs/path`, `sqlite:rel/path`, `sqlite:///abs/path`, `sqlite::memory:`). */
function sqlitePathOf(url: string): string {
  const rest = url.slice('sqlite:'.length);
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

export const configSchema = z
  .object({
    /** Directory the CLI treats as the project (the workspace for shell tasks). */
    projectDir: z.string().min(1),
    dataDir: z.string().min(1),
    database: z
      .object({
        /**
         * Which database, by URL: `sqlite:<file path>` (relative to the project) or `sqlite::memory:`.
         * When set it decides `path`; unset, `path` names the SQLite file.
         */
        url: z.string().min(1).refine((url) => databaseUrlKind(url) !== undefined, { message: `expected a URL of a supported kind (${SUPPORTED_DATABASE_SCHEMES.join(', ')})` }).nullable(),
        path: z.string().min(1),
        busyTimeoutMs: timerMs,
        /** PostgreSQL: connections per process, how long to wait for one, and the longest a statement may run (0: no limit). */
        poolSize: positiveInt.max(1_000),
        connectionTimeoutMs: timerMs,
        statementTimeoutMs: nonNegativeTimerMs,
      })
      .strict(),
    tasks: z
      .object({
        concurrency: positiveInt.max(10_000),
        /** Shell tasks one process runs at once (each holds an OS process); default twice the CPU count. */
        shellConcurrency: positiveInt.max(10_000),
        defaultTimeoutMs: timerMs,
        defaultMaxRetries: nonNegativeInt.max(100),
        retryBaseDelayMs: nonNegativeTimerMs,
        retryMaxDelayMs: nonNegativeTimerMs,
        retryJitter: z.number().min(0).max(1),
        pollIntervalMs: timerMs,
        drainTimeoutMs: nonNegativeTimerMs,
      })
      .strict(),
    agents: z
      .object({
        maxAgents: positiveInt.max(100_000),
        /** The provider agent tasks use unless they name one. */
        defaultProvider: z.enum(['anthropic', 'openai', 'claude-code']),
        maxTurns: positiveInt.max(10_000),
        /** Token budget (input + output) of one agent task. */
        maxTokensPerTask: positiveInt,
      })
      .strict(),
    providers: providersConfigSchema,
    shell: z
      .object({
        timeoutMs: timerMs,
        maxOutputBytes: positiveInt,
        /** Command policy for agents' shell tool: program names allowed (all if absent) and denied. */
        allow: z.array(z.string().min(1)).optional(),
        deny: z.array(z.string().min(1)).optional(),
      })
      .strict(),
    /** How shell commands are isolated: bubblewrap when it works (see src/sandbox/sandbox-config.ts). */
    sandbox: sandboxConfigSchema,
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
      })
      .strict(),
    /** The tiered memory: L1 in process, L2 Redis (when a URL is set), L3 the database. */
    memory: z
      .object({
        /** `redis://host:port`; null: no L2 (memory runs on L1 and the database). */
        redisUrl: z.string().regex(/^rediss?:\/\//, 'a Redis URL starts with redis:// or rediss://').nullable(),
        l1MaxBytes: positiveInt,
        l1TtlMs: cacheTtlMs,
        /** An L1 copy unchecked for this long is checked against the store before it is served (0: every hit). */
        l1RevalidateMs: nonNegativeTimerMs,
        l2TtlMs: cacheTtlMs,
        gcIntervalMs: nonNegativeTimerMs,
        /** `local`: the built-in hashing embedder (lexical, no download); `openai`: providers.openai's /embeddings. */
        embedder: z.enum(['local', 'openai']),
        embeddingModel: z.string().min(1),
        embeddingDimensions: positiveInt.max(8_192),
        /** Memories retrieved into an agent's context for a task (0: none). */
        contextMemories: nonNegativeInt.max(100),
      })
      .strict(),
    /** MCP servers agents take tools from, beside the project's `.mcp.json` (see src/adapters/mcp-client/mcp-server-config.ts). */
    mcp: mcpConfigSchema,
    /** Commands run at lifecycle points (before and after tasks, after edits, before completing, when a swarm ends); see src/hooks/hook-config.ts. */
    hooks: hooksConfigSchema,
    /** The REST API and WebSocket server run by `colony up`. */
    server: z
      .object({
        host: z.string().min(1),
        /** 0 picks a free port. */
        port: z.number().int().min(0).max(65_535),
        /** Origins allowed to call the API from a browser (CORS); none by default besides same-origin. */
        corsOrigins: z.array(z.url({ protocol: /^https?$/ }).or(z.literal('*'))),
        /** HS256 secret for JWT bearer tokens (a `role` claim: admin, operator or viewer). */
        jwtSecret: z.string().min(32, 'a JWT secret needs at least 32 characters').optional(),
        rateLimit: z.object({ max: positiveInt, windowMs: timerMs }).strict(),
        bodyLimitBytes: positiveInt,
      })
      .strict(),
  })
  .strict();

export type ColonyConfig = z.infer<typeof configSchema>;



/** A partial configuration as a file, the environment or flags may give it. */
export type ConfigInput = DeepPartial<ColonyConfig>;
type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export const CONFIG_FILE_NAMES = ['config.yaml', 'config.yml', 'config.json'] as const;

/** Shell tasks hold OS processes, so CPUs bound them (the rest, agent runs waiting on models, are I/O). */
export function defaultShellConcurrency(): number {
  return Math.max(DEFAULTS.minShellConcurrency, availableParallelism() * DEFAULTS.shellTasksPerCpu);
}

export function defaultConfig(projectDir: string): ColonyConfig {
  const dataDir = resolve(projectDir, DEFAULTS.dataDir);
  return {
    projectDir,
    dataDir,
    database: {
      url: null,
      path: resolve(dataDir, DEFAULTS.databaseFile),
      busyTimeoutMs: DEFAULTS.sqliteBusyTimeoutMs,
      poolSize: DEFAULTS.postgresPoolSize,
      connectionTimeoutMs: DEFAULTS.postgresConnectionTimeoutMs,
      statementTimeoutMs: DEFAULTS.postgresStatementTimeoutMs,
    },
    tasks: {
      concurrency: DEFAULTS.taskConcurrency,
      shellConcurrency: defaultShellConcurrency(),
      defaultTimeoutMs: DEFAULTS.taskTimeoutMs,
      defaultMaxRetries: DEFAULTS.taskMaxRetries,
      retryBaseDelayMs: DEFAULTS.retryBaseDelayMs,
      retryMaxDelayMs: DEFAULTS.retryMaxDelayMs,
      retryJitter: DEFAULTS.retryJitter,
      pollIntervalMs: DEFAULTS.schedulerPollMs,
      drainTimeoutMs: DEFAULTS.drainTimeoutMs,
    },
    agents: { maxAgents: DEFAULTS.maxAgents, defaultProvider: 'anthropic', maxTurns: AGENT_DEFAULT_MAX_TURNS, maxTokensPerTask: AGENT_DEFAULT_MAX_TOKENS },
    providers: {},
    shell: { timeoutMs: DEFAULTS.shellTimeoutMs, maxOutputBytes: DEFAULTS.shellMaxOutputBytes },
    sandbox: { ...SANDBOX_DEFAULT_CONFIG, passEnv: [], hidePaths: [] },
    log: { level: 'warn' },
    memory: {
      redisUrl: null,
      l1MaxBytes: MEMORY_DEFAULTS.l1MaxBytes,
      l1TtlMs: MEMORY_DEFAULTS.l1TtlMs,
      l1RevalidateMs: MEMORY_DEFAULTS.l1RevalidateMs,
      l2TtlMs: MEMORY_DEFAULTS.l2TtlMs,
      gcIntervalMs: MEMORY_DEFAULTS.gcIntervalMs,
      embedder: 'local',
      embeddingModel: DEFAULTS.openaiEmbeddingModel,
      embeddingDimensions: DEFAULTS.openaiEmbeddingDimensions,
      contextMemories: DEFAULTS.agentContextMemories,
    },
    mcp: { servers: {}, projectFile: MCP_DEFAULT_CONFIG.projectFile },
    hooks: { ...HOOKS_DEFAULT_CONFIG },
    server: {
      host: DEFAULTS.serverHost,
      port: DEFAULTS.serverPort,
      corsOrigins: [],
      rateLimit: { max: DEFAULTS.serverRateLimitMax, windowMs: DEFAULTS.serverRateLimitWindowMs },
      bodyLimitBytes: DEFAULTS.serverBodyLimitBytes,
    },
  };
}

/** Environment variables Colony reads, each mapped to one configuration key. */
export const ENV_KEYS: Record<string, { path: string[]; type: 'string' | 'int' | 'float' }> = {
  COLONY_DB: { path: ['database', 'path'], type: 'string' },
  COLONY_DATABASE_URL: { path: ['database', 'url'], type: 'string' },
  COLONY_DATA_DIR: { path: ['dataDir'], type: 'string' },
  COLONY_CONCURRENCY: { path: ['tasks', 'concurrency'], type: 'int' },
  COLONY_SHELL_CONCURRENCY: { path: ['tasks', 'shellConcurrency'], type: 'int' },
  COLONY_TASK_TIMEOUT_MS: { path: ['tasks', 'defaultTimeoutMs'], type: 'int' },
  COLONY_TASK_RETRIES: { path: ['tasks', 'defaultMaxRetries'], type: 'int' },
  COLONY_MAX_AGENTS: { path: ['agents', 'maxAgents'], type: 'int' },
  COLONY_PROVIDER: { path: ['agents', 'defaultProvider'], type: 'string' },
  COLONY_LOG_LEVEL: { path: ['log', 'level'], type: 'string' },
  COLONY_SANDBOX: { path: ['sandbox', 'mode'], type: 'string' },
  COLONY_REDIS_URL: { path: ['memory', 'redisUrl'], type: 'string' },
  COLONY_EMBEDDER: { path: ['memory', 'embedder'], type: 'string' },
  COLONY_HOST: { path: ['server', 'host'], type: 'string' },
  COLONY_PORT: { path: ['server', 'port'], type: 'int' },
  COLONY_JWT_SECRET: { path: ['server', 'jwtSecret'], type: 'string' },
};

export function configFromEnv(env: NodeJS.ProcessEnv): ConfigInput {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    let value: unknown = raw;
    if (spec.type !== 'string') {
      value = Number(raw);
      if (!Number.isFinite(value) || (spec.type === 'int' && !Number.isInteger(value))) {
        throw new ConfigError(`environment variable ${name}: expected ${spec.type === 'int' ? 'an integer' : 'a number'}, got "${raw}"`, {
          details: { key: name },
        });
      }
    }
    setPath(out, spec.path, value);
  }
  return out as ConfigInput;
}

export function readConfigFile(path: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    // yaml is loaded only when there is a YAML file to read: most commands never need it.
    parsed = path.endsWith('.json') ? JSON.parse(text) : loadYaml().parse(text);
  } catch (error) {
    throw new ConfigError(describeSyntaxError(error, path, text, path.endsWith('.json') ? 'JSON' : 'YAML'), { cause: error });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path}: expected a mapping of settings at the top level`);
  }
  return parsed as ConfigInput;
}

/** Finds the project's config file in its data directory, if there is one. */
export function findConfigFile(dataDir: string): string | undefined {
  return CONFIG_FILE_NAMES.map((n) => resolve(dataDir, n)).find((p) => existsSync(p));
}

export interface ConfigSources {
  projectDir: string;
  /** An explicit config file (flag); otherwise `<dataDir>/config.yaml` is used if present. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Highest precedence: command-line flags or a library caller's overrides. */
  overrides?: ConfigInput;
}

/** Where a configuration value came from. A key absent from `ConfigOrigins` has its default. */
export type ConfigOrigin = { kind: 'file'; file: string } | { kind: 'env'; variable: string } | { kind: 'override' };

/** Origins by dotted key (`tasks.concurrency`), for every value not left at its default. */
export type ConfigOrigins = Record<string, ConfigOrigin>;

/**
 * Merges defaults < config file < environment < overrides, then validates. Relative paths are
 * resolved against the project directory. Errors name the offending key and where it came from.
 */
export function loadConfig(sources: ConfigSources): { config: ColonyConfig; file: string | undefined; origins: ConfigOrigins } {
  const projectDir = resolve(sources.projectDir);
  const env = sources.env ? configFromEnv(sources.env) : {};
  const overrides = sources.overrides ?? {};
  const dataDirHint = resolve(projectDir, String(overrides.dataDir ?? env.dataDir ?? DEFAULTS.dataDir));
  const file = sources.file ? resolve(projectDir, sources.file) : findConfigFile(dataDirHint);
  if (sources.file && !existsSync(file as string)) throw new ConfigError(`config file not found: ${file}`);
  const fromFile = file ? readConfigFile(file) : {};

  const layers: [string, ConfigInput][] = [
    [file ?? 'config file', fromFile],
    ['environment', env],
    ['options', overrides],
  ];
  let merged: Record<string, unknown> = defaultConfig(projectDir) as unknown as Record<string, unknown>;
  for (const [origin, layer] of layers) {
    checkKnownKeys(layer as Record<string, unknown>, configSchema, [], origin);
    merged = deepMerge(merged, layer as Record<string, unknown>);
  }
  // A data dir given without a database path moves the database along with it.
  const dataDirGiven = layers.some(([, l]) => l.dataDir !== undefined);
  const dbGiven = layers.some(([, l]) => l.database?.path !== undefined || (l.database?.url ?? undefined) !== undefined);
  const dataDir = resolve(projectDir, String(merged.dataDir));
  merged.dataDir = dataDir;
  merged.projectDir = projectDir;
  const database = merged.database as Record<string, unknown>;
  // The highest-precedence layer naming the database decides it, by URL or by file path.
  const naming = layers.findLast(([, l]) => (l.database?.url ?? undefined) !== undefined || l.database?.path !== undefined)?.[1].database;
  if (naming?.url) {
    if (databaseUrlKind(naming.url) === 'sqlite') database.path = sqlitePathOf(naming.url);
  } else if (naming?.path !== undefined) database.url = null;
  if (!naming && dataDirGiven) database.path = resolve(dataDir, DEFAULTS.databaseFile);
  else if (typeof database.path === 'string' && database.path !== ':memory:') database.path = resolve(projectDir, database.path);
  const origins = originsOf(file, fromFile, sources.env ?? {}, overrides);
  if (dataDirGiven && !dbGiven && origins.dataDir) origins['database.path'] = origins.dataDir;

  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    const key = issue.path.join('.');
    // The highest-precedence layer holding the key is the one whose value was checked.
    const origin = layers.findLast(([, l]) => hasPath(l as Record<string, unknown>, issue.path as string[]))?.[0];
    throw new ConfigError(`invalid config key "${key}"${origin ? ` (from ${origin})` : ''}: ${issue.message}`, {
      details: { key, origin: origin ?? null },
    });
  }
  return { config: result.data, file, origins };
}

/** Which layer set each key: the highest-precedence one holding it. */
function originsOf(file: string | undefined, fromFile: ConfigInput, env: NodeJS.ProcessEnv, overrides: ConfigInput): ConfigOrigins {
  const origins: ConfigOrigins = {};
  if (file) for (const key of leafKeys(fromFile)) origins[key] = { kind: 'file', file };
  for (const [variable, spec] of Object.entries(ENV_KEYS)) {
    // configFromEnv skips unset and empty variables alike.
    if (env[variable] !== undefined && env[variable] !== '') origins[spec.path.join('.')] = { kind: 'env', variable };
  }
  for (const key of leafKeys(overrides)) origins[key] = { kind: 'override' };
  return origins;
}

/** Dotted keys of a layer's values: mappings are walked, anything else (lists too) is one value. */
export function leafKeys(layer: unknown, prefix = ''): string[] {
  if (layer === null || typeof layer !== 'object' || Array.isArray(layer)) return prefix ? [prefix] : [];
  return Object.entries(layer).flatMap(([key, value]) => (value === undefined ? [] : leafKeys(value, prefix ? `${prefix}.${key}` : key)));
}

function checkKnownKeys(layer: Record<string, unknown>, schema: z.ZodType, path: string[], origin: string): void {
  if (!(schema instanceof z.ZodObject)) return;
  const shape = schema.shape as Record<string, z.ZodType>;
  for (const [key, value] of Object.entries(layer)) {
    const child = shape[key];
    const name = [...path, key].join('.');
    if (!child) {
      throw new ConfigError(`unknown config key "${name}" (from ${origin}); known keys here: ${Object.keys(shape).join(', ')}`, {
        details: { key: name, origin },
      });
    }
    if (child instanceof z.ZodObject) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new ConfigError(`invalid config key "${name}" (from ${origin}): expected a mapping`, { details: { key: name, origin } });
      }
      checkKnownKeys(value as Record<string, unknown>, child, [...path, key], origin);
    }
  }
}

function deepMerge(base: Record<string, unknown>, layer: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object'
        ? deepMerge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  path.slice(0, -1).forEach((key) => {
    node[key] = (node[key] as Record<string, unknown>) ?? {};
    node = node[key] as Record<string, unknown>;
  });
  node[path[path.length - 1] as string] = value;
}

function hasPath(layer: Record<string, unknown>, path: string[]): boolean {
  let node: unknown = layer;
  for (const key of path) {
    if (!node || typeof node !== 'object' || !(key in (node as object))) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

