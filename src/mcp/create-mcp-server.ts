import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { Colony } from '../app/colony.js';
import { AGENT_STATUSES, type AgentRecord } from '../domain/agent.js';
import { MAX_MEMORY_TTL_MS } from '../domain/bounds.js';
import { NotFoundError, toColonyError, ValidationError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import { PRIORITY_MAX, PRIORITY_MIN, type TaskRecord } from '../domain/task.js';
import type { MemoryEntry } from '../ports/memory-store.js';
import { roleAllows, type Role } from '../security/roles.js';
import { prioritySchema } from '../tasks/task-spec.js';
import { roleForCall, type ToolName } from './mcp-tool-roles.js';
import { registerSwarmResources, SWARM_TOOL_DESCRIPTIONS, SWARM_TOOL_SCHEMAS, swarmToolHandlers } from './swarm-tools.js';
import { CONSENSUS_TOOL_DESCRIPTIONS, CONSENSUS_TOOL_SCHEMAS, consensusToolHandlers } from './consensus-tools.js';

export interface CreateMcpServerOptions {
  /** The caller's role: stdio is the local admin; over HTTP the authenticated key's or token's role. */
  role: Role;
  version?: string;
}

/** Longest list a tool returns by default, and at most. */
const LIST_DEFAULT = 100;
const LIST_MAX = 1_000;
const DEFAULT_NAMESPACE = 'default';
const MAX_MEMORY_TTL_SECONDS = MAX_MEMORY_TTL_MS / 1000;

const id = z.string().min(1).max(200);
const priority = z
  .union([z.enum(['low', 'medium', 'normal', 'high', 'critical']), z.number().int().min(PRIORITY_MIN).max(PRIORITY_MAX)])
  .optional()
  .describe('low, normal (or medium), high, critical, or 0-1000');

const SCHEMAS = {
  agent_spawn: z.object({
    type: z.string().min(1).max(100).describe('agent type from the catalog, e.g. coder, researcher, reviewer'),
    name: z.string().min(1).max(200).optional(),
    capabilities: z.array(z.string().min(1).max(100)).max(50).optional().describe('extra capabilities on top of the type\'s'),
  }),
  agent_list: z.object({
    status: z.enum(AGENT_STATUSES).optional(),
    type: z.string().min(1).max(100).optional(),
  }),
  agent_metrics: z.object({ agentId: id }),
  task_orchestrate: z.object({
    task: z
      .union([z.string().min(1).max(200_000), z.array(z.string().min(1).max(200_000)).min(1).max(50)])
      .describe('what to do: the prompt of an agent task (a list: one task per item), or a shell task\'s description'),
    strategy: z.enum(['parallel', 'sequential']).optional().describe('several tasks: independent (default) or each after the previous'),
    priority,
    dependencies: z.array(id).max(1_000).optional().describe('ids of tasks that must complete first'),
    type: z.enum(['agent', 'shell']).optional().describe('agent (default): an agent works on the prompt; shell: run `command`'),
    command: z.union([z.string().min(1).max(100_000), z.array(z.string().min(1).max(100_000)).min(1).max(50)]).optional(),
    agentType: z.string().min(1).max(100).optional().describe('agent tasks: the agent type to run it'),
  }),
  task_status: z.object({ taskId: id }),
  task_results: z.object({ taskId: id }),
  task_cancel: z.object({ taskId: id, reason: z.string().max(1_000).optional() }),
  memory_usage: z.object({
    action: z.enum(['store', 'retrieve', 'list', 'delete', 'search']),
    key: z.string().min(1).max(1_000).optional(),
    value: z.unknown().optional().describe('store: any JSON value'),
    namespace: z.string().min(1).max(200).optional().describe(`default: ${DEFAULT_NAMESPACE} (list and search: all namespaces)`),
    ttl: z.number().positive().max(MAX_MEMORY_TTL_SECONDS).optional().describe('store: seconds to keep it (at most ten years)'),
    tags: z.array(z.string().min(1).max(100)).max(50).optional(),
    query: z.string().min(1).max(10_000).optional().describe('search: the text to look for'),
    limit: z.number().int().min(1).max(LIST_MAX).optional(),
  }),
  system_status: z.object({}),
  ...SWARM_TOOL_SCHEMAS,
  ...CONSENSUS_TOOL_SCHEMAS,
} as const satisfies Record<ToolName, z.ZodObject>;

const DESCRIPTIONS: Record<ToolName, string> = {
  agent_spawn: 'Spawn an agent of a catalog type (operator).',
  agent_list: 'List live agents, optionally by status or type (viewer).',
  agent_metrics: 'An agent\'s health, load and track record: tasks completed, failed, mean duration (viewer).',
  task_orchestrate:
    'Create tasks the engine runs: agent tasks (the prompt goes to an agent) or shell tasks, with priority, dependencies and a parallel or sequential strategy (operator).',
  task_status: 'A task\'s status, attempts and timing (viewer).',
  task_results: 'A task\'s result or error; for agent tasks a summary of the transcript (viewer).',
  task_cancel: 'Cancel a task and the tasks that depend on it (operator).',
  memory_usage:
    'Shared memory: store, retrieve, list, delete or search entries by namespace and key (store and delete: operator; the rest: viewer).',
  system_status: 'Runners, task counts by status, agents by status, the database, and the configured hooks with their recent failures (viewer).',
  ...SWARM_TOOL_DESCRIPTIONS,
  ...CONSENSUS_TOOL_DESCRIPTIONS,
};

/** Answers for the model: JSON text. */
function ok(data: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(data, null, 2) }] };
}

/** The one place a failure becomes an MCP tool error: `code: message`, never a stack trace. */
export function toolError(error: unknown): CallToolResult {
  const e = toColonyError(error);
  return { isError: true, content: [{ type: 'text', text: `${e.code}: ${e.message}` }] };
}

function forbidden(tool: string, needed: Role, actual: Role): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: `forbidden: ${tool} needs the ${needed} role; this caller is ${actual}` }] };
}

function agentView(a: AgentRecord) {
  return {
    agentId: a.id,
    name: a.name,
    type: a.type,
    status: a.status,
    health: a.health,
    capabilities: a.capabilities,
    currentTasks: a.currentTasks,
    maxConcurrency: a.maxConcurrency,
    createdAt: new Date(a.createdAt).toISOString(),
  };
}

function taskView(t: TaskRecord) {
  return {
    taskId: t.id,
    name: t.name,
    type: t.type,
    description: t.description,
    status: t.status,
    priority: t.priority,
    dependencies: t.dependencies,
    assignedAgent: t.assignedAgent,
    attempts: t.attempts,
    maxAttempts: t.maxAttempts,
    createdAt: new Date(t.createdAt).toISOString(),
    startedAt: t.startedAt === null ? null : new Date(t.startedAt).toISOString(),
    completedAt: t.completedAt === null ? null : new Date(t.completedAt).toISOString(),
  };
}

function entryView(e: MemoryEntry) {
  return {
    namespace: e.namespace,
    key: e.key,
    value: e.value,
    version: e.version,
    tags: e.tags,
    expiresAt: e.expiresAt === null ? null : new Date(e.expiresAt).toISOString(),
    updatedAt: new Date(e.updatedAt).toISOString(),
  };
}

function need<T>(value: T | undefined, field: string, action: string): T {
  if (value === undefined) throw new ValidationError(`${field} is required for action ${action}`, { details: { field } });
  return value;
}

type Args<N extends ToolName> = z.output<(typeof SCHEMAS)[N]>;

/**
 * The MCP server over a colony: the tools Claude-Flow users know for the core operations (agent_spawn,
 * agent_list, task_orchestrate, task_status, task_results, memory_usage, swarm_init, swarm_status)
 * plus agent_metrics, task_cancel, swarm_control, swarm_diff and system_status, and memory and swarm resources. Every call checks the caller's role first.
 * One server serves one connection (stdio) or one request (stateless Streamable HTTP).
 */
export function createMcpServer(colony: Colony, options: CreateMcpServerOptions): McpServer {
  const server = new McpServer({ name: 'colony', version: options.version ?? '0.0.0' }, { capabilities: { tools: {}, resources: {} } });

  const handlers: { [N in ToolName]: (args: Args<N>) => Promise<unknown> } = {
    agent_spawn: async (args) => {
      const agent = await colony.agents.spawn({
        type: args.type,
        ...(args.name === undefined ? {} : { name: args.name }),
        ...(args.capabilities === undefined ? {} : { capabilities: args.capabilities }),
      });
      return { success: true, ...agentView(agent) };
    },
    agent_list: async (args) => {
      const agents = await colony.agents.list({
        ...(args.status === undefined ? { excludeTerminated: true } : { status: args.status }),
        ...(args.type === undefined ? {} : { type: args.type }),
        limit: LIST_MAX,
      });
      return { success: true, count: agents.length, agents: agents.map(agentView) };
    },
    agent_metrics: async (args) => {
      const report = await colony.agents.health(args.agentId);
      return { success: true, ...agentView(report.agent), load: report.load, trackRecord: report.trackRecord };
    },
    task_orchestrate: async (args) => orchestrate(colony, args),
    task_status: async (args) => ({ success: true, ...taskView(await colony.tasks.get(args.taskId)) }),
    task_results: async (args) => {
      const task = await colony.tasks.get(args.taskId);
      const done = task.status === 'completed' || task.status === 'failed' || task.status === 'cancelled';
      return {
        success: true,
        taskId: task.id,
        type: task.type,
        status: task.status,
        complete: done,
        result: task.result,
        error: task.error,
        ...(task.type === 'agent' ? { transcript: await transcriptSummary(colony, task.id) } : {}),
      };
    },
    task_cancel: async (args) => {
      const task = await colony.tasks.cancel(args.taskId, args.reason ?? 'cancelled over MCP');
      return { success: true, ...taskView(task) };
    },
    memory_usage: async (args) => memoryUsage(colony, args),
    system_status: async () => systemStatus(colony, options.role),
    ...swarmToolHandlers(colony),
    ...consensusToolHandlers(colony),
  };

  for (const name of Object.keys(SCHEMAS) as ToolName[]) {
    const handler = handlers[name] as (args: unknown) => Promise<unknown>;
    const readOnly = roleForCall(name, {}) === 'viewer' && name !== 'memory_usage';
    server.registerTool(
      name,
      { description: DESCRIPTIONS[name], inputSchema: SCHEMAS[name], annotations: { readOnlyHint: readOnly, openWorldHint: false } },
      (async (args: { action?: unknown }) => {
        const needed = roleForCall(name, args ?? {});
        if (!roleAllows(options.role, needed)) return forbidden(name, needed, options.role);
        try {
          return ok(await handler(args ?? {}));
        } catch (error) {
          return toolError(error);
        }
      }) as never,
    );
  }

  // Resources only read: any authenticated caller (viewer) may read them.
  server.registerResource(
    'memory-namespaces',
    'colony://memory',
    { title: 'Memory namespaces', description: 'Namespaces of the shared memory with their live entry counts', mimeType: 'application/json' },
    async (uri): Promise<ReadResourceResult> => {
      const stats = await (await colony.memory()).stats();
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ entries: stats.entries, namespaces: stats.namespaces }, null, 2) }] };
    },
  );
  server.registerResource(
    'memory-entry',
    new ResourceTemplate('colony://memory/{namespace}/{key}', {
      list: async () => {
        const entries = await (await colony.memory()).list({ limit: LIST_DEFAULT });
        return {
          resources: entries.map((e) => ({
            uri: `colony://memory/${encodeURIComponent(e.namespace)}/${encodeURIComponent(e.key)}`,
            name: `${e.namespace}/${e.key}`,
            mimeType: 'application/json',
          })),
        };
      },
    }),
    { title: 'Memory entry', description: 'One entry of the shared memory', mimeType: 'application/json' },
    async (uri, variables): Promise<ReadResourceResult> => {
      const namespace = decodeURIComponent(String(variables.namespace));
      const key = decodeURIComponent(String(variables.key));
      const entry = await (await colony.memory()).retrieve(namespace, key);
      if (!entry) throw new NotFoundError('memory entry', `${namespace}/${key}`);
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(entryView(entry), null, 2) }] };
    },
  );

  registerSwarmResources(server, colony);

  return server;
}

function priorityOf(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = prioritySchema.safeParse(value === 'medium' ? 'normal' : value);
  if (!parsed.success) throw new ValidationError(`priority: ${parsed.error.issues[0]?.message ?? 'invalid'}`, { details: { field: 'priority' } });
  return parsed.data;
}

async function orchestrate(colony: Colony, args: Args<'task_orchestrate'>) {
  const type = args.type ?? 'agent';
  const strategy = args.strategy ?? 'parallel';
  const priority = priorityOf(args.priority);
  let items: { description: string; input: JsonValue }[];
  if (type === 'shell') {
    const command = need(args.command, 'command', 'type shell');
    if (Array.isArray(args.task)) throw new ValidationError('task: a shell task takes one description; give several commands as a list in command', { details: { field: 'task' } });
    const description = args.task;
    items = (Array.isArray(command) ? command : [command]).map((c) => ({ description, input: { command: c } }));
  } else {
    if (args.command !== undefined) throw new ValidationError('command: only for type shell', { details: { field: 'command' } });
    items = (Array.isArray(args.task) ? args.task : [args.task]).map((prompt) => ({
      description: prompt.slice(0, 2_000),
      input: { prompt, ...(args.agentType === undefined ? {} : { agentType: args.agentType }) },
    }));
  }
  const dependencies = args.dependencies ?? [];
  const specs = items.map((item) => ({
    type,
    description: item.description,
    input: item.input,
    dependencies,
    ...(priority === undefined ? {} : { priority }),
    ...(type === 'agent' && args.agentType !== undefined ? { requirements: { agentType: args.agentType } } : {}),
  }));
  // Nothing is created unless every task is valid.
  await colony.tasks.validate(specs.map((s) => ({ ...s, dependencies: [] })));
  const created: TaskRecord[] = [];
  for (const spec of specs) {
    const previous = created.at(-1);
    const deps = strategy === 'sequential' && previous ? [...spec.dependencies, previous.id] : spec.dependencies;
    const [task] = await colony.tasks.submit([{ ...spec, dependencies: deps }]);
    created.push(task as TaskRecord);
  }
  const first = created[0] as TaskRecord;
  return {
    success: true,
    taskId: first.id,
    taskIds: created.map((t) => t.id),
    strategy,
    status: first.status,
    tasks: created.map(taskView),
  };
}

async function transcriptSummary(colony: Colony, taskId: string) {
  const { turns } = await colony.tasks.transcript(taskId);
  let modelTurns = 0;
  let toolCalls = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  let lastText: string | null = null;
  const tools = new Set<string>();
  const agents = new Set<string>();
  for (const turn of turns) {
    if (turn.agentId) agents.add(turn.agentId);
    if (turn.role !== 'assistant') continue;
    modelTurns += 1;
    inputTokens += turn.usage?.inputTokens ?? 0;
    outputTokens += turn.usage?.outputTokens ?? 0;
    for (const part of turn.content) {
      if (part.type === 'tool_use') {
        toolCalls += 1;
        tools.add(part.name);
      } else if (part.type === 'text' && part.text.trim()) lastText = part.text;
    }
  }
  return { agents: [...agents], modelTurns, toolCalls, tools: [...tools], usage: { inputTokens, outputTokens }, lastMessage: lastText && lastText.length > 4_000 ? `${lastText.slice(0, 4_000)}…` : lastText };
}

async function memoryUsage(colony: Colony, args: Args<'memory_usage'>) {
  const memory = await colony.memory();
  const namespace = args.namespace ?? DEFAULT_NAMESPACE;
  const action = args.action;
  switch (action) {
    case 'store': {
      const key = need(args.key, 'key', action);
      if (args.value === undefined) throw new ValidationError('value is required for action store', { details: { field: 'value' } });
      const entry = await memory.store(namespace, key, args.value as JsonValue, {
        ...(args.ttl === undefined ? {} : { ttlMs: Math.round(args.ttl * 1000) }),
        ...(args.tags === undefined ? {} : { tags: args.tags }),
      });
      return { success: true, action, stored: true, ...entryView(entry), size: entry.size };
    }
    case 'retrieve': {
      const key = need(args.key, 'key', action);
      const entry = await memory.retrieve(namespace, key);
      return entry ? { success: true, action, found: true, ...entryView(entry) } : { success: true, action, found: false, namespace, key, value: null };
    }
    case 'delete': {
      const key = need(args.key, 'key', action);
      const deleted = await memory.delete(namespace, key);
      return { success: true, action, namespace, key, deleted };
    }
    case 'list': {
      const entries = await memory.list({
        ...(args.namespace === undefined ? {} : { namespace: args.namespace }),
        ...(args.tags === undefined ? {} : { tags: args.tags }),
        limit: args.limit ?? LIST_DEFAULT,
      });
      return { success: true, action, namespace: args.namespace ?? null, count: entries.length, entries: entries.map(entryView) };
    }
    case 'search': {
      const query = need(args.query, 'query', action);
      const found = await memory.search(query, {
        ...(args.namespace === undefined ? {} : { namespace: args.namespace }),
        ...(args.tags === undefined ? {} : { tags: args.tags }),
        limit: args.limit ?? 10,
      });
      return {
        success: true,
        action,
        query,
        mode: found.mode,
        embedder: found.embedder?.model ?? null,
        count: found.hits.length,
        results: found.hits.map((h) => ({ ...entryView(h.entry), score: h.score, matchedBy: h.matchedBy })),
      };
    }
  }
}

async function systemStatus(colony: Colony, role: Role) {
  const [runners, tasks, agents, store, hooks] = await Promise.all([
    colony.runners.liveProcesses(),
    colony.tasks.countByStatus(),
    colony.agents.list({ excludeTerminated: true }),
    colony.health(),
    colony.hooksStatus(),
  ]);
  const agentsByStatus: Record<string, number> = {};
  for (const a of agents) agentsByStatus[a.status] = (agentsByStatus[a.status] ?? 0) + 1;
  return {
    success: true,
    caller: { role },
    runners: runners.map((r) => ({ id: r.id, kind: r.kind, role: r.role, pid: r.pid, hostname: r.hostname, pools: r.pools })),
    tasks,
    agents: { total: agents.length, byStatus: agentsByStatus },
    executors: colony.tasks.executorTypes(),
    database: { location: store.location, schemaVersion: store.schemaVersion },
    hooks,
  };
}
