import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/**
 * A small MCP server over Streamable HTTP (stateless, the official SDK) on an ephemeral 127.0.0.1
 * port, for tests. Tools: `multiply {a, b}` and `whoami {}` (the request's Authorization header).
 */
export interface TestMcpHttpServer {
  url: string;
  /** Requests received (POSTs). */
  requests: number;
  close(): Promise<void>;
}

export async function startMcpHttpServer(): Promise<TestMcpHttpServer> {
  const state = { requests: 0 };
  const http: Server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    state.requests++;
    const authorization = req.headers.authorization ?? '(none)';
    const server = new McpServer({ name: 'test-http', version: '1.0.0' });
    server.registerTool('multiply', { description: 'Multiplies two numbers.', inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => ({ content: [{ type: 'text', text: String(a * b) }] }));
    server.registerTool('whoami', { description: 'The Authorization header of the request.' }, async () => ({ content: [{ type: 'text', text: authorization }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    void server.connect(transport).then(() => transport.handleRequest(req, res));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        http.closeAllConnections();
        http.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
