import type { ClaimBatch } from '../ports/task-queue.js';
import type { TaskExecutor } from './task-executor.js';

/** One batch of a pump's claim, and the limit it is under. */
export interface ClaimGroup extends ClaimBatch {
  /** The type whose own limit this claim is under; null for the types bounded by the total only. */
  limitedType: string | null;
}

/** A limit of this process, by the configuration key that sets it. */
export interface LimitChange {
  limit: string;
  value: number;
  reached: boolean;
}

export interface TaskSlotsDeps {
  /** `tasks.concurrency`: attempts this process runs at once, of every type. */
  total: number;
  executors: ReadonlyMap<string, TaskExecutor>;
  /** Told when a limit starts holding back ready work, and when it stops. */
  onLimit: (change: LimitChange) => void;
}

/** The limit on every attempt of a process, by its configuration key. */
const TOTAL_LIMIT = 'tasks.concurrency';

/** The key a task type's own limit is known by in events and status. */
export function typeLimitName(executor: TaskExecutor): string {
  return executor.concurrencyKey ?? `tasks.${executor.type}.concurrency`;
}

/**
 * The scheduler's slots: `tasks.concurrency` for every attempt this process runs, and, for task types
 * whose executor sets `concurrency` (shell tasks hold OS processes; an agent run only waits on its
 * model), a limit of that type's own. A limited type is claimed on its own, with its room as the
 * batch size, and only while it may have work (a wake-up since its last short claim): a backlog of
 * one type neither takes the slots of the others nor is claimed to be given back.
 *
 * A limit "holds back work" when its slots are full and its last claim was full too (more were likely
 * waiting); it stops when a claim under it comes back short. Both are reported once per change.
 */
export class TaskSlots {
  private readonly deps: TaskSlotsDeps;
  /** Limited types that may have ready tasks: woken since their last claim came back short. */
  private readonly hinted = new Set<string>();
  /** Per limit name: whether the last claim under it was full (a backlog likely). */
  private readonly backlog = new Map<string, boolean>();
  /** The limits holding work back now, with their values (for the event that clears them). */
  private readonly reached = new Map<string, number>();

  constructor(deps: TaskSlotsDeps) {
    this.deps = deps;
  }

  /** Ready tasks of these types may be waiting. */
  hint(types: Iterable<string>): void {
    for (const type of types) if (this.deps.executors.get(type)?.concurrency !== undefined) this.hinted.add(type);
  }

  /** Ready tasks may be waiting, of any type. */
  wake(): void {
    for (const executor of this.deps.executors.values()) if (executor.concurrency !== undefined) this.hinted.add(executor.type);
  }

  /**
   * The claims to make now, limited types first, given the attempts of each type that hold a slot,
   * and the total's free slots (the claim takes at most that many in all). No groups when nothing has room.
   */
  plan(active: ReadonlyMap<string, number>, types: readonly string[]): { free: number; groups: ClaimGroup[] } {
    let activeTotal = 0;
    for (const n of active.values()) activeTotal += n;
    const free = this.deps.total - activeTotal;
    if (free <= 0) this.full(TOTAL_LIMIT, this.deps.total);
    const groups: ClaimGroup[] = [];
    const open: string[] = [];
    for (const type of types) {
      const executor = this.deps.executors.get(type);
      const own = executor?.concurrency;
      if (executor === undefined || own === undefined) {
        open.push(type);
        continue;
      }
      const room = own - (active.get(type) ?? 0);
      if (room <= 0) this.full(typeLimitName(executor), own);
      if (room > 0 && free > 0 && this.hinted.has(type)) groups.push({ types: [type], limit: Math.min(room, free), limitedType: type });
    }
    if (free > 0 && open.length > 0) groups.push({ types: open, limit: free, limitedType: null });
    return { free, groups };
  }

  /**
   * Whether an attempt of `type` may start now without a claim (a dependent taken by the completion
   * that made it ready): a free slot under the total and under the type's own limit, and no backlog
   * under either that a claim, which takes work in priority order, should serve first.
   */
  mayStart(active: ReadonlyMap<string, number>, activeTotal: number, type: string, claiming: number): boolean {
    // A claim in flight may fill the slots it asked for.
    if (activeTotal + claiming >= this.deps.total || this.backlog.get(TOTAL_LIMIT) === true) return false;
    const executor = this.deps.executors.get(type);
    if (executor === undefined) return false;
    if (executor.concurrency === undefined) return true;
    // The claim in flight may be of this type, up to its room: not counted per type, so not guessed at.
    if (claiming > 0) return false;
    return (active.get(type) ?? 0) < executor.concurrency && this.backlog.get(typeLimitName(executor)) !== true;
  }

  /** What a claim of `plan`'s groups returned (they are claimed in order, within `free` in all). */
  claimedAll(groups: readonly ClaimGroup[], free: number, tasks: readonly { type: string }[]): void {
    let taken = 0;
    for (const group of groups) {
      const limit = Math.min(group.limit, free - taken);
      // A group the total left no room for was not asked: nothing is known of it.
      if (limit <= 0) continue;
      const types = new Set(group.types);
      const count = tasks.filter((task) => types.has(task.type)).length;
      taken += count;
      this.claimed({ ...group, limit }, count);
    }
  }

  /** What a claim returned: a short one means its types have no more ready work now. */
  claimed(group: ClaimGroup, count: number): void {
    const full = count >= group.limit;
    const executor = group.limitedType === null ? undefined : this.deps.executors.get(group.limitedType);
    const name = executor ? typeLimitName(executor) : TOTAL_LIMIT;
    if (group.limitedType !== null && !full) this.hinted.delete(group.limitedType);
    this.backlog.set(name, full);
    const value = this.reached.get(name);
    if (!full && value !== undefined) {
      this.reached.delete(name);
      this.deps.onLimit({ limit: name, value, reached: false });
    }
  }

  /**
   * A limit's slots are full: it holds work back if its last claim was full too. It stops only when a
   * claim under it comes back short, not when a slot frees (the backlog would take it again at once).
   */
  private full(name: string, value: number): void {
    if (this.backlog.get(name) !== true || this.reached.has(name)) return;
    this.reached.set(name, value);
    this.deps.onLimit({ limit: name, value, reached: true });
  }
}
