import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitCli } from '../src/adapters/git/git-cli.js';
import { tempDir } from './support/temp-colony.js';

/** The git port's CLI adapter against real repositories in temporary folders. */

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function sh(dir: string, ...args: string[]): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_')));
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', ...args], { cwd: dir, env, encoding: 'utf8' }).trim();
}

function repoWith(files: Record<string, string>): string {
  const dir = tempDir('colony-gitcli-');
  dirs.push(dir);
  sh(dir, 'init', '--quiet', '--initial-branch=main');
  for (const [path, content] of Object.entries(files)) writeFileSync(join(dir, path), content);
  sh(dir, 'add', '-A');
  sh(dir, 'commit', '--quiet', '-m', 'start');
  return dir;
}

describe('git CLI adapter', () => {
  it('commitAll leaves out the excluded names, at any depth and in any case', async () => {
    const git = createGitCli();
    const repo = repoWith({ 'f.txt': 'one\n' });
    const base = (await git.resolve(repo, 'HEAD')) as string;
    mkdirSync(join(repo, '.claude'));
    writeFileSync(join(repo, '.claude', 'settings.json'), '{"hooks":{}}');
    mkdirSync(join(repo, 'sub', '.Claude'), { recursive: true });
    writeFileSync(join(repo, 'sub', '.Claude', 'settings.json'), '{}');
    writeFileSync(join(repo, '.mcp.json'), '{}');
    writeFileSync(join(repo, 'sub', 'CLAUDE.md'), 'hi');
    writeFileSync(join(repo, 'g.txt'), 'kept\n');
    const head = await git.commitAll(repo, 'some', ['.claude', '.mcp.json', 'CLAUDE.md']);
    expect(await git.diffFiles(repo, base, head)).toEqual([{ path: 'g.txt', additions: 1, deletions: 0 }]);
    // Left out, not lost: still in the worktree, uncommitted.
    expect(sh(repo, 'status', '--porcelain', '--untracked-files=all').split('\n').sort()).toEqual(['?? .claude/settings.json', '?? .mcp.json', '?? sub/.Claude/settings.json', '?? sub/CLAUDE.md']);
    // Only excluded names: nothing to commit, the head stays.
    expect(await git.commitAll(repo, 'none', ['.claude', '.mcp.json', 'CLAUDE.md'])).toBe(head);
  });

  it('worktrees on branches, commits, ancestry, a clean merge and a conflicting one', async () => {
    const git = createGitCli();
    const repo = repoWith({ 'f.txt': 'one\ntwo\n' });
    const base = (await git.resolve(repo, 'HEAD')) as string;
    expect(await git.topLevel(join(repo))).toBe(repo);
    const wtA = join(dirs[0] as string, '..', `${repo.split('/').pop()}-a`);
    const wtB = `${wtA}-b`;
    const wtM = `${wtA}-m`;
    dirs.push(wtA, wtB, wtM);
    await git.addWorktree(repo, wtA, 'task-a', base);
    await git.addWorktree(repo, wtB, 'task-b', base);
    await git.setBranch(repo, 'swarm', base);
    await git.addWorktree(repo, wtM, 'swarm', null);
    expect((await git.listWorktrees(repo)).map((w) => w.branch)).toEqual(['main', 'task-a', 'task-b', 'swarm']);

    // Nothing changed: no commit, the head stays.
    expect(await git.commitAll(wtA, 'nothing')).toBe(base);
    writeFileSync(join(wtA, 'f.txt'), 'one\nTWO-A\n');
    writeFileSync(join(wtB, 'f.txt'), 'one\nTWO-B\n');
    mkdirSync(join(wtB, 'dir'));
    writeFileSync(join(wtB, 'dir', 'new.txt'), 'new\n');
    const a = await git.commitAll(wtA, 'a');
    const b = await git.commitAll(wtB, 'b');
    expect(await git.isAncestor(repo, base, a)).toBe(true);
    expect(await git.isAncestor(repo, a, b)).toBe(false);
    expect(await git.diffFiles(repo, base, b)).toEqual([
      { path: 'dir/new.txt', additions: 1, deletions: 0 },
      { path: 'f.txt', additions: 1, deletions: 1 },
    ]);
    expect(await git.diff(repo, base, a)).toContain('+TWO-A');

    const merged = await git.merge(wtM, a, 'merge a');
    expect(merged.conflicts).toEqual([]);
    expect(merged.head).toBe(await git.resolve(repo, 'refs/heads/swarm'));
    const conflicted = await git.merge(wtM, b, 'merge b');
    expect(conflicted).toEqual({ head: null, conflicts: ['f.txt'] });
    expect(await git.merging(wtM)).toBe(true);
    expect(await git.unmerged(wtM)).toEqual(['f.txt']);
    await git.abortMerge(wtM);
    expect(await git.merging(wtM)).toBe(false);

    // A resolution equal to one side still completes the merge.
    await git.merge(wtM, b, 'merge b');
    writeFileSync(join(wtM, 'f.txt'), 'one\nTWO-A\n');
    const resolved = await git.commitAll(wtM, 'merge b, ours');
    expect(await git.isAncestor(repo, b, resolved)).toBe(true);

    // Put back to base: changes and untracked files gone, the branch moved.
    writeFileSync(join(wtB, 'stray.txt'), 'x');
    await git.resetHard(wtB, base);
    expect(sh(wtB, 'status', '--porcelain')).toBe('');
    expect(await git.resolve(repo, 'refs/heads/task-b')).toBe(base);

    await git.removeWorktree(repo, wtB);
    await git.deleteBranch(repo, 'task-b');
    expect(await git.resolve(repo, 'refs/heads/task-b')).toBeNull();
    rmSync(wtA, { recursive: true, force: true });
    await git.prune(repo);
    expect((await git.listWorktrees(repo)).map((w) => w.branch)).toEqual(['main', 'swarm']);
    // The user's checkout was never touched.
    expect(sh(repo, 'rev-parse', 'HEAD')).toBe(base);
    expect(sh(repo, 'status', '--porcelain')).toBe('');
  });

  it('is not misled by GIT_* variables of the process, and says null outside a repository', async () => {
    const repo = repoWith({ 'f.txt': 'x\n' });
    const elsewhere = tempDir('colony-gitcli-none-');
    dirs.push(elsewhere);
    const saved = { dir: process.env.GIT_DIR, tree: process.env.GIT_WORK_TREE };
    process.env.GIT_DIR = join(elsewhere, 'no-such-git-dir');
    process.env.GIT_WORK_TREE = elsewhere;
    try {
      const git = createGitCli();
      expect(await git.topLevel(repo)).toBe(repo);
      expect(await git.topLevel(elsewhere)).toBeNull();
      writeFileSync(join(repo, 'f.txt'), 'changed\n');
      expect(await git.isDirty(repo)).toBe(true);
    } finally {
      if (saved.dir === undefined) delete process.env.GIT_DIR;
      else process.env.GIT_DIR = saved.dir;
      if (saved.tree === undefined) delete process.env.GIT_WORK_TREE;
      else process.env.GIT_WORK_TREE = saved.tree;
    }
  });
});
