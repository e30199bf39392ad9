/** A worktree of a repository, as `git worktree list --porcelain` reports it. */
export interface GitWorktree {
  path: string;
  /** The commit checked out; null for a bare entry. */
  head: string | null;
  /** The branch checked out (`refs/heads/` left off); null when detached. */
  branch: string | null;
}

/** A merge that stopped on conflicts: the files git could not merge. */
export interface GitMergeOutcome {
  /** The new head of the merging branch; null when it conflicted. */
  head: string | null;
  conflicts: string[];
}

/** One file of a diff, as `git diff --numstat` counts it (null counts: a binary file). */
export interface GitDiffFile {
  path: string;
  additions: number | null;
  deletions: number | null;
}

/**
 * The git operations Colony's swarms use for their worktrees: branches, worktrees, commits and merges
 * in a repository on this machine. Every method names the directory it works in (the repository's top
 * level or one of its worktrees) and throws ExecutionError when git fails.
 */
export interface Git {
  /** The top level of the repository `dir` is in; null when it is in none (or git is missing). */
  topLevel(dir: string): Promise<string | null>;
  /** The commit a revision (`HEAD`, a branch) names; null when it names none. */
  resolve(dir: string, revision: string): Promise<string | null>;
  /** Whether tracked files of the checkout have changes not committed (untracked files do not count). */
  isDirty(dir: string): Promise<boolean>;
  /** Points `branch` at `commit`, creating it or moving it (never a checked-out branch). */
  setBranch(repo: string, branch: string, commit: string): Promise<void>;
  deleteBranch(repo: string, branch: string): Promise<void>;
  /** Checks `branch` out in a new worktree at `path`; `at`: (re)points the branch there first. */
  addWorktree(repo: string, path: string, branch: string, at: string | null): Promise<void>;
  /** Removes a worktree, with whatever it holds. */
  removeWorktree(repo: string, path: string): Promise<void>;
  listWorktrees(repo: string): Promise<GitWorktree[]>;
  /** Forgets worktrees whose folders are gone. */
  prune(repo: string): Promise<void>;
  /** Puts a worktree back to `commit`: its branch moved there, changes and untracked files dropped. */
  resetHard(worktree: string, commit: string): Promise<void>;
  /**
   * Commits everything in the worktree (`add -A`), and a merge in progress; the new head, or the old
   * one when nothing changed. Files and folders named in `excluded` (at any depth, any case) are left
   * out: what changed there stays uncommitted.
   */
  commitAll(worktree: string, message: string, excluded?: readonly string[]): Promise<string>;
  /** Whether `ancestor` is `descendant` or one of its ancestors. */
  isAncestor(dir: string, ancestor: string, descendant: string): Promise<boolean>;
  /** Merges `commit` into the worktree's branch (always a merge commit); a conflict leaves the merge in progress. */
  merge(worktree: string, commit: string, message: string): Promise<GitMergeOutcome>;
  /** Files still unmerged in a merge in progress. */
  unmerged(worktree: string): Promise<string[]>;
  /** Whether a merge is in progress in the worktree. */
  merging(worktree: string): Promise<boolean>;
  abortMerge(worktree: string): Promise<void>;
  /** The files changed between two commits, with line counts. */
  diffFiles(dir: string, from: string, to: string): Promise<GitDiffFile[]>;
  /** The patch between two commits. */
  diff(dir: string, from: string, to: string): Promise<string>;
}
