import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ExecutionError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import type { PlanTask, SwarmGitConfig, SwarmGitResult, SwarmMergeConflict, SwarmPlan } from '../domain/swarm.js';
import { isTerminal } from '../domain/task.js';
import type { Logger } from '../kernel/logger.js';
import type { Git } from '../ports/git.js';
import type { Store } from '../ports/store.js';
import type { TaskEngine } from '../tasks/task-engine.js';
import type { TaskWorktreeSpec } from '../tasks/task-worktree.js';
import { cancelUnlessFinished } from './cancel-task.js';
import type { PlanTaskTable } from './plan-task-table.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';
import type { SwarmPublish } from './swarm-publisher.js';
import type { SwarmRecordKeeper } from './swarm-record.js';
import type { SwarmTaskState } from './swarm-task-state.js';
import type { Route } from './topologies/topology.js';
import { endSwarmWorktrees, swarmHead } from './swarm-worktree-cleanup.js';
import { mergeWorktreePath, taskBranch, taskWorktreePath } from './worktree-names.js';

/**
 * A resolving task is named after the engine task whose commit it merges (one per commit, found again
 * on resume). Its name is longer than a plan task id may be (64), so that it is never taken for one.
 */
const RESOLVE_TASK_PREFIX = 'resolve-merge-of-';
const RESOLVE_TASK_SUFFIX = '-into-the-swarm-branch';

function resolveTaskName(sourceTaskId: string): string {
  return `${RESOLVE_TASK_PREFIX}${sourceTaskId}${RESOLVE_TASK_SUFFIX}`;
}

/** The engine task whose commit a resolving task merges, from its name; undefined for any other task. */
function resolvedTaskId(name: string | null): string | undefined {
  if (name === null || !name.startsWith(RESOLVE_TASK_PREFIX) || !name.endsWith(RESOLVE_TASK_SUFFIX)) return undefined;
  return name.slice(RESOLVE_TASK_PREFIX.length, -RESOLVE_TASK_SUFFIX.length);
}

export interface SwarmWorktreesDeps {
  /** Absent: no worktrees, whatever the swarm's config says. */
  git?: Git;
  store: Store;
  tasks: TaskEngine;
  record: SwarmRecordKeeper;
  table: PlanTaskTable;
  publish: SwarmPublish;
  logger: Logger;
  /** Where a resolving task goes: to the workers the plan task's topology routes it to. */
  route(task: PlanTask): Route;
  traceParent(): string | null;
}

/** A merge stopped on conflicts, and the task resolving it in the merge worktree. */
interface Resolving {
  planTaskId: string;
  commit: string;
  files: string[];
  taskId: string;
}

/**
 * A swarm's git work, when its workspace is a repository: each dispatched plan task gets its own
 * worktree and branch, started from the swarm branch's head; the coordinator merges each done task's
 * commit into the swarm's branch (in its own merge worktree, never the user's checkout) before the
 * tasks that depend on it are dispatched. A conflict goes to a resolving agent working in the merge
 * worktree; if it fails, the conflict is recorded, the plan task fails and both branches are kept.
 *
 * Git is the truth, so that a resumed coordinator loses nothing: a task's commit is in its result, a
 * commit that is an ancestor of the swarm branch is merged, one that is not is merged now, and the
 * resolving tasks are engine tasks of the swarm. When the swarm ends, its worktrees are removed and
 * the task branches whose commits are in the swarm branch deleted.
 */
export class SwarmWorktrees {
  private readonly deps: SwarmWorktreesDeps;
  /** Done plan tasks whose work is in the swarm branch (their dependents may go). */
  private readonly landedIds = new Set<string>();
  /** Of those, the ones that had a commit of their own. */
  private readonly mergedIds = new Set<string>();
  private readonly conflicts = new Map<string, SwarmMergeConflict>();
  /** Resolving tasks by the engine task whose commit they merge. */
  private readonly resolvers = new Map<string, string>();
  private resolving: Resolving | null = null;
  private started = false;

  constructor(deps: SwarmWorktreesDeps) {
    this.deps = deps;
  }

  private get config(): SwarmGitConfig | null {
    return this.deps.git === undefined ? null : (this.deps.record.swarm.config.git ?? null);
  }

  private get git(): Git {
    return this.deps.git as Git;
  }

  /** Whether a done plan task's work is in the swarm branch (always, without git). */
  landed(planTaskId: string): boolean {
    return this.config === null || this.landedIds.has(planTaskId);
  }

  /** No merge is pending: every done plan task has landed (or its conflict stands). */
  settled(): boolean {
    if (this.config === null) return true;
    if (this.resolving !== null) return false;
    for (const [id, state] of this.deps.table.states) if (state.status === 'done' && !this.landedIds.has(id)) return false;
    return true;
  }

  /** A new worktree for a plan task's dispatch, at the swarm branch's head; null without git. */
  async worktreeFor(task: PlanTask): Promise<TaskWorktreeSpec | null> {
    const git = this.config;
    if (git === null) return null;
    await this.start(git);
    const path = taskWorktreePath(git.repo, this.deps.record.id, task.id);
    const branch = taskBranch(this.deps.record.id, task.id);
    const base = await this.head(git);
    // A revision starts afresh from the swarm's head, like the first dispatch.
    await this.removeWorktree(git, path);
    await this.git.addWorktree(git.repo, path, branch, base);
    return { path, branch, base, mode: 'task' };
  }

  /** Merges the done plan tasks' commits into the swarm branch, in plan order, stopping at a conflict being resolved. */
  async mergeDone(): Promise<void> {
    const git = this.config;
    if (git === null) return;
    await this.start(git);
    if (this.resolving !== null && !(await this.settleResolving(git, this.resolving))) return;
    for (const task of (this.deps.record.plan as SwarmPlan).tasks) {
      const state = this.deps.table.states.get(task.id);
      if (state?.status !== 'done' || this.landedIds.has(task.id)) continue;
      const commit = commitOf(state.result);
      if (commit === null) {
        this.landedIds.add(task.id);
        continue;
      }
      // Merged already (before a crash, or a task that changed nothing): skipped.
      if (await this.git.isAncestor(git.repo, commit, await this.head(git))) {
        this.landedIds.add(task.id);
        this.mergedIds.add(task.id);
        continue;
      }
      if (!(await this.merge(git, task, state, commit))) return;
    }
  }

  /**
   * The swarm is ending: a resolving task still running is cancelled, and what the swarm produced is
   * read before its worktrees are removed. Undefined without git; a git failure is logged, not fatal.
   */
  async finish(): Promise<SwarmGitResult | undefined> {
    const git = this.config;
    if (git === null) return undefined;
    try {
      await this.start(git);
      if (this.resolving !== null) {
        const taskId = this.resolving.taskId;
        await cancelUnlessFinished(this.deps.tasks, taskId, 'the swarm ended').catch((error: unknown) => {
          this.deps.logger.warn({ err: error, swarmId: this.deps.record.id, taskId }, 'swarm: could not cancel the task resolving a merge');
        });
        await this.settleResolving(git, this.resolving, true);
      }
      const { head, files, kept } = await endSwarmWorktrees(this.git, git, this.deps.record.id, (this.deps.record.plan?.tasks ?? []).map((t) => t.id));
      const merged = (this.deps.record.plan?.tasks ?? []).map((t) => t.id).filter((id) => this.mergedIds.has(id));
      return { branch: git.branch, base: git.base, head, dirty: git.dirty, files, merged, conflicts: [...this.conflicts.values()], kept };
    } catch (error) {
      this.deps.logger.warn({ err: error, swarmId: this.deps.record.id }, 'swarm: could not read or clean up its git worktrees');
      return undefined;
    }
  }

  /**
   * Once per run: the swarm branch exists, worktrees whose folders are gone are forgotten, the
   * resolving tasks are known, and a merge left in progress by a crash is taken up again (its
   * resolving task still runs) or aborted (to be merged again).
   */
  private async start(git: SwarmGitConfig): Promise<void> {
    if (this.started) return;
    await this.git.prune(git.repo);
    if ((await this.git.resolve(git.repo, `refs/heads/${git.branch}`)) === null) await this.git.setBranch(git.repo, git.branch, git.base);
    const tasks = await this.deps.store.tasks.list({ swarmId: this.deps.record.id, order: 'created' });
    for (const task of tasks) {
      const source = resolvedTaskId(task.name);
      if (source !== undefined) this.resolvers.set(source, task.id);
    }
    const mergePath = mergeWorktreePath(git.repo, this.deps.record.id);
    if ((await this.hasWorktree(git, mergePath)) && (await this.git.merging(mergePath))) {
      const live = tasks.find((t) => resolvedTaskId(t.name) !== undefined && !isTerminal(t.status));
      const source = live === undefined ? undefined : tasks.find((t) => t.id === resolvedTaskId(live.name));
      const commit = source === undefined ? null : commitOf(source.result);
      if (live !== undefined && source?.name && commit !== null) {
        this.resolving = { planTaskId: source.name, commit, files: await this.git.unmerged(mergePath), taskId: live.id };
      } else {
        await this.git.abortMerge(mergePath);
      }
    }
    this.started = true;
  }

  /** Merges one commit: true when it landed (or its conflict stands), false while a resolving task works on it. */
  private async merge(git: SwarmGitConfig, task: PlanTask, state: SwarmTaskState, commit: string): Promise<boolean> {
    const mergePath = await this.mergeWorktree(git);
    const outcome = await this.git.merge(mergePath, commit, `Merge ${task.id}: ${task.title}`);
    if (outcome.head !== null) {
      this.landedIds.add(task.id);
      this.mergedIds.add(task.id);
      this.deps.publish('swarm.task_merged', { swarmId: this.deps.record.id, planTaskId: task.id, commit, head: outcome.head, resolvedBy: null });
      return true;
    }
    const sourceTaskId = state.taskId as string;
    // Its resolving task ran before (in a process that then stopped) and did not finish the merge.
    if (this.resolvers.has(sourceTaskId)) {
      await this.git.abortMerge(mergePath);
      this.conflictStands(task.id, commit, outcome.conflicts);
      return true;
    }
    const taskId = await this.dispatchResolver(git, task, state, commit, outcome.conflicts, mergePath);
    this.resolvers.set(sourceTaskId, taskId);
    this.resolving = { planTaskId: task.id, commit, files: outcome.conflicts, taskId };
    this.deps.publish('swarm.merge_conflicted', { swarmId: this.deps.record.id, planTaskId: task.id, commit, files: outcome.conflicts, resolvedBy: taskId });
    return false;
  }

  /** Looks at the resolving task: true once it has ended (the merge landed, or the conflict stands). */
  private async settleResolving(git: SwarmGitConfig, resolving: Resolving, ending = false): Promise<boolean> {
    const task = await this.deps.store.tasks.get(resolving.taskId);
    if (task !== undefined && !isTerminal(task.status) && !ending) return false;
    this.resolving = null;
    const mergePath = mergeWorktreePath(git.repo, this.deps.record.id);
    const merging = await this.git.merging(mergePath);
    if (!merging && (await this.git.isAncestor(git.repo, resolving.commit, await this.head(git)))) {
      this.landedIds.add(resolving.planTaskId);
      this.mergedIds.add(resolving.planTaskId);
      this.deps.publish('swarm.task_merged', { swarmId: this.deps.record.id, planTaskId: resolving.planTaskId, commit: resolving.commit, head: await this.head(git), resolvedBy: resolving.taskId });
      return true;
    }
    if (merging) await this.git.abortMerge(mergePath);
    this.conflictStands(resolving.planTaskId, resolving.commit, resolving.files);
    return true;
  }

  /** No one resolved the conflict: the plan task fails (its dependents do not run) and both branches stay. */
  private conflictStands(planTaskId: string, commit: string, files: string[]): void {
    const branch = taskBranch(this.deps.record.id, planTaskId);
    this.conflicts.set(planTaskId, { planTaskId, branch, commit, files });
    this.landedIds.add(planTaskId);
    const state = this.deps.table.state(planTaskId);
    state.status = 'failed';
    state.text = `its commit ${commit.slice(0, 12)} conflicts with the swarm's branch in ${files.join(', ')}; kept on branch ${branch}`;
    this.deps.publish('swarm.merge_conflicted', { swarmId: this.deps.record.id, planTaskId, commit, files, resolvedBy: null });
  }

  private async dispatchResolver(git: SwarmGitConfig, task: PlanTask, state: SwarmTaskState, commit: string, files: string[], mergePath: string): Promise<string> {
    const swarm = this.deps.record.swarm;
    const head = await this.head(git);
    const prompt = [
      `The swarm's objective: ${swarm.objective}`,
      '',
      `Task ${task.id} (${task.title}) was done on its own branch, and merging its commit ${commit.slice(0, 12)} into the swarm's branch stopped on conflicts in:`,
      ...files.map((f) => `- ${f}`),
      '',
      'Your workspace holds that merge in progress. Edit each of these files so that it keeps the intent of both sides, and remove every conflict marker (<<<<<<<, =======, >>>>>>>). Do not commit: your edits are committed as the merge when you are done.',
      '',
      `What ${task.id} reported: ${state.text}`,
      '',
      'When done, report what you decided.',
    ].join('\n');
    const [created] = await this.deps.tasks.submit(
      [
        {
          type: 'agent',
          name: resolveTaskName(state.taskId as string),
          description: `Resolve the merge of ${task.id}: ${task.title}`,
          maxRetries: SWARM_DEFAULTS.workerMaxRetries,
          input: {
            prompt,
            worktree: { path: mergePath, branch: git.branch, base: head, mode: 'resolve' },
            ...(swarm.config.provider === null ? {} : { provider: swarm.config.provider }),
            ...(swarm.config.model === null ? {} : { model: swarm.config.model }),
            kind: 'merge',
          },
          requirements: { agentIds: this.deps.route(task).agentIds },
        },
      ],
      { swarmId: this.deps.record.id, traceParent: this.deps.traceParent() },
    );
    if (created === undefined) throw new ExecutionError(`could not dispatch the resolving of ${task.id}'s merge`);
    return created.id;
  }

  /** The worktree of the swarm branch, made when first needed. */
  private async mergeWorktree(git: SwarmGitConfig): Promise<string> {
    const path = mergeWorktreePath(git.repo, this.deps.record.id);
    if (await this.hasWorktree(git, path)) return path;
    await rm(path, { recursive: true, force: true });
    await this.git.addWorktree(git.repo, path, git.branch, null);
    return path;
  }

  private head(git: SwarmGitConfig): Promise<string> {
    return swarmHead(this.git, git);
  }

  private async hasWorktree(git: SwarmGitConfig, path: string): Promise<boolean> {
    if (!existsSync(path)) return false;
    return (await this.git.listWorktrees(git.repo)).some((w) => resolve(w.path) === resolve(path));
  }

  /** Removes a worktree (and a folder left where one was), if there. */
  private async removeWorktree(git: SwarmGitConfig, path: string): Promise<void> {
    if (await this.hasWorktree(git, path)) await this.git.removeWorktree(git.repo, path);
    await rm(path, { recursive: true, force: true });
    await this.git.prune(git.repo);
  }
}

/** The commit a plan task's result names (an agent task that worked in a worktree), if any. */
function commitOf(result: JsonValue | null | undefined): string | null {
  if (result === null || result === undefined || typeof result !== 'object' || Array.isArray(result)) return null;
  const worktree = result.worktree;
  if (worktree === null || worktree === undefined || typeof worktree !== 'object' || Array.isArray(worktree)) return null;
  return typeof worktree.commit === 'string' ? worktree.commit : null;
}
