import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { eventually, removeTempProjects, runCli, runJson, startCli, tempProject, type BackgroundCli } from './support/cli.js';

/**
 * `colony status` shows each provider breaker of each live process, with its age and owner, and
 * drops a state once the process that held it is gone (here: killed with SIGKILL, so it could not
 * say goodbye).
 */

interface StatusCircuit {
  provider: string;
  circuit: string;
  since: string;
  ageMs: number;
  runner: { id: string; kind: string; pid: number; host: string };
}

let llm: FakeLlmServer;
let env: Record<string, string>;
const servers: BackgroundCli[] = [];

beforeAll(async () => {
  llm = new FakeLlmServer();
  const urls = await llm.start();
  // Every chat request fails with a 500: retryable, so it counts against the breaker.
  llm.setDefaultReply({ fault: 'server_error', status: 500 });
  env = { ANTHROPIC_BASE_URL: urls.anthropicBaseUrl, ANTHROPIC_API_KEY: 'sk-ant-test-circuits', COLONY_PROVIDER: 'anthropic' };
});

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
});

afterAll(async () => {
  await llm.close();
  removeTempProjects();
});

describe('colony status: provider circuits', () => {
  it('shows an open breaker with its age and owning process while it lives, and drops it once that process is killed', async () => {
    const project = tempProject();
    project.write('.colony/config.json', JSON.stringify({ providers: { anthropic: { maxRetries: 0 } } }));
    const server = startCli(['--json', 'up', '--port', '0'], { cwd: project.dir, env });
    servers.push(server);
    const { origin } = await eventually(() => {
      const line = server.stdout.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { origin: string }) : undefined;
    }, `colony up to announce itself (stderr: ${server.stderr})`);

    // Failing calls until the server's breaker opens.
    await eventually(
      async () => {
        const test = await fetch(`${origin}/api/v2/providers/anthropic/test`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        expect(((await test.json()) as { ok: boolean }).ok).toBe(false);
        const providers = (await (await fetch(`${origin}/api/v2/providers`)).json()) as { items: { id: string; breaker: string | null }[] };
        return providers.items.find((p) => p.id === 'anthropic')?.breaker === 'open' ? true : undefined;
      },
      'the server\'s anthropic breaker to open',
      20_000,
      10,
    );

    // Another process (the CLI) sees it, owned by the server's runner, with an age.
    const open = await eventually(async () => {
      const { code, data } = await runJson<{ providers: StatusCircuit[] }>(['--json', 'status'], { cwd: project.dir, env });
      expect(code).toBe(0);
      return data.providers.find((p) => p.provider === 'anthropic' && p.circuit === 'open');
    }, 'colony status to report the open breaker');
    expect(open.runner.pid).toBe(server.pid);
    expect(open.runner.kind).toBe('server');
    expect(open.ageMs).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(Date.parse(open.since))).toBe(false);
    const text = await runCli(['status'], { cwd: project.dir, env });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`anthropic\\s+open for \\S+ \\(since [^)]+\\)\\s+runner ${open.runner.id}, pid ${server.pid} on `));
    // The API says the same.
    const apiStatus = (await (await fetch(`${origin}/api/v2/system/status`)).json()) as { providerCircuits: { provider: string; state: string; runner: { pid: number } }[] };
    expect(apiStatus.providerCircuits).toContainEqual(expect.objectContaining({ provider: 'anthropic', state: 'open', runner: expect.objectContaining({ pid: server.pid }) }));

    // The process dies without cleaning up: its runner row stays, but nothing holds that breaker now.
    server.child.kill('SIGKILL');
    await server.exited;
    const after = await runJson<{ runners: unknown[]; providers: StatusCircuit[] }>(['--json', 'status'], { cwd: project.dir, env });
    expect(after.code).toBe(0);
    expect(after.data.runners).toEqual([]);
    expect(after.data.providers).toEqual([]);
    const afterText = await runCli(['status'], { cwd: project.dir, env });
    expect(afterText.code).toBe(0);
    expect(afterText.stdout).not.toMatch(/Provider circuits/);
    expect(afterText.stdout).not.toMatch(/\bopen\b/);
  });
});
