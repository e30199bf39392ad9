import { ConfigError } from '../../domain/errors.js';
import type { JsonValue } from '../../domain/json.js';
import type { Logger } from '../../kernel/logger.js';
import type { McpServers, McpServerStatus, McpToolInfo, McpToolOutput } from '../../ports/mcp-servers.js';
import { McpConnection } from './mcp-connection.js';
import type { ResolvedMcpServer } from './resolve-mcp-servers.js';

export interface McpClientManagerOptions {
  servers: readonly ResolvedMcpServer[];
  /** Colony's version, sent to servers in the initialize handshake. */
  version: string;
  logger: Logger;
  now: () => number;
  /** Called when a server starts, fails or stops. */
  onStateChange?: (status: McpServerStatus) => void;
}

/** The colony's MCP servers (see ports/mcp-servers.ts): one connection each, none started until used. */
export class McpClientManager implements McpServers {
  readonly #connections: Map<string, McpConnection>;

  constructor(options: McpClientManagerOptions) {
    this.#connections = new Map(
      options.servers.map((server) => [server.name, new McpConnection({ server, version: options.version, logger: options.logger, now: options.now, ...(options.onStateChange === undefined ? {} : { onStateChange: options.onStateChange }) })]),
    );
  }

  names(): string[] {
    return [...this.#connections.keys()];
  }

  listTools(server: string, signal?: AbortSignal): Promise<McpToolInfo[]> {
    return this.#connection(server).listTools(signal);
  }

  callTool(server: string, tool: string, args: Record<string, JsonValue>, signal?: AbortSignal): Promise<McpToolOutput> {
    return this.#connection(server).callTool(tool, args, signal);
  }

  status(): McpServerStatus[] {
    return [...this.#connections.values()].map((connection) => connection.status());
  }

  async close(): Promise<void> {
    await Promise.all([...this.#connections.values()].map((connection) => connection.close()));
  }

  #connection(server: string): McpConnection {
    const connection = this.#connections.get(server);
    if (connection === undefined) {
      throw new ConfigError(`no MCP server "${server}" is configured (in .mcp.json or mcp.servers); configured: ${this.names().join(', ') || 'none'}`, { details: { server } });
    }
    return connection;
  }
}
