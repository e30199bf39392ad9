import { hostname } from 'node:os';
import type { RunnerRecord, Store } from '../ports/store.js';

export interface RunnerRegistryOptions {
  store: Store;
  id: string;
  kind: string;
  heartbeatMs: number;
  leaseMs: number;
  now: () => number;
}

/**
 * Registers this process as a runner and keeps its heartbeat, so that other processes sharing the
 * database can tell a live runner from a dead one. On this host a runner is alive exactly when its
 * pid is; elsewhere, while its heartbeat is fresh.
 */
export class RunnerRegistry {
  readonly id: string;
  private readonly options: RunnerRegistryOptions;
  /** The host this process runs on, as runners record it. */
  readonly host = hostname();
  private timer: NodeJS.Timeout | null = null;
  private record: RunnerRecord | null = null;

  constructor(options: RunnerRegistryOptions) {
    this.options = options;
    this.id = options.id;
  }

  async register(): Promise<void> {
    const now = this.options.now();
    this.record = { id: this.id, pid: process.pid, hostname: this.host, kind: this.options.kind, startedAt: now, heartbeatAt: now };
    await this.options.store.upsertRunner(this.record);
    this.timer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.timer.unref();
  }

  async unregister(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.record) await this.options.store.deleteRunner(this.id);
    this.record = null;
  }

  private async beat(): Promise<void> {
    if (!this.record) return;
    this.record = { ...this.record, heartbeatAt: this.options.now() };
    await this.options.store.upsertRunner(this.record).catch(() => undefined);
  }

  isAlive(runner: RunnerRecord): boolean {
    if (runner.id === this.id) return this.record !== null;
    if (runner.hostname === this.host) return pidAlive(runner.pid);
    return this.options.now() - runner.heartbeatAt < this.options.leaseMs;
  }

  async liveRunners(): Promise<RunnerRecord[]> {
    return (await this.options.store.listRunners()).filter((r) => this.isAlive(r));
  }

  /** Runner ids that hold running tasks but are gone: their tasks need recovering. */
  async deadRunnersHoldingTasks(): Promise<string[]> {
    const holders = await this.options.store.listRunnerIdsHoldingTasks();
    if (holders.length === 0) return [];
    const known = new Map((await this.options.store.listRunners()).map((r) => [r.id, r]));
    return holders.filter((id) => {
      if (id === this.id) return false;
      const runner = known.get(id);
      return !runner || !this.isAlive(runner);
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
