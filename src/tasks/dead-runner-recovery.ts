import type { Logger } from '../kernel/logger.js';
import type { RunnerRegistry } from '../kernel/runner-registry.js';
import type { ColonyEvent } from '../domain/events.js';
import type { TaskRecord } from '../domain/task.js';
import type { EventBus } from '../ports/event-bus.js';
import type { AgentStore } from '../ports/agent-store.js';
import type { RunnerStore } from '../ports/runner-store.js';
import type { Store } from '../ports/store.js';
import type { TaskStore } from '../ports/task-store.js';
import type { OrphanedProcessReaper } from './orphaned-process-reaper.js';
import { cancelDependents } from './task-cascade.js';
import type { TaskAgents } from './task-claim.js';
import { TASK_EVENT_SOURCE, type TaskTransitions } from './task-transitions.js';

export interface DeadRunnerRecoveryDeps {
  store: Pick<Store, 'modelCalls'> & {
    tasks: Pick<TaskStore, 'listHeldBy' | 'listDependents' | 'get'>;
    agents: Pick<AgentStore, 'list'>;
    runners: Pick<RunnerStore, 'delete'>;
  };
  runners: Pick<RunnerRegistry, 'deadRunnersHoldingTasks'>;
  /** Ends the process groups dead runners' tasks left running on this host, before those tasks run again. */
  orphans: Pick<OrphanedProcessReaper, 'endGroupsOf'>;
  agents: Pick<TaskAgents, 'releaseLost'>;
  transitions: TaskTransitions;
  events: EventBus;
  logger: Logger;
  now: () => number;
}

/**
 * Crash recovery: the tasks a dead runner (a process whose lease ran out) left running go back to the
 * queue, or fail once out of attempts; its model calls in flight count at their reservations, its
 * shell commands are ended, and the agent slots its tasks held are freed. Any runner may do this for
 * any other; each change is compare-and-set, so two doing it at once is harmless.
 */
export class DeadRunnerRecovery {
  private readonly deps: DeadRunnerRecoveryDeps;

  constructor(deps: DeadRunnerRecoveryDeps) {
    this.deps = deps;
  }

  /** Recovers what dead runners hold; returns the tasks it queued again. */
  async recover(): Promise<TaskRecord[]> {
    const { store, now } = this.deps;
    const dead = await this.deps.runners.deadRunnersHoldingTasks();
    if (dead.length === 0) return [];
    // Their model calls in flight will never report: from now on they count at their reservation.
    await store.modelCalls.markLost(dead, now());
    // Their shell commands may have outlived them: none may run beside the task's next attempt.
    await this.deps.orphans.endGroupsOf(dead);
    const requeued = await this.requeue(await store.tasks.listHeldBy(dead), (task) => `the process running this task (${task.runnerId}) stopped`);
    for (const id of dead) await store.runners.delete(id);
    return requeued;
  }

  /**
   * Tasks whose runner will never finish them: back to the queue (or failed once out of attempts),
   * with the agent slots they held freed. Returns the tasks it queued again.
   */
  async requeue(held: readonly TaskRecord[], why: (task: TaskRecord) => string): Promise<TaskRecord[]> {
    const { transitions, events, logger, now } = this.deps;
    const holders = held.length > 0 ? await this.slotHolders() : new Map<string, string[]>();
    const requeued: TaskRecord[] = [];
    for (const task of held) {
      const exhausted = task.attempts >= task.maxAttempts;
      const error = { code: 'runner_lost', message: why(task), attempt: task.attempts };
      // The task.recovered event is written with the change (the bus's outbox), so the record always
      // says which process's attempt was taken back, although this process may die next.
      const report = {
        id: 0,
        type: 'task.recovered',
        data: { taskId: task.id, name: task.name, deadRunnerId: task.runnerId },
        source: TASK_EVENT_SOURCE,
        correlationId: transitions.correlation(task),
        timestamp: now(),
      } as ColonyEvent<'task.recovered'>;
      const { outbox } = events;
      const logged = outbox ? { events: [{ type: report.type, source: report.source, data: report.data, correlationId: report.correlationId, timestamp: report.timestamp }] } : {};
      const change = exhausted ? { task, to: 'failed' as const, patch: { error, completedAt: now() }, ...logged } : { task, to: 'queued' as const, patch: { error, runnerId: null }, ...logged };
      const next = (await transitions.applyAll([change]))?.[0];
      if (!next) continue;
      // The dead process never released the task's agent: free its slot, or the agent stays busy for
      // ever. Every agent holding the task, not only the one on the record: the process may have died
      // between taking the slot and recording the agent.
      for (const agentId of holders.get(task.id) ?? []) {
        await this.deps.agents.releaseLost(agentId, task.id).catch((e: unknown) => logger.warn({ err: e, agentId }, 'could not free the agent of a recovered task'));
      }
      if (outbox) outbox.delivered([report]);
      else events.publish('task.recovered', report.data, { source: report.source, correlationId: report.correlationId });
      if (next.status === 'failed') await cancelDependents(this.deps, next);
      else requeued.push(next);
    }
    return requeued;
  }

  /** Task id -> the agents holding a slot for it. */
  private async slotHolders(): Promise<Map<string, string[]>> {
    const holders = new Map<string, string[]>();
    for (const agent of await this.deps.store.agents.list({ excludeTerminated: true })) {
      for (const taskId of agent.currentTasks) holders.set(taskId, [...(holders.get(taskId) ?? []), agent.id]);
    }
    return holders;
  }
}
