import type { ColonyServer, ServerAddress } from '../../api/create-server.js';
import { ConfigError, ValidationError } from '../../domain/errors.js';
import { checkBindPolicy } from '../../security/bind-policy.js';
import type { GlobalOptions } from '../cli-context.js';
import { openColony } from '../cli-context.js';
import { EXIT } from '../exit-codes.js';
import { color, println } from '../output.js';
import { runUntilDone } from '../run-until-done.js';

/** Exit code after SIGTERM (128 + 15), as a process killed by it would have. */
const EXIT_SIGTERM = 143;

export interface UpOptions extends GlobalOptions {
  host?: string;
  port?: number;
  concurrency?: number;
  /** False with `--no-work`: serve only; workers run the tasks and coordinate the swarms. */
  work?: boolean;
  /** Worker pools to serve as well (checked by the option's parser). */
  pool?: string[];
}

/**
 * `colony up`: the REST API, the WebSocket event stream and the docs, with the engine running tasks
 * in the same process (not with --no-work: then `colony worker` processes run them), until SIGINT or
 * SIGTERM. Then the server stops taking requests, running tasks are drained (up to
 * tasks.drainTimeoutMs), and the process exits 130 or 143.
 */
export async function upCommand(options: UpOptions): Promise<number> {
  const work = options.work !== false;
  const pools = options.pool ?? [];
  if (!work && pools.length > 0) throw new ValidationError('--pool serves worker pools by running their tasks here; it cannot go with --no-work');
  const colony = await openColony(options, 'server', {
    ...(options.host !== undefined || options.port !== undefined
      ? { server: { ...(options.host !== undefined ? { host: options.host } : {}), ...(options.port !== undefined ? { port: options.port } : {}) } }
      : {}),
    ...(options.concurrency ? { tasks: { concurrency: options.concurrency } } : {}),
  }, { role: { work, pools } });
  let server: ColonyServer | undefined;
  try {
    // Refuse an unprotected public address before loading the server (Fastify and its plugins).
    const { host, jwtSecret } = colony.config.server;
    checkBindPolicy({ host, jwtSecretConfigured: jwtSecret !== undefined, activeApiKeys: await colony.apiKeys.activeCount() });
    const { createServer } = await import('../../api/create-server.js');
    server = await createServer(colony);
    const running = server;
    const outcome = await runUntilDone(colony, {}, async (signal) => {
      const address = await listen(running, colony.config.server.host, colony.config.server.port);
      await announce(running, address, options, colony.runners);
      try {
        await new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      } finally {
        // Stop taking requests first; runUntilDone then drains the engine.
        await running.close();
      }
    });
    if (!options.json) process.stderr.write('colony up: stopped\n');
    if (outcome.interrupted) return outcome.signal === 'SIGTERM' ? EXIT_SIGTERM : EXIT.interrupted;
    return EXIT.ok;
  } finally {
    await server?.close();
    await colony.close();
  }
}

async function listen(server: ColonyServer, host: string, port: number): Promise<ServerAddress> {
  try {
    return await server.listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new ConfigError(`port ${port} on ${host} is already in use: choose another with --port (0 picks a free one)`, { cause: error });
    if (code === 'EACCES') throw new ConfigError(`not allowed to listen on ${host}:${port}: use a port above 1023`, { cause: error });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new ConfigError(`cannot listen on ${host}: no such address on this machine`, { cause: error });
    throw error;
  }
}

async function announce(server: ColonyServer, address: ServerAddress, options: UpOptions, runner: { runsTasks: boolean; pools: readonly string[] }): Promise<void> {
  const authRequired = await server.auth.required();
  const { runsTasks: work, pools } = runner;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ status: 'listening', pid: process.pid, ...address, authRequired, work, pools })}\n`);
    return;
  }
  println(`${color.green('●')} Colony is up (pid ${process.pid})`);
  println(`  studio     ${address.dashboard}`);
  println(`  API        ${address.api}`);
  println(`  docs       ${address.docs}`);
  println(`  events     ${address.events}`);
  println(`  health     ${address.origin}/health`);
  println(`  mcp        ${address.origin}/mcp`);
  println(
    `  work       ${
      !work
        ? color.yellow('none here (--no-work): `colony worker` processes run the tasks and swarms')
        : `tasks and swarms run here${pools.length > 0 ? `, with those of pool${pools.length > 1 ? 's' : ''} ${pools.join(', ')}` : ''}`
    }`,
  );
  println(
    `  auth       ${
      authRequired
        ? 'on: send "Authorization: Bearer <key>"'
        : color.yellow('off (loopback only, no API key yet): `colony keys create --role admin` turns it on')
    }`,
  );
  println(color.dim('  Ctrl-C to stop'));
}
