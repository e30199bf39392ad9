import { execFile } from 'node:child_process';
import { ExecutionError } from '../../domain/errors.js';
import type { Git, GitDiffFile, GitMergeOutcome, GitWorktree } from '../../ports/git.js';

/** Longest one git command may run: a merge or a diff of a large repository, not a network fetch. */
const GIT_TIMEOUT_MS = 120_000;
/** Most output read from one git command (a diff's patch). */
const GIT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** Who Colony's commits are by. */
const COLONY_AUTHOR = { name: 'Colony agent', email: 'agent@colony.invalid' };
/**
 * Settings for every command: commits are Colony's (not the user's identity, never signed), and the
 * repository's hooks and file-system monitor do not run (they are code the repository names, and an
 * agent's commit is not theirs to vet).
 */
const FIXED_CONFIG = ['-c', `user.name=${COLONY_AUTHOR.name}`, '-c', `user.email=${COLONY_AUTHOR.email}`, '-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false'];

interface GitRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The git port over the `git` command: fixed argument lists, no shell, and no GIT_* settings of this process. */
export function createGitCli(): Git {
  const env = gitEnv(process.env);

  const run = (cwd: string, args: readonly string[]): Promise<GitRun> =>
    new Promise((resolve, reject) => {
      execFile('git', [...FIXED_CONFIG, ...args], { cwd, env, timeout: GIT_TIMEOUT_MS, maxBuffer: GIT_MAX_OUTPUT_BYTES, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new ExecutionError(`git ${args[0]} failed in ${cwd}: ${error.message}`, { cause: error }));
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      });
    });

  const ok = async (cwd: string, args: readonly string[]): Promise<string> => {
    const result = await run(cwd, args);
    if (result.code !== 0) throw new ExecutionError(`git ${args.join(' ')} failed in ${cwd}: ${(result.stderr || result.stdout).trim()}`);
    return result.stdout;
  };

  const unmerged = async (worktree: string): Promise<string[]> => lines(await ok(worktree, ['diff', '--name-only', '--diff-filter=U', '-z'])).sort();

  return {
    async topLevel(dir) {
      try {
        const result = await run(dir, ['rev-parse', '--show-toplevel']);
        return result.code === 0 ? result.stdout.trim() : null;
      } catch {
        return null;
      }
    },
    async resolve(dir, revision) {
      const result = await run(dir, ['rev-parse', '--verify', '--quiet', `${revision}^{commit}`]);
      return result.code === 0 ? result.stdout.trim() : null;
    },
    async isDirty(dir) {
      return (await ok(dir, ['status', '--porcelain', '-z', '--untracked-files=no'])).length > 0;
    },
    async setBranch(repo, branch, commit) {
      await ok(repo, ['branch', '--force', '--', branch, commit]);
    },
    async deleteBranch(repo, branch) {
      await ok(repo, ['branch', '-D', '--', branch]);
    },
    async addWorktree(repo, path, branch, at) {
      await ok(repo, at === null ? ['worktree', 'add', '--', path, branch] : ['worktree', 'add', '-B', branch, '--', path, at]);
    },
    async removeWorktree(repo, path) {
      await ok(repo, ['worktree', 'remove', '--force', '--force', '--', path]);
    },
    async listWorktrees(repo) {
      return parseWorktrees(await ok(repo, ['worktree', 'list', '--porcelain', '-z']));
    },
    async prune(repo) {
      await ok(repo, ['worktree', 'prune']);
    },
    async resetHard(worktree, commit) {
      await ok(worktree, ['reset', '--hard', '--quiet', commit]);
      await ok(worktree, ['clean', '-fdq']);
    },
    async commitAll(worktree, message, excluded = []) {
      const leftOut = excluded.flatMap((name) => [`:(exclude,glob,icase)**/${name}`, `:(exclude,glob,icase)**/${name}/**`]);
      await ok(worktree, ['add', '-A', '--', '.', ...leftOut]);
      const staged = await run(worktree, ['diff', '--cached', '--quiet']);
      // A merge in progress is committed even when its result equals one side (nothing staged against HEAD).
      const merging = (await run(worktree, ['rev-parse', '--verify', '--quiet', 'MERGE_HEAD'])).code === 0;
      if (staged.code !== 0 || merging) await ok(worktree, ['commit', '--quiet', '--no-verify', '-m', message]);
      return (await ok(worktree, ['rev-parse', 'HEAD'])).trim();
    },
    async isAncestor(dir, ancestor, descendant) {
      const result = await run(dir, ['merge-base', '--is-ancestor', ancestor, descendant]);
      if (result.code === 0) return true;
      if (result.code === 1) return false;
      throw new ExecutionError(`git merge-base failed in ${dir}: ${result.stderr.trim()}`);
    },
    async merge(worktree, commit, message): Promise<GitMergeOutcome> {
      const result = await run(worktree, ['merge', '--no-ff', '--no-verify', '--no-edit', '-m', message, commit]);
      if (result.code === 0) return { head: (await ok(worktree, ['rev-parse', 'HEAD'])).trim(), conflicts: [] };
      const conflicts = await unmerged(worktree);
      if (conflicts.length === 0) throw new ExecutionError(`git merge failed in ${worktree}: ${(result.stderr || result.stdout).trim()}`);
      return { head: null, conflicts };
    },
    unmerged,
    async merging(worktree) {
      return (await run(worktree, ['rev-parse', '--verify', '--quiet', 'MERGE_HEAD'])).code === 0;
    },
    async abortMerge(worktree) {
      await ok(worktree, ['merge', '--abort']);
    },
    async diffFiles(dir, from, to): Promise<GitDiffFile[]> {
      return lines(await ok(dir, ['diff', '--numstat', '-z', '--no-renames', from, to])).map((line) => {
        const [additions, deletions, ...path] = line.split('\t');
        return { path: path.join('\t'), additions: additions === '-' ? null : Number(additions), deletions: deletions === '-' ? null : Number(deletions) };
      });
    },
    async diff(dir, from, to) {
      return ok(dir, ['diff', '--no-color', '--no-ext-diff', from, to]);
    },
  };
}

/** This process's environment without GIT_* settings, which would point git at another repository or identity. */
function gitEnv(source: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(source)) if (!key.startsWith('GIT_')) env[key] = value;
  env.GIT_TERMINAL_PROMPT = '0';
  env.LC_ALL = 'C';
  return env;
}

/** NUL-separated output as its parts, the empty tail left off. */
function lines(output: string): string[] {
  return output.split('\0').filter((part) => part !== '');
}

function parseWorktrees(output: string): GitWorktree[] {
  const worktrees: GitWorktree[] = [];
  let current: GitWorktree | null = null;
  for (const field of output.split('\0')) {
    if (field.startsWith('worktree ')) {
      current = { path: field.slice('worktree '.length), head: null, branch: null };
      worktrees.push(current);
    } else if (current && field.startsWith('HEAD ')) current.head = field.slice('HEAD '.length);
    else if (current && field.startsWith('branch ')) current.branch = field.slice('branch '.length).replace(/^refs\/heads\//, '');
  }
  return worktrees;
}
