import type { AgentRecord } from '../domain/agent.js';
import type { RunnerRegistry } from '../kernel/runner-registry.js';
import { resolveIdPrefix } from '../kernel/resolve-id.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { IdKind } from '../domain/ids.js';
import {
  canSwarmTransition,
  emptyUsage,
  isSwarmFinished,
  type SwarmConfig,
  type SwarmGitConfig,
  type SwarmGitResult,
  type SwarmRecord,
  type SwarmStatus,
  type SwarmTaskOutcome,
} from '../domain/swarm.js';
import { isTerminal, TASK_STATUSES, type TaskRecord, type TaskStatus } from '../domain/task.js';
import type { SwarmQuery } from '../ports/swarm-store.js';
import { cancelUnlessFinished } from './cancel-task.js';
import { planProblem } from './plan-check.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';
import { SwarmRun, type SwarmRunDeps } from './swarm-run.js';
import { endSwarmWorktrees } from './swarm-worktree-cleanup.js';
import { swarmBranch } from './worktree-names.js';
import { parseSwarmSpec, type SwarmSpec } from './swarm-spec.js';
import type { SwarmDiff, SwarmStatusReport, SwarmTaskView, SwarmVote, Swarms } from './swarms.js';
import { swarmUsageReport, type SwarmUsageReport } from './swarm-usage.js';
import { centralized } from './topologies/centralized.js';
import { distributed } from './topologies/distributed.js';
import { hierarchical } from './topologies/hierarchical.js';
import { mesh } from './topologies/mesh.js';
import type { TopologyStrategy } from './topologies/topology.js';

const STRATEGIES: Record<SwarmRecord['topology'], TopologyStrategy> = { centralized, mesh, hierarchical, distributed };
const ACTIVE: SwarmStatus[] = ['planning', 'running', 'paused'];
/** How often a started coordinator looks for swarms whose coordinating process died. */
const ORPHAN_SCAN_MS = 5_000;
const SOURCE = 'swarm';

export interface SwarmCoordinatorDeps extends Omit<SwarmRunDeps, 'runnerId' | 'servedPools'> {
  runners: RunnerRegistry;
  newId: (kind: IdKind) => string;
  /** The project directory: when it is in a git repository (and `git` is given), swarms work in worktrees of it. */
  workspace?: string;
}

/**
 * The swarm API (`colony.swarms`): creates swarms, runs them in this process while the colony is
 * started (one SwarmRun each), resumes swarms whose process died, and carries out pause, resume
 * and stop whichever process runs the swarm.
 */
export class SwarmCoordinator implements Swarms {
  private readonly deps: SwarmCoordinatorDeps;
  private readonly runs = new Map<string, SwarmRun>();
  private started = false;
  private scanTimer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private only: string | null = null;
  private none = false;

  constructor(deps: SwarmCoordinatorDeps) {
    this.deps = deps;
  }

  async create(input: unknown): Promise<SwarmRecord> {
    const spec = parseSwarmSpec(input);
    const knownTypes = new Set((await this.deps.agents.types()).map((t) => t.name));
    for (const entry of spec.roster ?? []) {
      if (!knownTypes.has(entry.type)) throw new ValidationError(`swarm: roster: unknown agent type "${entry.type}"; see \`colony agent types\``);
    }
    if (spec.plan) {
      const problem = planProblem(spec.plan.tasks, { knownTypes });
      if (problem !== undefined) throw new ValidationError(`swarm: plan: ${problem}`);
    }
    // A provider that cannot be used (no API key, unknown) is refused now, not after the swarm is stored.
    await this.deps.provider(spec.provider ?? null, spec.model ?? null);
    const now = this.deps.now();
    const id = this.deps.newId('swarm');
    const traceParent = this.deps.tracer?.currentTraceParent() ?? null;
    const git = spec.worktrees ? await this.gitConfig(id) : null;
    const config = configOf(spec, now, git);
    const swarm: SwarmRecord = {
      id,
      name: spec.name ?? `${spec.topology}-${id.slice(-6)}`,
      objective: spec.objective,
      topology: spec.topology,
      status: 'planning',
      config: traceParent === null ? config : { ...config, traceParent },
      plan: spec.plan ? { summary: spec.plan.summary, tasks: spec.plan.tasks.map((t) => ({ ...t, dependsOn: [...t.dependsOn] })) } : null,
      progress: 0,
      result: null,
      error: null,
      usage: emptyUsage(),
      leaderAgentId: null,
      agentIds: [],
      runnerId: this.started ? this.deps.runners.id : null,
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      finishedAt: null,
    };
    await this.deps.store.swarms.insert(swarm);
    this.deps.events.publish('swarm.created', { swarmId: id, name: swarm.name, topology: swarm.topology, objective: swarm.objective }, { source: SOURCE, correlationId: id });
    if (this.started) this.launch(swarm);
    return swarm;
  }

  async get(idOrPrefix: string): Promise<SwarmRecord> {
    const id = await resolveIdPrefix('swarm', idOrPrefix, (p, n) => this.deps.store.swarms.findIdsByPrefix(p, n));
    const swarm = await this.deps.store.swarms.get(id);
    if (!swarm) throw new NotFoundError('swarm', idOrPrefix);
    return swarm;
  }

  list(query: SwarmQuery = {}): Promise<SwarmRecord[]> {
    return this.deps.store.swarms.list(query);
  }

  count(query: Omit<SwarmQuery, 'limit' | 'offset'> = {}): Promise<number> {
    return this.deps.store.swarms.count(query);
  }

  async status(idOrPrefix: string): Promise<SwarmStatusReport> {
    const swarm = await this.get(idOrPrefix);
    const engineTasks = await this.deps.store.tasks.list({ swarmId: swarm.id, order: 'created' });
    const latest = new Map<string, { task: TaskRecord; revisions: number }>();
    for (const task of engineTasks) {
      if (task.name === null) continue;
      const previous = latest.get(task.name);
      latest.set(task.name, { task, revisions: previous ? previous.revisions + 1 : 0 });
    }
    const agents: AgentRecord[] = [];
    for (const agentId of swarm.agentIds) {
      const agent = await this.deps.store.agents.get(agentId);
      if (agent) agents.push(agent);
    }
    const typeOf = new Map(agents.map((a) => [a.id, a.type]));
    const tasks: SwarmTaskView[] = (swarm.plan?.tasks ?? []).map((planTask) => {
      const entry = latest.get(planTask.id);
      const agentId = entry?.task.assignedAgent ?? null;
      return {
        planTaskId: planTask.id,
        title: planTask.title,
        taskId: entry?.task.id ?? null,
        status: entry?.task.status ?? 'waiting',
        agentId,
        agentType: agentId === null ? (planTask.agentType ?? null) : (typeOf.get(agentId) ?? planTask.agentType ?? null),
        pool: planTask.affinity ?? null,
        workerPool: entry?.task.pool ?? null,
        runnerId: entry?.task.runnerId ?? null,
        domain: planTask.domain ?? null,
        revisions: entry?.revisions ?? 0,
        error: entry?.task.error ?? null,
        startedAt: entry?.task.startedAt ?? null,
        completedAt: entry?.task.completedAt ?? null,
        attempts: entry?.task.attempts ?? 0,
      };
    });
    const counts = Object.fromEntries([...TASK_STATUSES, 'waiting'].map((s) => [s, 0])) as Record<TaskStatus | 'waiting', number>;
    for (const t of tasks) counts[t.status] += 1;
    const proposals = await this.deps.store.consensus.listProposals({ swarmId: swarm.id, limit: 50 });
    return { swarm, counts, tasks, agents, proposals };
  }

  async votes(idOrPrefix: string): Promise<SwarmVote[]> {
    const swarm = await this.get(idOrPrefix);
    const proposals = await this.deps.store.consensus.listProposals({ swarmId: swarm.id, limit: 50 });
    return Promise.all(proposals.map(async (proposal) => ({ proposal, votes: await this.deps.store.consensus.listVotes({ proposalId: proposal.id }) })));
  }

  async usage(idOrPrefix: string): Promise<SwarmUsageReport> {
    const swarm = await this.get(idOrPrefix);
    const [total, parts, tasks] = await Promise.all([
      this.deps.store.modelCalls.swarmUsage(swarm.id),
      this.deps.store.modelCalls.swarmUsageParts(swarm.id),
      this.deps.store.tasks.list({ swarmId: swarm.id, order: 'created' }),
    ]);
    const planTask = new Map(tasks.map((t) => [t.id, t.name]));
    return swarmUsageReport(swarm.id, total, parts, swarm.config.limits, (taskId) => planTask.get(taskId) ?? null);
  }

  async diff(idOrPrefix: string): Promise<SwarmDiff> {
    const swarm = await this.get(idOrPrefix);
    const config = swarm.config.git ?? null;
    if (config === null || this.deps.git === undefined) {
      throw new ConflictError(`swarm ${swarm.id} has no git branch: its workspace is not a git repository, or it was created with worktrees off`);
    }
    const head = swarm.result?.git?.head ?? (await this.deps.git.resolve(config.repo, `refs/heads/${config.branch}`));
    if (head === null) throw new ConflictError(`the branch ${config.branch} of swarm ${swarm.id} is gone from ${config.repo}`);
    const [files, patch] = await Promise.all([this.deps.git.diffFiles(config.repo, config.base, head), this.deps.git.diff(config.repo, config.base, head)]);
    return { swarmId: swarm.id, branch: config.branch, base: config.base, head, files, patch };
  }

  async pause(idOrPrefix: string): Promise<SwarmRecord> {
    return this.control(idOrPrefix, 'paused', 'paused by user');
  }

  async resume(idOrPrefix: string): Promise<SwarmRecord> {
    const swarm = await this.get(idOrPrefix);
    const resumed = await this.control(swarm.id, swarm.plan === null ? 'planning' : 'running', 'resumed by user');
    // Nobody may be coordinating it (its process died while it was paused): take it here.
    if (this.started) await this.scan();
    return resumed;
  }

  async stop(idOrPrefix: string, reason = 'stopped by user'): Promise<SwarmRecord> {
    const swarm = await this.get(idOrPrefix);
    if (isSwarmFinished(swarm.status)) throw new ConflictError(`swarm ${swarm.id} is already ${swarm.status}`);
    const local = this.runs.get(swarm.id);
    if (local) {
      local.requestStop(reason);
      return local.done;
    }
    const live = new Set((await this.deps.runners.liveRunners()).map((r) => r.id));
    const stopped = await this.control(swarm.id, 'stopped', reason, { error: { code: 'stopped', message: reason } });
    // A live process coordinating it sees the status and winds it down; otherwise it is done here.
    if (stopped.runnerId !== null && live.has(stopped.runnerId) && stopped.runnerId !== this.deps.runners.id) return stopped;
    return this.windDown(stopped, reason);
  }

  async waitFor(idOrPrefix: string, signal?: AbortSignal): Promise<SwarmRecord> {
    const id = (await this.get(idOrPrefix)).id;
    for (;;) {
      signal?.throwIfAborted();
      // A run in this process is what winds the swarm down (cancelling its tasks) even when the stop
      // came from elsewhere and the record already says stopped: wait for the run, not the record.
      const local = this.runs.get(id);
      if (local) {
        await Promise.race([local.done, abortedBy(signal)]);
        const ended = await this.deps.store.swarms.get(id);
        if (ended && isSwarmFinished(ended.status)) return ended;
        // Detached (this process is stopping): the record is what is left to watch.
        if (this.runs.get(id) === local) await delay(SWARM_DEFAULTS.pollMs, signal);
        continue;
      }
      const swarm = await this.deps.store.swarms.get(id);
      if (!swarm) throw new NotFoundError('swarm', id);
      if (isSwarmFinished(swarm.status)) return swarm;
      await delay(SWARM_DEFAULTS.pollMs, signal);
    }
  }

  /**
   * Starts coordinating: resumes orphaned swarms now and keeps looking for them. `only`: this
   * process runs one swarm's tasks (a scoped `colony swarm`), so it coordinates no other;
   * `none`: it runs a workflow or chosen tasks, and coordinates swarms only it creates.
   */
  async start(options: { only?: string; none?: boolean } = {}): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.only = options.only ?? null;
    this.none = options.none ?? false;
    await this.scan();
    this.scanTimer = setInterval(() => void this.scan(), ORPHAN_SCAN_MS);
    this.scanTimer.unref();
  }

  /** Stops coordinating: runs are left as they are, for this or another process to resume. */
  async shutdown(): Promise<void> {
    this.started = false;
    if (this.scanTimer) clearInterval(this.scanTimer);
    this.scanTimer = null;
    await this.scanning;
    const runs = [...this.runs.values()];
    for (const run of runs) run.detach();
    await Promise.allSettled(runs.map((r) => r.done));
    this.runs.clear();
  }

  /**
   * Where a new swarm's git work starts: HEAD of the workspace's repository. Null when the workspace
   * is in none, or its repository has no commit yet: the swarm shares the workspace then.
   */
  private async gitConfig(swarmId: string): Promise<SwarmGitConfig | null> {
    const { git, workspace } = this.deps;
    if (git === undefined || workspace === undefined) return null;
    const repo = await git.topLevel(workspace);
    if (repo === null) return null;
    const base = await git.resolve(repo, 'HEAD');
    if (base === null) {
      this.deps.logger.warn({ swarmId, repo }, 'swarm: the repository has no commit yet; its tasks share the workspace');
      return null;
    }
    const dirty = await git.isDirty(repo);
    if (dirty) this.deps.logger.warn({ swarmId, repo }, 'swarm: the checkout has uncommitted changes; the swarm starts from the last commit (HEAD) and does not see them');
    return { repo, base, branch: swarmBranch(swarmId), dirty };
  }

  /**
   * A swarm stopped where no process coordinates it: its worktrees (left by a process that died) are
   * removed. Its merges stop where they were; every task branch not in the swarm's branch is kept.
   */
  private async endWorktrees(swarm: SwarmRecord): Promise<SwarmGitResult | undefined> {
    const config = swarm.config.git ?? null;
    if (config === null || this.deps.git === undefined) return undefined;
    try {
      const ids = (swarm.plan?.tasks ?? []).map((t) => t.id);
      const { head, files, kept } = await endSwarmWorktrees(this.deps.git, config, swarm.id, ids);
      const merged: string[] = [];
      return { branch: config.branch, base: config.base, head, dirty: config.dirty, files, merged, conflicts: [], kept };
    } catch (error) {
      this.deps.logger.warn({ err: error, swarmId: swarm.id }, 'swarm: could not clean up its git worktrees');
      return undefined;
    }
  }

  private launch(swarm: SwarmRecord): void {
    const run = new SwarmRun(swarm, STRATEGIES[swarm.topology], { ...this.deps, runnerId: this.deps.runners.id, servedPools: () => this.deps.runners.servedPools() });
    this.runs.set(swarm.id, run);
    void run.done.finally(() => {
      if (this.runs.get(swarm.id) === run) this.runs.delete(swarm.id);
    });
  }

  /** Takes over active swarms that no live process coordinates (compare-and-set on the record). */
  private scan(): Promise<void> {
    this.scanning ??= (async () => {
      try {
        const live = new Set((await this.deps.runners.liveRunners()).map((r) => r.id));
        for (const swarm of await this.deps.store.swarms.list({ status: ACTIVE })) {
          if (!this.started || this.none || this.runs.has(swarm.id) || (this.only !== null && swarm.id !== this.only)) continue;
          const orphan = swarm.runnerId === null || swarm.runnerId === this.deps.runners.id || !live.has(swarm.runnerId);
          if (!orphan) continue;
          const claimed: SwarmRecord = { ...swarm, runnerId: this.deps.runners.id, updatedAt: Math.max(this.deps.now(), swarm.updatedAt + 1) };
          if (!(await this.deps.store.swarms.update(claimed, { status: swarm.status, updatedAt: swarm.updatedAt }))) continue;
          // The dead coordinator's calls in flight will never report: they count at their reservation.
          if (swarm.runnerId !== null && swarm.runnerId !== this.deps.runners.id) await this.deps.store.modelCalls.markLost([swarm.runnerId], this.deps.now());
          this.launch(claimed);
        }
      } catch (error) {
        this.deps.logger.warn({ err: error }, 'could not look for swarms to resume');
      } finally {
        this.scanning = null;
      }
    })();
    return this.scanning;
  }

  private async control(idOrPrefix: string, status: SwarmStatus, reason: string, extra: Partial<SwarmRecord> = {}): Promise<SwarmRecord> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const swarm = await this.get(idOrPrefix);
      const verb = status === 'paused' ? 'paused' : status === 'stopped' ? 'stopped' : 'resumed';
      if (swarm.status === status || !canSwarmTransition(swarm.status, status)) {
        throw new ConflictError(`swarm ${swarm.id} is ${swarm.status === status ? `already ${status}` : swarm.status}; it cannot be ${verb}`);
      }
      const next: SwarmRecord = { ...swarm, ...extra, status, updatedAt: Math.max(this.deps.now(), swarm.updatedAt + 1) };
      if (await this.deps.store.swarms.update(next, { status: swarm.status, updatedAt: swarm.updatedAt })) {
        this.deps.events.publish('swarm.status_changed', { swarmId: swarm.id, status, previous: swarm.status, reason }, { source: SOURCE, correlationId: swarm.id });
        this.runs.get(swarm.id)?.controlChanged();
        return next;
      }
    }
    throw new ConflictError(`swarm ${idOrPrefix} keeps changing; try again`);
  }

  /** Stops a swarm no process coordinates: cancels its unfinished tasks and keeps the rest. */
  private async windDown(swarm: SwarmRecord, reason: string): Promise<SwarmRecord> {
    const tasks = await this.deps.store.tasks.list({ swarmId: swarm.id, order: 'created' });
    for (const task of tasks) {
      if (isTerminal(task.status)) continue;
      await cancelUnlessFinished(this.deps.tasks, task.id, `swarm stopped: ${reason}`).catch((error: unknown) => {
        this.deps.logger.warn({ swarmId: swarm.id, taskId: task.id, error: (error as Error).message }, 'could not cancel a task of the swarm');
      });
    }
    const latest = new Map<string, TaskRecord>();
    for (const task of await this.deps.store.tasks.list({ swarmId: swarm.id, order: 'created' })) if (task.name !== null) latest.set(task.name, task);
    const outcomes: SwarmTaskOutcome[] = (swarm.plan?.tasks ?? []).map((t) => {
      const task = latest.get(t.id);
      return { planTaskId: t.id, title: t.title, taskId: task?.id ?? null, status: task?.status === 'completed' ? 'done' : task ? 'failed' : 'skipped', result: task?.status === 'completed' ? task.result : null };
    });
    const done = outcomes.filter((o) => o.status === 'done').length;
    const git = await this.endWorktrees(swarm);
    const next: SwarmRecord = {
      ...swarm,
      result: { summary: `Stopped before finishing (${reason}); ${done} of ${outcomes.length} tasks completed.`, partial: true, tasks: outcomes, ...(git ? { git } : {}) },
      progress: outcomes.length === 0 ? 0 : done / outcomes.length,
      finishedAt: this.deps.now(),
      updatedAt: Math.max(this.deps.now(), swarm.updatedAt + 1),
    };
    if (await this.deps.store.swarms.update(next, { status: swarm.status, updatedAt: swarm.updatedAt })) {
      this.deps.events.publish('swarm.finished', { swarmId: swarm.id, status: 'stopped', partial: true, error: reason }, { source: SOURCE, correlationId: swarm.id });
      return next;
    }
    return this.get(swarm.id);
  }
}

function configOf(spec: SwarmSpec, now: number, git: SwarmGitConfig | null): SwarmConfig {
  const rosterTotal = spec.roster?.reduce((sum, r) => sum + r.count, 0);
  const poolTotal = spec.pools ? Object.values(spec.pools).reduce((sum, n) => sum + n, 0) : undefined;
  const workers = rosterTotal ?? poolTotal ?? spec.agents ?? SWARM_DEFAULTS.agents;
  let pools: Record<string, number> | null = null;
  if (spec.topology === 'distributed') {
    const fromRoster = spec.roster?.filter((r) => r.pool !== undefined);
    if (spec.pools) pools = { ...spec.pools };
    else if (fromRoster && fromRoster.length > 0) {
      pools = {};
      for (const r of fromRoster) pools[r.pool as string] = (pools[r.pool as string] ?? 0) + r.count;
    } else {
      // Two pools by default (a distributed swarm of one pool is just a mesh).
      const half = Math.ceil(workers / 2);
      pools = workers > 1 ? { 'pool-1': half, 'pool-2': workers - half } : { 'pool-1': workers };
    }
  }
  return {
    roster: spec.roster ?? [],
    autoRoster: spec.roster === undefined,
    workers,
    pools,
    limits: {
      maxAgents: spec.maxAgents,
      concurrency: spec.concurrency,
      maxTokens: spec.maxTokens ?? null,
      maxCostUsd: spec.maxCostUsd ?? null,
      deadline: spec.deadline === undefined ? null : now + spec.deadline,
    },
    provider: spec.provider ?? null,
    model: spec.model ?? null,
    review: spec.review ?? (spec.topology === 'centralized' || spec.topology === 'mesh'),
    maxRevisions: spec.maxRevisions,
    planSource: spec.plan ? 'user' : 'llm',
    git,
  };
}

/** Never resolves; rejects with the signal's reason when it aborts. */
function abortedBy(signal?: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
