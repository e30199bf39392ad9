import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { COLONY_BRANCH_PREFIX, worktreeRoot } from '../tasks/task-worktree.js';

/** Characters of a swarm id's tail in its branch names: ULIDs differ there even when made in the same millisecond. */
const SWARM_ID_TAIL = 10;
/** The merge worktree's folder name: plan task ids start with a letter or digit, so none is named this. */
const MERGE_FOLDER = '_merge';

function swarmTail(swarmId: string): string {
  return swarmId.slice(-SWARM_ID_TAIL);
}

/** A plan task id as a ref and folder name: git refuses `..` and a trailing `.` in refs. */
function safeName(planTaskId: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(planTaskId)) return planTaskId;
  const hash = createHash('sha256').update(planTaskId).digest('hex').slice(0, 8);
  return `${planTaskId.replace(/[^A-Za-z0-9_-]/g, '-')}-${hash}`;
}

/** The swarm's branch, where its tasks' commits are merged. */
export function swarmBranch(swarmId: string): string {
  return `${COLONY_BRANCH_PREFIX}swarm-${swarmTail(swarmId)}`;
}

/** A plan task's branch (beside, not under, the swarm's: a ref cannot be both a branch and a folder). */
export function taskBranch(swarmId: string, planTaskId: string): string {
  return `${swarmBranch(swarmId)}-${safeName(planTaskId)}`;
}

/** The folder of one swarm's worktrees. */
export function swarmWorktreeFolder(repo: string, swarmId: string): string {
  return join(worktreeRoot(repo), swarmTail(swarmId));
}

export function taskWorktreePath(repo: string, swarmId: string, planTaskId: string): string {
  return join(swarmWorktreeFolder(repo, swarmId), safeName(planTaskId));
}

/** The worktree of the swarm's branch, where merges happen (never the user's checkout). */
export function mergeWorktreePath(repo: string, swarmId: string): string {
  return join(swarmWorktreeFolder(repo, swarmId), MERGE_FOLDER);
}
