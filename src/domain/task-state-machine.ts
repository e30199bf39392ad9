import { ConflictError } from './errors.js';
import type { TaskStatus } from './task.js';

/**
 * Legal task transitions. Anything not listed is an error, never a silent overwrite.
 * - pending: waiting for dependencies
 * - pending -> running: claimed in the write that completes its last dependency, by that process
 * - queued: ready (or waiting out a retry backoff)
 * - failed/cancelled -> queued|pending: an explicit retry
 * - running -> queued: a retry after a failed attempt, or recovery after a crash
 */
const TRANSITIONS: Record<TaskStatus, readonly TaskStatus[]> = {
  pending: ['queued', 'running', 'cancelled'],
  queued: ['running', 'cancelled', 'pending'],
  running: ['completed', 'failed', 'cancelled', 'queued'],
  completed: [],
  failed: ['queued', 'pending'],
  cancelled: ['queued', 'pending'],
};

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(taskId: string, from: TaskStatus, to: TaskStatus): void {
  if (!canTransition(from, to)) {
    throw new ConflictError(`task ${taskId} cannot go from ${from} to ${to}`, {
      details: { taskId, from, to, allowed: [...TRANSITIONS[from]] },
    });
  }
}

export function allowedTransitions(from: TaskStatus): readonly TaskStatus[] {
  return TRANSITIONS[from];
}
