import type { JsonValue } from '../domain/json.js';
import type { PlanTask, SwarmPlan, SwarmTaskOutcome } from '../domain/swarm.js';
import { isTerminal, type TaskRecord } from '../domain/task.js';
import { reviewsByTask } from './plan-reviews.js';
import type { SwarmTaskState } from './swarm-task-state.js';
import type { TaskOutcome } from './topologies/topology.js';
import { resultText } from './worker-task.js';

/**
 * Where each plan task of a run stands, and which engine tasks are in flight for it: the run keeps
 * its own plan-task states because review, revision and re-planning sit above the engine's task
 * states. Held in memory and rebuilt from the task table when another process resumes the swarm.
 */
export class PlanTaskTable {
  /** Each plan task's state, by plan task id. */
  readonly states = new Map<string, SwarmTaskState>();
  /** Engine tasks in flight, each mapped to its plan task. */
  readonly inflight = new Map<string, string>();
  /** Every engine task this run dispatched: their events (a result in, usage to check against the budget) wake the run. */
  readonly dispatched = new Set<string>();

  /** The state of a plan task the table holds. */
  state(planTaskId: string): SwarmTaskState {
    return this.states.get(planTaskId) as SwarmTaskState;
  }

  /** Plan tasks not seen before start waiting (the first plan, or tasks a re-plan added). */
  addWaiting(tasks: readonly PlanTask[]): void {
    for (const task of tasks) if (!this.states.has(task.id)) this.states.set(task.id, { status: 'waiting', taskId: null, revisions: 0, lost: 0, feedback: null, text: '', result: null, route: null });
  }

  allEnded(): boolean {
    return [...this.states.values()].every((s) => s.status === 'done' || s.status === 'failed' || s.status === 'skipped');
  }

  /** Tasks in flight per group label (the route's pool). */
  inflightByGroup(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const planTaskId of this.inflight.values()) {
      const pool = this.states.get(planTaskId)?.route?.pool;
      if (pool) counts.set(pool, (counts.get(pool) ?? 0) + 1);
    }
    return counts;
  }

  /** Once the swarm stops: what never ran is skipped, and a result whose review was cut short stands. */
  settleUnfinished(): void {
    for (const state of this.states.values()) {
      if (state.status === 'waiting') state.status = 'skipped';
      // Finished, its review cut short by the stop: the result stands.
      if (state.status === 'reviewing') state.status = state.result === null ? 'failed' : 'done';
    }
  }

  /** The plan tasks' outcomes as strategies see them (aggregation, partial summaries). */
  outcomes(plan: SwarmPlan): TaskOutcome[] {
    return plan.tasks.map((task) => {
      const s = this.states.get(task.id);
      const status = s?.status === 'done' ? 'done' : s?.status === 'failed' ? 'failed' : s?.status === 'skipped' ? 'skipped' : 'cancelled';
      return { task, taskId: s?.taskId ?? null, agentId: null, status, text: s?.text ?? '' };
    });
  }

  /** The plan tasks' outcomes as the swarm's result records them. */
  taskOutcomes(plan: SwarmPlan): SwarmTaskOutcome[] {
    return plan.tasks.map((task) => {
      const s = this.states.get(task.id);
      return { planTaskId: task.id, title: task.title, taskId: s?.taskId ?? null, status: s?.status ?? 'waiting', result: (s?.result ?? null) as JsonValue | null };
    });
  }

  /**
   * Rebuilds the plan tasks' states from the swarm's engine tasks (oldest first) and the reviews the
   * plan records of their results.
   */
  restore(plan: SwarmPlan, tasks: readonly TaskRecord[]): void {
    const planned = new Set(plan.tasks.map((t) => t.id));
    const reviews = reviewsByTask(plan);
    for (const task of tasks) {
      // Oldest first: a later dispatch of the same plan task replaces the earlier one.
      if (task.name === null || !planned.has(task.name)) continue;
      const previous = this.states.get(task.name);
      const state: SwarmTaskState = {
        status: 'waiting',
        taskId: task.id,
        revisions: previous ? previous.revisions + 1 : 0,
        lost: 0,
        feedback: null,
        text: '',
        result: null,
        route: { agentIds: task.requirements.agentIds ?? [], pool: null },
      };
      if (previous?.taskId) this.inflight.delete(previous.taskId);
      const review = reviews.get(task.id);
      if (!isTerminal(task.status) || review === undefined) {
        // Running, or finished with no review decided (the process died before or during it):
        // collected like a result that just came in, so reviewed now.
        state.status = 'dispatched';
        this.inflight.set(task.id, task.name);
      } else if (review.outcome === 'waiting') {
        // Sent back before the crash, not yet dispatched again.
        state.status = 'waiting';
        state.revisions += 1;
        state.feedback = review.feedback;
      } else if (review.outcome === 'done') {
        state.status = 'done';
        state.result = task.result;
        state.text = resultText(task.result);
      } else {
        state.status = 'failed';
        state.text = `failed: ${task.error?.message ?? task.status}`;
      }
      this.dispatched.add(task.id);
      this.states.set(task.name, state);
    }
  }
}
