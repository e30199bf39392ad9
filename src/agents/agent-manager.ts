import type { AgentHealth, AgentRecord, AgentStatus, AgentTrackRecord, AgentTypeDefinition } from '../domain/agent.js';
import { canAgentTransition } from '../domain/agent.js';
import { CapacityError, ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { IdKind } from '../domain/ids.js';
import type { TaskRequirements } from '../domain/task.js';
import type { EventBus } from '../core/event-bus.js';
import type { AgentQuery, Store } from '../ports/store.js';
import { resolveIdPrefix } from '../core/resolve-id.js';
import { satisfies, selectAgent } from './agent-selector.js';

/** Consecutive failures after which an agent is marked degraded, then unhealthy (and not selected). */
export const HEALTH_THRESHOLDS = { degraded: 3, unhealthy: 5 } as const;

export interface AgentManagerOptions {
  store: Store;
  events: EventBus;
  /** Loads the catalog on first use (parsing 60-odd files is not free) and memoises it. */
  catalog: () => Promise<AgentCatalog>;
  maxAgents: number;
  newId: (kind: IdKind) => string;
  now: () => number;
}

export interface AgentCatalog {
  types: ReadonlyMap<string, AgentTypeDefinition>;
  problems: readonly { path: string; message: string }[];
}

export interface SpawnInput {
  type: string;
  name?: string;
  /** Extra capabilities on top of the type's. */
  capabilities?: string[];
  config?: Record<string, unknown>;
}

export interface AgentHealthReport {
  agent: AgentRecord;
  trackRecord: AgentTrackRecord;
  load: number;
}

const SOURCE = 'agent-manager';

/**
 * Agent lifecycle (spawn, update, terminate), the pool bound, and assignment of agents to tasks by
 * capability, load and track record. Assignment is serialised within the process so that two tasks
 * never take the last slot of the same agent.
 */
export class AgentManager {
  private readonly options: AgentManagerOptions;
  private readonly records = new Map<string, AgentTrackRecord>();
  private readonly failureStreak = new Map<string, number>();
  /**
   * Agent records written but not yet committed. Decisions are made under the lock against these,
   * and the lock is released before the commit: assignments in one event-loop turn share one
   * transaction instead of queueing a commit each.
   */
  private readonly unsaved = new Map<string, AgentRecord>();
  private lock: Promise<unknown> = Promise.resolve();

  constructor(options: AgentManagerOptions) {
    this.options = options;
  }

  async types(): Promise<AgentTypeDefinition[]> {
    return [...(await this.options.catalog()).types.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Agent files that were skipped, each with the reason. */
  async catalogProblems(): Promise<readonly { path: string; message: string }[]> {
    return (await this.options.catalog()).problems;
  }

  async type(name: string): Promise<AgentTypeDefinition> {
    const def = (await this.options.catalog()).types.get(name);
    if (!def) throw new ValidationError(`unknown agent type "${name}"; see \`colony agent types\` for the list`, { details: { type: name } });
    return def;
  }

  spawn(input: SpawnInput): Promise<AgentRecord> {
    return this.serial(() => this.spawnNow(input));
  }

  private async spawnNow(input: SpawnInput): Promise<AgentRecord> {
    const def = await this.type(input.type);
    if (input.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/.test(input.name)) {
      throw new ValidationError(`invalid agent name "${input.name}": 1-64 letters, digits, space, dot, dash or underscore`);
    }
    const active = await this.options.store.countAgents({ excludeTerminated: true });
    if (active >= this.options.maxAgents) {
      throw new CapacityError(`agent pool is full (${active} of ${this.options.maxAgents}); terminate an agent or raise agents.maxAgents`, {
        details: { active, max: this.options.maxAgents },
      });
    }
    const now = this.options.now();
    const id = this.options.newId('agent');
    const agent: AgentRecord = {
      id,
      name: input.name ?? `${def.name}-${id.slice(-6)}`,
      type: def.name,
      status: 'idle',
      health: 'healthy',
      capabilities: [...new Set([...def.capabilities, ...(input.capabilities ?? [])])],
      config: input.config ?? {},
      currentTasks: [],
      maxConcurrency: def.maxConcurrency,
      createdAt: now,
      updatedAt: now,
      terminatedAt: null,
    };
    await this.options.store.insertAgent(agent);
    this.options.events.publish(
      'agent.spawned',
      { agentId: id, name: agent.name, type: agent.type, capabilities: agent.capabilities },
      { source: SOURCE, correlationId: id },
    );
    return agent;
  }

  async get(idOrPrefix: string): Promise<AgentRecord> {
    const id = await this.resolveId(idOrPrefix);
    const agent = this.unsaved.get(id) ?? (await this.options.store.getAgent(id));
    if (!agent) throw new NotFoundError('agent', idOrPrefix);
    return agent;
  }

  resolveId(idOrPrefix: string): Promise<string> {
    return resolveIdPrefix('agent', idOrPrefix, (p, n) => this.options.store.findAgentIdsByPrefix(p, n));
  }

  list(query: AgentQuery = {}): Promise<AgentRecord[]> {
    return this.options.store.listAgents(query);
  }

  /** Pauses or resumes an agent (idle <-> paused); a paused agent is not selected for tasks. */
  setStatus(idOrPrefix: string, status: Extract<AgentStatus, 'idle' | 'paused'>): Promise<AgentRecord> {
    return this.serial(async () => {
      const agent = await this.get(idOrPrefix);
      const next = status === 'idle' && agent.currentTasks.length > 0 ? 'busy' : status;
      if (status !== 'idle') return this.change(agent, { status: next });
      // Resuming is also how an operator clears an unhealthy mark: the agent gets a fresh start.
      this.failureStreak.set(agent.id, 0);
      return this.change(agent, { status: next, health: 'healthy' });
    });
  }

  terminate(idOrPrefix: string, reason = 'terminated by user'): Promise<AgentRecord> {
    return this.serial(async () => {
      const agent = await this.get(idOrPrefix);
      if (agent.status === 'terminated') throw new ConflictError(`agent ${agent.id} is already terminated`);
      const done = await this.change(agent, { status: 'terminated', terminatedAt: this.options.now() });
      this.options.events.publish('agent.terminated', { agentId: agent.id, reason }, { source: SOURCE, correlationId: agent.id });
      return done;
    });
  }

  async health(idOrPrefix: string): Promise<AgentHealthReport> {
    const agent = await this.get(idOrPrefix);
    const records = await this.trackRecords([agent.id]);
    return {
      agent,
      trackRecord: records.get(agent.id) ?? { tasksCompleted: 0, tasksFailed: 0, meanDurationMs: null },
      load: agent.currentTasks.length / agent.maxConcurrency,
    };
  }

  /**
   * Finds an agent for a task and assigns it: the best existing one, or a newly spawned one of a
   * matching type when none has room and the pool is not full. Undefined: wait and ask again.
   */
  async acquire(requirements: TaskRequirements, taskId: string): Promise<AgentRecord | undefined> {
    const staged = await this.serial(async () => {
      const agents = this.withUnsaved(await this.options.store.listAgents({ status: ['idle', 'busy'] }));
      const eligible = agents.filter((a) => satisfies(a, requirements));
      let agent = selectAgent(eligible, requirements, await this.trackRecords(eligible.map((a) => a.id)));
      // A task pinned to a pool (a swarm's agents) waits for one of them rather than spawning.
      if (!agent && requirements.agentIds) return undefined;
      if (!agent) {
        const type = await this.typeFor(requirements);
        const active = await this.options.store.countAgents({ excludeTerminated: true });
        if (!type || active >= this.options.maxAgents) return undefined;
        agent = await this.spawnNow({ type: type.name });
      }
      return this.stage(agent, { status: 'busy', currentTasks: [...agent.currentTasks, taskId] });
    });
    if (!staged) return undefined;
    await staged.saved;
    this.options.events.publish('agent.assigned', { agentId: staged.next.id, taskId }, { source: SOURCE, correlationId: taskId });
    return staged.next;
  }

  /** Returns an agent's slot after a task and records the outcome in its track record. */
  async release(agentId: string, taskId: string, outcome: { success: boolean; durationMs: number }): Promise<void> {
    const work = await this.serial(async () => {
      const now = this.options.now();
      const metrics = this.options.store.recordMetrics([
        {
          entityType: 'agent',
          entityId: agentId,
          name: outcome.success ? 'task.completed' : 'task.failed',
          value: outcome.success ? outcome.durationMs : 1,
          metadata: { taskId },
          timestamp: now,
        },
      ]);
      const record = this.records.get(agentId);
      if (record) this.records.set(agentId, addOutcome(record, outcome));
      const streak = outcome.success ? 0 : (this.failureStreak.get(agentId) ?? 0) + 1;
      this.failureStreak.set(agentId, streak);

      const agent = this.unsaved.get(agentId) ?? (await this.options.store.getAgent(agentId));
      if (!agent || agent.status === 'terminated') return { metrics, staged: null };
      const currentTasks = agent.currentTasks.filter((t) => t !== taskId);
      const status: AgentStatus = agent.status === 'busy' && currentTasks.length === 0 ? 'idle' : agent.status;
      return { metrics, staged: this.stage(agent, { currentTasks, status, health: healthFor(streak) }) };
    });
    await work.metrics;
    await work.staged?.saved;
    this.options.events.publish('agent.released', { agentId, taskId, success: outcome.success }, { source: SOURCE, correlationId: taskId });
  }

  /**
   * Frees the slot an agent held for a task whose process died (crash recovery). No outcome is
   * recorded: losing the process is not the agent's failure.
   */
  async releaseLost(agentId: string, taskId: string): Promise<void> {
    const staged = await this.serial(async () => {
      const agent = this.unsaved.get(agentId) ?? (await this.options.store.getAgent(agentId));
      if (!agent || agent.status === 'terminated' || !agent.currentTasks.includes(taskId)) return null;
      const currentTasks = agent.currentTasks.filter((t) => t !== taskId);
      return this.stage(agent, { currentTasks, status: agent.status === 'busy' && currentTasks.length === 0 ? 'idle' : agent.status });
    });
    await staged?.saved;
  }

  /** The most specialised catalog type that meets the requirements (fewest extra capabilities). */
  private async typeFor(requirements: TaskRequirements): Promise<AgentTypeDefinition | undefined> {
    if (requirements.agentType) return (await this.options.catalog()).types.get(requirements.agentType);
    const wanted = requirements.capabilities ?? [];
    return (await this.types())
      .filter((t) => wanted.every((c) => t.capabilities.includes(c)))
      .sort((a, b) => a.capabilities.length - b.capabilities.length)[0];
  }

  private async change(agent: AgentRecord, patch: AgentPatch): Promise<AgentRecord> {
    const staged = this.stage(agent, patch);
    await staged.saved;
    return staged.next;
  }

  /**
   * Applies a change in memory at once (later decisions see it) and writes it; `saved` settles when
   * the write commits, rejecting with a ConflictError if the agent was terminated meanwhile.
   */
  private stage(agent: AgentRecord, patch: AgentPatch): { next: AgentRecord; saved: Promise<void> } {
    const status = patch.status ?? agent.status;
    if (!canAgentTransition(agent.status, status)) {
      throw new ConflictError(`agent ${agent.id} cannot go from ${agent.status} to ${status}`, { details: { from: agent.status, to: status } });
    }
    const next: AgentRecord = { ...agent, ...patch, updatedAt: this.options.now() };
    this.unsaved.set(agent.id, next);
    const saved = this.options.store.updateAgent(next).then(
      (written) => {
        if (this.unsaved.get(agent.id) === next) this.unsaved.delete(agent.id);
        if (!written) throw new ConflictError(`agent ${agent.id} was terminated meanwhile`);
        if (next.status !== agent.status || next.health !== agent.health) {
          this.options.events.publish(
            'agent.updated',
            { agentId: agent.id, status: next.status, health: next.health, previous: agent.status },
            { source: SOURCE, correlationId: agent.id },
          );
        }
      },
      (error: unknown) => {
        if (this.unsaved.get(agent.id) === next) this.unsaved.delete(agent.id);
        throw error;
      },
    );
    return { next, saved };
  }

  /** Store records with this process's not yet committed changes applied. */
  private withUnsaved(agents: readonly AgentRecord[]): AgentRecord[] {
    if (this.unsaved.size === 0) return [...agents];
    return agents.map((a) => this.unsaved.get(a.id) ?? a).filter((a) => a.status === 'idle' || a.status === 'busy');
  }

  private async trackRecords(ids: readonly string[]): Promise<Map<string, AgentTrackRecord>> {
    const missing = ids.filter((id) => !this.records.has(id));
    if (missing.length > 0) {
      const loaded = await this.options.store.agentTrackRecords(missing);
      for (const id of missing) this.records.set(id, loaded.get(id) ?? { tasksCompleted: 0, tasksFailed: 0, meanDurationMs: null });
    }
    return new Map(ids.map((id) => [id, this.records.get(id) as AgentTrackRecord]));
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }
}

type AgentPatch = Partial<Pick<AgentRecord, 'status' | 'health' | 'currentTasks' | 'terminatedAt'>>;

function healthFor(streak: number): AgentHealth {
  if (streak >= HEALTH_THRESHOLDS.unhealthy) return 'unhealthy';
  if (streak >= HEALTH_THRESHOLDS.degraded) return 'degraded';
  return 'healthy';
}

function addOutcome(record: AgentTrackRecord, outcome: { success: boolean; durationMs: number }): AgentTrackRecord {
  if (!outcome.success) return { ...record, tasksFailed: record.tasksFailed + 1 };
  const n = record.tasksCompleted + 1;
  const mean = record.meanDurationMs === null ? outcome.durationMs : record.meanDurationMs + (outcome.durationMs - record.meanDurationMs) / n;
  return { ...record, tasksCompleted: n, meanDurationMs: mean };
}
