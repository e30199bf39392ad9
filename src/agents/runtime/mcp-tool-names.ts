import { ConfigError } from '../../domain/errors.js';

/**
 * Claude Code's names for MCP tools in an agent type's `tools:` list: `mcp__<server>__<tool>` selects
 * one tool, `mcp__<server>` every tool of the server. Unlike Claude Code, an agent type without a
 * `tools:` list gets no MCP tools: a server runs only for the types that name it (the `.mcp.json`
 * that `colony init` writes names Colony itself, which no agent should start by default).
 */

export const MCP_TOOL_PREFIX = 'mcp__';
/** The longest tool name every provider accepts (OpenAI's limit; Claude Code's too). */
export const MCP_TOOL_NAME_MAX_CHARS = 64;
const SEPARATOR = '__';

/** The name the model sees for a server's tool; characters providers refuse in tool names become "_". */
export function mcpToolName(server: string, tool: string): string {
  return `${MCP_TOOL_PREFIX}${server}${SEPARATOR}${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

export function isMcpToolName(name: string): boolean {
  return name.trim().startsWith(MCP_TOOL_PREFIX);
}

/** `{ server, tool }` for `mcp__server__tool`, `{ server }` for `mcp__server`; undefined for a malformed name. */
export function parseMcpToolName(name: string): { server: string; tool?: string } | undefined {
  const trimmed = name.trim();
  if (!trimmed.startsWith(MCP_TOOL_PREFIX)) return undefined;
  const rest = trimmed.slice(MCP_TOOL_PREFIX.length);
  const at = rest.indexOf(SEPARATOR);
  const server = at === -1 ? rest : rest.slice(0, at);
  const tool = at === -1 ? undefined : rest.slice(at + SEPARATOR.length);
  if (server === '' || tool === '') return undefined;
  return tool === undefined ? { server } : { server, tool };
}

/** The servers a declared list selects: per server, the tool names wanted, or 'all'. */
export type McpSelection = Map<string, Set<string> | 'all'>;

/**
 * What a declared list selects from the configured servers. Throws ConfigError naming the agent
 * type, the entry and the configured servers, for a malformed entry or a server that is not configured.
 */
export function selectMcpTools(declared: readonly string[], configured: readonly string[], agentType: string): McpSelection {
  const selection: McpSelection = new Map();
  for (const problem of mcpToolNameProblems(declared, configured, agentType)) throw new ConfigError(problem, { details: { agentType } });
  for (const entry of declared) {
    const parsed = parseMcpToolName(entry);
    if (parsed === undefined) continue;
    const current = selection.get(parsed.server);
    if (parsed.tool === undefined || current === 'all') selection.set(parsed.server, 'all');
    else selection.set(parsed.server, new Set([...(current ?? []), parsed.tool]));
  }
  return selection;
}

/** Problems with the MCP entries of an agent type's tools (malformed, or naming a server not configured), one sentence each. */
export function mcpToolNameProblems(declared: readonly string[], configured: readonly string[], agentType: string): string[] {
  const problems: string[] = [];
  for (const entry of declared) {
    if (!isMcpToolName(entry)) continue;
    const parsed = parseMcpToolName(entry);
    if (parsed === undefined) {
      problems.push(`agent type "${agentType}": tools entry "${entry}" is not an MCP tool name; write mcp__<server> or mcp__<server>__<tool>`);
    } else if (!configured.includes(parsed.server)) {
      problems.push(
        `agent type "${agentType}": tools entry "${entry}" names MCP server "${parsed.server}", which is not configured (in .mcp.json or mcp.servers); configured servers: ${configured.join(', ') || 'none'}`,
      );
    }
  }
  return problems;
}
