import type { Generated } from 'kysely';

/**
 * Table shapes shared by the SQL adapters (SQLite now; PostgreSQL reuses them). JSON columns are
 * text in SQLite (checked with json_valid) and jsonb in PostgreSQL; timestamps are epoch milliseconds.
 */
export interface ColonyTables {
  agents: AgentRow;
  tasks: TaskRow;
  task_dependencies: { task_id: string; depends_on: string };
  workflows: WorkflowRow;
  swarms: SwarmRow;
  memory: MemoryRow;
  events: EventRow;
  metrics: MetricRow;
  runners: RunnerRow;
  agent_turns: AgentTurnRow;
  task_journals: TaskJournalRow;
  agent_messages: AgentMessageRow;
}

export interface AgentRow {
  id: string;
  name: string;
  type: string;
  status: string;
  health: string;
  capabilities: string;
  config: string;
  current_tasks: string;
  max_concurrency: number;
  created_at: number;
  updated_at: number;
  terminated_at: number | null;
}

export interface TaskRow {
  id: string;
  name: string | null;
  type: string;
  description: string;
  status: string;
  priority: number;
  input: string;
  dependencies: string;
  parent_id: string | null;
  workflow_id: string | null;
  swarm_id: string | null;
  requirements: string;
  assigned_agent: string | null;
  timeout_ms: number | null;
  max_retries: number;
  max_attempts: number;
  attempts: number;
  result: string | null;
  error: string | null;
  runner_id: string | null;
  not_before: number | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  completed_at: number | null;
}

export interface WorkflowRow {
  id: string;
  name: string;
  source: string | null;
  definition_hash: string;
  status: string;
  created_at: number;
  updated_at: number;
  completed_at: number | null;
}

export interface SwarmRow {
  id: string;
  name: string;
  topology: string;
  objective: string | null;
  config: string;
  status: string;
  progress: number;
  created_at: number;
  updated_at: number;
}

export interface MemoryRow {
  namespace: string;
  key: string;
  value: string;
  version: number;
  expires_at: number | null;
  tags: string;
  metadata: string;
  created_at: number;
  updated_at: number;
  accessed_at: number;
  access_count: number;
}

export interface EventRow {
  id: Generated<number>;
  type: string;
  source: string;
  data: string;
  correlation_id: string | null;
  timestamp: number;
}

export interface MetricRow {
  id: Generated<number>;
  entity_type: string;
  entity_id: string;
  metric_name: string;
  metric_value: number;
  metadata: string | null;
  timestamp: number;
}

export interface RunnerRow {
  id: string;
  pid: number;
  hostname: string;
  kind: string;
  started_at: number;
  heartbeat_at: number;
}

export interface AgentTurnRow {
  id: Generated<number>;
  task_id: string;
  agent_id: string | null;
  attempt: number;
  turn: number;
  role: string;
  content: string;
  usage: string | null;
  model: string | null;
  provider: string | null;
  created_at: number;
}

export interface TaskJournalRow {
  task_id: string;
  journal: string;
  updated_at: number;
}

export interface AgentMessageRow {
  id: Generated<number>;
  from_agent: string;
  to_agent: string;
  task_id: string | null;
  body: string;
  created_at: number;
  read_at: number | null;
}
