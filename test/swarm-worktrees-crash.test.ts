import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createColony } from '../src/app/colony.js';
import { FakeLlmServer, type FakeReplyFunction, type RecordedRequest } from '../src/testing/fake-llm-server.js';
import { worktreeRoot } from '../src/tasks/task-worktree.js';
import { eventually, isAlive, removeTempProjects, runCli, startCli, tempProject } from './support/cli.js';
import { forcedTool, requestText, swarmModel } from './support/swarm-model.js';

/**
 * `colony swarm` in a git repository is killed with SIGKILL while one task's result awaits the queen's
 * review (its commit made, not yet merged) and another task has written into its worktree without
 * finishing. The next process resumes the swarm: the reviewed commit is merged, the unfinished task
 * starts again from a clean worktree, and when the swarm ends no worktree of it is left.
 */

let llm: FakeLlmServer;
let env: Record<string, string>;
/** What the model answers in the running test (each test holds its own requests). */
let reply: FakeReplyFunction = swarmModel();
const gates: (() => void)[] = [];
const roots: string[] = [];

function git(dir: string, ...args: string[]): string {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_')));
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', ...args], { cwd: dir, env: clean, encoding: 'utf8' }).trim();
}

function hasToolResult(request: RecordedRequest): boolean {
  const last = ((request.body as { messages?: { content: unknown }[] }).messages ?? []).at(-1)?.content;
  return Array.isArray(last) && last.some((part: { type?: string }) => part.type === 'tool_result');
}

/** A gate that holds requests until opened (opened for good when the tests end). */
function newGate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  gates.push(open);
  return { wait, open };
}

/** A git repository in a fresh project, with one commit. */
function gitProject(files: Record<string, string>): { project: ReturnType<typeof tempProject>; start: string } {
  const project = tempProject();
  for (const [path, content] of Object.entries(files)) project.write(path, content);
  git(project.dir, 'init', '--quiet', '--initial-branch=main');
  git(project.dir, 'add', '-A');
  git(project.dir, 'commit', '--quiet', '-m', 'start');
  roots.push(worktreeRoot(project.dir));
  return { project, start: git(project.dir, 'rev-parse', 'HEAD') };
}

function worktreeLines(dir: string): string[] {
  return git(dir, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree '));
}

/** Kills `colony swarm` with SIGKILL and waits until it is gone. */
async function killHard(cli: ReturnType<typeof startCli>): Promise<void> {
  process.kill(cli.pid, 'SIGKILL');
  expect((await cli.exited).signal).toBe('SIGKILL');
  await eventually(() => (isAlive(cli.pid) ? undefined : true), 'the killed process to be gone');
}

beforeAll(async () => {
  llm = new FakeLlmServer({ defaultReply: (request) => reply(request) });
  const { anthropicBaseUrl } = await llm.start();
  env = { ANTHROPIC_BASE_URL: anthropicBaseUrl, ANTHROPIC_API_KEY: 'sk-ant-test-secret' };
});
afterAll(async () => {
  for (const open of gates) open();
  await llm.close();
  for (const root of roots) rmSync(root, { recursive: true, force: true });
  removeTempProjects();
});

const PLAN = `tasks:
  - id: a
    title: Alpha
    prompt: Write a.
    agentType: coder
  - id: b
    title: Beta
    prompt: Write b.
    agentType: coder
  - id: c
    title: Gamma
    prompt: Write c.
    agentType: coder
    dependsOn: [a, b]
`;

describe('swarm worktrees after a crash', () => {
  it('kill -9 mid-swarm, then resume: no commit is lost and no worktree is left', async () => {
    const gate = newGate();
    let holding = true;
    const held = { reviewOfA: false, secondTurnOfB: false };
    const base = swarmModel();
    reply = async (request) => {
      const text = requestText(request);
      const task = /^Your task \(([^)]+)\)/m.exec(text)?.[1];
      if (forcedTool(request) === 'review_result' && text.includes('Task a: Alpha') && holding) {
        held.reviewOfA = true;
        await gate.wait;
      }
      if (task !== undefined && forcedTool(request) === undefined) {
        if (!hasToolResult(request)) return { toolCalls: [{ name: 'write_file', input: { path: `${task}.txt`, content: `from ${task}\n` } }] };
        if (task === 'b' && holding) {
          held.secondTurnOfB = true;
          await gate.wait;
        }
        return { text: `wrote ${task}.txt` };
      }
      return base(request);
    };
    const { project, start } = gitProject({ 'README.md': 'hello\n' });
    project.write('plan.yaml', PLAN);

    const cli = startCli(['swarm', 'Three files', '--plan', 'plan.yaml', '--concurrency', '2', '--provider', 'anthropic'], { cwd: project.dir, env, timeoutMs: 60_000 });
    await eventually(() => (held.reviewOfA && held.secondTurnOfB ? true : undefined), 'a awaiting review and b mid-task');
    await killHard(cli);
    // The crash left worktrees behind: a's (committed) and b's (with an uncommitted file).
    expect(worktreeLines(project.dir).length).toBeGreaterThan(1);

    holding = false;
    gate.open();
    const colony = await createColony({ projectDir: project.dir, env: { ...env }, config: { log: { level: 'silent' } } });
    const swarmId = (await colony.swarms.list())[0]!.id;
    try {
      await colony.start();
      const done = await colony.swarms.waitFor(swarmId);
      expect(done.status).toBe('completed');
      const result = done.result?.git;
      expect(result?.base).toBe(start);
      expect(result?.merged).toEqual(['a', 'b', 'c']);
      expect(result?.files.map((f) => f.path).sort()).toEqual(['a.txt', 'b.txt', 'c.txt']);
      // a's commit, made before the crash, is in the swarm's branch.
      const tasks = await colony.tasks.list({ swarmId: done.id, order: 'created' });
      const aCommit = (tasks.find((t) => t.name === 'a')?.result as { worktree: { commit: string } }).worktree.commit;
      expect(git(project.dir, 'merge-base', '--is-ancestor', aCommit, result!.head)).toBe('');
      // No worktree of the swarm is left, nor its folder; the checkout is as it was.
      expect(git(project.dir, 'worktree', 'list', '--porcelain').split('\n').filter((l) => l.startsWith('worktree '))).toEqual([`worktree ${project.dir}`]);
      expect(existsSync(`${worktreeRoot(project.dir)}/${done.id.slice(-10)}`)).toBe(false);
      expect(git(project.dir, 'rev-parse', 'HEAD')).toBe(start);
      expect(git(project.dir, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe('main');
      expect(project.read('README.md')).toBe('hello\n');
      expect(existsSync(project.path('a.txt'))).toBe(false);
    } finally {
      await colony.close({ drainTimeoutMs: 0 });
    }
    // `colony swarm status` names the branch and what changed.
    const status = await runCli(['swarm', 'status', swarmId], { cwd: project.dir, env });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`branch +colony/swarm-${swarmId.slice(-10)} ${start.slice(0, 12)}\\.\\.[0-9a-f]{12}: 3 files changed, \\+3 -0`));
    expect(status.stdout).toContain('a.txt +1 -0');
    const diff = await runCli(['swarm', 'diff', swarmId], { cwd: project.dir, env });
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain('+from b');
  });

  it('kill -9 while an agent resolves a merge conflict: the resumed swarm lets that agent finish the merge', async () => {
    const gate = newGate();
    let holding = true;
    let resolverHeld = false;
    const base = swarmModel();
    reply = async (request) => {
      const text = requestText(request);
      if (forcedTool(request) !== undefined) return base(request);
      if (text.includes('stopped on conflicts in:')) {
        if (!hasToolResult(request)) return { toolCalls: [{ name: 'write_file', input: { path: 'shared.txt', content: 'one\nTWO by a and b\nthree\n' } }] };
        if (holding) {
          resolverHeld = true;
          await gate.wait;
        }
        return { text: 'merged both sides' };
      }
      const task = /^Your task \(([^)]+)\)/m.exec(text)?.[1];
      if (task === undefined) return base(request);
      if (!hasToolResult(request)) return { toolCalls: [{ name: 'write_file', input: { path: 'shared.txt', content: `one\nTWO by ${task}\nthree\n` } }] };
      return { text: `changed line two for ${task}` };
    };
    const { project, start } = gitProject({ 'shared.txt': 'one\ntwo\nthree\n' });
    project.write('plan.yaml', 'tasks:\n  - { id: a, title: Alpha, prompt: Change line two., agentType: coder }\n  - { id: b, title: Beta, prompt: Change line two too., agentType: coder }\n');

    const cli = startCli(['swarm', 'Same line', '--plan', 'plan.yaml', '--concurrency', '2', '--no-review', '--provider', 'anthropic'], { cwd: project.dir, env, timeoutMs: 60_000 });
    await eventually(() => (resolverHeld ? true : undefined), 'the resolving agent to have written its merge');
    await killHard(cli);

    holding = false;
    gate.open();
    const colony = await createColony({ projectDir: project.dir, env: { ...env }, config: { log: { level: 'silent' } } });
    try {
      const swarmId = (await colony.swarms.list())[0]!.id;
      await colony.start();
      const done = await colony.swarms.waitFor(swarmId);
      expect(done.status).toBe('completed');
      const result = done.result?.git;
      expect(result?.merged.sort()).toEqual(['a', 'b']);
      expect(result?.conflicts).toEqual([]);
      expect(git(project.dir, 'show', `${result!.head}:shared.txt`)).toBe('one\nTWO by a and b\nthree');
      // The resolving task of before the crash finished the merge: no second one was dispatched.
      const resolvers = (await colony.tasks.list({ swarmId })).filter((t) => t.name?.startsWith('resolve-merge-of-'));
      expect(resolvers.map((t) => t.status)).toEqual(['completed']);
      expect(worktreeLines(project.dir)).toEqual([`worktree ${project.dir}`]);
      expect(git(project.dir, 'rev-parse', 'HEAD')).toBe(start);
      expect(project.read('shared.txt')).toBe('one\ntwo\nthree\n');
    } finally {
      await colony.close({ drainTimeoutMs: 0 });
    }
  });
});
