import type { AgentManager } from '../agents/agent-manager.js';
import type { Logger } from '../kernel/logger.js';
import type { AgentRecord, AgentTypeChoice, AgentTypeDefinition } from '../domain/agent.js';
import type { SwarmPlan, SwarmRecord, SwarmStatus } from '../domain/swarm.js';
import type { Store } from '../ports/store.js';
import { candidateTypes, deriveRoster } from './roster.js';
import type { SwarmPublish } from './swarm-publisher.js';
import type { SwarmRecordKeeper } from './swarm-record.js';
import type { TopologyStrategy } from './topologies/topology.js';

export interface SwarmSeatsDeps {
  store: Store;
  agents: AgentManager;
  logger: Logger;
  record: SwarmRecordKeeper;
  publish: SwarmPublish;
  leaderSeat: TopologyStrategy['leaderSeat'];
  /** Adaptive selection of an agent type for a kind of task, with what it was chosen from. */
  chooseType(candidates: readonly string[], kind: string): Promise<AgentTypeChoice>;
  /** After a worker is replaced: tasks pinned only to agents that are gone are dispatched again. */
  redispatchOrphans(liveWorkerIds: ReadonlySet<string>): Promise<void>;
  /** Wakes the run loop: dispatching waits while workers are being replaced. */
  poke(): void;
}

/**
 * The swarm's agents: seats (queen, root, manager, planner, aggregator) and workers with their
 * groups. Spawns them, puts a successor in a seat or a worker's place when its agent is terminated,
 * and retires them all when the swarm ends, so a swarm never runs short of agents nor leaks them.
 */
export class SwarmSeats {
  private readonly deps: SwarmSeatsDeps;
  /** Seat name to the agent in it. */
  private readonly seats = new Map<string, string>();
  /** Worker to its group (pool or domain) label. */
  private readonly groups = new Map<string, string>();
  private workerIds: string[] = [];
  private readonly agentCache = new Map<string, AgentRecord>();
  private typeCache: Map<string, AgentTypeDefinition> | null = null;
  /** Seats are refilled one after another: one successor per vacancy. */
  private seatLock: Promise<unknown> = Promise.resolve();
  /** Workers being replaced right now. */
  private replacing = 0;
  /** The swarm is ending: its agents are being retired, not replaced. */
  private finishing = false;

  constructor(deps: SwarmSeatsDeps) {
    this.deps = deps;
  }

  /** Takes back the swarm's agents from the store (another process may have spawned them). */
  async restore(agentIds: readonly string[]): Promise<void> {
    for (const agentId of agentIds) {
      const agent = await this.deps.store.agents.get(agentId);
      if (!agent) continue;
      this.agentCache.set(agent.id, agent);
      const config = agent.config as { role?: string; seat?: string; group?: string };
      if (config.role === 'worker' && agent.status !== 'terminated') this.workerIds.push(agent.id);
      if (config.role === 'seat' && config.seat && agent.status !== 'terminated') this.seats.set(config.seat, agent.id);
      if (config.group) this.groups.set(agent.id, config.group);
    }
  }

  hasWorkers(): boolean {
    return this.workerIds.length > 0;
  }

  isReplacingWorkers(): boolean {
    return this.replacing > 0;
  }

  /** An agent this swarm spawned or took back. */
  knows(agentId: string): boolean {
    return this.agentCache.has(agentId);
  }

  allAgentIds(): string[] {
    return [...new Set([...this.seats.values(), ...this.workerIds, ...this.deps.record.swarm.agentIds])];
  }

  /** The swarm's live workers. */
  workers(): AgentRecord[] {
    return this.workerIds.map((id) => this.agentCache.get(id)).filter((a): a is AgentRecord => a !== undefined && a.status !== 'terminated');
  }

  peerList(): string {
    return this.workers()
      .map((w) => `${w.id} (${w.type})`)
      .join(', ');
  }

  groupOf(agentId: string): string | null {
    return this.groups.get(agentId) ?? null;
  }

  async catalog(): Promise<Map<string, AgentTypeDefinition>> {
    this.typeCache ??= new Map((await this.deps.agents.types()).map((t) => [t.name, t]));
    return this.typeCache;
  }

  /** Spawns the workers for a plan (once), and types the plan tasks that named no agent type. */
  async staffFor(plan: SwarmPlan, groups?: readonly { label: string; share: number }[]): Promise<void> {
    if (this.workerIds.length > 0) return;
    const catalog = await this.catalog();
    const { config } = this.deps.record.swarm;
    const seats = Math.max(this.seats.size, this.deps.leaderSeat ? 1 : 0);
    const roster = await deriveRoster({
      config,
      plan,
      groups: groups ?? null,
      maxWorkers: Math.max(1, config.limits.maxAgents - seats),
      knownTypes: new Set(catalog.keys()),
      chooseType: (candidates, kind) => this.deps.chooseType(candidates, kind),
      candidatesFor: (task) => candidateTypes(task, catalog),
    });
    for (const slot of roster.slots) {
      const agent = await this.spawn(slot.type, { role: 'worker', ...(slot.group === null ? {} : { group: slot.group }) });
      this.workerIds.push(agent.id);
      if (slot.group !== null) this.groups.set(agent.id, slot.group);
    }
    // Tasks without a type run as what adaptive selection chose for them; the choice is reported.
    for (const [taskId, choice] of roster.assignments) {
      const task = plan.tasks.find((t) => t.id === taskId);
      if (task && task.agentType === undefined) task.agentType = choice.type;
      this.deps.publish('swarm.agent_type_chosen', { swarmId: this.deps.record.id, planTaskId: taskId, ...choice });
    }
    await this.deps.record.save({ agentIds: this.allAgentIds() });
  }

  /** The seat's live agent, or a newly spawned successor (serialised: one successor per vacancy). */
  seatAgent(seat: string, type: string, cause: unknown): Promise<AgentRecord> {
    const run = this.seatLock.then(async () => {
      const currentId = this.seats.get(seat);
      if (currentId) {
        const current = await this.deps.store.agents.get(currentId);
        if (current && current.status !== 'terminated') return current;
      }
      const successor = await this.spawn(type, { role: 'seat', seat });
      this.seats.set(seat, successor.id);
      const isLeader = this.deps.leaderSeat?.seat === seat;
      const patch: Partial<SwarmRecord> = { agentIds: this.allAgentIds(), ...(isLeader ? { leaderAgentId: successor.id } : {}) };
      await this.deps.record.save(patch);
      if (currentId) {
        const reason = cause instanceof Error ? cause.message : 'the agent was terminated';
        this.deps.publish('swarm.leader_changed', { swarmId: this.deps.record.id, previous: currentId, next: successor.id, reason: `${seat}: ${reason}` });
      }
      return successor;
    });
    this.seatLock = run.catch(() => undefined);
    return run;
  }

  /** An agent of this swarm was terminated: seats are refilled at once, workers replaced. */
  async onAgentTerminated(agentId: string): Promise<void> {
    const cached = this.agentCache.get(agentId);
    if (!cached || this.finishing) return;
    this.agentCache.set(agentId, { ...cached, status: 'terminated' });
    for (const [seat, id] of this.seats) {
      if (id !== agentId) continue;
      await this.seatAgent(seat, cached.type, new Error('the agent was terminated'));
    }
    if (this.workerIds.includes(agentId)) {
      this.replacing += 1;
      try {
        const group = this.groups.get(agentId) ?? null;
        const replacement = await this.spawn(cached.type, { role: 'worker', ...(group === null ? {} : { group }) });
        this.workerIds = [...this.workerIds.filter((id) => id !== agentId), replacement.id];
        if (group !== null) this.groups.set(replacement.id, group);
        await this.deps.record.save({ agentIds: this.allAgentIds() });
        await this.deps.redispatchOrphans(new Set(this.workers().map((w) => w.id)));
      } finally {
        this.replacing -= 1;
        this.deps.poke();
      }
    }
  }

  /** The swarm is ending: an agent terminated from now on is not replaced. */
  stopReplacing(): void {
    this.finishing = true;
  }

  /** The swarm's agents end with it, freeing their places in the pool. */
  async retire(status: SwarmStatus): Promise<void> {
    for (const agentId of this.allAgentIds()) {
      const agent = await this.deps.store.agents.get(agentId);
      if (!agent || agent.status === 'terminated') continue;
      await this.deps.agents.terminate(agentId, `swarm ${this.deps.record.id} ${status}`).catch((error: unknown) => {
        this.deps.logger.warn({ swarmId: this.deps.record.id, agentId, error: (error as Error).message }, 'could not terminate a swarm agent');
      });
    }
  }

  private async spawn(type: string, config: Record<string, unknown>): Promise<AgentRecord> {
    const agent = await this.deps.agents.spawn({ type, config: { swarmId: this.deps.record.id, ...config } });
    this.agentCache.set(agent.id, agent);
    return agent;
  }
}
