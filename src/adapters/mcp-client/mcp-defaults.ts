/** Defaults of the MCP client (each server can set its own `timeoutMs` and `startTimeoutMs`). */

/** How long one tool call may take before it is cancelled and reported to the model as timed out. */
export const MCP_CALL_TIMEOUT_MS = 60_000;
/** How long a server may take to start: spawn or connect, the initialize handshake and the tool list. */
export const MCP_START_TIMEOUT_MS = 30_000;
/** A server that failed is started again on the next call; after repeated failures, not before this delay (doubling) ... */
export const MCP_RESTART_BASE_DELAY_MS = 1_000;
/** ... up to this one. */
export const MCP_RESTART_MAX_DELAY_MS = 60_000;
/** The end of a stdio server's stderr kept for the reason of its failure. */
export const MCP_STDERR_TAIL_CHARS = 1_000;
/** The project file Claude Code reads its MCP servers from. */
export const MCP_JSON_FILE = '.mcp.json';
/** How Colony introduces itself to servers. */
export const MCP_CLIENT_NAME = 'colony';
