import { describe, expect, it } from 'vitest';
import { ConflictError } from '../src/domain/errors.js';
import { TASK_STATUSES, type TaskStatus } from '../src/domain/task.js';
import { allowedTransitions, assertTransition, canTransition } from '../src/domain/task-state-machine.js';

const LEGAL: [TaskStatus, TaskStatus][] = [
  ['pending', 'queued'],
  ['pending', 'running'],
  ['pending', 'cancelled'],
  ['queued', 'running'],
  ['queued', 'cancelled'],
  ['queued', 'pending'],
  ['running', 'completed'],
  ['running', 'failed'],
  ['running', 'cancelled'],
  ['running', 'queued'],
  ['failed', 'queued'],
  ['failed', 'pending'],
  ['cancelled', 'queued'],
  ['cancelled', 'pending'],
];

describe('task state machine', () => {
  it('allows exactly the legal transitions', () => {
    for (const from of TASK_STATUSES) {
      for (const to of TASK_STATUSES) {
        const legal = LEGAL.some(([f, t]) => f === from && t === to);
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(legal);
      }
    }
  });

  it('completed is final', () => {
    expect(allowedTransitions('completed')).toEqual([]);
  });

  it('an illegal transition is a ConflictError naming both states', () => {
    expect(() => assertTransition('tsk_1', 'completed', 'running')).toThrow(ConflictError);
    expect(() => assertTransition('tsk_1', 'pending', 'completed')).toThrow(/tsk_1 cannot go from pending to completed/);
  });
});
