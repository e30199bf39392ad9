// The example team's issue tracker, as an MCP server over stdio (written with the official SDK, as a
// team's own server would be). The repository's .mcp.json starts it; the example's coders read their
// bug report through it (`mcp__tracker__get_issue`) before they touch the code.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const ISSUES = {
  'CART-1': {
    title: 'Cart total ignores the first line',
    body: 'A cart with lines of 2 x 2.50 and 3 x 1.00 totals 3.00 instead of 8.00: the first line is never counted. See test/cart-total.test.js.',
  },
  'SLUG-2': {
    title: 'Slugs keep capital letters',
    body: '"Fix The Bug" becomes "Fix-The-Bug"; slugs must be lower case ("fix-the-bug"). See test/slugify.test.js.',
  },
};

const server = new McpServer({ name: 'tracker', version: '1.0.0' });

server.registerTool(
  'get_issue',
  { description: "An issue of the project's tracker: its title and report.", inputSchema: { id: z.string().describe('The issue id, e.g. CART-1') } },
  async ({ id }) => {
    const issue = ISSUES[id.toUpperCase()];
    if (!issue) return { isError: true, content: [{ type: 'text', text: `no issue ${id}; open issues: ${Object.keys(ISSUES).join(', ')}` }] };
    return { content: [{ type: 'text', text: `${id.toUpperCase()}: ${issue.title}\n\n${issue.body}` }] };
  },
);

server.registerTool('list_issues', { description: 'The open issues: id and title.' }, async () => ({
  content: [{ type: 'text', text: Object.entries(ISSUES).map(([id, issue]) => `${id}: ${issue.title}`).join('\n') }],
}));

await server.connect(new StdioServerTransport());
