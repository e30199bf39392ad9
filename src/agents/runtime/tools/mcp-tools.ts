import type { JsonValue } from '../../../domain/json.js';
import type { Logger } from '../../../kernel/logger.js';
import type { McpServers, McpToolInfo } from '../../../ports/mcp-servers.js';
import { MCP_TOOL_NAME_MAX_CHARS, mcpToolName, selectMcpTools } from '../mcp-tool-names.js';
import type { AgentTool, ToolOutput } from './agent-tool.js';

/**
 * The MCP tools of one agent run: for each server the agent type selects, its tools (all, or those
 * named) as agent tools named `mcp__<server>__<tool>`, with the server's description and input
 * schema. Listing starts the server if it is not running.
 *
 * A server that cannot start does not fail the run: a tool named in `tools:` is still offered (with
 * an open schema; its calls go to the server, which is tried again), and a whole server is offered
 * as one tool `mcp__<server>` that says why it is unavailable and forwards `{ tool, arguments }`.
 * Either way the model gets error results naming the server until it runs.
 */

export interface McpAgentToolsOptions {
  declared: readonly string[];
  agentType: string;
  servers: McpServers;
  signal?: AbortSignal;
  logger?: Logger;
}

const OPEN_SCHEMA: Record<string, unknown> = { type: 'object', additionalProperties: true };

export async function mcpAgentTools(options: McpAgentToolsOptions): Promise<AgentTool[]> {
  const selection = selectMcpTools(options.declared, options.servers.names(), options.agentType);
  const perServer = await Promise.all(
    [...selection].map(async ([server, wanted]): Promise<AgentTool[]> => {
      let listed: McpToolInfo[];
      try {
        listed = await options.servers.listTools(server, options.signal);
      } catch (error) {
        if (options.signal?.aborted === true) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        options.logger?.warn({ server, agentType: options.agentType, reason }, 'MCP server unavailable for an agent run');
        if (wanted === 'all') return [unavailableServerTool(options.servers, server, reason)];
        return [...wanted].map((tool) => mcpTool(options.servers, server, { name: tool, description: `Tool "${tool}" of MCP server "${server}" (the server was unavailable when this task started: ${reason}).`, inputSchema: OPEN_SCHEMA }));
      }
      const chosen = wanted === 'all' ? listed : listed.filter((tool) => wanted.has(tool.name));
      // A name providers refuse would fail every model call of the run: such a tool is left out, and said so.
      const tooLong = chosen.filter((tool) => mcpToolName(server, tool.name).length > MCP_TOOL_NAME_MAX_CHARS);
      if (tooLong.length > 0) {
        options.logger?.warn({ server, tools: tooLong.map((tool) => tool.name) }, `MCP tools left out: their names (mcp__${server}__<tool>) are longer than ${MCP_TOOL_NAME_MAX_CHARS} characters`);
      }
      const tools = chosen.filter((tool) => !tooLong.includes(tool)).map((tool) => mcpTool(options.servers, server, tool));
      if (wanted !== 'all') {
        const missing = [...wanted].filter((name) => !listed.some((tool) => tool.name === name));
        if (missing.length > 0) options.logger?.warn({ server, agentType: options.agentType, missing }, 'MCP tools named in an agent type are not offered by their server');
      }
      return tools;
    }),
  );
  return perServer.flat();
}

function mcpTool(servers: McpServers, server: string, tool: McpToolInfo): AgentTool {
  // As for custom tools: the schema without the `$schema` key providers do not need.
  const { $schema: _ignored, ...schema } = tool.inputSchema;
  return {
    name: mcpToolName(server, tool.name),
    description: tool.description,
    inputSchema: { ...schema, type: 'object' },
    run(input, context): Promise<ToolOutput> {
      if (input !== undefined && (input === null || typeof input !== 'object' || Array.isArray(input))) {
        return Promise.resolve({ isError: true, content: `the arguments for ${mcpToolName(server, tool.name)} must be a JSON object` });
      }
      return servers.callTool(server, tool.name, (input ?? {}) as Record<string, JsonValue>, context.signal);
    },
  };
}

/** A whole server that could not start: one tool that says so and forwards calls once it runs. */
function unavailableServerTool(servers: McpServers, server: string, reason: string): AgentTool {
  return {
    name: `mcp__${server}`,
    description: `MCP server "${server}" could not be started when this task began (${reason}), so its tools are not listed. To try it again, call this tool with the name of one of its tools and that tool's arguments.`,
    inputSchema: {
      type: 'object',
      properties: { tool: { type: 'string', description: `the name of a tool of MCP server "${server}"` }, arguments: { type: 'object', description: 'the tool\'s arguments' } },
      required: ['tool'],
    },
    run(input, context): Promise<ToolOutput> {
      const { tool, arguments: args } = (input ?? {}) as { tool?: unknown; arguments?: unknown };
      if (typeof tool !== 'string' || tool === '') return Promise.resolve({ isError: true, content: '"tool" must be the name of one of the server\'s tools' });
      if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) return Promise.resolve({ isError: true, content: '"arguments" must be a JSON object' });
      return servers.callTool(server, tool, (args ?? {}) as Record<string, JsonValue>, context.signal);
    },
  };
}
