import { StopSignal } from './stop-signal.js';
import { SWARM_DEFAULTS } from './swarm-defaults.js';
import type { SwarmRecordKeeper } from './swarm-record.js';

export interface SwarmControlDeps {
  record: SwarmRecordKeeper;
  now: () => number;
}

/**
 * Pause, resume and stop as the run sees them. They may come from this process (a call that pokes
 * the run) or from another one or the API (seen in the swarm record), so the record is re-read once
 * a poll, or at once after a local call.
 */
export class SwarmControl {
  private readonly deps: SwarmControlDeps;
  private stopRequest: StopSignal | null = null;
  /** A local control call changed the record since the last read. */
  private poked = false;
  private lastSync = 0;

  constructor(deps: SwarmControlDeps) {
    this.deps = deps;
  }

  /** Ends the swarm at the next sync (the first request's reason stands). */
  requestStop(reason: string): void {
    this.stopRequest ??= new StopSignal('stopped', reason);
  }

  stopRequested(): boolean {
    return this.stopRequest !== null;
  }

  /** Something changed the swarm record here (pause, resume): re-read it at the next sync. */
  changed(): void {
    this.poked = true;
  }

  /** Takes a pause or resume from the record; throws a StopSignal when the swarm is to stop. */
  async sync(): Promise<void> {
    const { record } = this.deps;
    if (this.stopRequest) throw this.stopRequest;
    // Between polls only a local control call (which pokes) can have changed the record.
    if (!this.poked && this.deps.now() - this.lastSync < SWARM_DEFAULTS.pollMs) return;
    this.poked = false;
    this.lastSync = this.deps.now();
    const latest = await record.latest();
    if (!latest) throw new StopSignal('stopped', 'the swarm was deleted');
    if (latest.status === 'stopped' && record.swarm.status !== 'stopped') {
      record.adopt(latest);
      throw new StopSignal('stopped', latest.error?.message ?? 'stopped');
    }
    if (latest.status !== record.swarm.status && (latest.status === 'paused' || latest.status === 'running')) record.adopt(latest);
    if (this.stopRequest) throw this.stopRequest;
  }
}
