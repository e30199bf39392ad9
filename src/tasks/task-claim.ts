import type { Logger } from '../kernel/logger.js';
import type { AgentRecord } from '../domain/agent.js';
import type { TaskRecord, TaskRequirements } from '../domain/task.js';
import type { ClaimBatch, TaskQueue } from '../ports/task-queue.js';
import { AgentAvailability, needsAgent } from './agent-availability.js';
import type { TaskTransitions } from './task-transitions.js';

/** The agents tasks run on, as the scheduler needs them (AgentManager is one). */
export interface TaskAgents {
  /** Takes a slot of the best free agent that meets the requirements; undefined when none is free now. */
  acquire(requirements: TaskRequirements, taskId: string): Promise<AgentRecord | undefined>;
  /** Gives the slot back with the task's outcome (the agent's track record and health). */
  release(agentId: string, taskId: string, outcome: { success: boolean; durationMs: number }): Promise<void>;
  /** Gives the slot back with no outcome: not the agent's doing. */
  releaseLost(agentId: string, taskId: string): Promise<void>;
  /** Whether `acquire` could find an agent now (a read; nothing is taken). */
  mayServe(requirements: TaskRequirements): Promise<boolean>;
  /**
   * Optional: gives a claimed task the best free agent and records it on the task in one store write
   * (`Store.tasks.assignAgent`, the candidates ranked as `acquire` ranks them). Without it, `acquire` takes
   * the slot and a second write records the agent on the task.
   */
  assign?(task: TaskRecord): Promise<{ agent: AgentRecord; task: TaskRecord } | { refused: 'no_free_agent' | 'task_changed' }>;
}

export interface TaskClaimsDeps {
  queue: TaskQueue;
  agents: TaskAgents;
  transitions: TaskTransitions;
  /** The task types this runner can run (its executors), read at each claim: executors may be added later. */
  types: () => readonly string[];
  logger: Logger;
}

/** A claimed task ready to start, with the agent it runs on (null: it needs none). */
export interface StartableTask {
  task: TaskRecord;
  agent: AgentRecord | null;
  /**
   * The write of the agent on the task, under way while the attempt starts: false when the task had
   * changed meanwhile (cancelled, or taken over by another process), and the attempt must stop.
   */
  recorded?: Promise<boolean>;
}

/**
 * Taking work: a batch of ready tasks claimed from the queue in one store transaction, then, for each task
 * that needs one, its agent. The task is claimed first, so a claim lost to another process costs no
 * agent slot and is nobody's failure; a task whose agent cannot be had is given back uncounted, and
 * held out of claims here until an agent may be free (see AgentAvailability).
 */
export class TaskClaims {
  private readonly deps: TaskClaimsDeps;
  private readonly availability: AgentAvailability;

  constructor(deps: TaskClaimsDeps) {
    this.deps = deps;
    this.availability = new AgentAvailability({
      mayServe: (requirements) => deps.agents.mayServe(requirements),
      wake: () => deps.queue.wake(),
      logger: deps.logger,
    });
  }

  /** Queued tasks this process made ready, before they reach the queue: those whose agent is not known to be free are held for a read. */
  admitted(tasks: readonly TaskRecord[]): void {
    this.availability.admitted(tasks);
  }

  /** The task types this runner can run now. */
  types(): readonly string[] {
    return this.deps.types();
  }

  /** Claims up to `limit` ready tasks for this runner, batch by batch (see ClaimRequest). */
  claimBatch(limit: number, batches: readonly ClaimBatch[]): Promise<TaskRecord[]> {
    if (limit <= 0 || batches.length === 0) return Promise.resolve([]);
    return this.deps.queue.claim({ limit, batches, exclude: this.availability.heldIds() });
  }

  /**
   * Takes the agents of a claimed batch and hands each task on (`next`) as soon as it can start, or
   * with undefined when it cannot (see `takeAgent`). Tasks that need no agent go at once. Never rejects.
   */
  async takeAgents(batch: readonly TaskRecord[], next: (claimed: TaskRecord, startable: StartableTask | undefined) => void): Promise<void> {
    await Promise.all(
      batch.map(async (task) => {
        next(task, needsAgent(task.requirements) ? await this.takeAgent(task) : { task, agent: null });
      }),
    );
  }

  /**
   * Takes the claimed task's agent, if it needs one, and records it on the task (see `recorded`).
   * Undefined: the task was given back (no agent is free now).
   */
  async takeAgent(claimed: TaskRecord): Promise<StartableTask | undefined> {
    if (!needsAgent(claimed.requirements)) return { task: claimed, agent: null };
    if (this.deps.agents.assign) return this.assign(claimed, this.deps.agents.assign.bind(this.deps.agents));
    const { agents, transitions, queue, logger } = this.deps;
    let agent: AgentRecord | undefined;
    try {
      agent = await agents.acquire(claimed.requirements, claimed.id);
    } catch (error) {
      logger.error({ err: error, taskId: claimed.id }, 'could not take an agent for the task; giving it back');
      await queue.giveBack(claimed).catch((e: unknown) => logger.warn({ err: e, taskId: claimed.id }, 'could not give the task back'));
      return undefined;
    }
    if (!agent) {
      const back = await queue.giveBack(claimed).catch((error: unknown) => logger.warn({ err: error, taskId: claimed.id }, 'could not give the task back'));
      if (back) this.availability.unserved(back);
      return undefined;
    }
    this.availability.served(claimed.requirements);
    // The agent is recorded on the task by a write that goes out with this turn's batch while the attempt
    // starts, not before it: the store applies this process's writes in order, so the record lands
    // before any write of the attempt and before its outcome. A crash before it lands leaves the slot to
    // recovery, which frees every agent holding the task.
    const recorded = transitions.amend(claimed, { assignedAgent: agent.id }).then(
      (assigned) => assigned !== undefined,
      (error: unknown) => {
        logger.error({ err: error, taskId: claimed.id }, 'could not record the agent of the task');
        return true;
      },
    );
    return { task: { ...claimed, assignedAgent: agent.id }, agent, recorded };
  }

  /** The agent taken and recorded on the task in one write (`TaskAgents.assign`). */
  private async assign(claimed: TaskRecord, assign: NonNullable<TaskAgents['assign']>): Promise<StartableTask | undefined> {
    const { queue, logger } = this.deps;
    let assigned: Awaited<ReturnType<typeof assign>>;
    try {
      assigned = await assign(claimed);
    } catch (error) {
      logger.error({ err: error, taskId: claimed.id }, 'could not take an agent for the task; giving it back');
      await queue.giveBack(claimed).catch((e: unknown) => logger.warn({ err: e, taskId: claimed.id }, 'could not give the task back'));
      return undefined;
    }
    if ('agent' in assigned) {
      this.availability.served(claimed.requirements);
      return assigned;
    }
    // Changed meanwhile (cancelled, or taken over elsewhere): not ours to give back.
    if (assigned.refused === 'task_changed') return undefined;
    const back = await queue.giveBack(claimed).catch((error: unknown) => logger.warn({ err: error, taskId: claimed.id }, 'could not give the task back'));
    if (back) this.availability.unserved(back);
    return undefined;
  }

  /** Undoes a claim that took its agent but will not start here (the scheduler is stopping): nobody's failure, no attempt counted. */
  async giveBack({ task, agent }: StartableTask): Promise<void> {
    const { agents, queue, logger } = this.deps;
    if (agent) await agents.releaseLost(agent.id, task.id).catch((e: unknown) => logger.warn({ err: e, agentId: agent.id }, 'could not release agent'));
    await queue.giveBack(task).catch((e: unknown) => logger.warn({ err: e, taskId: task.id }, 'could not give the task back'));
  }

  /** Gives the slot back without an outcome: the attempt was not the agent's to fail (the task changed as it started). */
  async releaseLost(agent: AgentRecord, taskId: string): Promise<void> {
    await this.deps.agents.releaseLost(agent.id, taskId).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, agentId: agent.id }, 'could not release agent');
    });
    this.availability.agentFreed();
  }

  /** Gives the agent's slot back with the attempt's outcome; tasks held for want of an agent may now have one. */
  async releaseAgent(agent: AgentRecord, taskId: string, outcome: { success: boolean; durationMs: number }): Promise<void> {
    await this.deps.agents.release(agent.id, taskId, outcome).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, agentId: agent.id }, 'could not release agent');
    });
    this.availability.agentFreed();
  }

  /** A reconciliation: agents may have been taken or freed by other processes. */
  reconciled(): void {
    this.availability.forgetAll();
  }

  /** Not to be claimed here any more, or to be judged afresh (an operator revised it). */
  forget(taskId: string): void {
    this.availability.forget(taskId);
  }
}
