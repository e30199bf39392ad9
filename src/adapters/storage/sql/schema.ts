import type { Generated } from 'kysely';

/**
 * Table shapes shared by the SQL adapters (SQLite and PostgreSQL). JSON columns are text in SQLite
 * (checked with json_valid) and jsonb in PostgreSQL: written as JSON text by both, read back as text
 * from SQLite and as parsed values from PostgreSQL (`readJson` takes either). Timestamps are epoch
 * milliseconds (bigint on PostgreSQL, read back as numbers: see postgres-connection.ts).
 */
export interface ColonyTables {
  agents: AgentRow;
  tasks: TaskRow;
  task_dependencies: { task_id: string; depends_on: string };
  workflows: WorkflowRow;
  swarms: SwarmRow;
  memory: MemoryRow;
  memory_blobs: MemoryBlobRow;
  memory_embeddings: MemoryEmbeddingRow;
  events: EventRow;
  metrics: MetricRow;
  runners: RunnerRow;
  agent_turns: AgentTurnRow;
  task_journals: TaskJournalRow;
  agent_messages: AgentMessageRow;
  api_keys: ApiKeyRow;
  consensus_proposals: ConsensusProposalRow;
  consensus_votes: ConsensusVoteRow;
  voter_keys: VoterKeyRow;
  voter_flags: VoterFlagRow;
  model_calls: ModelCallRow;
  provider_circuits: ProviderCircuitRow;
  task_processes: TaskProcessRow;
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
  /** Consecutive failed tasks (0006); written only by the store's slot statements. */
  failure_streak?: number;
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
  /** The worker pool that alone may run it (0012). */
  pool: string | null;
  /** The W3C traceparent of the span that created it (0013). */
  trace_parent: string | null;
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
  // Migration 0005:
  plan: string | null;
  result: string | null;
  error: string | null;
  usage: string;
  agent_ids: string;
  leader_agent_id: string | null;
  runner_id: string | null;
  started_at: number | null;
  finished_at: number | null;
}

/** A memory entry; its value lives in memory_blobs under `value_ref` (migration 0003). */
export interface MemoryRow {
  namespace: string;
  key: string;
  version: number;
  value_ref: string;
  tags: string;
  metadata: string;
  expires_at: number | null;
  created_at: number;
  updated_at: number;
  accessed_at: number;
  access_count: number;
  /** SQLite only: the entry's row in the memory_fts full-text table. */
  fts_rowid?: number | null;
  /** PostgreSQL only: the entry's tsvector for keyword search. */
  search?: string;
}

/** A memory value, content-addressed: `hash` is the SHA-256 (hex) of the value's JSON text. */
export interface MemoryBlobRow {
  hash: string;
  /** The JSON text as UTF-8, gzip-compressed when `compressed` is 1. */
  data: Uint8Array;
  compressed: number;
  /** Bytes of the JSON text before compression. */
  size: number;
  /** How many memory rows point at this blob; a blob at 0 is deleted. */
  refcount: number;
}

/** One entry's vector for one embedding model (the vector itself is in a vec0 table on SQLite). */
export interface MemoryEmbeddingRow {
  id: Generated<number>;
  namespace: string;
  key: string;
  version: number;
  model: string;
  dims: number;
  created_at: number;
}

export interface EventRow {
  id: Generated<number>;
  type: string;
  source: string;
  data: string;
  correlation_id: string | null;
  timestamp: number;
  /**
   * PostgreSQL only (migration 0010): the appending transaction's id (xid8, read as text), set by the
   * column's default; readers return only events of transactions older than every one still running.
   */
  xid?: Generated<string>;
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
  /** 1 when it runs tasks, 0 when it only serves (0012; default 1). */
  runs_tasks?: number;
  /** JSON array of the worker pools it serves (0012; default `[]`). */
  pools?: string;
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

/** An API key (migration 0004): only the SHA-256 of the key is stored. */
export interface ApiKeyRow {
  id: string;
  name: string;
  role: string;
  hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** A consensus proposal (migration 0005). */
export interface ConsensusProposalRow {
  id: string;
  question: string;
  options: string;
  context: string | null;
  settings: string;
  status: string;
  swarm_id: string | null;
  task_id: string | null;
  voter_ids: string;
  outcome: string | null;
  created_at: number;
  updated_at: number;
  decided_at: number | null;
}

export interface ConsensusVoteRow {
  id: Generated<number>;
  proposal_id: string;
  round: number;
  voter_id: string;
  decision: string;
  confidence: number;
  reason: string;
  signature: string;
  weight: number;
  status: string;
  exclusion: string | null;
  created_at: number;
}

export interface VoterKeyRow {
  voter_id: string;
  public_key: string;
  created_at: number;
}

export interface VoterFlagRow {
  id: Generated<number>;
  voter_id: string;
  proposal_id: string;
  round: number;
  reason: string;
  flagged_at: number;
}

/** A model call of a swarm (migration 0007). */
export interface ModelCallRow {
  id: string;
  swarm_id: string;
  task_id: string | null;
  agent_id: string | null;
  runner_id: string | null;
  provider: string;
  model: string;
  status: string;
  reserved_tokens: number;
  reserved_cost_usd: number | null;
  input_tokens: Generated<number>;
  output_tokens: Generated<number>;
  cost_usd: number | null;
  started_at: number;
  ended_at: number | null;
}

/** A process's circuit breaker state for a provider (migration 0008). */
export interface ProviderCircuitRow {
  runner_id: string;
  provider: string;
  state: string;
  changed_at: number;
}

/** A process group a task attempt started (migration 0009). */
export interface TaskProcessRow {
  hostname: string;
  pgid: number;
  runner_id: string;
  task_id: string;
  attempt: number;
  leader_start_time: string | null;
  started_at: number;
}
