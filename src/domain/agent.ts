export const AGENT_STATUSES = ['idle', 'busy', 'paused', 'error', 'terminated'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export const AGENT_HEALTH = ['healthy', 'degraded', 'unhealthy'] as const;
export type AgentHealth = (typeof AGENT_HEALTH)[number];

/** How an agent type was picked for a kind of work: each candidate's record and the score it drew. */
export interface AgentTypeChoice {
  type: string;
  kind: string;
  /** `selector`: drawn by the adaptive selector; `only`: one candidate; `fallback`: no type in the catalog could do it. */
  by: 'selector' | 'only' | 'fallback';
  /** Every candidate with its record for this kind of work (empty unless `by` is `selector`); the highest score won. */
  candidates: Array<{ type: string; successes: number; failures: number; score: number }>;
}

/** An agent type as defined by a catalog file (Claude Code's `.claude/agents/*.md` format plus our keys). */
export interface AgentTypeDefinition {
  name: string;
  description: string;
  /** Tools the agent may use; empty means the runtime's default set for its type. */
  tools: string[];
  model: string | null;
  capabilities: string[];
  /** How many tasks one agent of this type may run at once. */
  maxConcurrency: number;
  /** Its shell commands keep the network inside the OS sandbox (frontmatter `network: true`); default: no network. */
  network?: boolean;
  /** The system prompt (the Markdown body of the file). */
  systemPrompt: string;
  source: 'builtin' | 'project' | 'claude';
  path: string;
}

export interface AgentTrackRecord {
  tasksCompleted: number;
  tasksFailed: number;
  /** Mean task duration in ms over completed tasks, or null if none. */
  meanDurationMs: number | null;
}

export interface AgentRecord {
  id: string;
  name: string;
  type: string;
  status: AgentStatus;
  health: AgentHealth;
  capabilities: string[];
  config: Record<string, unknown>;
  /** Task ids the agent is working on now. */
  currentTasks: string[];
  maxConcurrency: number;
  createdAt: number;
  updatedAt: number;
  terminatedAt: number | null;
}

const AGENT_TRANSITIONS: Record<AgentStatus, readonly AgentStatus[]> = {
  idle: ['busy', 'paused', 'error', 'terminated'],
  busy: ['idle', 'paused', 'error', 'terminated'],
  paused: ['idle', 'busy', 'terminated'],
  error: ['idle', 'terminated'],
  terminated: [],
};

export function canAgentTransition(from: AgentStatus, to: AgentStatus): boolean {
  return from === to ? from !== 'terminated' : AGENT_TRANSITIONS[from].includes(to);
}
