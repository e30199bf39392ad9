import { assertTransition } from '../domain/task-state-machine.js';
import { taskCorrelationId, type TaskRecord, type TaskStatus } from '../domain/task.js';
import type { NewEvent } from '../ports/event-log.js';
import type { TaskStore } from '../ports/task-store.js';

export const TASK_EVENT_SOURCE = 'task-engine';

/** One change of `applyAll`; `fenced` as in `apply`. */
export interface TaskTransition {
  task: TaskRecord;
  to: TaskStatus;
  patch?: Partial<TaskRecord>;
  events?: readonly NewEvent[];
  fenced?: boolean;
}

export interface TaskTransitionsDeps {
  store: { tasks: Pick<TaskStore, 'update' | 'updateMany'> };
  now: () => number;
}

/**
 * The one way a task's state changes: checks the state machine, then writes compare-and-set on
 * (status, attempts) so that a change made meanwhile by another process is never overwritten.
 * Returns the new record, or undefined if the stored task had moved on. Publishing what happened is
 * the caller's business: this class only writes.
 */
export class TaskTransitions {
  private readonly deps: TaskTransitionsDeps;

  constructor(deps: TaskTransitionsDeps) {
    this.deps = deps;
  }

  /**
   * `fenced`: also require that the stored task was last written when `task` was read (a claim: the
   * copy must not predate an operator's revision of priority or requirements).
   */
  async apply(task: TaskRecord, to: TaskStatus, patch: Partial<TaskRecord> = {}, fenced = false): Promise<TaskRecord | undefined> {
    assertTransition(task.id, task.status, to);
    const next: TaskRecord = { ...task, ...patch, status: to, updatedAt: this.deps.now() };
    const expected = { status: task.status, attempts: task.attempts, ...(fenced ? { updatedAt: task.updatedAt } : {}) };
    const ok = await this.deps.store.tasks.update(next, expected);
    return ok ? next : undefined;
  }

  /**
   * Writes fields of a task without changing its state (the agent a running task got), compare-and-set
   * on status and attempts. Returns the new record, or undefined if the stored task had moved on.
   */
  async amend(task: TaskRecord, patch: Partial<Pick<TaskRecord, 'assignedAgent'>>): Promise<TaskRecord | undefined> {
    const next: TaskRecord = { ...task, ...patch, updatedAt: this.deps.now() };
    return (await this.deps.store.tasks.update(next, { status: task.status, attempts: task.attempts })) ? next : undefined;
  }

  /**
   * Applies several transitions atomically: all are written, or none (returns undefined). A change's
   * `events` are written to the event log with them (see TaskStore.updateMany).
   */
  async applyAll(changes: readonly TaskTransition[]): Promise<TaskRecord[] | undefined> {
    const now = this.deps.now();
    const nexts = changes.map(({ task, to, patch, events, fenced }) => {
      assertTransition(task.id, task.status, to);
      const expected = { status: task.status, attempts: task.attempts, ...(fenced ? { updatedAt: task.updatedAt } : {}) };
      return { next: { ...task, ...patch, status: to, updatedAt: now }, expected, ...(events ? { events } : {}) };
    });
    return (await this.deps.store.tasks.updateMany(nexts)) ? nexts.map((n) => n.next) : undefined;
  }

  correlation(task: TaskRecord): string {
    return taskCorrelationId(task);
  }
}
