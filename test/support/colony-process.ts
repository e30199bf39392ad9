import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const PROCESS_SCRIPT = resolve(import.meta.dirname, '../fixtures/colony-process.mjs');

/** Settings of a Colony process beside its database. */
export interface ColonyProcessOptions {
  /** Overrides of its `tasks` settings (e.g. `pollIntervalMs`). */
  tasks?: Record<string, unknown>;
  /** The fixture's options: `--api`, `--task-ms <n>`, `--log <level>`. */
  args?: readonly string[];
}

/** What each process started here printed on stdout so far. */
const outputs = new WeakMap<ChildProcess, string>();

/**
 * Starts a real Colony process (test/fixtures/colony-process.mjs, on the built code) on the project,
 * or on `databaseUrl` when given, and waits until it runs tasks. `cleanups` gets its stop (SIGTERM,
 * then waiting for it to exit), for the test's afterEach.
 */
export async function startColonyProcess(cleanups: (() => Promise<void> | void)[], dir: string, databaseUrl?: string, options: ColonyProcessOptions = {}): Promise<ChildProcess> {
  const args = [dir, databaseUrl ?? '', ...(options.tasks ? [JSON.stringify(options.tasks)] : []), ...(options.args ?? [])];
  const child = spawn(process.execPath, [PROCESS_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  await new Promise<void>((started, failed) => {
    child.stdout?.on('data', (data: Buffer) => {
      outputs.set(child, (outputs.get(child) ?? '') + data.toString());
      if (outputs.get(child)?.includes('started')) started();
    });
    child.once('exit', (code) => failed(new Error(`colony process exited with ${code} before it started`)));
  });
  return child;
}

/** The origin of the REST API of a process started with `args: ['--api']` (`http://127.0.0.1:<port>`). */
export function apiOrigin(child: ChildProcess): string {
  const origin = /^api (\S+)$/m.exec(outputs.get(child) ?? '')?.[1];
  if (!origin) throw new Error('the colony process was not started with --api');
  return origin;
}
