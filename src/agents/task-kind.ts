import { ValidationError } from '../domain/errors.js';

/**
 * A task's kind: a short lower-case word (`test`, `refactor`, `docs`) that groups tasks for adaptive
 * agent selection, which learns per agent type and kind.
 */
export const TASK_KIND_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/;
export const TASK_KIND_HINT = 'a task kind is a short lower-case word: a letter, then up to 31 letters, digits, _ or -';

/** The kind of a task that names none. */
export const DEFAULT_TASK_KIND = 'general';

export function checkTaskKind(kind: unknown, field = 'taskKind'): string {
  if (typeof kind !== 'string' || !TASK_KIND_PATTERN.test(kind)) {
    throw new ValidationError(`${field}: ${TASK_KIND_HINT}, got ${JSON.stringify(typeof kind === 'string' ? kind.slice(0, 40) : kind) ?? String(kind)}`, {
      details: { field },
    });
  }
  return kind;
}
