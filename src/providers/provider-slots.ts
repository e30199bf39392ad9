import { bulkhead, type BulkheadPolicy } from 'cockatiel';

/**
 * A concurrency limit on provider calls: a cockatiel bulkhead with its queue, and whether calls are
 * waiting for a slot (reported once per change). Usually one per provider; Claude Code shares one per
 * process among the wrappers it makes per task, so the state lives here, not in a wrapper.
 */
export class ProviderSlots {
  readonly policy: BulkheadPolicy;
  readonly maxConcurrency: number;
  readonly maxQueued: number;
  saturated = false;

  constructor(maxConcurrency: number, maxQueued: number) {
    this.maxConcurrency = maxConcurrency;
    this.maxQueued = maxQueued;
    this.policy = bulkhead(maxConcurrency, maxQueued);
  }

  /** Every slot is taken: a call now waits. */
  get full(): boolean {
    return this.policy.executionSlots === 0;
  }

  /** Nobody waits for a slot. */
  get idleQueue(): boolean {
    return this.policy.queueSlots === this.maxQueued;
  }
}
