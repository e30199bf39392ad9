import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ExecutionError, ValidationError } from '../domain/errors.js';
import type { Git } from '../ports/git.js';
import { PROTECTED_NAMES } from '../sandbox/protected-paths.js';

/**
 * Where a task's work goes when the workspace is a git repository: its own worktree, on its own
 * branch, started from `base`. `task`: the worktree is put back to `base` before each attempt and
 * what the attempt changed is committed after it. `resolve`: the worktree holds a merge stopped on
 * conflicts; the attempt's edits are committed as that merge.
 */
export interface TaskWorktreeSpec {
  path: string;
  branch: string;
  base: string;
  mode: 'task' | 'resolve';
}

/** Every branch Colony's worktrees are on starts so (see swarm/worktree-names.ts). */
export const COLONY_BRANCH_PREFIX = 'colony/';

/** Characters of the hash of the repository's path that name its folder of worktrees. */
const REPO_HASH_CHARS = 12;

/**
 * The folder that holds a repository's Colony worktrees: outside the project (its `.colony/` is
 * hidden from agents, and a folder in the checkout would show in the user's `git status`), one per
 * repository. Every process on this machine derives the same one.
 */
export function worktreeRoot(repo: string): string {
  const hash = createHash('sha256').update(resolve(repo)).digest('hex').slice(0, REPO_HASH_CHARS);
  return join(tmpdir(), 'colony-worktrees', hash);
}

/** Whether `path` is inside `root` (not `root` itself). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

/**
 * Makes the task's worktree ready for an attempt and returns it, the attempt's workspace. A worktree
 * that is gone (cleaned up after a crash) is made again; a `task` worktree is put back to its base, so
 * that a retried attempt starts from what the first one started from.
 */
export async function prepareTaskWorktree(git: Git, projectDir: string, spec: TaskWorktreeSpec): Promise<string> {
  const repo = await git.topLevel(projectDir);
  if (repo === null) throw new ValidationError(`the task names a worktree, but the workspace ${projectDir} is not a git repository`);
  const root = worktreeRoot(repo);
  if (!isAbsolute(spec.path) || !isInside(root, resolve(spec.path))) throw new ValidationError(`the task's worktree ${spec.path} is not one of this repository's Colony worktrees (under ${root})`);
  // Only Colony's own branches are moved: a task's input must not reset the user's.
  if (!spec.branch.startsWith(COLONY_BRANCH_PREFIX)) throw new ValidationError(`the task's worktree branch ${spec.branch} is not one of Colony's (${COLONY_BRANCH_PREFIX}…)`);
  const known = (await git.listWorktrees(repo)).some((w) => resolve(w.path) === resolve(spec.path));
  // A project in a folder of the repository works in the same folder of the worktree.
  const within = relative(repo, await realpath(projectDir));
  const workspace = within === '' || within.startsWith('..') || isAbsolute(within) ? spec.path : join(spec.path, within);
  if (spec.mode === 'resolve') {
    if (!known || !existsSync(spec.path)) throw new ExecutionError(`the merge worktree ${spec.path} is gone`, { retryable: false });
    return workspace;
  }
  if (!known || !existsSync(spec.path)) {
    await git.prune(repo);
    await git.addWorktree(repo, spec.path, spec.branch, spec.base);
  } else {
    await git.resetHard(spec.path, spec.base);
  }
  await mkdir(workspace, { recursive: true });
  return workspace;
}

/** Commits what the attempt changed: the task's commit (its base when it changed nothing), or the finished merge. */
export async function commitTaskWorktree(git: Git, spec: TaskWorktreeSpec, message: string): Promise<string> {
  if (spec.mode === 'resolve') {
    if (!(await git.merging(spec.path))) throw new ExecutionError('the merge in the worktree is no longer in progress', { retryable: false });
    const marked = await conflictMarkers(git, spec.path);
    // Retried: the next attempt finds the files as this one left them.
    if (marked.length > 0) throw new ExecutionError(`conflict markers are still in ${marked.join(', ')}; resolve them`);
  }
  // What an agent may not change never reaches the branch: a `.claude/settings.json` or `.mcp.json` its
  // command created (the sandbox keeps only existing ones read-only) would run code for whoever merges.
  return git.commitAll(spec.path, message, PROTECTED_NAMES.map((rule) => rule.name));
}

/** Files among the merge's conflicted ones that still hold conflict markers. */
async function conflictMarkers(git: Git, worktree: string): Promise<string[]> {
  const files = await git.unmerged(worktree);
  const marked: string[] = [];
  for (const file of files) {
    const text = await readFile(join(worktree, file), 'utf8').catch(() => '');
    if (/^<<<<<<< |^>>>>>>> /m.test(text)) marked.push(file);
  }
  return marked;
}
