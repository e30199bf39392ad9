// A small MCP server over stdio, written with the official SDK, for tests. Run it with node (which
// strips the types): `node test/support/mcp-stdio-server.ts`. Its tools:
//   add {a, b}   the sum, as text and as structured content
//   fail {}      an isError result
//   pid {}       this process's id (tests check it is gone after the colony closes)
//   env {name}   an environment variable's value, or "(unset)"
//   crash {}     exits mid-call (code 3), after a line on stderr
//   hang {}      never answers
//   grow {}      adds a tool `extra` (the server tells the client its tool list changed)
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'test-calc', version: '1.0.0' });

server.registerTool('add', { description: 'Adds two numbers.', inputSchema: { a: z.number(), b: z.number() }, outputSchema: { sum: z.number() } }, async ({ a, b }) => ({
  content: [{ type: 'text', text: String(a + b) }],
  structuredContent: { sum: a + b },
}));

server.registerTool('fail', { description: 'Always fails.' }, async () => ({ content: [{ type: 'text', text: 'this tool fails on purpose' }], isError: true }));

server.registerTool('pid', { description: 'The server process id.' }, async () => ({ content: [{ type: 'text', text: String(process.pid) }] }));

server.registerTool('env', { description: 'An environment variable of the server.', inputSchema: { name: z.string() } }, async ({ name }) => ({
  content: [{ type: 'text', text: process.env[name] ?? '(unset)' }],
}));

server.registerTool('crash', { description: 'Exits in the middle of the call.' }, async () => {
  process.stderr.write('crashing on purpose\n');
  process.exit(3);
});

server.registerTool('hang', { description: 'Never answers.' }, () => new Promise(() => undefined));

server.registerTool('grow', { description: 'Adds a tool named extra.' }, async () => {
  server.registerTool('extra', { description: 'A tool added while running.' }, async () => ({ content: [{ type: 'text', text: 'extra' }] }));
  return { content: [{ type: 'text', text: 'grown' }] };
});

await server.connect(new StdioServerTransport());
