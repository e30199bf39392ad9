import type { PlanTask, PlanTaskReview, SwarmPlan } from '../domain/swarm.js';
import type { TaskRecord } from '../domain/task.js';
import type { Store } from '../ports/store.js';
import { withReview } from './plan-reviews.js';
import type { PlanTaskTable } from './plan-task-table.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';
import type { SwarmPublish } from './swarm-publisher.js';
import type { SwarmRecordKeeper } from './swarm-record.js';
import type { SwarmRunContext, TaskOutcome, TopologyStrategy } from './topologies/topology.js';
import { resultText } from './worker-task.js';

export interface ResultReviewDeps {
  store: Store;
  record: SwarmRecordKeeper;
  table: PlanTaskTable;
  strategy: TopologyStrategy;
  context(): SwarmRunContext;
  publish: SwarmPublish;
  now: () => number;
  /** A stop was requested: the tasks it cancels are not dispatched again. */
  stopRequested(): boolean;
  /** Wakes the run loop: a review has ended. */
  poke(): void;
}

/**
 * What a finished plan task's result leads to: the topology reviews it, and it is accepted, sent back
 * to a worker with feedback (revise), or answered with new tasks (replan). Each decision is recorded
 * in the plan before it takes effect, so a process that resumes the swarm applies it, not judges again.
 */
export class ResultReview {
  private readonly deps: ResultReviewDeps;
  /** Reviews in progress, and the first one that failed (it fails the swarm). */
  private readonly reviews = new Set<Promise<void>>();
  private failure: unknown = undefined;
  /** The plan's tasks by id, built once per task list (a replan makes a new one) rather than per result. */
  private planned: { tasks: readonly PlanTask[]; byId: ReadonlyMap<string, PlanTask>; ids: ReadonlySet<string> } | null = null;

  constructor(deps: ResultReviewDeps) {
    this.deps = deps;
  }

  idle(): boolean {
    return this.reviews.size === 0;
  }

  /** Rethrows the first review that failed. */
  throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  async onTaskFinished(planTaskId: string, task: TaskRecord): Promise<void> {
    const planTask = this.plannedTasks().byId.get(planTaskId) as PlanTask;
    const state = this.deps.table.state(planTaskId);
    const ok = task.status === 'completed';
    // Its agent was terminated under it: not the task's fault, so it goes again (boundedly).
    if (!ok && task.error?.code === 'cancelled' && !this.deps.stopRequested() && state.lost < SWARM_DEFAULTS.maxLostAgentRedispatches) {
      const agent = task.assignedAgent === null ? undefined : await this.deps.store.agents.get(task.assignedAgent);
      if (agent?.status === 'terminated') {
        state.lost += 1;
        state.status = 'waiting';
        return;
      }
    }
    state.result = ok ? task.result : null;
    state.text = ok ? resultText(task.result) : `failed: ${task.error?.message ?? task.status}`;
    if (task.status === 'cancelled' && this.deps.stopRequested()) {
      state.status = 'failed';
      return;
    }
    const outcome: TaskOutcome = { task: planTask, taskId: task.id, agentId: task.assignedAgent, status: ok ? 'done' : 'failed', text: state.text };
    // Reviews run beside dispatching: a slow reviewer holds up only the tasks that depend on this one.
    state.status = 'reviewing';
    const review = this.review(planTaskId, task, outcome, ok)
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.reviews.delete(review);
        this.deps.poke();
      });
    this.reviews.add(review);
  }

  private async review(planTaskId: string, task: TaskRecord, outcome: TaskOutcome, ok: boolean): Promise<void> {
    const { record, table, strategy } = this.deps;
    const state = table.state(planTaskId);
    const verdict = await strategy.review(this.deps.context(), outcome, this.plannedTasks().ids);
    if (state.status !== 'reviewing') return; // the swarm stopped meanwhile
    const by = strategy.leaderSeat?.seat ?? 'peers';
    const judged = verdict.verdict !== 'accept' || record.swarm.config.review;
    if (judged) {
      this.deps.publish('swarm.task_reviewed', { swarmId: record.id, planTaskId, taskId: task.id, verdict: verdict.verdict, feedback: verdict.feedback, by });
    }
    const next: PlanTaskReview['outcome'] = verdict.verdict === 'revise' && state.revisions < record.swarm.config.maxRevisions ? 'waiting' : ok ? 'done' : 'failed';
    const replanned = next !== 'waiting' && verdict.verdict === 'replan' && verdict.newTasks !== undefined && verdict.newTasks.length > 0;
    let added: PlanTask[] = [];
    if (replanned) {
      // Checked against the plan as it is now: another review may have added tasks meanwhile.
      const plan = record.plan as SwarmPlan;
      const planned = new Set(plan.tasks.map((t) => t.id));
      added = (verdict.newTasks ?? []).filter((t) => !planned.has(t.id)).map((t) => ({ ...t, dependsOn: t.dependsOn ?? [] }));
      record.plan = { ...plan, tasks: [...plan.tasks, ...added] };
      table.addWaiting(added);
    }
    // Recorded (with the tasks it added) before it takes effect: a process that resumes the swarm
    // applies it rather than judging the result again.
    if (judged) record.plan = withReview(record.plan as SwarmPlan, { planTaskId, taskId: task.id, verdict: verdict.verdict, feedback: verdict.feedback, by, outcome: next, at: this.deps.now() });
    if (judged || replanned) await record.savePlan();
    if (replanned) this.deps.publish('swarm.replanned', { swarmId: record.id, added: added.map((t) => t.id), by });
    if (state.status !== 'reviewing') return;
    if (next === 'waiting') {
      state.revisions += 1;
      state.feedback = verdict.feedback;
    }
    state.status = next;
  }

  private plannedTasks(): { byId: ReadonlyMap<string, PlanTask>; ids: ReadonlySet<string> } {
    const { tasks } = this.deps.record.plan as SwarmPlan;
    if (this.planned?.tasks !== tasks) {
      const byId = new Map<string, PlanTask>();
      for (const t of tasks) if (!byId.has(t.id)) byId.set(t.id, t);
      this.planned = { tasks, byId, ids: new Set(byId.keys()) };
    }
    return this.planned;
  }
}
