import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { ColonyEvent } from '../src/domain/events.js';
import type { SwarmRecord } from '../src/domain/swarm.js';
import { CLI_HANG_GUARD_MS, REPO_ROOT, runJson } from './support/cli.js';
import { tempDir } from './support/temp-colony.js';

/**
 * examples/fix-the-bug, run as a reader runs it (`node examples/fix-the-bug/run.mjs <dir>`, on dist/):
 * a repository with two failing tests, a centralized swarm on the example's scripted model, and a
 * branch where the tests pass, made in two parallel worktrees, gated by the example's hooks.
 */

const run = promisify(execFile);
const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});

async function git(repo: string, ...args: string[]): Promise<string> {
  return (await run('git', ['-C', repo, ...args], { encoding: 'utf8' })).stdout.trim();
}

describe('examples/fix-the-bug', () => {
  it('ends with a branch where the tests pass, made by two coders in their own worktrees; main is untouched', async () => {
    const repo = join(tempDir('colony-example-'), 'repo');
    made.push(repo);
    const example = await run(process.execPath, [join(REPO_ROOT, 'examples/fix-the-bug/run.mjs'), repo], { encoding: 'utf8', timeout: CLI_HANG_GUARD_MS * 2 });
    expect(example.stdout).toMatch(/^before: 2 passed, 2 failed on main$/m);
    expect(example.stdout).toMatch(/^after: 4 passed, 0 failed on colony\/swarm-\S+$/m);
    expect(example.stdout).toMatch(/^main is untouched: 2 passed, 2 failed on main$/m);

    // The swarm record: completed, its three plan tasks merged, the two fixed files in its diff.
    const { data: swarms } = await runJson<SwarmRecord[]>(['swarm', 'list'], { cwd: repo });
    expect(swarms).toHaveLength(1);
    const swarm = swarms[0] as SwarmRecord;
    expect(swarm.status).toBe('completed');
    const result = swarm.result?.git;
    expect(result?.files.map((f) => f.path).sort()).toEqual(['src/cart-total.js', 'src/slugify.js']);
    expect(result?.dirty).toBe(false);
    expect(result?.conflicts).toEqual([]);
    expect([...(result?.merged ?? [])].sort()).toEqual(['fix-slug', 'fix-total', 'verify']);

    // The two fixes were made on two task branches, each from the swarm's base, and merged in.
    const branch = result?.branch as string;
    const base = result?.base as string;
    expect(await git(repo, 'rev-parse', 'main')).toBe(base);
    expect(await git(repo, 'show', `${branch}:src/cart-total.js`)).toContain('let i = 0;');
    expect(await git(repo, 'show', `${branch}:src/slugify.js`)).toContain('.toLowerCase()');
    const merges = (await git(repo, 'log', '--merges', '--format=%s', `${base}..${branch}`)).split('\n').filter(Boolean);
    expect(merges.length).toBeGreaterThanOrEqual(2);
    // Worktrees are gone once the swarm ended: the checkout is the only one left.
    expect((await git(repo, 'worktree', 'list', '--porcelain')).split('\n').filter((l) => l.startsWith('worktree ')).length).toBe(1);
    expect(await git(repo, 'status', '--porcelain')).toBe('');

    // The hooks ran: node --check after each edit (in the coders' worktrees), npm test gating only the tester's finish.
    const { data: hookRuns } = await runJson<ColonyEvent<'hook.ran'>[]>(['events', '--type', 'hook.ran', '--limit', '100'], { cwd: repo });
    const edits = hookRuns.filter((e) => e.data.point === 'fileEdited');
    const completions = hookRuns.filter((e) => e.data.point === 'taskCompleting');
    expect(edits).toHaveLength(2);
    expect(edits.every((e) => e.data.outcome === 'passed')).toBe(true);
    expect(completions).toHaveLength(1);
    expect(completions[0]?.data).toMatchObject({ command: 'npm test', outcome: 'passed', blocked: false });
    expect(existsSync(join(repo, '.colony', 'config.yaml'))).toBe(true);

    // The coders read their issues through the project's MCP server (.mcp.json), as their agent type in .claude/agents allows.
    const { data: toolCalls } = await runJson<ColonyEvent<'agent.tool_called'>[]>(['events', '--type', 'agent.tool_called', '--limit', '100'], { cwd: repo });
    const trackerCalls = toolCalls.filter((e) => e.data.tool === 'mcp__tracker__get_issue');
    expect(trackerCalls).toHaveLength(2);
    expect(trackerCalls.every((e) => e.data.ok)).toBe(true);
  });
});
