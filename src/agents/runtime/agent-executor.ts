import { realpath } from 'node:fs/promises';
import type { Tracer } from '../../ports/tracer.js';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { PROVIDER_IDS } from '../../providers/provider-registry.js';
import type { EventBus } from '../../ports/event-bus.js';
import type { AgentTypeDefinition } from '../../domain/agent.js';
import { CONSENSUS_STRATEGIES, type ProposalStatus } from '../../domain/consensus.js';
import { ConfigError, ExecutionError, isColonyError, ValidationError } from '../../domain/errors.js';
import type { JsonValue } from '../../domain/json.js';
import type { TaskRecord } from '../../domain/task.js';
import type { Provider } from '../../ports/provider.js';
import type { IdKind } from '../../domain/ids.js';
import { MeteredProvider, meteredForSwarm } from '../../providers/metered-provider.js';
import type { Store } from '../../ports/store.js';
import { FileJournal } from '../../sandbox/file-journal.js';
import type { RollbackContext, TaskContext, TaskExecutor } from '../../tasks/task-executor.js';
import type { TaskSpecInput } from '../../tasks/task-spec.js';
import type { MemoryManager } from '../../memory/memory-manager.js';
import type { Git } from '../../ports/git.js';
import { commitTaskWorktree, isInside, prepareTaskWorktree, type TaskWorktreeSpec } from '../../tasks/task-worktree.js';
import { TASK_KIND_HINT, TASK_KIND_PATTERN } from '../task-kind.js';
import type { HookRunner } from '../../hooks/hook-runner.js';
import { runAgent, type AgentLimits } from './agent-runtime.js';
import { mapToolNames } from './tool-names.js';
import { runShellTool } from './tools/shell-tool.js';
import {
  AGENT_DEFAULT_MAX_OUTPUT_TOKENS_PER_TURN,
  AGENT_DEFAULT_MAX_TOKENS,
  AGENT_DEFAULT_MAX_TURNS,
  AGENT_DEFAULT_TYPE,
} from './runtime-defaults.js';
import type { AgentTool, ShellSettings, SubmitSubtask, SubtaskRequest } from './tools/agent-tool.js';

/** The provider that runs its own tool loop (see claude-code-provider.ts), so it is given no Colony tools to call. */
const CLAUDE_CODE_PROVIDER_ID = 'claude-code';

/** The task type this executor runs. */
export const AGENT_TASK_TYPE = 'agent';

const agentInputSchema = z.strictObject({
  prompt: z.string().min(1, 'prompt must not be empty').max(200_000),
  /** A provider id (`anthropic`, `openai`, ... or one a program registered); default: the colony's default provider. */
  provider: z.string({ error: 'must be a provider id (a string)' }).min(1).max(64).optional(),
  model: z.string().min(1).optional(),
  /** The agent type when the engine assigns no agent; default `coder`. */
  agentType: z.string().min(1).optional(),
  /** What kind of task this is (`test`, `refactor`): adaptive selection learns per agent type and kind; default `general`. */
  kind: z.string().regex(TASK_KIND_PATTERN, TASK_KIND_HINT).optional(),
  /** Extra context for the model, e.g. what earlier tasks found. */
  context: z.string().max(200_000).optional(),
  maxTurns: z.number().int().min(1).max(1_000).optional(),
  maxTokens: z.number().int().min(1).optional(),
  /** The result counts only once agents accept it by vote (see consensus/task-review.ts); rejected: the attempt fails with their reasons. */
  consensus: z
    .strictObject({
      voters: z.number().int().min(1).max(50).optional(),
      agentType: z.string().min(1).max(64).optional(),
      strategy: z.enum(CONSENSUS_STRATEGIES, { error: (i) => `unknown strategy ${JSON.stringify(i.input)}; one of ${CONSENSUS_STRATEGIES.join(', ')}` }).optional(),
      threshold: z.number().gt(0).max(1).optional(),
    })
    .optional(),
  /**
   * A git worktree to work in instead of the workspace (a swarm's task, see swarm-worktrees.ts): it
   * must be one of the project repository's Colony worktrees; what the agent changed is committed there.
   */
  worktree: z
    .strictObject({
      path: z.string().min(1).max(4_096),
      branch: z.string().min(1).max(255),
      base: z.string().regex(/^[0-9a-f]{40,64}$/, 'base must be a commit id'),
      mode: z.enum(['task', 'resolve']),
    })
    .optional(),
});

export type AgentTaskInput = z.infer<typeof agentInputSchema>;
export type AgentTaskConsensus = NonNullable<AgentTaskInput['consensus']>;

/** An agent's result put to a vote before its task counts as done. */
export interface ResultReview {
  task: TaskRecord;
  prompt: string;
  result: JsonValue;
  consensus: AgentTaskConsensus;
  /** The task's provider and model (the voters use them too). */
  provider?: string;
  model?: string;
  signal: AbortSignal;
}

export interface ResultVerdict {
  accepted: boolean;
  proposalId: string;
  status: ProposalStatus;
  decision: string | null;
  ratio: number;
  /** Why it was not accepted, with the voters' reasons; null when accepted. */
  reason: string | null;
}

export interface ResolvedProvider {
  provider: Provider;
  providerId: string;
  model: string;
}

/** What a resolver may use to build a provider for one task (Claude Code runs in the workspace with the agent's tools). */
export interface ProviderHints {
  agentModel: string | null;
  agentTools: readonly string[];
  workspace: string;
}

export interface AgentExecutorDeps {
  store: Store;
  events: EventBus;
  /** Agent turns and tool calls are spans under the task's. */
  tracer?: Tracer;
  /**
   * The provider for an id (undefined: the default one) and the model to use. `agentModel` is the
   * agent type's `model` (a Claude Code alias such as `sonnet`, or null), for resolvers that map it.
   */
  resolveProvider(id: string | undefined, hints: ProviderHints): ResolvedProvider | Promise<ResolvedProvider>;
  /** The agent type definition for a name; throws (ValidationError) for an unknown one. */
  agentType(name: string): AgentTypeDefinition | Promise<AgentTypeDefinition>;
  /** Defaults for tasks that set no limits of their own. */
  limits?: Partial<AgentLimits>;
  shell: ShellSettings;
  submitSubtask?: SubmitSubtask;
  /** Extra context for a task's model (memories, ...), appended to the input's own context. */
  context?(task: TaskRecord, agentType: AgentTypeDefinition): Promise<string | undefined>;
  /** The colony's memory, opened on first use (undefined: unavailable); agents get the memory tools over it. */
  memory?(): Promise<MemoryManager | undefined>;
  /** Votes on a result when the task's input asks for consensus (the colony wires colony.consensus). */
  review?(request: ResultReview): Promise<ResultVerdict>;
  now?: () => number;
  /** Ids for model calls; with it, a swarm's tasks record their calls in the ModelCallLedger. */
  newId?: (kind: IdKind) => string;
  /** The provider ids a task may name; default: the configured ones (PROVIDER_IDS). */
  providerIds?: () => readonly string[];
  /** Tools a program registered (see ToolRegistry); agent types select them by name in `tools:`. */
  customTools?: () => readonly AgentTool[];
  /**
   * The MCP tools an agent type's `tools:` list selects (starting their servers); throws ConfigError
   * for a server that is not configured. Absent: agents get no MCP tools.
   */
  mcpTools?(agentType: AgentTypeDefinition, signal: AbortSignal): Promise<AgentTool[]>;
  /** The configured hooks: agents run `fileEdited` and `taskCompleting` ones (see agent-hooks.ts). */
  hooks?: HookRunner;
  /** Git, for tasks that work in a worktree (absent: such tasks fail with a ConfigError). */
  git?: Git;
}

/**
 * Task type `agent`: an agent works on the task's prompt in the workspace through the tool-use loop
 * (see agent-runtime.ts). The agent type is the assigned agent's type, else the input's
 * `agentType`, else the task's required agent type, else `coder`.
 *
 * The task's result is `{ result, stopReason, turns, usage, provider, model, agentType }`, where
 * `result` is what the agent reported. The file journal is kept after success (so that a result
 * rejected later can still be undone) and removed by rollback or with the task. A task whose input
 * names a `worktree` runs there and adds `worktree: { path, branch, base, commit }` to its result.
 */
export function createAgentExecutor(deps: AgentExecutorDeps): TaskExecutor {
  const now = deps.now ?? Date.now;
  const limits: AgentLimits = {
    maxTurns: deps.limits?.maxTurns ?? AGENT_DEFAULT_MAX_TURNS,
    maxTokens: deps.limits?.maxTokens ?? AGENT_DEFAULT_MAX_TOKENS,
    maxOutputTokensPerTurn: deps.limits?.maxOutputTokensPerTurn ?? AGENT_DEFAULT_MAX_OUTPUT_TOKENS_PER_TURN,
  };
  const providerIds = deps.providerIds ?? ((): readonly string[] => PROVIDER_IDS);

  return {
    type: AGENT_TASK_TYPE,
    validateInput(input) {
      return parseAgentInput(input, providerIds) as unknown as JsonValue;
    },
    async prepareWorkspace(context: TaskContext): Promise<string> {
      const worktree = parseAgentInput(context.task.input, providerIds).worktree;
      return worktree === undefined ? context.workspace : worktreeWorkspace(deps, context.workspace, worktree);
    },
    async execute(context: TaskContext): Promise<JsonValue> {
      const input = parseAgentInput(context.task.input, providerIds);
      const worktree = input.worktree;
      // The attempt's workspace: the task's own worktree, made ready by prepareWorkspace when the engine
      // runs the task (its hooks run there too); else the project.
      const workspace = worktree === undefined || inWorktree(worktree, context.workspace) ? context.workspace : await worktreeWorkspace(deps, context.workspace, worktree);
      const typeName = context.agent?.type ?? input.agentType ?? context.task.requirements.agentType ?? AGENT_DEFAULT_TYPE;
      const agentType = await deps.agentType(typeName);
      const resolved = await deps.resolveProvider(input.provider, { agentModel: agentType.model, agentTools: agentType.tools, workspace });
      const model = input.model ?? resolved.model;
      const provider = await meteredTaskProvider(deps, context, resolved.provider, now);
      const extra = await deps.context?.(context.task, agentType);
      const memory = await deps.memory?.();
      const customTools = deps.customTools?.();
      // Claude Code runs its own agent loop with its own MCP servers (the project's .mcp.json): Colony's are not offered to it.
      const mcpTools = resolved.providerId === CLAUDE_CODE_PROVIDER_ID ? undefined : await deps.mcpTools?.(agentType, context.signal);
      // How its commands run, for an agent that has the shell: one without it runs none, and does not
      // make this process probe bubblewrap (the probe runs on first use).
      const runsCommands = mapToolNames(agentType.tools, customTools?.map((tool) => tool.name)).names.includes(runShellTool.name);
      const sandbox = runsCommands ? await sandboxRecord(deps.shell) : undefined;
      const run = await runAgent({
        provider,
        providerId: resolved.providerId,
        model,
        agentType,
        agent: context.agent,
        task: context.task,
        attempt: context.attempt,
        prompt: input.prompt,
        ...joinContext(input.context, extra),
        workspace,
        store: deps.store,
        events: deps.events,
        limits: { ...limits, maxTurns: input.maxTurns ?? limits.maxTurns, maxTokens: input.maxTokens ?? limits.maxTokens },
        shell: { ...deps.shell, network: deps.shell.network === true || agentType.network === true },
        signal: context.signal,
        ...(deps.submitSubtask === undefined ? {} : { submitSubtask: deps.submitSubtask }),
        ...(memory === undefined ? {} : { memory }),
        ...(customTools === undefined ? {} : { customTools }),
        ...(mcpTools === undefined ? {} : { mcpTools }),
        ...(deps.tracer === undefined ? {} : { tracer: deps.tracer }),
        ...(deps.hooks === undefined ? {} : { hooks: deps.hooks }),
        now,
      });
      // A swarm's last call is closed in the ledger (with what it used) before the task's outcome is
      // written: the swarm's usage, read once its tasks are done, counts it.
      if (provider instanceof MeteredProvider) await provider.closed();
      const review = input.consensus === undefined ? undefined : await reviewResult(deps, context, input, run.result as JsonValue);
      // Committed last, once the result counts: the commit id is in the result the task completes with.
      const commit = worktree === undefined ? undefined : await commitTaskWorktree(deps.git as Git, worktree, commitMessage(context.task));
      return {
        result: run.result,
        stopReason: run.stopReason,
        turns: run.turns,
        usage: { ...run.usage },
        provider: resolved.providerId,
        model,
        agentType: agentType.name,
        ...(sandbox === undefined ? {} : { sandbox }),
        ...(review === undefined ? {} : { review }),
        // Where it ran (removed when its swarm ends), on which branch, from and to which commit.
        ...(commit === undefined || worktree === undefined ? {} : { worktree: { path: workspace, branch: worktree.branch, base: worktree.base, commit } }),
      };
    },
    async rollback(context: RollbackContext): Promise<boolean> {
      // A worktree's changes never reached the workspace: its commit is simply not merged, and the
      // worktree is put back to its base by the next attempt or removed with the swarm's.
      if (isRecord(context.task.input) && context.task.input.worktree !== undefined) {
        await deps.store.transcripts.deleteJournal(context.task.id);
        return false;
      }
      await rollbackAgentTask(deps.store, context.task.id, context.workspace, now);
      return true;
    },
  };
}

/** Whether the workspace is (in) the task's worktree: prepareWorkspace made it ready for this attempt. */
function inWorktree(worktree: TaskWorktreeSpec, workspace: string): boolean {
  return resolve(workspace) === resolve(worktree.path) || isInside(worktree.path, workspace);
}

/** The task's worktree, put back to its base (or made again) for a new attempt: the attempt's workspace. */
function worktreeWorkspace(deps: AgentExecutorDeps, projectDir: string, worktree: TaskWorktreeSpec): Promise<string> {
  if (deps.git === undefined) throw new ConfigError('this task works in a git worktree, but this colony has no git');
  return prepareTaskWorktree(deps.git, projectDir, worktree);
}

/**
 * A swarm's task calls its model through the ModelCallLedger, so that the swarm's usage and budget
 * count it whichever process runs the task. Other tasks call the provider as it is.
 */
async function meteredTaskProvider(deps: AgentExecutorDeps, context: TaskContext, provider: Provider, now: () => number): Promise<Provider> {
  const swarmId = context.task.swarmId;
  const newId = deps.newId;
  if (swarmId === null || newId === undefined) return provider;
  return meteredForSwarm(
    provider,
    { swarmId, taskId: context.task.id, agentId: context.agent?.id ?? null, runnerId: context.task.runnerId },
    { store: deps.store, newId: () => newId('call'), now },
  );
}

/**
 * Puts back every file the task's tools wrote, from the journal in the store, then removes the
 * journal. When some files cannot be restored, the rest are, what failed stays in the journal (for
 * another try) and the error is thrown.
 */
export async function rollbackAgentTask(store: Store, taskId: string, workspace: string, now: () => number = Date.now): Promise<void> {
  const saved = await store.transcripts.getJournal(taskId);
  if (saved === undefined) return;
  const journal = FileJournal.fromJSON(saved);
  await assertInsideWorkspace(journal, workspace);
  try {
    await journal.rollback();
  } catch (error) {
    await store.transcripts.saveJournal(taskId, journal.toJSON() as unknown as JsonValue, now());
    throw error;
  }
  await store.transcripts.deleteJournal(taskId);
}

/**
 * How the agent's shell commands ran, for its task record: `{ isolation: 'none', reason }` says loudly
 * that they ran on the host. With `sandbox.mode: bwrap` and no working bubblewrap the task fails here.
 */
async function sandboxRecord(shell: ShellSettings): Promise<{ isolation: 'bwrap' | 'none'; reason?: string }> {
  if (shell.sandbox === undefined) return { isolation: 'none', reason: 'no OS sandbox is configured for this executor' };
  const status = await shell.sandbox.status();
  if (status.isolation === 'bwrap') return { isolation: 'bwrap' };
  if (status.mode === 'bwrap') throw new ConfigError(`sandbox.mode is bwrap, but ${status.reason ?? 'bubblewrap is unavailable'}`);
  return { isolation: 'none', reason: status.reason ?? 'no OS sandbox' };
}

/** The task spec that `create_subtask` requests become: an `agent` task, child of the requesting one. */
export function agentSubtaskSpec(request: SubtaskRequest): TaskSpecInput {
  const requirements: { agentType?: string; capabilities?: string[] } = {};
  if (request.agentType !== undefined) requirements.agentType = request.agentType;
  if (request.capabilities !== undefined && request.capabilities.length > 0) requirements.capabilities = request.capabilities;
  return {
    type: AGENT_TASK_TYPE,
    description: request.description,
    parentId: request.parentId,
    ...(request.priority === undefined ? {} : { priority: request.priority }),
    input: { prompt: request.prompt, ...(request.agentType === undefined ? {} : { agentType: request.agentType }) },
    requirements,
  };
}

/** The vote on a result: its summary for the task's result, or an ExecutionError (retried per the task's maxRetries) carrying the voters' reasons. */
async function reviewResult(
  deps: AgentExecutorDeps,
  context: TaskContext,
  input: AgentTaskInput,
  result: JsonValue,
): Promise<{ proposalId: string; status: ProposalStatus; decision: string | null; ratio: number }> {
  if (!deps.review) throw new ConfigError('this task asks for consensus on its result, but this colony has no consensus review');
  let verdict: ResultVerdict;
  try {
    verdict = await deps.review({
      task: context.task,
      prompt: input.prompt,
      result: result ?? null,
      consensus: input.consensus as AgentTaskConsensus,
      ...(input.provider === undefined ? {} : { provider: input.provider }),
      ...(input.model === undefined ? {} : { model: input.model }),
      signal: context.signal,
    });
  } catch (error) {
    // No room for the voters now (a full agent pool) is worth another attempt later.
    if (isColonyError(error) && error.code === 'capacity') throw new ExecutionError(`consensus review could not start: ${error.message}`, { cause: error });
    throw error;
  }
  const summary = { proposalId: verdict.proposalId, status: verdict.status, decision: verdict.decision, ratio: verdict.ratio };
  if (!verdict.accepted) throw new ExecutionError(verdict.reason ?? `the result was not accepted (proposal ${verdict.proposalId})`, { details: summary });
  return summary;
}

function parseAgentInput(input: unknown, providerIds: () => readonly string[]): AgentTaskInput {
  const parsed = agentInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ValidationError(`agent task input: ${issue?.path.map(String).join('.') || 'input'}: ${issue?.message}`);
  }
  const provider = parsed.data.provider;
  if (provider !== undefined) {
    const known = providerIds();
    if (!known.includes(provider)) throw new ValidationError(`agent task input: provider: unknown provider ${JSON.stringify(provider)}; known providers: ${known.join(', ')}`);
  }
  return parsed.data;
}

/** A task's commit message: its title, and which task made it. */
function commitMessage(task: TaskRecord): string {
  return `${task.description || task.name || 'Colony task'}\n\nColony task ${task.id}${task.swarmId === null ? '' : ` of swarm ${task.swarmId}`}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function joinContext(own: string | undefined, extra: string | undefined): { context?: string } {
  const parts = [own, extra].filter((part): part is string => part !== undefined && part.trim() !== '');
  return parts.length === 0 ? {} : { context: parts.join('\n\n') };
}

/** A journal read back from the store names absolute paths: refuse any outside the workspace. */
async function assertInsideWorkspace(journal: FileJournal, workspace: string): Promise<void> {
  const root = await realpath(workspace);
  for (const entry of journal.entries()) {
    const rel = relative(root, entry.path);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new ValidationError(`the task's file journal names ${entry.path}, outside the workspace ${root}; not rolling back`);
    }
  }
}
