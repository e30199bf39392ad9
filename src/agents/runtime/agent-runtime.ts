import type { EventBus } from '../../ports/event-bus.js';
import type { AgentRecord, AgentTypeDefinition } from '../../domain/agent.js';
import { CancelledError, ColonyError, ExecutionError, ProviderError } from '../../domain/errors.js';
import type { JsonValue } from '../../domain/json.js';
import type { TaskRecord } from '../../domain/task.js';
import {
  isInvalidToolInput,
  type CompletionRequest,
  type CompletionResponse,
  type ContentPart,
  type Message,
  type Provider,
  type ToolResultPart,
  type ToolUsePart,
} from '../../ports/provider.js';
import type { Store } from '../../ports/store.js';
import type { Tracer } from '../../ports/tracer.js';
import { inSpan } from '../../kernel/in-span.js';
import { FileJournal } from '../../sandbox/file-journal.js';
import { FileTools } from '../../sandbox/file-tools.js';
import { WorkspaceGuard } from '../../sandbox/workspace-guard.js';
import type { MemoryManager } from '../../memory/memory-manager.js';
import type { HookRunner } from '../../hooks/hook-runner.js';
import { afterFileTool, beforeTool, CompletionGate } from './agent-hooks.js';
import { taskMemoryNamespace } from './memory-context.js';
import { OutputCoalescer } from './output-coalescer.js';
import { RunRecorder } from './run-recorder.js';
import {
  INVALID_JSON_QUOTE_CHARS,
  OUTPUT_EVENT_INTERVAL_MS,
  OUTPUT_EVENT_MAX_BYTES,
  TOOL_RESULT_MAX_CHARS,
  TURN_EVENT_TEXT_MAX_CHARS,
} from './runtime-defaults.js';
import { buildSystemPrompt, buildTaskMessage } from './system-prompt.js';
import { selectAgentTools } from './tool-names.js';
import type { AgentTool, AgentToolContext, ShellSettings, SubmitSubtask } from './tools/agent-tool.js';

/**
 * The agent runtime: one agent works on one task through the provider's tool-use loop.
 *
 * Each turn streams the model's reply (text is published live as `agent.output`), runs the tool
 * calls it makes in order, and sends the results back. Every message is persisted to the transcript
 * (agent_turns) before the loop goes on; usage and cost go to the metrics table and `llm.usage`.
 *
 * The run ends when the model calls report_result (its argument is the result), or answers without
 * calling a tool (its text is the result). It fails with a non-retryable ExecutionError when it
 * exceeds its turns or its token budget, with the provider's error (and its retryable flag) when the
 * model cannot be reached, and with the signal's reason (CancelledError, TimeoutError) when aborted.
 * Bad model output never crashes it: unknown tools, invalid or unparsable arguments and failing
 * tools become error results the model can react to.
 */

export interface AgentLimits {
  maxTurns: number;
  /** Token budget of the task: input plus output tokens over all turns. */
  maxTokens: number;
  maxOutputTokensPerTurn: number;
}

export interface RunAgentOptions {
  provider: Provider;
  providerId: string;
  model: string;
  agentType: AgentTypeDefinition;
  agent: AgentRecord | null;
  task: TaskRecord;
  /** The task attempt, for the transcript; default: the task's attempts count (at least 1). */
  attempt?: number;
  prompt: string;
  /** Extra context for the model, e.g. memories or the results of dependencies. */
  context?: string;
  workspace: string;
  store: Store;
  events: EventBus;
  limits: AgentLimits;
  shell: ShellSettings;
  signal: AbortSignal;
  submitSubtask?: SubmitSubtask;
  /** The colony's memory: the agent gets memory_store, memory_retrieve and memory_search over it. */
  memory?: MemoryManager;
  /** Tools a program registered; the agent type's `tools:` list selects them by name. */
  customTools?: readonly AgentTool[];
  /** The agent type's MCP tools (see tools/mcp-tools.ts), offered as they are. */
  mcpTools?: readonly AgentTool[];
  /** Each turn is a span, with its model call and tool calls as children (see src/ports/tracer.ts). */
  tracer?: Tracer;
  /**
   * Hooks at the loop's points: `toolCalling` before a tool call (a blocking failure refuses it),
   * `fileEdited` after write_file and edit_file (a blocking failure is added to the tool's result), `taskCompleting` when the agent finishes (a blocking failure refuses
   * the finish and sends the hook's output back; see agent-hooks.ts). Absent: no hooks.
   */
  hooks?: HookRunner;
  now: () => number;
}

export type AgentStopReason = 'report_result' | 'end_turn';

export interface AgentUsage {
  inputTokens: number;
  outputTokens: number;
  /** Null when the price of a model used is not known. */
  costUsd: number | null;
}

export interface AgentRunResult {
  result: JsonValue;
  /** Model calls made. */
  turns: number;
  usage: AgentUsage;
  stopReason: AgentStopReason;
}

const CONTINUE_AFTER_MAX_TOKENS = 'Your reply was cut off at the output limit. Continue where you stopped, or call report_result if you are done.';

export async function runAgent(options: RunAgentOptions): Promise<AgentRunResult> {
  const { task, signal, limits } = options;
  throwIfAborted(signal);
  const attempt = options.attempt ?? Math.max(1, task.attempts);
  const guard = new WorkspaceGuard(options.workspace);
  const journal = await loadJournal(options.store, task.id);
  const files = new FileTools({ guard, journal });
  const { tools } = selectAgentTools(
    options.agentType.tools,
    {
      messaging: options.agent !== null,
      subtasks: options.submitSubtask !== undefined,
      memory: options.memory !== undefined,
    },
    options.customTools ?? [],
    options.mcpTools ?? [],
  );
  const toolsByName = new Map(tools.map((tool) => [tool.name, tool]));
  const recorder = new RunRecorder({
    store: options.store,
    events: options.events,
    task,
    agent: options.agent,
    attempt,
    providerId: options.providerId,
    model: options.model,
    now: options.now,
  });

  let reported: { value: JsonValue } | undefined;
  const toolContext: Omit<AgentToolContext, 'turn'> = {
    task,
    agent: options.agent,
    attempt,
    workspace: guard.root,
    guard,
    files,
    async journalBeforeWrite(path) {
      const absolute = await guard.resolve(path, 'write');
      const before = journal.entries().length;
      await journal.beforeWrite(absolute);
      if (journal.entries().length !== before) await options.store.transcripts.saveJournal(task.id, journal.toJSON() as unknown as JsonValue, options.now());
    },
    shell: options.shell,
    store: options.store,
    signal,
    now: options.now,
    ...(options.submitSubtask === undefined ? {} : { submitSubtask: options.submitSubtask }),
    ...(options.memory === undefined ? {} : { memory: { manager: options.memory, namespace: taskMemoryNamespace(task) } }),
    report(value) {
      reported = { value };
    },
  };

  const hookScope = options.hooks === undefined ? undefined : { hooks: options.hooks, workspace: guard.root, task: { id: task.id, attempt }, swarmId: task.swarmId, agentType: options.agentType.name, signal };
  const gate = new CompletionGate(hookScope);

  const system = buildSystemPrompt({ agentType: options.agentType, agent: options.agent, task, workspace: guard.root, tools, limits });
  const first: ContentPart[] = [{ type: 'text', text: buildTaskMessage(options.prompt, options.context) }];
  const messages: Message[] = [{ role: 'user', content: first }];
  await recorder.turns([
    { turn: 0, role: 'system', content: [{ type: 'text', text: system }] },
    { turn: 0, role: 'user', content: first },
  ]);

  const usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 as number | null };
  const used = (): number => usage.inputTokens + usage.outputTokens;
  const result = (value: JsonValue, turns: number, stopReason: AgentStopReason): AgentRunResult => ({
    result: value,
    turns,
    usage: { ...usage },
    stopReason,
  });
  const failure = (message: string, turns: number): ExecutionError =>
    new ExecutionError(message, { retryable: false, details: { taskId: task.id, turns, usage: { ...usage } } });

  /** The last tool results' write, under way while the model answers them. */
  let toolTurn: Promise<void> = Promise.resolve();
  for (let turn = 1; ; turn++) {
    throwIfAborted(signal);
    if (turn > limits.maxTurns) throw failure(`agent did not finish within ${limits.maxTurns} turns`, turn - 1);
    const remaining = limits.maxTokens - used();
    if (remaining <= 0) throw budgetError(limits.maxTokens, used(), failure, turn - 1);

    const outcome = await traceTurn(options, turn, async (): Promise<AgentRunResult | 'continue'> => {
      const response = await streamTurn(options, recorder, {
        model: options.model,
        system,
        messages,
        tools: tools.map((tool) => ({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema })),
        maxTokens: Math.min(limits.maxOutputTokensPerTurn, remaining),
        signal,
      });
      usage.inputTokens += response.usage.inputTokens;
      usage.outputTokens += response.usage.outputTokens;
      // Usage metrics and the assistant turn are written in the same turn of the event loop, so they
      // share one commit (group commit) instead of paying for two. The last tool results, written while
      // the model answered, settled before them (writes apply in order): a failure there fails the run now.
      const [cost] = await Promise.all([
        recorder.usage(turn, response.model || options.model, response.usage),
        recorder.turns([{ turn, role: 'assistant', content: response.content, usage: response.usage, model: response.model || options.model }]),
      ]);
      await toolTurn;
      usage.costUsd = usage.costUsd === null || cost === null ? null : usage.costUsd + cost;
      messages.push({ role: 'assistant', content: response.content });

      const calls = response.content.filter((part): part is ToolUsePart => part.type === 'tool_use');
      if (calls.length === 0) {
        const text = textOf(response.content);
        if (response.stopReason !== 'max_tokens') {
          const refusal = await gate.check(text);
          if (refusal === null) return result(text, turn, 'end_turn');
          if (refusal.exhausted) throw failure(refusal.message, turn);
          const feedback: ContentPart[] = [{ type: 'text', text: refusal.message }];
          await recorder.turns([{ turn, role: 'user', content: feedback }]);
          messages.push({ role: 'user', content: feedback });
          return 'continue';
        }
        // Cut off mid-answer: ask for the rest (within the same turn and token limits).
        const nudge: ContentPart[] = [{ type: 'text', text: CONTINUE_AFTER_MAX_TOKENS }];
        await recorder.turns([{ turn, role: 'user', content: nudge }]);
        messages.push({ role: 'user', content: nudge });
        return 'continue';
      }
      // Over budget: the calls are not run, unless the model is finishing anyway.
      if (used() >= limits.maxTokens && !calls.some((call) => call.name === 'report_result')) {
        throw budgetError(limits.maxTokens, used(), failure, turn);
      }

      const results: ToolResultPart[] = [];
      for (const call of calls) {
        if (reported !== undefined) {
          results.push({ type: 'tool_result', toolUseId: call.id, content: 'not run: report_result already ended the task', isError: true });
          continue;
        }
        throwIfAborted(signal);
        const refused = hookScope === undefined || !toolsByName.has(call.name) ? null : await beforeTool(hookScope, call);
        const ran = refused ?? (await traceToolCall(options, call, () => runToolCall(call, toolsByName, { ...toolContext, turn }, signal)));
        const output = hookScope === undefined || refused !== null ? ran : await afterFileTool(hookScope, call, ran);
        recorder.toolCalled(turn, call.name, output.isError !== true, output.isError === true ? output.content : undefined);
        results.push({ type: 'tool_result', toolUseId: call.id, content: output.content, ...(output.isError === true ? { isError: true } : {}) });
      }
      if (reported !== undefined) {
        const refusal = await gate.check(reported.value);
        if (refusal?.exhausted === true) throw failure(refusal.message, turn);
        if (refusal) {
          // The report is refused: its call's result says why, and the loop goes on.
          reported = undefined;
          const index = calls.findIndex((call) => call.name === 'report_result');
          results[index] = { type: 'tool_result', toolUseId: (calls[index] as ToolUsePart).id, content: refusal.message, isError: true };
        }
      }
      const written = recorder.turns([{ turn, role: 'tool', content: results, toolNames: calls.map((call) => call.name) }]);
      if (reported !== undefined) {
        await written;
        return result(reported.value, turn, 'report_result');
      }
      // Not awaited before the next model call: the store applies this process's writes in order, so
      // the results land before the answer they led to, and an in-process model's answer shares their
      // commit (one per turn, not two). Observed here so that a failure waits for that await.
      written.catch(() => undefined);
      toolTurn = written;
      messages.push({ role: 'user', content: results });
      return 'continue';
    });
    if (outcome !== 'continue') return outcome;
  }
}

/** A turn's span (`invoke_agent`, GenAI conventions): the model call and the tool calls it makes are its children. */
function traceTurn<T>(options: RunAgentOptions, turn: number, fn: () => Promise<T>): Promise<T> {
  const tracer = options.tracer;
  if (tracer === undefined || !tracer.enabled) return fn();
  return inSpan(
    tracer,
    `invoke_agent ${options.agentType.name}`,
    {
      attributes: {
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': options.agentType.name,
        'gen_ai.agent.id': options.agent?.id,
        'gen_ai.provider.name': options.providerId,
        'gen_ai.request.model': options.model,
        'colony.task.id': options.task.id,
        'colony.agent.turn': turn,
      },
    },
    fn,
  );
}

/** A tool call's span (`execute_tool <name>`); a tool's error result marks it failed. */
async function traceToolCall(options: RunAgentOptions, call: ToolUsePart, fn: () => Promise<{ content: string; isError?: boolean }>): Promise<{ content: string; isError?: boolean }> {
  const tracer = options.tracer;
  if (tracer === undefined || !tracer.enabled) return fn();
  return inSpan(
    tracer,
    `execute_tool ${call.name}`,
    { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': call.name, 'gen_ai.tool.call.id': call.id, 'gen_ai.tool.type': 'function' } },
    async () => {
      const output = await fn();
      if (output.isError === true) throw new ToolCallFailed(output);
      return output;
    },
  ).catch((error: unknown) => {
    if (error instanceof ToolCallFailed) return error.output;
    throw error;
  });
}

/** Carries a tool's error result out of its span, so the span is marked failed and the result still returned. */
class ToolCallFailed extends Error {
  readonly output: { content: string; isError?: boolean };
  constructor(output: { content: string; isError?: boolean }) {
    super(output.content.slice(0, TURN_EVENT_TEXT_MAX_CHARS));
    this.output = output;
  }
}

/** One model call, streamed: text deltas are published (coalesced) as they arrive. */
async function streamTurn(options: RunAgentOptions, recorder: RunRecorder, request: CompletionRequest): Promise<CompletionResponse> {
  const output = new OutputCoalescer((text) => recorder.output(text), { intervalMs: OUTPUT_EVENT_INTERVAL_MS, maxBytes: OUTPUT_EVENT_MAX_BYTES });
  let response: CompletionResponse | undefined;
  try {
    for await (const event of options.provider.stream(request)) {
      if (event.type === 'text_delta') output.push(event.text);
      else if (event.type === 'message_end') response = event.response;
    }
  } catch (error) {
    if (options.signal.aborted) throw abortError(options.signal);
    throw error;
  } finally {
    output.flush();
  }
  if (response === undefined) {
    throw new ProviderError(`${options.providerId}: the stream ended without a final message`, { provider: options.providerId, retryable: true });
  }
  return response;
}

/** Runs one tool call; whatever goes wrong (short of cancellation) becomes an error result. */
async function runToolCall(
  call: ToolUsePart,
  tools: ReadonlyMap<string, AgentTool>,
  context: AgentToolContext,
  signal: AbortSignal,
): Promise<{ content: string; isError?: boolean }> {
  const tool = tools.get(call.name);
  if (tool === undefined) {
    return { isError: true, content: `unknown tool ${JSON.stringify(call.name)}. Available tools: ${[...tools.keys()].join(', ')}` };
  }
  if (isInvalidToolInput(call.input)) {
    const raw = call.input.__invalidJson;
    const quoted = raw.length > INVALID_JSON_QUOTE_CHARS ? `${raw.slice(0, INVALID_JSON_QUOTE_CHARS)}…` : raw;
    return {
      isError: true,
      content: `the arguments for ${call.name} are not valid JSON (${jsonParseMessage(raw)}), so nothing was run. Call it again with the arguments as one JSON object. Received: ${quoted}`,
    };
  }
  try {
    const output = await tool.run(call.input, context);
    return { ...output, content: capToolResult(output.content) };
  } catch (error) {
    if (signal.aborted) throw abortError(signal);
    const message = error instanceof Error ? error.message : String(error);
    return { isError: true, content: capToolResult(`${call.name} failed: ${message}`) };
  }
}

async function loadJournal(store: Store, taskId: string): Promise<FileJournal> {
  const saved = await store.transcripts.getJournal(taskId);
  // A journal from an earlier attempt is kept: it holds the files' state from before the task began.
  return saved === undefined ? new FileJournal() : FileJournal.fromJSON(saved);
}

function budgetError(budget: number, used: number, failure: (message: string, turns: number) => ExecutionError, turns: number): ExecutionError {
  return failure(`agent exceeded its token budget of ${budget} tokens (used ${used})`, turns);
}

function textOf(content: readonly ContentPart[]): string {
  return content
    .filter((part) => part.type === 'text')
    .map((part) => part.text)
    .join('\n');
}

function capToolResult(content: string): string {
  if (content.length <= TOOL_RESULT_MAX_CHARS) return content;
  return `${content.slice(0, TOOL_RESULT_MAX_CHARS)}\n[cut: ${content.length - TOOL_RESULT_MAX_CHARS} more characters not shown]`;
}

function jsonParseMessage(raw: string): string {
  try {
    const value: unknown = JSON.parse(raw);
    return `expected an object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`;
  } catch (error) {
    return (error as Error).message.slice(0, TURN_EVENT_TEXT_MAX_CHARS);
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortError(signal);
}

/** The signal's reason when it is one of ours (CancelledError, TimeoutError), else a CancelledError. */
function abortError(signal: AbortSignal): ColonyError {
  const reason: unknown = signal.reason;
  if (reason instanceof ColonyError) return reason;
  return new CancelledError('agent run cancelled', { cause: reason });
}
