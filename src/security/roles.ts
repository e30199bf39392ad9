import type { ApiKeyRole } from '../ports/store.js';

/**
 * Roles, weakest first; each role can do everything the ones before it can.
 * - viewer: reads (GET) only;
 * - operator: viewer + create, cancel and retry tasks, spawn, pause, resume and terminate agents,
 *   memory writes, provider tests;
 * - admin: everything, including API keys and diagnostics.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const satisfies readonly ApiKeyRole[];
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Whether `actual` is at least `required`. */
export function roleAllows(actual: Role, required: Role): boolean {
  return ROLES.indexOf(actual) >= ROLES.indexOf(required);
}
