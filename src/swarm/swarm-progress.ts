import type { PlanTaskTable } from './plan-task-table.js';
import type { SwarmBudget } from './swarm-budget.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';
import type { SwarmPublish } from './swarm-publisher.js';
import type { SwarmRecordKeeper } from './swarm-record.js';
import { completedShare } from './worker-task.js';

export interface SwarmProgressDeps {
  record: SwarmRecordKeeper;
  table: PlanTaskTable;
  budget: SwarmBudget;
  publish: SwarmPublish;
  now: () => number;
}

/**
 * Reports the swarm's progress when a plan task ends: an event each time, a save at most every
 * progressSaveMs, because the record carries the whole plan and the end saves the progress anyway.
 */
export class SwarmProgress {
  private readonly deps: SwarmProgressDeps;
  private lastReported = '';
  private lastSave = 0;

  constructor(deps: SwarmProgressDeps) {
    this.deps = deps;
  }

  async report(): Promise<void> {
    const { table } = this.deps;
    const counts: Record<string, number> = { waiting: 0, dispatched: 0, reviewing: 0, done: 0, failed: 0, skipped: 0 };
    for (const s of table.states.values()) counts[s.status] = (counts[s.status] ?? 0) + 1;
    // Reported when a task ends, however it ends; progress itself counts only completed work.
    const ended = `${counts.done}/${counts.failed}/${counts.skipped}/${table.states.size}`;
    if (ended === this.lastReported) return;
    this.lastReported = ended;
    const progress = completedShare(table.states.values());
    if (this.deps.now() - this.lastSave >= SWARM_DEFAULTS.progressSaveMs) {
      this.lastSave = this.deps.now();
      await this.deps.record.save({ progress });
    }
    this.deps.publish('swarm.progress', { swarmId: this.deps.record.id, progress, counts, usage: this.deps.budget.summary() });
  }
}
