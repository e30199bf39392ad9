import { execFile, type ExecFileException } from 'node:child_process';
import { BWRAP_PROBE_ARGS } from './bwrap-args.js';
import { BWRAP_PROBE_TIMEOUT_MS } from './sandbox-defaults.js';

export type BwrapProbe = { ok: true; version: string } | { ok: false; reason: string };

/** The hint every "bubblewrap is missing" message carries. */
export const BWRAP_INSTALL_HINT = 'bubblewrap (bwrap) is required: apt-get install bubblewrap';

/**
 * Whether bubblewrap works here: runs it with the namespaces and mounts real commands use, because
 * an installed bwrap can still fail (a container without user namespaces, a seccomp profile that
 * forbids mount). Never throws; the reason says what went wrong.
 */
export async function probeBubblewrap(bwrapPath: string, env: NodeJS.ProcessEnv): Promise<BwrapProbe> {
  const run = (args: readonly string[]) =>
    new Promise<{ error: ExecFileException | null; stdout: string; stderr: string }>((resolve) => {
      execFile(bwrapPath, args, { timeout: BWRAP_PROBE_TIMEOUT_MS, env: { PATH: env.PATH ?? '' } }, (error, stdout, stderr) =>
        resolve({ error, stdout: String(stdout), stderr: String(stderr) }),
      );
    });
  const version = await run(['--version']);
  if (version.error) {
    const missing = version.error.code === 'ENOENT';
    return { ok: false, reason: missing ? `${bwrapPath} not found (${BWRAP_INSTALL_HINT})` : `${bwrapPath} --version failed: ${version.error.message}` };
  }
  const trial = await run(BWRAP_PROBE_ARGS);
  if (trial.error) {
    const detail = trial.stderr.trim().split('\n')[0] || trial.error.message;
    return { ok: false, reason: `${bwrapPath} is installed but cannot create a sandbox here: ${detail}` };
  }
  return { ok: true, version: version.stdout.trim() };
}
