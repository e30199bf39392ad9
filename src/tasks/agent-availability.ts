import type { Logger } from '../kernel/logger.js';
import type { TaskRecord, TaskRequirements } from '../domain/task.js';

export interface AgentAvailabilityDeps {
  /** Whether an agent could be had now for these requirements (a read; nothing is taken). */
  mayServe: (requirements: TaskRequirements) => Promise<boolean>;
  /** Tasks held back may now be claimed. */
  wake: () => void;
  logger: Logger;
}

/**
 * Which queued tasks not to claim now because their agent cannot be had, so that such a task is not
 * claimed and given back over and over (each time seen running, its record rewritten). What it knows
 * per set of requirements comes from reads (`mayServe`) and from acquisitions; it is a cache, cleared
 * at every reconciliation and when an agent is freed here.
 *
 * A task this process makes ready whose requirements it knows nothing of is held until a read says an
 * agent may be had; one whose requirements were served lately goes straight to the claim. A task
 * claimed and given back for want of an agent is held until an agent may be free.
 */
export class AgentAvailability {
  private readonly deps: AgentAvailabilityDeps;
  /** Held tasks, not to be claimed now. */
  private readonly held = new Map<string, TaskRecord>();
  /** Requirements (by key) -> whether an agent could be had, as last read or seen. */
  private readonly servable = new Map<string, boolean>();

  constructor(deps: AgentAvailabilityDeps) {
    this.deps = deps;
  }

  /** The tasks to leave out of claims. */
  heldIds(): string[] {
    return [...this.held.keys()];
  }

  /** Queued tasks this process made ready: those whose agent is not known to be available wait for a read. */
  admitted(tasks: readonly TaskRecord[]): void {
    const unknown: TaskRecord[] = [];
    for (const task of tasks) {
      if (!needsAgent(task.requirements)) continue;
      const known = this.servable.get(requirementsKey(task.requirements));
      if (known === true) continue;
      this.held.set(task.id, task);
      if (known === undefined) unknown.push(task);
    }
    if (unknown.length > 0) void this.check(unknown);
  }

  /** An agent was had for these requirements. */
  served(requirements: TaskRequirements): void {
    this.servable.set(requirementsKey(requirements), true);
  }

  /** The task was given back for want of an agent: held until one may be free. */
  unserved(task: TaskRecord): void {
    this.servable.set(requirementsKey(task.requirements), false);
    this.held.set(task.id, task);
  }

  /** An agent was freed here: what was unservable is read for again (what was served stays so). */
  agentFreed(): void {
    for (const [key, ok] of this.servable) if (!ok) this.servable.delete(key);
    this.recheck();
  }

  /** Other processes may have taken or freed agents: everything is read for again. */
  forgetAll(): void {
    this.servable.clear();
    this.recheck();
  }

  /** A task's requirements changed (an operator revised it), or it is no longer to be claimed here. */
  forget(taskId: string): void {
    this.held.delete(taskId);
  }

  private recheck(): void {
    if (this.held.size > 0) void this.check([...this.held.values()]);
  }

  /** Reads whether agents may be had, once per set of requirements, and lets go the tasks they may serve. */
  private async check(tasks: readonly TaskRecord[]): Promise<void> {
    const groups = new Map<string, TaskRecord[]>();
    for (const task of tasks) {
      const key = requirementsKey(task.requirements);
      groups.set(key, [...(groups.get(key) ?? []), task]);
    }
    let released = false;
    for (const [key, group] of groups) {
      const ok = await this.deps.mayServe((group[0] as TaskRecord).requirements).catch((error: unknown) => {
        this.deps.logger.warn({ err: error }, 'could not read whether an agent is free; claiming anyway');
        return true;
      });
      this.servable.set(key, ok);
      if (!ok) continue;
      for (const task of group) {
        // Only the copy that was checked: a task held again since (given back, revised) stays held.
        if (this.held.get(task.id) === task) {
          this.held.delete(task.id);
          released = true;
        }
      }
    }
    if (released) this.deps.wake();
  }
}

export function needsAgent(requirements: TaskRequirements): boolean {
  return Boolean(requirements.agentType || requirements.capabilities?.length || requirements.agentIds?.length);
}

/** One key per set of requirements, whatever the order of its lists. */
function requirementsKey(requirements: TaskRequirements): string {
  return JSON.stringify([requirements.agentType ?? null, sorted(requirements.capabilities), sorted(requirements.agentIds)]);
}

/** The list in order; copied only when it is not (a swarm's agent ids come in order, and are many). */
function sorted(list: readonly string[] | undefined): readonly string[] {
  if (list === undefined) return [];
  for (let i = 1; i < list.length; i++) if ((list[i - 1] as string) > (list[i] as string)) return [...list].sort();
  return list;
}
