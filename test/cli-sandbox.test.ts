import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BWRAP_INSTALL_HINT, probeBubblewrap } from '../src/sandbox/bwrap-probe.js';
import { removeTempProjects, runCli, runJson, tempProject } from './support/cli.js';

/**
 * Secrets and the OS sandbox through the real CLI (dist/: build first). The CLI process is the
 * "server": the provider keys are in its real environment, where /proc/<pid>/environ shows them.
 */

const SECRET = 'sk-cli-secret-9876543210';
const KEYS = { OPENAI_API_KEY: SECRET, ANTHROPIC_API_KEY: SECRET, COLONY_JWT_SECRET: `${SECRET}-jwt-secret-long-enough-for-hs256` };
/** Everything a command could use to find the server's environment. */
const SNOOP = 'env; cat /proc/$PPID/environ; for f in /proc/[0-9]*/environ; do cat "$f"; done; echo snooped';

interface TaskJson {
  status: string;
  result: { stdout: string; sandbox: { isolation: string; reason?: string } } | null;
  error: { code: string; message: string } | null;
}

interface StatusJson {
  sandbox: { mode: string; isolation: string; degraded: boolean; reason: string | null };
}

beforeAll(async () => {
  const probe = await probeBubblewrap('bwrap', process.env);
  if (!probe.ok) throw new Error(`${BWRAP_INSTALL_HINT} (${probe.reason})`);
});
afterAll(() => removeTempProjects());

describe.concurrent('colony and the OS sandbox', { timeout: 90_000 }, () => {
  it('runs shell tasks in bubblewrap where no key of the server can be read, and says so in status', async () => {
    const project = tempProject();
    const task = await runJson<TaskJson>(['task', 'create', '--command', SNOOP, '--wait'], { cwd: project.dir, env: KEYS });
    expect(task.code, task.stderr).toBe(0);
    expect(task.data.result?.stdout).toContain('snooped');
    expect(task.data.result?.sandbox).toEqual({ isolation: 'bwrap' });
    expect(JSON.stringify(task.data)).not.toContain(SECRET);

    const status = await runJson<StatusJson>(['status'], { cwd: project.dir, env: KEYS });
    expect(status.data.sandbox).toMatchObject({ mode: 'auto', isolation: 'bwrap', degraded: false, reason: null });
    const text = await runCli(['status'], { cwd: project.dir });
    expect(text.stdout).toMatch(/sandbox\s+bubblewrap/);
  });

  it('without the sandbox (COLONY_SANDBOX=off): the environment is still built, and status, the task record and the log say so', async () => {
    const project = tempProject();
    const env = { ...KEYS, COLONY_SANDBOX: 'off' };
    const task = await runJson<TaskJson>(['task', 'create', '--command', 'env | grep -c API_KEY || echo no keys here', '--wait'], { cwd: project.dir, env });
    expect(task.code, task.stderr).toBe(0);
    expect(task.data.result?.stdout).toContain('no keys here');
    expect(task.data.result?.sandbox).toEqual({ isolation: 'none', reason: expect.stringContaining('sandbox.mode is off') });
    expect(task.stderr).toContain('NO OS SANDBOX');

    const status = await runJson<StatusJson>(['status'], { cwd: project.dir, env });
    expect(status.data.sandbox).toMatchObject({ mode: 'off', isolation: 'none', degraded: true });
    const text = await runCli(['status'], { cwd: project.dir, env });
    expect(text.stdout).toMatch(/sandbox\s+NONE: shell commands are not isolated \(sandbox\.mode is off/);
  });

  it('degrades when bubblewrap does not work here, and refuses to run when it is required', async () => {
    const project = tempProject();
    project.write('.colony/config.yaml', 'sandbox:\n  bwrapPath: /nonexistent/bwrap\n');
    const degraded = await runJson<TaskJson>(['task', 'create', '--command', 'echo ran', '--wait'], { cwd: project.dir });
    expect(degraded.code, degraded.stderr).toBe(0);
    expect(degraded.data.result?.sandbox).toEqual({ isolation: 'none', reason: expect.stringContaining('/nonexistent/bwrap not found') });
    expect(degraded.data.result?.sandbox.reason).toContain('apt-get install bubblewrap');
    const after = await runJson<StatusJson>(['status'], { cwd: project.dir });
    expect(after.code).toBe(0);
    expect(after.data.sandbox).toMatchObject({ mode: 'auto', isolation: 'none', degraded: true });

    const required = await runCli(['task', 'create', '--command', 'echo must not run > ran.txt', '--wait'], { cwd: project.dir, env: { COLONY_SANDBOX: 'bwrap' } });
    expect(required.code).not.toBe(0);
    expect(required.stderr).toContain('sandbox.mode is bwrap');
    expect(() => project.read('ran.txt')).toThrow();
  });
});
