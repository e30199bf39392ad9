import { ConflictError } from '../domain/errors.js';
import { isTerminal } from '../domain/task.js';
import type { Store } from '../ports/store.js';
import type { TaskEngine } from '../tasks/task-engine.js';

/** Attempts at cancelling a task that keeps changing state under us (being claimed, finishing). */
const CANCEL_ATTEMPTS = 20;
const CANCEL_RETRY_MS = 25;

/**
 * Cancels a task until it is cancelled or has finished by itself. A task being claimed at that very
 * moment makes the engine's compare-and-set fail ("changed while cancelling"); trying again then is
 * what makes a swarm's stop leave nothing running.
 */
export async function cancelUntilDone(tasks: TaskEngine, store: Store, taskId: string, reason: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const task = await store.getTask(taskId);
    if (!task || isTerminal(task.status)) return;
    try {
      await tasks.cancel(taskId, reason);
      return;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= CANCEL_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, CANCEL_RETRY_MS));
    }
  }
}
