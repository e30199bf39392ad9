import { hostname } from 'node:os';
import type { RunnerRecord, Store } from '../ports/store.js';

export interface RunnerRegistryOptions {
  store: Store;
  id: string;
  kind: string;
  heartbeatMs: number;
  /** A runner on another host whose heartbeat is this old, by the store's clock, is dead. */
  leaseMs: number;
  /** The host this process runs on, as runners record it. Default: `os.hostname()`. */
  host?: string;
}

/**
 * Registers this process as a runner and keeps its heartbeat, so that other processes sharing the
 * database can tell a live runner from a dead one. On this host a runner is alive exactly when its
 * pid is; elsewhere, while its heartbeat is fresh.
 *
 * Heartbeats are stamped, and their age judged, with the store's clock (`Store.runners.clock()`), never this
 * host's: hosts' clocks disagree, and a runner judged by another host's clock minutes ahead would be
 * taken for dead (its tasks run twice), or minutes behind, kept for live long after it died.
 */
export class RunnerRegistry {
  readonly id: string;
  private readonly options: RunnerRegistryOptions;
  /** The host this process runs on, as runners record it. */
  readonly host: string;
  private timer: NodeJS.Timeout | null = null;
  private record: RunnerRecord | null = null;
  private beating: Promise<void> | null = null;

  constructor(options: RunnerRegistryOptions) {
    this.options = options;
    this.id = options.id;
    this.host = options.host ?? hostname();
  }

  async register(): Promise<void> {
    const at = await this.options.store.runners.clock();
    this.record = { id: this.id, pid: process.pid, hostname: this.host, kind: this.options.kind, startedAt: at, heartbeatAt: at };
    await this.options.store.runners.upsert(this.record);
    this.timer = setInterval(() => {
      this.beating ??= this.beat().finally(() => {
        this.beating = null;
      });
    }, this.options.heartbeatMs);
    this.timer.unref();
  }

  async unregister(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const registered = this.record !== null;
    this.record = null;
    // A heartbeat under way finishes first: written after the delete, it would bring the runner back.
    await this.beating;
    if (registered) await this.options.store.runners.delete(this.id);
  }

  private async beat(): Promise<void> {
    try {
      const at = await this.options.store.runners.clock();
      if (!this.record) return;
      this.record = { ...this.record, heartbeatAt: at };
      await this.options.store.runners.upsert(this.record);
    } catch {
      // The next beat tries again; a runner is only taken for dead after a whole lease without one.
    }
  }

  /** Whether `runner` is alive, `storeNow` being the time by the store's clock (`Store.runners.clock()`). */
  isAlive(runner: RunnerRecord, storeNow: number): boolean {
    if (runner.id === this.id) return this.record !== null;
    if (runner.hostname === this.host) return pidAlive(runner.pid);
    return storeNow - runner.heartbeatAt < this.options.leaseMs;
  }

  async liveRunners(): Promise<RunnerRecord[]> {
    // The clock is read before the runners: a heartbeat written in between only looks younger.
    const now = await this.options.store.runners.clock();
    return (await this.options.store.runners.list()).filter((r) => this.isAlive(r, now));
  }

  /** Runner ids that hold running tasks but are gone: their tasks need recovering. */
  async deadRunnersHoldingTasks(): Promise<string[]> {
    const holders = await this.options.store.tasks.listHoldingRunnerIds();
    if (holders.length === 0) return [];
    const now = await this.options.store.runners.clock();
    const known = new Map((await this.options.store.runners.list()).map((r) => [r.id, r]));
    return holders.filter((id) => {
      if (id === this.id) return false;
      const runner = known.get(id);
      return !runner || !this.isAlive(runner, now);
    });
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
