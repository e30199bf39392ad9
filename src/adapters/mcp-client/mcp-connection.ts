import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { ExecutionError, TimeoutError } from '../../domain/errors.js';
import type { JsonValue } from '../../domain/json.js';
import type { Logger } from '../../kernel/logger.js';
import type { McpServerStatus, McpToolInfo, McpToolOutput } from '../../ports/mcp-servers.js';
import { MCP_CLIENT_NAME, MCP_RESTART_BASE_DELAY_MS, MCP_RESTART_MAX_DELAY_MS, MCP_STDERR_TAIL_CHARS } from './mcp-defaults.js';
import { loadMcpSdk, type McpSdk } from './mcp-sdk.js';
import { toolResultText } from './mcp-tool-result.js';
import type { ResolvedMcpServer } from './resolve-mcp-servers.js';
import { raceAbort } from '../../kernel/race-abort.js';

export interface McpConnectionOptions {
  server: ResolvedMcpServer;
  version: string;
  logger: Logger;
  now: () => number;
  /** Called when the server starts, fails or stops (not for `starting`). */
  onStateChange?: (status: McpServerStatus) => void;
}

type State = { kind: 'not_started' } | { kind: 'starting' } | { kind: 'running' } | { kind: 'failed'; reason: string };

/**
 * One MCP server, through the SDK's Client: started on first use (concurrent callers share the
 * start), its tool list read once per start, and started again on the next call after it fails
 * (a stdio server that exits, an HTTP server that cannot be reached). The first retry is at once;
 * failures in a row (starts that fail) wait MCP_RESTART_BASE_DELAY_MS, doubling up to
 * MCP_RESTART_MAX_DELAY_MS, and calls in between fail at once with the last reason. A start or a
 * call that succeeds resets the count. Servers are only ever started by calls, never by a timer.
 */
export class McpConnection {
  readonly #o: McpConnectionOptions;
  #state: State = { kind: 'not_started' };
  #client: Client | null = null;
  #transport: Transport | null = null;
  #tools: McpToolInfo[] = [];
  #starting: Promise<Client> | null = null;
  #failures = 0;
  #retryAt = 0;
  #closed = false;
  #stderr = '';
  /** Loaded by the first start; every error a call can meet comes after it. */
  #sdk: McpSdk | null = null;

  constructor(options: McpConnectionOptions) {
    this.#o = options;
    if (options.server.problem !== undefined) this.#state = { kind: 'failed', reason: options.server.problem };
  }

  get name(): string {
    return this.#o.server.name;
  }

  status(): McpServerStatus {
    const server = this.#o.server;
    const stdio = this.#sdk !== null && this.#transport instanceof this.#sdk.StdioClientTransport ? this.#transport : null;
    const pid = stdio !== null && this.#state.kind === 'running' ? stdio.pid : null;
    return {
      name: server.name,
      transport: server.transport,
      source: server.source,
      state: this.#state.kind,
      ...(this.#state.kind === 'failed' ? { reason: this.#state.reason } : {}),
      ...(this.#state.kind === 'running' ? { tools: this.#tools.length } : {}),
      ...(pid === null ? {} : { pid }),
    };
  }

  async listTools(signal?: AbortSignal): Promise<McpToolInfo[]> {
    await raceAbort(this.#connect(), signal);
    return this.#tools;
  }

  async callTool(tool: string, args: Record<string, JsonValue>, signal?: AbortSignal): Promise<McpToolOutput> {
    const client = await raceAbort(this.#connect(), signal);
    const timeoutMs = this.#o.server.timeoutMs;
    try {
      const result = await client.callTool({ name: tool, arguments: args }, undefined, { timeout: timeoutMs, ...(signal === undefined ? {} : { signal }) });
      this.#failures = 0;
      const output = toolResultText(result);
      return output.isError === true ? { isError: true, content: `MCP server "${this.name}": tool "${tool}" returned an error: ${output.content}` } : output;
    } catch (error) {
      if (signal?.aborted === true) throw error;
      const { McpError, ErrorCode } = this.#sdk as McpSdk;
      const call = `the call to "${tool}"`;
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
        throw new TimeoutError(`MCP server "${this.name}" did not answer ${call} within ${timeoutMs} ms; the call was cancelled`, { cause: error, details: { server: this.name, tool } });
      }
      if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
        const reason = this.#state.kind === 'failed' ? this.#state.reason : 'the connection closed';
        throw new ExecutionError(`MCP server "${this.name}" stopped during ${call} (${reason}); it is started again on the next call`, { cause: error, details: { server: this.name, tool } });
      }
      if (error instanceof McpError) {
        // The server answered with a protocol error (unknown tool, bad arguments): it is healthy.
        throw new ExecutionError(`MCP server "${this.name}" refused ${call}: ${error.message}`, { cause: error, details: { server: this.name, tool } });
      }
      // The transport failed (an HTTP server gone): the next call connects again.
      const reason = messageOf(error);
      await this.#drop(client, reason);
      throw new ExecutionError(`MCP server "${this.name}" could not be reached for ${call}: ${reason}; it is connected again on the next call`, { cause: error, details: { server: this.name, tool } });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const starting = this.#starting;
    const transport = this.#transport;
    const client = this.#client;
    this.#client = null;
    // A start under way is cut off by closing its transport (its process, for stdio).
    if (client !== null) await client.close().catch(() => undefined);
    else if (transport !== null) await transport.close().catch(() => undefined);
    if (starting !== null) await starting.catch(() => undefined);
    const wasRunning = this.#state.kind === 'running';
    this.#transport = null;
    if (this.#state.kind !== 'failed') this.#state = { kind: 'not_started' };
    if (wasRunning) this.#o.onStateChange?.(this.status());
  }

  #set(state: State): void {
    this.#state = state;
    this.#o.onStateChange?.(this.status());
  }

  /** The running client, or the start under way (shared by every caller: one caller's cancellation does not cut it off). */
  #connect(): Promise<Client> {
    if (this.#closed) return Promise.reject(new ExecutionError(`MCP server "${this.name}" is stopped: the colony is closing`, { retryable: false, details: { server: this.name } }));
    if (this.#client !== null) return Promise.resolve(this.#client);
    if (this.#o.server.problem !== undefined) {
      return Promise.reject(new ExecutionError(`MCP server "${this.name}" cannot start: ${this.#o.server.problem}`, { retryable: false, details: { server: this.name } }));
    }
    if (this.#starting !== null) return this.#starting;
    const wait = this.#retryAt - this.#o.now();
    if (this.#state.kind === 'failed' && wait > 0) {
      return Promise.reject(
        new ExecutionError(`MCP server "${this.name}" is not running (${this.#state.reason}); it is tried again on a call in ${Math.ceil(wait / 1000)} s`, { details: { server: this.name } }),
      );
    }
    this.#starting = this.#start().finally(() => {
      this.#starting = null;
    });
    return this.#starting;
  }

  async #start(): Promise<Client> {
    const server = this.#o.server;
    this.#state = { kind: 'starting' };
    this.#stderr = '';
    const sdk = (this.#sdk ??= await loadMcpSdk());
    const transport = this.#createTransport(sdk);
    const client: Client = new sdk.Client(
      { name: MCP_CLIENT_NAME, version: this.#o.version },
      {
        // A server that says its tools changed is asked again: runs that start later see the new list.
        listChanged: {
          tools: {
            onChanged: (error, tools) => {
              if (error !== null || tools === null || this.#client !== client) return;
              this.#tools = tools.map((tool) => toolInfo(tool, server.name));
            },
          },
        },
      },
    );
    this.#transport = transport;
    client.onclose = () => {
      if (this.#client !== client) return;
      this.#client = null;
      if (!this.#closed) this.#failed(`the server stopped${this.#stderrNote()}`);
    };
    client.onerror = (error) => this.#o.logger.debug({ err: error, server: server.name }, 'MCP server connection error');
    try {
      const options = { timeout: server.startTimeoutMs };
      await client.connect(transport, options);
      const tools: McpToolInfo[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor }, options);
        for (const tool of page.tools) tools.push(toolInfo(tool, server.name));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      if (this.#closed) throw new Error('the colony is closing');
      this.#tools = tools;
      this.#client = client;
      this.#failures = 0;
      this.#set({ kind: 'running' });
      this.#o.logger.info({ server: server.name, tools: tools.length }, 'MCP server started');
      return client;
    } catch (error) {
      await client.close().catch(() => undefined);
      if (this.#transport === transport) this.#transport = null;
      const reason = error instanceof sdk.McpError && error.code === sdk.ErrorCode.RequestTimeout ? `no answer within ${server.startTimeoutMs} ms` : messageOf(error);
      const full = `${reason}${this.#stderrNote()}`;
      if (!this.#closed) this.#failed(full);
      this.#o.logger.warn({ server: server.name, reason: full }, 'MCP server failed to start');
      throw new ExecutionError(`MCP server "${server.name}" failed to start: ${full}`, { cause: error, details: { server: server.name } });
    }
  }

  #createTransport(sdk: McpSdk): Transport {
    const spec = this.#o.server.spec;
    if (spec === undefined) throw new Error('no transport');
    if (spec.type === 'stdio') {
      // The SDK adds only a safe base environment (PATH, HOME, USER, ...) to the configured variables:
      // Colony's own secrets reach a server only when its `env` names them.
      const transport = new sdk.StdioClientTransport({ command: spec.command, args: spec.args, env: spec.env, cwd: spec.cwd, stderr: 'pipe' });
      transport.stderr?.on('data', (chunk: Buffer) => {
        this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-MCP_STDERR_TAIL_CHARS);
      });
      return transport;
    }
    const requestInit = { headers: spec.headers };
    return spec.type === 'http' ? new sdk.StreamableHTTPClientTransport(spec.url, { requestInit }) : new sdk.SSEClientTransport(spec.url, { requestInit });
  }

  async #drop(client: Client, reason: string): Promise<void> {
    if (this.#client !== client) return;
    this.#client = null;
    this.#failed(reason);
    await client.close().catch(() => undefined);
  }

  #failed(reason: string): void {
    this.#failures++;
    this.#set({ kind: 'failed', reason });
    // The first failure is retried on the next call; repeated ones back off, up to a bound.
    const delay = this.#failures <= 1 ? 0 : Math.min(MCP_RESTART_BASE_DELAY_MS * 2 ** (this.#failures - 2), MCP_RESTART_MAX_DELAY_MS);
    this.#retryAt = this.#o.now() + delay;
  }

  #stderrNote(): string {
    const tail = this.#stderr.trim().split('\n').slice(-3).join(' | ');
    return tail === '' ? '' : `; its stderr ends: ${tail}`;
  }
}

function toolInfo(tool: Tool, server: string): McpToolInfo {
  return { name: tool.name, description: tool.description ?? tool.title ?? `Tool ${tool.name} of MCP server ${server}`, inputSchema: tool.inputSchema as Record<string, unknown> };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== undefined && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
  }
  return String(error);
}
