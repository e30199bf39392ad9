import { afterAll, describe, expect, it } from 'vitest';
import { isAlive, processesIn, removeTempProjects, runCli, runJson, startCli, tempProject, type BackgroundCli } from './support/cli.js';

/** Waits until stdout has the server's JSON announcement (`--json up`), and returns it. */
async function listening(cli: BackgroundCli): Promise<{ port: number; origin: string; api: string; events: string; authRequired: boolean }> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const line = cli.stdout.split('\n').find((l) => l.startsWith('{'));
    if (line) return JSON.parse(line);
    const exited = await Promise.race([cli.exited.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 50))]);
    if (exited || Date.now() > deadline) throw new Error(`colony up did not announce itself\nstdout: ${cli.stdout}\nstderr: ${cli.stderr}`);
  }
}

describe('colony up', () => {
  afterAll(() => removeTempProjects());

  it('refuses to listen on 0.0.0.0 without authentication (exit 2, says how to set it up)', async () => {
    const project = tempProject();
    const result = await runCli(['up', '--host', '0.0.0.0', '--port', '0'], { cwd: project.dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without authentication/);
    expect(result.stderr).toContain('colony keys create --role admin');
    expect(result.stderr).toContain('COLONY_JWT_SECRET');
    expect(result.stdout).toBe('');
    // The environment counts as configuration too.
    const viaEnv = await runCli(['up', '--port', '0'], { cwd: project.dir, env: { COLONY_HOST: '0.0.0.0' } });
    expect(viaEnv.code).toBe(2);
    expect(processesIn(project.dir)).toEqual([]);
  });

  it('rejects a bad port as a usage error', async () => {
    const project = tempProject();
    const result = await runCli(['up', '--port', '70000'], { cwd: project.dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--port/);
  });

  it('starts on an ephemeral port, prints its URLs, serves, runs tasks, and stops cleanly on SIGTERM', async () => {
    const project = tempProject();
    const cli = startCli(['up', '--port', '0'], { cwd: project.dir });
    const origin = await (async () => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const m = /API\s+(http:\/\/127\.0\.0\.1:(\d+))\/api\/v2/.exec(cli.stdout);
        if (m) return m[1] as string;
        if (Date.now() > deadline) throw new Error(`no URL printed\nstdout: ${cli.stdout}\nstderr: ${cli.stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    expect(origin).not.toMatch(/:0$/);
    expect(cli.stdout).toMatch(/docs\s+http:\/\/127\.0\.0\.1:\d+\/api\/v2\/docs/);
    expect(cli.stdout).toMatch(/studio\s+http:\/\/127\.0\.0\.1:\d+\//);
    expect(cli.stdout).toMatch(/mcp\s+http:\/\/127\.0\.0\.1:\d+\/mcp/);
    // Colony Studio is served at / (its data comes from the API).
    const page = await fetch(`${origin}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('<script type="module" src="/studio/app.js">');
    expect(cli.stdout).toMatch(/events\s+ws:\/\/127\.0\.0\.1:\d+\/api\/v2\/events\/stream/);

    const health = await fetch(`${origin}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${origin}/ready`)).status).toBe(200);

    // The engine runs in the server's process: a task created over HTTP is run.
    const created = await fetch(`${origin}/api/v2/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'shell', input: { command: 'echo served' } }),
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    let task: { status: string; result: { stdout: string } } | undefined;
    for (let i = 0; i < 200 && task?.status !== 'completed'; i++) {
      task = (await (await fetch(`${origin}/api/v2/tasks/${id}`)).json()) as typeof task;
      if (task?.status !== 'completed') await new Promise((r) => setTimeout(r, 50));
    }
    expect(task?.status).toBe('completed');
    expect(task?.result.stdout).toBe('served\n');

    cli.child.kill('SIGTERM');
    const result = await cli.exited;
    expect(result.code).toBe(143);
    expect(result.stderr).toContain('colony up: stopped');
    expect(isAlive(cli.pid)).toBe(false);
    expect(processesIn(project.dir)).toEqual([]);
    await expect(fetch(`${origin}/health`)).rejects.toThrow();
  });

  it('with an API key: requires it, may listen on all interfaces, and stops on SIGINT (--json)', async () => {
    const project = tempProject();
    const created = await runJson<{ key: string; id: string; role: string }>(['keys', 'create', '--role', 'operator', '--name', 'ci'], { cwd: project.dir });
    expect(created.code).toBe(0);
    const cli = startCli(['--json', 'up', '--host', '0.0.0.0', '--port', '0'], { cwd: project.dir });
    const info = await listening(cli);
    expect(info.authRequired).toBe(true);
    expect(info.port).toBeGreaterThan(0);
    const base = `http://127.0.0.1:${info.port}`;
    expect((await fetch(`${base}/api/v2/tasks`)).status).toBe(401);
    expect((await fetch(`${base}/api/v2/tasks`, { headers: { authorization: `Bearer ${created.data.key}` } })).status).toBe(200);
    // An operator may not manage keys.
    expect((await fetch(`${base}/api/v2/keys`, { headers: { authorization: `Bearer ${created.data.key}` } })).status).toBe(403);
    // Revoked from the CLI (another process) while the server runs: refused at once.
    expect((await runCli(['keys', 'revoke', created.data.id], { cwd: project.dir })).code).toBe(0);
    expect((await fetch(`${base}/api/v2/tasks`, { headers: { authorization: `Bearer ${created.data.key}` } })).status).toBe(401);

    cli.child.kill('SIGINT');
    const result = await cli.exited;
    expect(result.code).toBe(130);
    expect(isAlive(cli.pid)).toBe(false);
  });
});

describe('colony keys', () => {
  afterAll(() => removeTempProjects());

  it('creates (printing the key once), lists without keys, and revokes', async () => {
    const project = tempProject();
    const text = await runCli(['keys', 'create', '--role', 'admin', '--name', 'laptop'], { cwd: project.dir });
    expect(text.code).toBe(0);
    const key = /colony_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/.exec(text.stdout)?.[0];
    expect(key).toBeDefined();
    expect(text.stdout).toMatch(/only time the key is shown/);

    const json = await runJson<{ key: string; id: string; role: string; name: string; revokedAt: null }>(['keys', 'create', '--role', 'viewer'], { cwd: project.dir });
    expect(json.code).toBe(0);
    expect(json.data).toMatchObject({ role: 'viewer', revokedAt: null, key: expect.stringMatching(/^colony_/) });

    const list = await runJson<{ id: string; name: string; role: string }[]>(['keys', 'list'], { cwd: project.dir });
    expect(list.data.map((k) => k.role)).toEqual(['admin', 'viewer']);
    expect(list.data[0]?.name).toBe('laptop');
    const listed = JSON.stringify(list.data);
    expect(listed).not.toContain(key);
    expect(listed).not.toContain('hash');

    const revoked = await runJson<{ id: string; revokedAt: number }>(['keys', 'revoke', json.data.id], { cwd: project.dir });
    expect(revoked.code).toBe(0);
    expect(revoked.data.revokedAt).toEqual(expect.any(Number));
    expect((await runJson<unknown[]>(['keys', 'list'], { cwd: project.dir })).data).toHaveLength(1);
    expect((await runJson<unknown[]>(['keys', 'list', '--all'], { cwd: project.dir })).data).toHaveLength(2);

    // Again: a conflict. Unknown: not found. Malformed: bad input.
    expect((await runCli(['keys', 'revoke', json.data.id], { cwd: project.dir })).code).toBe(4);
    expect((await runCli(['keys', 'revoke', 'ffffffffffff'], { cwd: project.dir })).code).toBe(3);
    const bad = await runJson<{ error: { code: string } }>(['keys', 'revoke', "'; DROP TABLE api_keys; --"], { cwd: project.dir });
    expect(bad.code).toBe(2);
    expect(bad.data.error.code).toBe('validation');
  });

  it('refuses an unknown role and a missing one', async () => {
    const project = tempProject();
    expect((await runCli(['keys', 'create', '--role', 'root'], { cwd: project.dir })).code).toBe(2);
    const missing = await runCli(['keys', 'create'], { cwd: project.dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--role/);
  });
});
