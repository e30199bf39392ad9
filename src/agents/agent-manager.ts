import type { AgentRecord, AgentStatus, AgentTrackRecord, AgentTypeDefinition } from '../domain/agent.js';
import { canAgentTransition } from '../domain/agent.js';
import { CapacityError, ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { IdKind } from '../domain/ids.js';
import type { TaskRecord, TaskRequirements } from '../domain/task.js';
import type { EventBus } from '../ports/event-bus.js';
import type { AgentPatch, AgentQuery, HealthThresholds, Store } from '../ports/store.js';
import { hasCapacity, rankAgents, satisfies } from './agent-selector.js';
import { resolveAgentRef } from './resolve-agent-ref.js';

/** Consecutive failures after which an agent is marked degraded, then unhealthy (and not selected). */
export const HEALTH_THRESHOLDS: HealthThresholds = { degraded: 3, unhealthy: 5 };

export interface AgentManagerOptions {
  store: Store;
  events: EventBus;
  /** Loads the catalog on first use (parsing 60-odd files is not free) and memoises it. */
  catalog: () => Promise<AgentCatalog>;
  /**
   * Agent types a program defined in code, by name: they override the catalog's files, so a task naming
   * one runs without the files being read and parsed. Absent: the catalog alone.
   */
  codeType?: (name: string) => AgentTypeDefinition | undefined;
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

/** How often a status change is retried when another process changed the agent meanwhile. */
const STATUS_CHANGE_ATTEMPTS = 5;
/** How long a track record read for scoring is reused before it is read again (others' outcomes). */
const TRACK_RECORD_TTL_MS = 1_000;

/**
 * Agent lifecycle (spawn, pause, resume, terminate), the pool bound, and assignment of agents to
 * tasks by capability, load and track record. Every change is one atomic statement in the store, so
 * any number of processes can assign the same agents: a slot is never given twice or lost, a race
 * lost to another process is only a reason to try the next agent, and the failure streak behind an
 * agent's health is kept in the store, not in one process's memory.
 */
export class AgentManager {
  private readonly options: AgentManagerOptions;
  /** A short-lived cache of the metrics table, for scoring only; reports read the store. */
  private readonly records = new Map<string, { record: AgentTrackRecord; readAt: number }>();

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
    const def = this.options.codeType?.(name) ?? (await this.options.catalog()).types.get(name);
    if (!def) throw new ValidationError(`unknown agent type "${name}"; see \`colony agent types\` for the list`, { details: { type: name } });
    return def;
  }

  async spawn(input: SpawnInput): Promise<AgentRecord> {
    const def = await this.type(input.type);
    if (input.name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/.test(input.name)) {
      throw new ValidationError(`invalid agent name "${input.name}": 1-64 letters, digits, space, dot, dash or underscore`);
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
    if (!(await this.options.store.agents.insert(agent, { maxActive: this.options.maxAgents }))) {
      const active = await this.options.store.agents.count({ excludeTerminated: true });
      throw new CapacityError(`agent pool is full (${active} of ${this.options.maxAgents}); terminate an agent or raise agents.maxAgents`, {
        details: { active, max: this.options.maxAgents },
      });
    }
    this.options.events.publish(
      'agent.spawned',
      { agentId: id, name: agent.name, type: agent.type, capabilities: agent.capabilities },
      { source: SOURCE, correlationId: id },
    );
    return agent;
  }

  async get(idOrPrefix: string): Promise<AgentRecord> {
    const id = await this.resolveId(idOrPrefix);
    const agent = await this.options.store.agents.get(id);
    if (!agent) throw new NotFoundError('agent', idOrPrefix);
    return agent;
  }

  /** An agent's id from its id, a unique id prefix, or its name. */
  resolveId(ref: string): Promise<string> {
    return resolveAgentRef(ref, this.options.store);
  }

  list(query: AgentQuery = {}): Promise<AgentRecord[]> {
    return this.options.store.agents.list(query);
  }

  count(query: Omit<AgentQuery, 'limit' | 'offset' | 'order'> = {}): Promise<number> {
    return this.options.store.agents.count(query);
  }

  /** Pauses or resumes an agent (idle <-> paused); a paused agent is not selected for tasks. */
  setStatus(idOrPrefix: string, status: Extract<AgentStatus, 'idle' | 'paused'>): Promise<AgentRecord> {
    // Resuming is also how an operator clears an unhealthy mark: the agent gets a fresh start.
    const patch: AgentPatch = status === 'idle' ? { status, health: 'healthy', resetFailures: true } : { status };
    return this.changeStatus(idOrPrefix, patch);
  }

  async terminate(idOrPrefix: string, reason = 'terminated by user'): Promise<AgentRecord> {
    const done = await this.changeStatus(idOrPrefix, { status: 'terminated', terminatedAt: this.options.now() });
    this.options.events.publish('agent.terminated', { agentId: done.id, reason }, { source: SOURCE, correlationId: done.id });
    return done;
  }

  async health(idOrPrefix: string): Promise<AgentHealthReport> {
    const agent = await this.get(idOrPrefix);
    const records = await this.options.store.metrics.agentTrackRecords([agent.id]);
    return {
      agent,
      trackRecord: records.get(agent.id) ?? { tasksCompleted: 0, tasksFailed: 0, meanDurationMs: null },
      load: agent.currentTasks.length / agent.maxConcurrency,
    };
  }

  /**
   * Finds an agent for a task and takes one of its slots: the best existing one with room, else the
   * next best (another process may have taken the last slot meanwhile), else a newly spawned one of
   * a matching type when the pool is not full. Undefined: none is free now; wait and ask again.
   */
  async acquire(requirements: TaskRequirements, taskId: string): Promise<AgentRecord | undefined> {
    for (const candidate of await this.candidates(requirements)) {
      const claimed = await this.claim(candidate, taskId);
      if (claimed) return claimed;
    }
    // A task pinned to a pool (a swarm's agents) waits for one of them rather than spawning.
    if (requirements.agentIds) return undefined;
    const type = await this.typeFor(requirements);
    if (!type) return undefined;
    let spawned: AgentRecord;
    try {
      spawned = await this.spawn({ type: type.name });
    } catch (error) {
      if (error instanceof CapacityError) return undefined;
      throw error;
    }
    return this.claim(spawned, taskId);
  }

  /**
   * `acquire` for a claimed task, in one store transaction per try: the first of the ranked agents with
   * a free slot is taken and recorded on the task together (`tasks.assignAgent`), so concurrent claims
   * in this or other processes do not race for the best agent write by write. When none has room and
   * the task is not pinned, a new agent of a matching type is spawned and tried once.
   */
  async assign(task: TaskRecord): Promise<{ agent: AgentRecord; task: TaskRecord } | { refused: 'no_free_agent' | 'task_changed' }> {
    const requirements = task.requirements;
    const ranked = await this.candidates(requirements);
    const attempt = async (candidates: readonly AgentRecord[]) => {
      const result = await this.options.store.tasks.assignAgent({ taskId: task.id, attempts: task.attempts, agentIds: candidates.map((a) => a.id), now: this.options.now() });
      if ('agent' in result) this.announceAssigned(result.agent, candidates.find((a) => a.id === result.agent.id) ?? result.agent, task.id);
      return result;
    };
    const first = ranked.length > 0 ? await attempt(ranked) : ({ refused: 'no_free_agent' } as const);
    // A task pinned to a pool (a swarm's agents) waits for one of them rather than spawning.
    if ('agent' in first || first.refused === 'task_changed' || requirements.agentIds) return first;
    const type = await this.typeFor(requirements);
    if (!type) return first;
    let spawned: AgentRecord;
    try {
      spawned = await this.spawn({ type: type.name });
    } catch (error) {
      if (error instanceof CapacityError) return first;
      throw error;
    }
    return attempt([spawned]);
  }

  /**
   * Whether `acquire` could find an agent now, read only: an agent with room (by the store's latest
   * record) or, for a task not pinned to agents, a type to spawn while the pool is not full.
   */
  async mayServe(requirements: TaskRequirements): Promise<boolean> {
    if ((await this.freeAgents(requirements)).some((a) => satisfies(a, requirements))) return true;
    if (requirements.agentIds || !(await this.typeFor(requirements))) return false;
    return (await this.options.store.agents.count({ excludeTerminated: true })) < this.options.maxAgents;
  }

  /** Returns an agent's slot after a task and records the outcome in its track record and health. */
  async release(agentId: string, taskId: string, outcome: { success: boolean; durationMs: number }): Promise<void> {
    const now = this.options.now();
    const metrics = this.options.store.metrics.record([
      {
        entityType: 'agent',
        entityId: agentId,
        name: outcome.success ? 'task.completed' : 'task.failed',
        value: outcome.success ? outcome.durationMs : 1,
        metadata: { taskId },
        timestamp: now,
      },
    ]);
    const cached = this.records.get(agentId);
    if (cached) cached.record = addOutcome(cached.record, outcome);
    const released = await this.options.store.agents.releaseSlot(agentId, taskId, outcome.success ? 'success' : 'failure', HEALTH_THRESHOLDS, now);
    await metrics;
    if (!released) return;
    this.publishUpdated(released.agent, released.previous);
    this.options.events.publish('agent.released', { agentId, taskId, success: outcome.success }, { source: SOURCE, correlationId: taskId });
  }

  /**
   * Frees the slot an agent held for a task whose process died (crash recovery). No outcome is
   * recorded: losing the process is not the agent's failure.
   */
  async releaseLost(agentId: string, taskId: string): Promise<void> {
    const released = await this.options.store.agents.releaseSlot(agentId, taskId, 'lost', HEALTH_THRESHOLDS, this.options.now());
    if (released) this.publishUpdated(released.agent, released.previous);
  }

  /** The free agents that meet the requirements, best first (the track records are read only to order several). */
  private async candidates(requirements: TaskRequirements): Promise<AgentRecord[]> {
    const agents = (await this.freeAgents(requirements)).filter((a) => satisfies(a, requirements) && hasCapacity(a));
    if (agents.length <= 1) return agents;
    return rankAgents(agents, requirements, await this.trackRecords(agents.map((a) => a.id)));
  }

  /**
   * The agents with a free slot now, narrowed in the store to the task's pinned agents or type: read
   * for every claimed task, so it reads the few that could take it, not the whole pool.
   */
  private freeAgents(requirements: TaskRequirements): Promise<AgentRecord[]> {
    const { agentIds, agentType } = requirements;
    return this.options.store.agents.listFree({ ...(agentIds === undefined ? {} : { ids: agentIds }), ...(agentType ? { type: agentType } : {}) });
  }

  private async claim(candidate: AgentRecord, taskId: string): Promise<AgentRecord | undefined> {
    const claimed = await this.options.store.agents.claimSlot(candidate.id, taskId, this.options.now());
    if (!claimed) return undefined;
    this.announceAssigned(claimed, candidate, taskId);
    return claimed;
  }

  private announceAssigned(agent: AgentRecord, before: AgentRecord, taskId: string): void {
    this.publishUpdated(agent, before);
    this.options.events.publish('agent.assigned', { agentId: agent.id, taskId }, { source: SOURCE, correlationId: taskId });
  }

  /**
   * A status change checked against the state machine and written compare-and-set on the stored
   * status; when another process changed the agent meanwhile, it is read again and re-checked.
   */
  private async changeStatus(idOrPrefix: string, patch: AgentPatch): Promise<AgentRecord> {
    for (let attempt = 1; ; attempt++) {
      const agent = await this.get(idOrPrefix);
      if (patch.status === 'terminated' && agent.status === 'terminated') throw new ConflictError(`agent ${agent.id} is already terminated`);
      const wanted = patch.status ?? agent.status;
      const target = wanted === 'idle' && agent.currentTasks.length > 0 ? 'busy' : wanted;
      if (!canAgentTransition(agent.status, target)) {
        throw new ConflictError(`agent ${agent.id} cannot go from ${agent.status} to ${target}`, { details: { from: agent.status, to: target } });
      }
      const changed = await this.options.store.agents.patch(agent.id, patch, { status: agent.status }, this.options.now());
      if (changed) {
        this.publishUpdated(changed, agent);
        return changed;
      }
      if (attempt >= STATUS_CHANGE_ATTEMPTS) throw new ConflictError(`agent ${agent.id} kept changing; try again`);
    }
  }

  private publishUpdated(next: AgentRecord, previous: Pick<AgentRecord, 'status' | 'health'>): void {
    if (next.status === previous.status && next.health === previous.health) return;
    this.options.events.publish(
      'agent.updated',
      { agentId: next.id, status: next.status, health: next.health, previous: previous.status },
      { source: SOURCE, correlationId: next.id },
    );
  }

  /** The most specialised catalog type that meets the requirements (fewest extra capabilities). */
  private async typeFor(requirements: TaskRequirements): Promise<AgentTypeDefinition | undefined> {
    if (requirements.agentType) return this.options.codeType?.(requirements.agentType) ?? (await this.options.catalog()).types.get(requirements.agentType);
    const wanted = requirements.capabilities ?? [];
    return (await this.types())
      .filter((t) => wanted.every((c) => t.capabilities.includes(c)))
      .sort((a, b) => a.capabilities.length - b.capabilities.length)[0];
  }

  private async trackRecords(ids: readonly string[]): Promise<Map<string, AgentTrackRecord>> {
    const now = this.options.now();
    const stale = ids.filter((id) => {
      const cached = this.records.get(id);
      return !cached || now - cached.readAt > TRACK_RECORD_TTL_MS;
    });
    if (stale.length > 0) {
      const loaded = await this.options.store.metrics.agentTrackRecords(stale);
      for (const id of stale) this.records.set(id, { record: loaded.get(id) ?? { tasksCompleted: 0, tasksFailed: 0, meanDurationMs: null }, readAt: now });
    }
    return new Map(ids.map((id) => [id, (this.records.get(id) as { record: AgentTrackRecord }).record]));
  }
}

function addOutcome(record: AgentTrackRecord, outcome: { success: boolean; durationMs: number }): AgentTrackRecord {
  if (!outcome.success) return { ...record, tasksFailed: record.tasksFailed + 1 };
  const n = record.tasksCompleted + 1;
  const mean = record.meanDurationMs === null ? outcome.durationMs : record.meanDurationMs + (outcome.durationMs - record.meanDurationMs) / n;
  return { ...record, tasksCompleted: n, meanDurationMs: mean };
}
