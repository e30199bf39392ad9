import { readFileSync } from 'node:fs';
import type { GlobalOptions } from '../cli-context.js';
import { openColony } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { runUntilDone } from '../run-until-done.js';

/** Exit code after SIGTERM (128 + 15), as a process killed by it would have. */
const EXIT_SIGTERM = 143;

/**
 * `colony mcp`: the MCP server on stdin/stdout for Claude Code and other MCP clients, with the engine
 * running tasks in this process. stdout carries only the protocol; logs go to stderr. The caller is
 * the local user: the admin role. Stops when stdin closes (the client went away) or on SIGINT/SIGTERM,
 * draining running tasks.
 */
export async function mcpCommand(options: GlobalOptions): Promise<number> {
  const colony = await openColony(options, 'mcp');
  try {
    const [{ StdioServerTransport }, { createMcpServer }] = await Promise.all([
      import('@modelcontextprotocol/sdk/server/stdio.js'),
      import('../../mcp/create-mcp-server.js'),
    ]);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    const server = createMcpServer(colony, { role: 'admin', version: pkg.version });
    const transport = new StdioServerTransport();
    const outcome = await runUntilDone(
      colony,
      {},
      async (signal) => {
        const closed = new Promise<void>((resolve) => {
          transport.onclose = () => resolve();
          process.stdin.once('end', () => resolve());
          process.stdin.once('close', () => resolve());
        });
        await server.connect(transport);
        try {
          await Promise.race([
            closed,
            new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
          ]);
        } finally {
          await server.close();
        }
      },
      (line) => process.stderr.write(`colony mcp: ${line}\n`),
    );
    if (outcome.interrupted) return outcome.signal === 'SIGTERM' ? EXIT_SIGTERM : EXIT.interrupted;
    return EXIT.ok;
  } finally {
    await colony.close();
  }
}
