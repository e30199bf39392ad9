import { ExecutionError } from '../domain/errors.js';
import type { NewEvent } from '../ports/event-log.js';
import { isSwarmFinished, type SwarmPlan, type SwarmRecord } from '../domain/swarm.js';
import type { Store } from '../ports/store.js';
import { StopSignal } from './stop-signal.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';

export interface SwarmRecordDeps {
  store: Store;
  now: () => number;
}

/**
 * A run's copy of its swarm record, and the plan as the run has it. Changes are written with
 * compare-and-set because pause, resume and stop may come from another process at any time.
 */
export class SwarmRecordKeeper {
  private readonly deps: SwarmRecordDeps;
  private current: SwarmRecord;
  /** The working plan: a review changes it here first, then saves it (see savePlan). */
  plan: SwarmPlan | null;
  /** Saves of the plan, one after another (see savePlan). */
  private planWrites: Promise<unknown> = Promise.resolve();

  constructor(swarm: SwarmRecord, deps: SwarmRecordDeps) {
    this.current = swarm;
    this.plan = swarm.plan;
    this.deps = deps;
  }

  get swarm(): SwarmRecord {
    return this.current;
  }

  get id(): string {
    return this.current.id;
  }

  /** The record as the store has it now (another process may have paused, resumed or stopped it). */
  latest(): Promise<SwarmRecord | undefined> {
    return this.deps.store.swarms.get(this.id);
  }

  /** Takes a record read from the store as this run's copy. */
  adopt(latest: SwarmRecord): void {
    this.current = latest;
  }

  /** Usage comes from the ledger, not from this run: kept on the copy for reports and the next save. */
  noteUsage(usage: SwarmRecord['usage']): void {
    this.current = { ...this.current, usage };
  }

  /**
   * Writes a change with compare-and-set; when someone else changed the swarm meanwhile (pause,
   * resume, stop), their status wins unless `force` (the run's own ending). `events` are written
   * with the change, in its transaction (the ending's events: no crash separates them from it).
   */
  async save(patch: Partial<SwarmRecord>, force = false, events: readonly NewEvent[] = []): Promise<void> {
    let change = { ...patch };
    for (let attempt = 0; attempt < SWARM_DEFAULTS.saveAttempts; attempt++) {
      const next: SwarmRecord = { ...this.current, ...change, updatedAt: Math.max(this.deps.now(), this.current.updatedAt + 1) };
      if (await this.deps.store.swarms.update(next, { status: this.current.status, updatedAt: this.current.updatedAt }, events)) {
        this.current = next;
        return;
      }
      const latest = await this.deps.store.swarms.get(this.id);
      if (!latest) throw new StopSignal('stopped', 'the swarm was deleted');
      if (isSwarmFinished(latest.status) && !force) throw new StopSignal('stopped', latest.error?.message ?? `the swarm was ${latest.status} elsewhere`);
      // Someone paused or resumed it meanwhile: their status stands unless this is the ending.
      if (!force && change.status !== undefined && latest.status === 'paused') {
        const { status: _dropped, ...rest } = change;
        change = rest;
      }
      this.current = { ...this.current, status: latest.status, updatedAt: latest.updatedAt };
    }
    throw new ExecutionError(`could not save swarm ${this.id}: it keeps changing`);
  }

  /** Saves the plan as it is when the save runs, after the saves before it: a newer plan is never overwritten by an older one. */
  savePlan(): Promise<void> {
    const write = this.planWrites.then(() => this.save({ plan: this.plan }));
    this.planWrites = write.catch(() => undefined);
    return write;
  }
}
