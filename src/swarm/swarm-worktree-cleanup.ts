import { rm, rmdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExecutionError } from '../domain/errors.js';
import type { SwarmGitConfig, SwarmGitResult } from '../domain/swarm.js';
import type { Git } from '../ports/git.js';
import { isInside, worktreeRoot } from '../tasks/task-worktree.js';
import { mergeWorktreePath, swarmWorktreeFolder, taskBranch } from './worktree-names.js';

/** The swarm branch's head; an ExecutionError when the branch is gone (someone deleted it). */
export async function swarmHead(git: Git, config: SwarmGitConfig): Promise<string> {
  const head = await git.resolve(config.repo, `refs/heads/${config.branch}`);
  if (head === null) throw new ExecutionError(`the swarm's branch ${config.branch} is gone from ${config.repo}`, { retryable: false });
  return head;
}

/**
 * What an ended swarm leaves in git, once its worktrees are removed (a merge left in progress is
 * aborted): the swarm branch's head, the files changed from its base, and the task branches kept
 * because their commits are not in the swarm branch (those that are, are deleted: nothing is lost).
 */
export async function endSwarmWorktrees(git: Git, config: SwarmGitConfig, swarmId: string, planTaskIds: readonly string[]): Promise<Pick<SwarmGitResult, 'head' | 'files' | 'kept'>> {
  const folder = swarmWorktreeFolder(config.repo, swarmId);
  const mergePath = mergeWorktreePath(config.repo, swarmId);
  const worktrees = await git.listWorktrees(config.repo);
  if (worktrees.some((w) => resolve(w.path) === resolve(mergePath)) && (await git.merging(mergePath))) await git.abortMerge(mergePath);
  for (const worktree of worktrees) if (isInside(folder, resolve(worktree.path))) await git.removeWorktree(config.repo, worktree.path);
  await rm(folder, { recursive: true, force: true });
  // The repository's folder goes too once no other swarm has worktrees in it (rmdir refuses otherwise).
  await rmdir(worktreeRoot(config.repo)).catch(() => undefined);
  await git.prune(config.repo);
  const head = await swarmHead(git, config);
  const files = await git.diffFiles(config.repo, config.base, head);
  const kept: string[] = [];
  for (const id of planTaskIds) {
    const branch = taskBranch(swarmId, id);
    const tip = await git.resolve(config.repo, `refs/heads/${branch}`);
    if (tip === null) continue;
    if (await git.isAncestor(config.repo, tip, head)) await git.deleteBranch(config.repo, branch);
    else kept.push(branch);
  }
  return { head, files, kept };
}
