import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/app/config.js';
import type { ColonyEvent } from '../src/domain/events.js';
import type { SwarmRecord } from '../src/domain/swarm.js';
import { FakeLlmServer, type RecordedRequest } from '../src/testing/fake-llm-server.js';
import { worktreeRoot } from '../src/tasks/task-worktree.js';
import { editingModel, git, gitRepo, hasToolResult } from './support/git-swarm.js';
import { requestText, swarmModel } from './support/swarm-model.js';
import { eventually, tempColony, tempDir, type TempColony } from './support/temp-colony.js';

/**
 * Swarms in a git repository: each task edits its own worktree on its own branch, the coordinator
 * merges the commits into the swarm's branch, and the user's checkout is left alone.
 */

const server = new FakeLlmServer();
let baseUrl: string;
let temp: TempColony | undefined;
let repo: string | undefined;

beforeAll(async () => {
  baseUrl = (await server.start()).anthropicBaseUrl;
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await temp?.cleanup();
  temp = undefined;
  if (repo !== undefined) {
    rmSync(worktreeRoot(repo), { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  }
  repo = undefined;
  server.reset();
});

const config: () => ConfigInput = () => ({
  providers: { anthropic: { baseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } },
  agents: { defaultProvider: 'anthropic' },
  tasks: { defaultMaxRetries: 0 },
});

async function startedIn(dir: string): Promise<TempColony> {
  temp = await tempColony(config(), { env: {}, dir });
  await temp.colony.start();
  return temp;
}

function collect(t: TempColony): ColonyEvent[] {
  const seen: ColonyEvent[] = [];
  t.colony.events.subscribe({}, (e) => seen.push(e));
  return seen;
}

function worktreePaths(dir: string): string[] {
  return git(dir, 'worktree', 'list', '--porcelain')
    .split('\n')
    .filter((line) => line.startsWith('worktree '))
    .map((line) => line.slice('worktree '.length));
}

/** The checkout as the user left it: branch, commit and files. */
function checkout(dir: string): { branch: string; head: string; status: string } {
  return { branch: git(dir, 'rev-parse', '--abbrev-ref', 'HEAD'), head: git(dir, 'rev-parse', 'HEAD'), status: git(dir, 'status', '--porcelain', '--untracked-files=no') };
}

const plan = (tasks: { id: string; dependsOn?: string[] }[]): { summary: string; tasks: unknown[] } => ({
  summary: 'edits',
  tasks: tasks.map((t) => ({ id: t.id, title: `Task ${t.id}`, prompt: `Do ${t.id}.`, agentType: 'coder', dependsOn: t.dependsOn ?? [] })),
});

describe('swarm worktrees in a git repository', () => {
  it('parallel edits to different files merge cleanly; a dependent starts from the merged branch; the checkout is untouched', async () => {
    repo = gitRepo({ 'README.md': 'hello\n' });
    const before = checkout(repo);
    server.setDefaultReply(editingModel({ a: { 'a.txt': 'from a\n' }, b: { 'b.txt': 'from b\n' }, c: { 'c.txt': 'from c\n' } }));
    const t = await startedIn(repo);
    const events = collect(t);
    const created = await t.colony.swarms.create({ objective: 'three files', agents: 2, concurrency: 2, review: false, plan: plan([{ id: 'a' }, { id: 'b' }, { id: 'c', dependsOn: ['a', 'b'] }]) });
    expect(created.config.git).toMatchObject({ repo, base: before.head, dirty: false });
    const done: SwarmRecord = await t.colony.swarms.waitFor(created.id);

    expect(done.status).toBe('completed');
    const result = done.result?.git;
    expect(result).toBeDefined();
    expect(result?.branch).toBe(created.config.git?.branch);
    expect(result?.base).toBe(before.head);
    expect(result?.head).toBe(git(repo, 'rev-parse', `refs/heads/${result?.branch}`));
    expect(result?.files.map((f) => f.path).sort()).toEqual(['a.txt', 'b.txt', 'c.txt']);
    expect(result?.files.find((f) => f.path === 'a.txt')).toMatchObject({ additions: 1, deletions: 0 });
    expect(result?.merged).toEqual(['a', 'b', 'c']);
    expect(result?.conflicts).toEqual([]);
    expect(result?.kept).toEqual([]);
    // The swarm's branch holds every task's work.
    expect(git(repo, 'show', `${result?.head}:a.txt`)).toBe('from a');
    expect(git(repo, 'show', `${result?.head}:c.txt`)).toBe('from c');
    // C was dispatched after A and B landed: its worktree started from a commit that holds both.
    const tasks = await t.colony.tasks.list({ swarmId: done.id });
    const cBase = (tasks.find((x) => x.name === 'c')?.input as { worktree: { base: string } }).worktree.base;
    const cResult = (tasks.find((x) => x.name === 'c')?.result as { worktree: { path: string; branch: string; base: string; commit: string } }).worktree;
    expect(cResult).toMatchObject({ branch: `${result?.branch}-c`, base: cBase, path: join(worktreeRoot(repo), done.id.slice(-10), 'c') });
    expect(git(repo, 'merge-base', '--is-ancestor', cResult.commit, result?.head as string)).toBe('');
    expect(git(repo, 'show', `${cBase}:a.txt`)).toBe('from a');
    expect(git(repo, 'show', `${cBase}:b.txt`)).toBe('from b');
    const diff = await t.colony.swarms.diff(done.id);
    expect(diff).toMatchObject({ swarmId: done.id, branch: result?.branch, base: before.head, head: result?.head, files: result?.files });
    expect(diff.patch).toContain('+++ b/a.txt');
    expect(diff.patch).toContain('+from c');
    expect(events.filter((e) => e.type === 'swarm.task_merged').map((e) => (e.data as { planTaskId: string }).planTaskId).sort()).toEqual(['a', 'b', 'c']);
    // Nothing touched the user's checkout; the swarm's worktrees and merged task branches are gone.
    expect(checkout(repo)).toEqual(before);
    expect(existsSync(join(repo, 'a.txt'))).toBe(false);
    expect(worktreePaths(repo)).toEqual([repo]);
    expect(existsSync(worktreeRoot(repo))).toBe(false);
    expect(git(repo, 'branch', '--list', 'colony/*').split('\n').map((b) => b.trim())).toEqual([result?.branch]);
  });

  it("a task's hooks run in its worktree: taskStart sees it at its base, taskEnd with the agent's edit", async () => {
    repo = gitRepo({ 'README.md': 'hello\n' });
    server.setDefaultReply(editingModel({ a: { 'a.txt': 'from a\n' } }));
    temp = await tempColony(
      { ...config(), hooks: { taskStart: [{ command: 'pwd; ls', agentTypes: ['coder'] }], taskEnd: [{ command: 'pwd; ls', agentTypes: ['coder'] }] } },
      { env: {}, dir: repo },
    );
    await temp.colony.start();
    const events = collect(temp);
    const created = await temp.colony.swarms.create({ objective: 'one file', agents: 1, review: false, plan: plan([{ id: 'a' }]) });
    const done = await temp.colony.swarms.waitFor(created.id);
    expect(done.status).toBe('completed');
    const ran = events.filter((e): e is ColonyEvent<'hook.ran'> => e.type === 'hook.ran');
    const where = join(worktreeRoot(repo), done.id.slice(-10), 'a');
    const start = ran.find((e) => e.data.point === 'taskStart');
    const end = ran.find((e) => e.data.point === 'taskEnd');
    expect(start?.data.outcome).toBe('passed');
    expect(start?.data.output.split('\n')[0]).toBe(where);
    expect(start?.data.output).not.toContain('a.txt');
    expect(end?.data.output.split('\n')[0]).toBe(where);
    expect(end?.data.output).toContain('a.txt');
    // The hooks changed nothing: the task's commit holds the agent's edit only.
    expect(done.result?.git?.files.map((f) => f.path)).toEqual(['a.txt']);
    expect(existsSync(join(repo, 'a.txt'))).toBe(false);
  });

  it("what an agent's command creates under protected names (.claude/, .mcp.json, CLAUDE.md) is not committed to the branch", async () => {
    repo = gitRepo({ 'README.md': 'hello\n' });
    const base = swarmModel();
    const command = 'mkdir -p .claude && echo {} > .claude/settings.json && echo {} > .mcp.json && echo obey > CLAUDE.md && echo ok > ok.txt';
    server.setDefaultReply((request) => {
      if (!/^Your task \(a\)/m.test(requestText(request))) return base(request);
      return hasToolResult(request) ? { text: 'done' } : { toolCalls: [{ name: 'run_shell', input: { command } }] };
    });
    const t = await startedIn(repo);
    const created = await t.colony.swarms.create({ objective: 'one file', agents: 1, review: false, plan: plan([{ id: 'a' }]) });
    const done = await t.colony.swarms.waitFor(created.id);
    expect(done.status).toBe('completed');
    expect(done.result?.git?.files.map((f) => f.path)).toEqual(['ok.txt']);
    expect(git(repo, 'ls-tree', '-r', '--name-only', done.result?.git?.head as string).split('\n').sort()).toEqual(['README.md', 'ok.txt']);
  });

  it('edits to the same lines: the conflict goes to a resolving agent, whose edit completes the merge', async () => {
    repo = gitRepo({ 'shared.txt': 'one\ntwo\nthree\n' });
    server.setDefaultReply(editingModel({ a: { 'shared.txt': 'one\nTWO by a\nthree\n' }, b: { 'shared.txt': 'one\nTWO by b\nthree\n' } }, { 'shared.txt': 'one\nTWO by a and b\nthree\n' }));
    const t = await startedIn(repo);
    const events = collect(t);
    const created = await t.colony.swarms.create({ objective: 'same line', agents: 2, concurrency: 2, review: false, plan: plan([{ id: 'a' }, { id: 'b' }]) });
    const done = await t.colony.swarms.waitFor(created.id);
    expect(done.status).toBe('completed');
    const conflicted = events.find((e) => e.type === 'swarm.merge_conflicted')?.data as { files: string[]; resolvedBy: string | null };
    expect(conflicted.files).toEqual(['shared.txt']);
    expect(conflicted.resolvedBy).not.toBeNull();
    const resolver = await t.colony.tasks.get(conflicted.resolvedBy as string);
    expect(resolver.status).toBe('completed');
    expect(requestText(server.requests.find((r) => requestText(r).includes('stopped on conflicts in:')) as RecordedRequest)).toContain('- shared.txt');
    const result = done.result?.git;
    expect(git(repo, 'show', `${result?.head}:shared.txt`)).toBe('one\nTWO by a and b\nthree');
    expect(result?.merged.sort()).toEqual(['a', 'b']);
    expect(result?.conflicts).toEqual([]);
    expect(worktreePaths(repo)).toEqual([repo]);
    expect(readFileSync(join(repo, 'shared.txt'), 'utf8')).toBe('one\ntwo\nthree\n');
  });

  it('a conflict no agent resolves: the swarm reports the files and keeps both branches', async () => {
    repo = gitRepo({ 'shared.txt': 'one\ntwo\nthree\n' });
    // The resolving agent changes nothing: the conflict markers stay, so its attempts fail.
    server.setDefaultReply(editingModel({ a: { 'shared.txt': 'one\nTWO by a\nthree\n' }, b: { 'shared.txt': 'one\nTWO by b\nthree\n' } }, {}));
    const t = await startedIn(repo);
    const created = await t.colony.swarms.create({ objective: 'same line', agents: 2, concurrency: 2, review: false, plan: plan([{ id: 'a' }, { id: 'b' }]) });
    const done = await t.colony.swarms.waitFor(created.id);

    expect(done.status).toBe('failed');
    const result = done.result?.git;
    expect(result?.conflicts).toHaveLength(1);
    const conflict = result?.conflicts[0];
    expect(conflict?.files).toEqual(['shared.txt']);
    expect(result?.merged).toHaveLength(1);
    expect(result?.kept).toEqual([conflict?.branch]);
    // Both sides are there: the swarm's branch with one, the kept task branch with the other.
    expect(git(repo, 'show', `${conflict?.branch}:shared.txt`)).toMatch(/TWO by [ab]/);
    expect(git(repo, 'show', `${result?.branch}:shared.txt`)).toMatch(/TWO by [ab]/);
    expect(git(repo, 'show', `${conflict?.branch}:shared.txt`)).not.toBe(git(repo, 'show', `${result?.branch}:shared.txt`));
    expect(done.result?.tasks.find((x) => x.planTaskId === conflict?.planTaskId)?.status).toBe('failed');
    expect(worktreePaths(repo)).toEqual([repo]);
  });

  it('an agent task naming a worktree that is not one of the repository\'s Colony worktrees is refused', async () => {
    repo = gitRepo({ 'README.md': 'hello\n' });
    server.setDefaultReply(editingModel({}));
    const t = await startedIn(repo);
    const base = git(repo, 'rev-parse', 'HEAD');
    const [task] = await t.colony.tasks.submit([{ type: 'agent', input: { prompt: 'edit', worktree: { path: repo, branch: 'main', base, mode: 'task' } } }]);
    const [failed] = await t.colony.tasks.waitFor([task!.id]);
    expect(failed?.status).toBe('failed');
    expect(failed?.error?.message).toContain("is not one of this repository's Colony worktrees");
    // Under the worktree folder, but on a branch of the user's: refused too, the branch left where it was.
    git(repo, 'branch', 'release', base);
    const inside = join(worktreeRoot(repo), 'x', 'y');
    const [other] = await t.colony.tasks.submit([{ type: 'agent', input: { prompt: 'edit', worktree: { path: inside, branch: 'release', base, mode: 'task' } } }]);
    const [refused] = await t.colony.tasks.waitFor([other!.id]);
    expect(refused?.error?.message).toContain("is not one of Colony's");
    expect(existsSync(inside)).toBe(false);
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(base);
    expect(server.requests).toHaveLength(0);
  });

  it('a swarm stopped while no process coordinates it: its worktrees are removed', async () => {
    repo = gitRepo({ 'README.md': 'hello\n' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const model = editingModel({ a: { 'a.txt': 'from a\n' } });
    server.setDefaultReply(async (request) => {
      // The worker has written a.txt in its worktree and never finishes its task.
      if (/^Your task \(a\)/m.test(requestText(request)) && hasToolResult(request)) {
        holding = true;
        await gate;
      }
      return model(request);
    });
    const t = await startedIn(repo);
    const created = await t.colony.swarms.create({ objective: 'one file', agents: 1, review: false, plan: plan([{ id: 'a' }]) });
    await eventually(() => holding);
    expect(worktreePaths(repo)).toHaveLength(2);
    // The coordinating process goes away, leaving the swarm (and its worktrees) as they are.
    await t.cleanup();
    temp = undefined;
    temp = await tempColony(config(), { env: {}, dir: repo });
    const stopped = await temp.colony.swarms.stop(created.id, 'no longer needed');
    release();
    expect(stopped.status).toBe('stopped');
    expect(stopped.result?.git).toMatchObject({ branch: created.config.git?.branch, base: created.config.git?.base, files: [], kept: [] });
    expect(worktreePaths(repo)).toEqual([repo]);
    expect(existsSync(join(worktreeRoot(repo), created.id.slice(-10)))).toBe(false);
  });

  it('uncommitted changes of the checkout: recorded as dirty, left where they are, not seen by the swarm', async () => {
    repo = gitRepo({ 'README.md': 'hello\n' });
    writeFileSync(join(repo, 'README.md'), 'hello, edited and not committed\n');
    server.setDefaultReply(editingModel({ a: { 'a.txt': 'from a\n' } }));
    const t = await startedIn(repo);
    const done = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'one file', agents: 1, review: false, plan: plan([{ id: 'a' }]) })).id);
    expect(done.status).toBe('completed');
    expect(done.config.git?.dirty).toBe(true);
    expect(done.result?.git).toMatchObject({ dirty: true, files: [{ path: 'a.txt', additions: 1, deletions: 0 }] });
    expect(git(repo, 'show', `${done.result?.git?.head}:README.md`)).toBe('hello');
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('hello, edited and not committed\n');
  });

  it('worktrees: false, or a workspace that is not a repository: the tasks share the workspace', async () => {
    const dir = tempDir('colony-plain-');
    repo = dir;
    server.setDefaultReply(editingModel({ a: { 'a.txt': 'from a\n' } }));
    const t = await startedIn(dir);
    const done = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'one file', agents: 1, review: false, plan: plan([{ id: 'a' }]) })).id);
    expect(done.status).toBe('completed');
    expect(done.config.git).toBeNull();
    expect(done.result?.git).toBeUndefined();
    await expect(t.colony.swarms.diff(done.id)).rejects.toThrow(/has no git branch/);
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('from a\n');
  });

  it('worktrees: false in a repository: the tasks edit the checkout as before', async () => {
    repo = gitRepo({ 'README.md': 'hello\n' });
    server.setDefaultReply(editingModel({ a: { 'a.txt': 'from a\n' } }));
    const t = await startedIn(repo);
    const done = await t.colony.swarms.waitFor((await t.colony.swarms.create({ objective: 'one file', agents: 1, review: false, worktrees: false, plan: plan([{ id: 'a' }]) })).id);
    expect(done.status).toBe('completed');
    expect(done.config.git).toBeNull();
    expect(readFileSync(join(repo, 'a.txt'), 'utf8')).toBe('from a\n');
    expect(git(repo, 'branch', '--list', 'colony/*')).toBe('');
  });
});
