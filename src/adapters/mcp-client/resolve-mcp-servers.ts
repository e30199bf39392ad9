import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { z } from 'zod';
import { ConfigError } from '../../domain/errors.js';
import { describeSyntaxError } from '../../kernel/describe-syntax-error.js';
import { expandEnvVars } from './expand-env-vars.js';
import { MCP_CALL_TIMEOUT_MS, MCP_JSON_FILE, MCP_START_TIMEOUT_MS } from './mcp-defaults.js';
import { MCP_SERVER_NAME_HINT, MCP_SERVER_NAME_PATTERN, mcpJsonServerSchema, type McpConfig, type McpServerConfig } from './mcp-server-config.js';

/**
 * The MCP servers of a colony: the project's `.mcp.json` (Claude Code's file) and Colony's own
 * `mcp.servers`, which wins on a name clash. `${VAR}` references are expanded from `env`; a server
 * whose variables are unset gets a `problem` (it reports that instead of starting), so one missing
 * token does not stop the colony. A malformed file or entry is a ConfigError naming the field.
 */

export type McpTransportSpec =
  | { type: 'stdio'; command: string; args: string[]; env: Record<string, string>; cwd: string }
  | { type: 'http' | 'sse'; url: URL; headers: Record<string, string> };

export interface ResolvedMcpServer {
  name: string;
  source: 'mcp.json' | 'config';
  transport: McpTransportSpec['type'];
  /** How to reach it; absent when `problem` says why it cannot start. */
  spec?: McpTransportSpec;
  problem?: string;
  timeoutMs: number;
  startTimeoutMs: number;
}

export interface ResolveMcpServersOptions {
  projectDir: string;
  config: McpConfig;
  /** Where `${VAR}` values come from. */
  env: NodeJS.ProcessEnv;
}

export function resolveMcpServers(options: ResolveMcpServersOptions): ResolvedMcpServer[] {
  const file = resolve(options.projectDir, MCP_JSON_FILE);
  const fromFile = options.config.projectFile ? readMcpJson(file) : {};
  const merged = new Map<string, { config: McpServerConfig; source: ResolvedMcpServer['source']; where: string }>();
  for (const [name, config] of Object.entries(fromFile)) merged.set(name, { config, source: 'mcp.json', where: `${file}: mcpServers.${name}` });
  for (const [name, config] of Object.entries(options.config.servers)) merged.set(name, { config, source: 'config', where: `mcp.servers.${name}` });
  return [...merged].map(([name, entry]) => resolveServer(name, entry.config, entry.source, entry.where, options));
}

/** The servers of a `.mcp.json` file (none when there is no file), validated. */
export function readMcpJson(file: string): Record<string, McpServerConfig> {
  if (!existsSync(file)) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(describeSyntaxError(error, file, text, 'JSON'), { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`${file}: expected an object with "mcpServers"`, { details: { file } });
  const servers = (parsed as { mcpServers?: unknown }).mcpServers;
  if (servers === undefined) return {};
  if (servers === null || typeof servers !== 'object' || Array.isArray(servers)) {
    throw new ConfigError(`${file}: "mcpServers" must be an object of servers by name`, { details: { file, key: 'mcpServers' } });
  }
  const out: Record<string, McpServerConfig> = {};
  for (const [name, entry] of Object.entries(servers)) {
    if (!MCP_SERVER_NAME_PATTERN.test(name)) throw new ConfigError(`${file}: mcpServers.${name}: ${MCP_SERVER_NAME_HINT}`, { details: { file, key: `mcpServers.${name}` } });
    const result = mcpJsonServerSchema.safeParse(entry);
    if (!result.success) {
      const issue = result.error.issues[0] as z.core.$ZodIssue;
      const key = ['mcpServers', name, ...issue.path.map(String)].join('.');
      throw new ConfigError(`${file}: invalid "${key}": ${issue.message}`, { details: { file, key } });
    }
    out[name] = result.data;
  }
  return out;
}

function resolveServer(name: string, config: McpServerConfig, source: ResolvedMcpServer['source'], where: string, options: ResolveMcpServersOptions): ResolvedMcpServer {
  const base = {
    name,
    source,
    transport: config.type,
    timeoutMs: config.timeoutMs ?? MCP_CALL_TIMEOUT_MS,
    startTimeoutMs: config.startTimeoutMs ?? MCP_START_TIMEOUT_MS,
  };
  const missing: string[] = [];
  const expand = (text: string, field: string): string => {
    const { value, missing: unset } = expandEnvVars(text, options.env);
    for (const variable of unset) missing.push(`${variable} (in ${where}.${field})`);
    return value;
  };
  const expandMap = (map: Record<string, string> | undefined, field: string): Record<string, string> =>
    Object.fromEntries(Object.entries(map ?? {}).map(([key, value]) => [key, expand(value, `${field}.${key}`)]));

  let spec: McpTransportSpec;
  if (config.type === 'stdio') {
    spec = {
      type: 'stdio',
      command: expand(config.command, 'command'),
      args: (config.args ?? []).map((arg, index) => expand(arg, `args.${index}`)),
      env: expandMap(config.env, 'env'),
      cwd: resolve(options.projectDir, config.cwd === undefined ? '.' : expand(config.cwd, 'cwd')),
    };
  } else {
    const text = expand(config.url, 'url');
    const headers = expandMap(config.headers, 'headers');
    if (missing.length > 0) return { ...base, problem: unsetProblem(missing) };
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ConfigError(`${where}.url: not a URL: ${JSON.stringify(text)}`, { details: { key: `${where}.url` } });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${where}.url: expected an http:// or https:// URL`, { details: { key: `${where}.url` } });
    spec = { type: config.type, url, headers };
  }
  if (missing.length > 0) return { ...base, problem: unsetProblem(missing) };
  return { ...base, spec };
}

function unsetProblem(missing: string[]): string {
  return `environment variable${missing.length === 1 ? '' : 's'} not set: ${missing.join(', ')}`;
}
