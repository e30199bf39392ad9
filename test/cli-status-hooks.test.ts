import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { HooksStatus } from '../src/hooks/hooks-status.js';
import { eventually, removeTempProjects, runCli, runJson, startCli, tempProject, type BackgroundCli } from './support/cli.js';
import { OpenApiChecker, type OpenApiDoc } from './support/openapi-check.js';
import { request } from './support/api-server.js';

/**
 * `colony status` (text and --json) and GET /api/v2/system/status list the configured hooks, of
 * Colony's config and of Claude Code's settings file, and count the recent hook runs that did not
 * pass. Real CLI processes on dist/ (build first).
 */

const servers: BackgroundCli[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});
afterAll(() => {
  removeTempProjects();
});

const LONG_COMMAND = `echo ${'x'.repeat(400)}`;

describe('colony status: hooks', () => {
  it('lists every hook with its point, source, blocking, matcher and agent types, and the recent runs that failed or were refused', { timeout: 60_000 }, async () => {
    const project = tempProject();
    project.write(
      '.colony/config.json',
      JSON.stringify({
        shell: { deny: ['rm'] },
        hooks: {
          // All run after the shell task below: one fails (reported only), one is refused by the policy,
          // one times out and fails the task.
          taskEnd: [{ command: 'echo checking; exit 1', blocking: false }, { command: 'rm -f nothing.txt' }, { command: 'sleep 30', timeout: 0.5, blocking: true }],
          toolCalling: [{ command: LONG_COMMAND, matcher: 'write_file|edit_file', agentTypes: ['coder', 'tester'], blocking: true, timeout: 5 }],
        },
      }),
    );
    project.write('.claude/settings.json', JSON.stringify({ hooks: { PostToolUse: [{ matcher: 'Write|Edit', hooks: [{ type: 'command', command: 'npx prettier --write "$CLAUDE_FILE"' }] }] } }));

    const ran = await runCli(['task', 'create', '--command', 'echo hello', '--wait'], { cwd: project.dir });
    expect(ran.code, ran.stderr).toBe(1);

    const { code, data } = await runJson<{ hooks: HooksStatus }>(['status'], { cwd: project.dir });
    expect(code).toBe(0);
    expect(data.hooks.configured).toEqual([
      { point: 'taskEnd', command: 'echo checking; exit 1', source: 'colony', blocking: 'never', matcher: null, agentTypes: null, timeoutMs: 60_000 },
      { point: 'taskEnd', command: 'rm -f nothing.txt', source: 'colony', blocking: 'exit-code-2', matcher: null, agentTypes: null, timeoutMs: 60_000 },
      { point: 'taskEnd', command: 'sleep 30', source: 'colony', blocking: 'any-failure', matcher: null, agentTypes: null, timeoutMs: 500 },
      { point: 'toolCalling', command: `${LONG_COMMAND.slice(0, 300)}…`, source: 'colony', blocking: 'any-failure', matcher: 'write_file|edit_file', agentTypes: ['coder', 'tester'], timeoutMs: 5_000 },
      { point: 'fileEdited', command: 'npx prettier --write "$CLAUDE_FILE"', source: '.claude/settings.json', blocking: 'exit-code-2', matcher: 'Write|Edit', agentTypes: null, timeoutMs: 60_000 },
    ]);
    expect(data.hooks.recentRuns).toMatchObject({ scanned: 3, failed: 1, timedOut: 1, refused: 1, blocked: 1 });
    expect(data.hooks.recentRuns.latestAt).toEqual(expect.any(Number));

    const text = await runCli(['status'], { cwd: project.dir });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('Hooks (5)');
    expect(text.stdout).toMatch(/POINT\s+COMMAND\s+SOURCE\s+BLOCKING\s+MATCHER\s+AGENT TYPES/);
    expect(text.stdout).toMatch(/taskEnd\s+echo checking; exit 1\s+colony\s+never\s+-\s+-/);
    expect(text.stdout).toMatch(/toolCalling\s+echo x{54}…\s+colony\s+any-failure\s+write_file\|edit_file\s+coder,tester/);
    expect(text.stdout).toMatch(/fileEdited\s+npx prettier --write "\$CLAUDE_FILE"\s+\.claude\/settings\.json\s+exit-code-2\s+Write\|Edit\s+-/);
    expect(text.stdout).toContain('of the last 3 hook runs: 1 failed, 1 timed out, 1 refused (1 blocked their step)');
    // The runs it points to, newest first: the last one is the timed-out hook.
    const newest = await runJson<{ id: number; data: { command: string; outcome: string } }[]>(['events', '--type', 'hook.ran', '--newest', '--limit', '1'], { cwd: project.dir });
    const oldest = await runJson<{ id: number; data: { command: string } }[]>(['events', '--type', 'hook.ran', '--limit', '1'], { cwd: project.dir });
    expect(newest.data).toHaveLength(1);
    expect(newest.data[0]?.data).toMatchObject({ command: 'sleep 30', outcome: 'timed_out' });
    expect(oldest.data[0]?.data.command).toBe('echo checking; exit 1');
    expect(newest.data[0]?.id).toBeGreaterThan(oldest.data[0]?.id ?? Infinity);

    // The API says the same, in the documented shape.
    const server = startCli(['--json', 'up', '--port', '0'], { cwd: project.dir });
    servers.push(server);
    const { origin } = await eventually(() => {
      const line = server.stdout.split('\n').find((l) => l.startsWith('{'));
      return line ? (JSON.parse(line) as { origin: string }) : undefined;
    }, `colony up to announce itself (stderr: ${server.stderr})`);
    const status = await request(origin, 'GET', '/api/v2/system/status');
    expect(status.status).toBe(200);
    expect(status.json.hooks).toEqual(data.hooks);
    const checker = new OpenApiChecker((await request(origin, 'GET', '/api/v2/openapi.json')).json as OpenApiDoc);
    expect(checker.problems('GET /api/v2/system/status', status)).toEqual([]);
  });

  it('with no hooks: an empty list in --json and no Hooks section, unless recent runs failed', { timeout: 60_000 }, async () => {
    const project = tempProject();
    project.write('.colony/config.json', JSON.stringify({ hooks: { claudeSettings: false } }));
    project.write('.claude/settings.json', JSON.stringify({ hooks: { Stop: [{ hooks: [{ type: 'command', command: 'echo not read' }] }] } }));
    expect((await runCli(['task', 'create', '--command', 'echo hello', '--wait'], { cwd: project.dir })).code).toBe(0);
    const { data } = await runJson<{ hooks: HooksStatus }>(['status'], { cwd: project.dir });
    expect(data.hooks).toEqual({ configured: [], recentRuns: { scanned: 0, failed: 0, timedOut: 0, refused: 0, blocked: 0, latestAt: null } });
    const text = await runCli(['status'], { cwd: project.dir });
    expect(text.stdout).not.toContain('Hooks');
    expect(text.stdout).not.toContain('hook runs');

    // A hook that failed and was then taken out of the config: its run is still counted.
    project.write('.colony/config.json', JSON.stringify({ hooks: { claudeSettings: false, taskEnd: [{ command: 'exit 1', blocking: false }] } }));
    expect((await runCli(['task', 'create', '--command', 'echo again', '--wait'], { cwd: project.dir })).code).toBe(0);
    project.write('.colony/config.json', JSON.stringify({ hooks: { claudeSettings: false } }));
    const after = await runJson<{ hooks: HooksStatus }>(['status'], { cwd: project.dir });
    expect(after.data.hooks).toMatchObject({ configured: [], recentRuns: { scanned: 1, failed: 1 } });
    const afterText = await runCli(['status'], { cwd: project.dir });
    expect(afterText.stdout).toMatch(/Hooks \(0\)\n\s+none configured now\n\s+of the last 1 hook runs: 1 failed/);
  });
});
