import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createMcpServer } from '../../mcp/create-mcp-server.js';
import type { ApiContext } from '../api-context.js';

/** Where MCP clients connect (Streamable HTTP). */
export const MCP_PATH = '/mcp';

const tags = ['mcp'];

/** What the MCP transport answers with (JSON-RPC 2.0, application/json), for the document. */
const jsonRpcResponse = z.object({ jsonrpc: z.literal('2.0'), id: z.union([z.string(), z.number(), z.null()]) }).loose().meta({ description: 'A JSON-RPC 2.0 response' });
const jsonRpcError = z
  .object({ jsonrpc: z.literal('2.0'), id: z.union([z.string(), z.number(), z.null()]), error: z.object({ code: z.number().int(), message: z.string() }).loose() })
  .meta({ description: 'A JSON-RPC 2.0 error from the MCP transport' });
const postResponses = {
  200: jsonRpcResponse,
  202: z.null().meta({ description: 'A notification or response accepted (no body)' }),
  400: jsonRpcError,
  406: jsonRpcError,
  415: jsonRpcError,
};

/**
 * MCP over Streamable HTTP, stateless: each POST gets its own server and transport (JSON responses),
 * built for the caller's role. The server's authentication has already run (the route needs viewer);
 * each tool then checks the role it needs. There is no server-initiated stream: GET and DELETE are 405.
 */
export function registerMcpRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.post(MCP_PATH, { schema: { tags, summary: 'MCP (Streamable HTTP, stateless): JSON-RPC requests from an MCP client', response: postResponses } }, async (request, reply) => {
    const role = request.identity?.role ?? 'viewer';
    const server = createMcpServer(ctx.colony, { role, version: ctx.version });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    reply.hijack();
    reply.raw.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, request.body);
    } catch (error) {
      request.log.error({ err: error }, 'MCP request failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' });
        reply.raw.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'internal server error' }, id: null }));
      }
    }
  });

  const notAllowed = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply
      .code(405)
      .header('allow', 'POST')
      .send({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP endpoint is stateless, use POST' }, id: null });
  app.get(MCP_PATH, { schema: { tags, summary: 'MCP: no server-initiated stream (405)', response: { 405: jsonRpcError } } }, notAllowed);
  app.delete(MCP_PATH, { schema: { tags, summary: 'MCP: no sessions to end (405)', response: { 405: jsonRpcError } } }, notAllowed);
}
