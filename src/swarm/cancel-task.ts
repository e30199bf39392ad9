import { ConflictError } from '../domain/errors.js';
import { isTerminal, type TaskStatus } from '../domain/task.js';
import type { TaskEngine } from '../tasks/task-engine.js';

/**
 * Cancels a swarm task unless it finished by itself meanwhile, which is no error when a swarm winds
 * down (the engine itself retries a cancel that races a claim).
 */
export async function cancelUnlessFinished(tasks: TaskEngine, taskId: string, reason: string): Promise<void> {
  try {
    await tasks.cancel(taskId, reason);
  } catch (error) {
    const status = error instanceof ConflictError ? (error.details as { status?: TaskStatus }).status : undefined;
    if (status !== undefined && isTerminal(status)) return;
    throw error;
  }
}
