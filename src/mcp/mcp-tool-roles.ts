import type { Role } from '../security/roles.js';

/** The memory_usage actions that change memory (operator); the others only read it (viewer). */
export const MEMORY_WRITE_ACTIONS: ReadonlySet<string> = new Set(['store', 'delete']);

/**
 * THE MCP authorization table: the minimum role of each tool, as the REST table does for routes.
 * `memory_usage` is listed with its reading role; its writing actions (MEMORY_WRITE_ACTIONS) need
 * operator. Resources only read, and need viewer.
 */
export const TOOL_ROLES = {
  agent_spawn: 'operator',
  agent_list: 'viewer',
  agent_metrics: 'viewer',
  task_orchestrate: 'operator',
  task_status: 'viewer',
  task_results: 'viewer',
  task_cancel: 'operator',
  memory_usage: 'viewer',
  system_status: 'viewer',
  swarm_init: 'operator',
  swarm_status: 'viewer',
  swarm_diff: 'viewer',
  swarm_control: 'operator',
  consensus_vote: 'operator',
} as const satisfies Record<string, Role>;

export type ToolName = keyof typeof TOOL_ROLES;

/** The role a call needs: the tool's, or operator for memory writes. */
export function roleForCall(tool: ToolName, args: { action?: unknown }): Role {
  if (tool === 'memory_usage' && typeof args.action === 'string' && MEMORY_WRITE_ACTIONS.has(args.action)) return 'operator';
  return TOOL_ROLES[tool];
}
