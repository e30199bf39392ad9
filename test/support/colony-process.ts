import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const PROCESS_SCRIPT = resolve(import.meta.dirname, '../fixtures/colony-process.mjs');

/**
 * Starts a real Colony process (test/fixtures/colony-process.mjs, on the built code) on the project,
 * or on `databaseUrl` when given, and waits until it runs tasks. `cleanups` gets its stop (SIGTERM,
 * then waiting for it to exit), for the test's afterEach.
 */
export async function startColonyProcess(cleanups: (() => Promise<void> | void)[], dir: string, databaseUrl?: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [PROCESS_SCRIPT, dir, ...(databaseUrl ? [databaseUrl] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  await new Promise<void>((started, failed) => {
    child.stdout?.on('data', (data: Buffer) => {
      if (data.toString().includes('started')) started();
    });
    child.once('exit', (code) => failed(new Error(`colony process exited with ${code} before it started`)));
  });
  return child;
}
