import { z } from 'zod';
import { MAX_TIMER_MS } from '../../domain/bounds.js';

/**
 * One MCP server's configuration, in Claude Code's `.mcp.json` shape (also Colony's `mcp.servers`):
 *
 *   { "command": "npx", "args": ["-y", "some-server"], "env": { "TOKEN": "${TOKEN}" } }   stdio (type optional)
 *   { "type": "http", "url": "https://host/mcp", "headers": { "Authorization": "Bearer ${TOKEN}" } }
 *   { "type": "sse", "url": "https://host/sse" }                                            the older HTTP+SSE transport
 *
 * Colony adds `timeoutMs` (one tool call) and `startTimeoutMs`. Strings may hold `${VAR}` and
 * `${VAR:-default}` (see expand-env-vars.ts), expanded when the server is resolved.
 */

/** Letters, digits, "-" and single "_": `__` separates the server from the tool in `mcp__<server>__<tool>`. */
export const MCP_SERVER_NAME_PATTERN = /^[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*$/;
export const MCP_SERVER_NAME_HINT = 'an MCP server name is letters, digits, "-" and "_" (not "__", which separates server and tool in mcp__<server>__<tool>)';

const timeoutMs = z.number().int().positive().max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS} ms`);
const stringMap = z.record(z.string(), z.string({ error: 'must be a string' }));

const common = {
  timeoutMs: timeoutMs.optional(),
  startTimeoutMs: timeoutMs.optional(),
};

function shapes(strict: boolean) {
  const object = strict ? z.strictObject : z.object;
  const stdio = object({
    type: z.literal('stdio'),
    command: z.string({ error: 'must be the program to run (a string)' }).min(1, 'must not be empty'),
    args: z.array(z.string({ error: 'must be a string' })).optional(),
    env: stringMap.optional(),
    /** The server's working directory; default: the project directory. */
    cwd: z.string().min(1).optional(),
    ...common,
  });
  const remote = (type: 'http' | 'sse') =>
    object({
      type: z.literal(type),
      url: z.string({ error: 'must be the server\'s URL (a string)' }).min(1, 'must not be empty'),
      headers: stringMap.optional(),
      ...common,
    });
  return z.discriminatedUnion('type', [stdio, remote('http'), remote('sse')], {
    error: (issue) => (issue.code === 'invalid_union' ? 'type must be "stdio" (the default, with "command"), "http" or "sse" (with "url")' : undefined),
  });
}

/** A server without `type` is a stdio one (Claude Code's default); `streamable-http` is another name for `http`. */
function withType(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const entry = value as Record<string, unknown>;
  if (entry.type === undefined) return { ...entry, type: 'stdio' };
  if (entry.type === 'streamable-http') return { ...entry, type: 'http' };
  return entry;
}

/** Colony's `mcp.servers` entries: unknown keys are errors. */
export const mcpServerConfigSchema = z.preprocess(withType, shapes(true));
/** `.mcp.json` entries: keys Colony does not use (other tools' settings) are ignored. */
export const mcpJsonServerSchema = z.preprocess(withType, shapes(false));

export type McpServerConfig = z.infer<typeof mcpServerConfigSchema>;

export const mcpServersSchema = z.record(z.string().regex(MCP_SERVER_NAME_PATTERN, MCP_SERVER_NAME_HINT), mcpServerConfigSchema, {
  error: (issue) => (issue.code === 'invalid_key' ? MCP_SERVER_NAME_HINT : undefined),
});

/** The `mcp` section of Colony's configuration. */
export const mcpConfigSchema = z.strictObject({
  /** Servers by name; they win over `.mcp.json` servers of the same name. */
  servers: mcpServersSchema,
  /** Whether the project's `.mcp.json` is read (default true). */
  projectFile: z.boolean(),
});

export type McpConfig = z.infer<typeof mcpConfigSchema>;

export const MCP_DEFAULT_CONFIG: McpConfig = { servers: {}, projectFile: true };
