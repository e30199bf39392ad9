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
  /** Whether this process runs tasks (false: it only serves, `colony up --no-work`). Default: true. */
  runsTasks?: boolean;
  /** The worker pools it serves (checked names); it takes their tasks and unpooled ones. Default: none. */
  pools?: readonly string[];
}

/** A live process as `colony status` shows it: its record, its role and how old its heartbeat is. */
export interface LiveProcess extends RunnerRecord {
  /** `server`, `server --no-work`, `worker`, `run`, `swarm`, `mcp`, `library`. */
  role: string;
  /** Since its latest heartbeat, by the store's clock. */
  heartbeatAgeMs: number;
  /** This very process. */
  self: boolean;
}

/** What a runner is called in status output: its kind, marked when it runs no tasks. */
export function runnerRole(runner: Pick<RunnerRecord, 'kind' | 'runsTasks'>): string {
  return runner.runsTasks ? runner.kind : `${runner.kind} --no-work`;
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
  readonly kind: string;
  /** Whether this process runs tasks once started (false: it only serves). */
  readonly runsTasks: boolean;
  /** The worker pools this process serves: their tasks and unpooled ones are its to run. */
  readonly pools: readonly string[];
  private timer: NodeJS.Timeout | null = null;
  private record: RunnerRecord | null = null;
  private beating: Promise<void> | null = null;

  constructor(options: RunnerRegistryOptions) {
    this.options = options;
    this.id = options.id;
    this.host = options.host ?? hostname();
    this.kind = options.kind;
    this.runsTasks = options.runsTasks ?? true;
    this.pools = [...(options.pools ?? [])];
  }

  async register(): Promise<void> {
    const at = await this.options.store.runners.clock();
    this.record = { id: this.id, pid: process.pid, hostname: this.host, kind: this.kind, runsTasks: this.runsTasks, pools: [...this.pools], startedAt: at, heartbeatAt: at };
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

  /** Every live process, oldest first, with its role and heartbeat age by the store's clock. */
  async liveProcesses(): Promise<LiveProcess[]> {
    const now = await this.options.store.runners.clock();
    return (await this.options.store.runners.list())
      .filter((r) => this.isAlive(r, now))
      .map((r) => ({ ...r, role: runnerRole(r), heartbeatAgeMs: Math.max(0, now - r.heartbeatAt), self: r.id === this.id }));
  }

  /** The worker pools that some live process running tasks serves now. */
  async servedPools(): Promise<Set<string>> {
    const pools = new Set<string>();
    for (const runner of await this.liveRunners()) if (runner.runsTasks) for (const pool of runner.pools) pools.add(pool);
    return pools;
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
