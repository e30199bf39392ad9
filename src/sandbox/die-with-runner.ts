import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * Host-run commands (no bubblewrap) die with the process that ran them, on Linux: each runs under
 * `setpriv --pdeathsig ALRM -- timeout --signal=KILL 0 /bin/sh -c ...`. setpriv (util-linux) sets the
 * parent-death signal and executes timeout (coreutils), which leads the command's process group. When
 * the runner dies, even by SIGKILL, the kernel sends timeout SIGALRM, which it takes for the end of
 * its time limit (0: it has none otherwise) and answers with SIGKILL to the whole group. Otherwise
 * timeout passes on the command's exit status, or re-raises the signal that ended it, and passes a
 * SIGTERM on to the group: runShell sees no difference. Under bubblewrap, `--die-with-parent` does
 * this. Where either program is missing (macOS, busybox) commands run without it, and crash recovery
 * ends a dead runner's recorded process groups instead.
 */

export type DieWithRunnerProbe = { ok: true; prefix: string[] } | { ok: false; reason: string };

/** The signal the kernel sends the leader when the runner dies: timeout's own "time is up". */
const PARENT_DEATH_SIGNAL = 'ALRM';
/** How long the trial run may take. */
const PROBE_TIMEOUT_MS = 10_000;

/** Finds setpriv and timeout on `env.PATH` and runs them once; never throws. */
export async function probeDieWithRunner(env: NodeJS.ProcessEnv): Promise<DieWithRunnerProbe> {
  if (process.platform !== 'linux') return { ok: false, reason: `a parent-death signal needs Linux (this is ${process.platform})` };
  const [setpriv, timeout] = await Promise.all([findProgram('setpriv', env.PATH), findProgram('timeout', env.PATH)]);
  if (setpriv === null) return { ok: false, reason: 'setpriv (util-linux) not found on PATH' };
  if (timeout === null) return { ok: false, reason: 'timeout (coreutils) not found on PATH' };
  const prefix = [setpriv, '--pdeathsig', PARENT_DEATH_SIGNAL, '--', timeout, '--signal=KILL', '0'];
  const failure = await new Promise<string | null>((resolve) => {
    execFile(prefix[0] as string, [...prefix.slice(1), 'true'], { timeout: PROBE_TIMEOUT_MS, env: {} }, (error, _stdout, stderr) =>
      resolve(error ? String(stderr).trim().split('\n')[0] || error.message : null),
    );
  });
  return failure === null ? { ok: true, prefix } : { ok: false, reason: `${setpriv} --pdeathsig with ${timeout} failed: ${failure}` };
}

async function findProgram(name: string, path: string | undefined): Promise<string | null> {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}
