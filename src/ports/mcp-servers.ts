import type { JsonValue } from '../domain/json.js';

/**
 * The MCP servers agents take tools from (the project's `.mcp.json` and `mcp.servers` in Colony's
 * configuration). One instance per colony: a server starts on the first call that needs it, is
 * shared by every agent of the process, is started again after it fails, and stops with the colony.
 */

/** A tool as the server describes it. */
export interface McpToolInfo {
  /** The server's own name for it (agents see `mcp__<server>__<name>`). */
  name: string;
  description: string;
  /** JSON Schema of the arguments (type: object). */
  inputSchema: Record<string, unknown>;
}

/** A call's outcome for the model: the result's text (or structured content as JSON), `isError` when the tool says it failed. */
export interface McpToolOutput {
  content: string;
  isError?: boolean;
}

export type McpServerState = 'not_started' | 'starting' | 'running' | 'failed';

export interface McpServerStatus {
  name: string;
  transport: 'stdio' | 'http' | 'sse';
  /** Where it is configured: `.mcp.json` or Colony's `mcp.servers`. */
  source: 'mcp.json' | 'config';
  state: McpServerState;
  /** Why it is `failed` (or why it cannot start at all). */
  reason?: string;
  /** The tools it offers, once it has run. */
  tools?: number;
  /** The server's process, while a stdio server runs. */
  pid?: number;
}

export interface McpServers {
  /** The configured servers' names. */
  names(): string[];
  /** The server's tools, starting it if needed; throws (naming the server and what happened) when it cannot run. */
  listTools(server: string, signal?: AbortSignal): Promise<McpToolInfo[]>;
  /**
   * Calls a tool, starting the server if needed. A result the tool marks `isError` comes back as
   * one; a server that cannot start, crashes or does not answer in time throws an error naming it.
   */
  callTool(server: string, tool: string, args: Record<string, JsonValue>, signal?: AbortSignal): Promise<McpToolOutput>;
  status(): McpServerStatus[];
  /** Stops every server (their processes are gone when it resolves); later calls fail. */
  close(): Promise<void>;
}
