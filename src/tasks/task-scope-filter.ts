import type { TaskRecord } from '../domain/task.js';
import type { TaskScope } from '../ports/task-queue.js';

/**
 * Whether a task is this runner's to run: a type it has an executor for, in its scope. A subtask of a
 * task in a `taskIds` scope is in scope too, and so are its own subtasks: the filter learns them as it
 * sees them (the store's claim follows the same rule by itself).
 */
export class TaskScopeFilter {
  readonly scope: TaskScope;
  private readonly types: ReadonlyMap<string, unknown>;
  private readonly taskIds: Set<string> | null;

  constructor(scope: TaskScope, types: ReadonlyMap<string, unknown>) {
    this.scope = scope;
    this.types = types;
    this.taskIds = scope.taskIds ? new Set(scope.taskIds) : null;
  }

  includes(task: TaskRecord): boolean {
    if (!this.types.has(task.type)) return false;
    if (this.scope.workflowId && task.workflowId !== this.scope.workflowId) return false;
    if (this.scope.swarmId && task.swarmId !== this.scope.swarmId) return false;
    if (this.taskIds) {
      if (this.taskIds.has(task.id)) return true;
      if (task.parentId === null || !this.taskIds.has(task.parentId)) return false;
      this.taskIds.add(task.id);
    }
    return true;
  }
}
