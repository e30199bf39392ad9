import type { StreamEvent, TokenUsage } from '../../../ports/provider.js';
import { fromAnthropicUsage } from '../anthropic/anthropic-mapping.js';

/**
 * Reading Claude Code's `--output-format stream-json --verbose --include-partial-messages` output:
 * one JSON object a line.
 *
 * - `system` / `init`: session id, model, tools, cwd, version.
 * - `stream_event`: the raw Messages API stream events of the call in progress (with
 *   --include-partial-messages); their text deltas become Colony `text_delta` events as they arrive.
 * - `assistant`: a finished model message (one line per content block). Text not already streamed
 *   (older CLIs without partial messages) is emitted here; `tool_use` blocks are Claude Code's own
 *   tool calls, which it runs itself, so they are reported as activity, never as Colony tool calls.
 *   API error messages it synthesises (`is_api_error_message`) are not text: the result line
 *   carries the error.
 * - `user`: tool results Claude Code fed back to the model (activity).
 * - `result`: the run's outcome: final text, usage, cost, turns, error status.
 *
 * Only the main thread counts: lines with a `parent_tool_use_id` come from subagents.
 */

export type ClaudeCodeActivity =
  | { type: 'process_started'; pid: number; command: string; args: string[]; cwd: string }
  | { type: 'init'; pid: number; sessionId: string | null; model: string | null; tools: string[]; cwd: string | null; version: string | null }
  | { type: 'tool_use'; pid: number; id: string; name: string; input: unknown; parentToolUseId: string | null }
  | { type: 'tool_result'; pid: number; toolUseId: string; content: string; isError: boolean; parentToolUseId: string | null }
  | {
      type: 'result';
      pid: number;
      sessionId: string | null;
      isError: boolean;
      costUsd: number | null;
      numTurns: number | null;
      durationMs: number | null;
      permissionDenials: unknown[];
    };

export interface ClaudeCodeResult {
  subtype: string | null;
  isError: boolean;
  /** The run's final answer (the last assistant message's text), or its error message. */
  text: string;
  sessionId: string | null;
  usage: TokenUsage;
  costUsd: number | null;
  numTurns: number | null;
  durationMs: number | null;
  stopReason: string | null;
  apiErrorStatus: number | null;
  apiErrorType: string | null;
  errors: string[];
  permissionDenials: unknown[];
}

export interface ParsedLine {
  events: StreamEvent[];
  activity: ClaudeCodeActivity[];
}

/** Put between the texts of two model messages of one run, in the stream. */
const MESSAGE_SEPARATOR = '\n\n';

type Json = Record<string, unknown>;

export class ClaudeCodeStreamParser {
  readonly #pid: number;
  /** Messages whose text arrived as partial deltas, so their `assistant` lines add none. */
  readonly #streamed = new Set<string>();
  #currentStreamId: string | null = null;
  #lastTextMessageId: string | null = null;
  #model: string | null = null;
  #messageId: string | null = null;
  #sessionId: string | null = null;
  #result: ClaudeCodeResult | null = null;

  constructor(pid: number) {
    this.#pid = pid;
  }

  get result(): ClaudeCodeResult | null {
    return this.#result;
  }

  /** The model of the last main-thread message, else the one the session started with. */
  get model(): string | null {
    return this.#model;
  }

  get lastMessageId(): string | null {
    return this.#messageId;
  }

  get sessionId(): string | null {
    return this.#sessionId;
  }

  /** Lines that are not JSON objects (a stray log line) are ignored. */
  push(line: string): ParsedLine {
    const out: ParsedLine = { events: [], activity: [] };
    const trimmed = line.trim();
    if (!trimmed.startsWith('{')) return out;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      return out;
    }
    if (!isObject(value)) return out;
    switch (value.type) {
      case 'system':
        this.#onSystem(value, out);
        break;
      case 'stream_event':
        this.#onStreamEvent(value, out);
        break;
      case 'assistant':
        this.#onAssistant(value, out);
        break;
      case 'user':
        this.#onUser(value, out);
        break;
      case 'result':
        this.#onResult(value, out);
        break;
      default:
        break;
    }
    return out;
  }

  #onSystem(line: Json, out: ParsedLine): void {
    if (line.subtype !== 'init') return;
    this.#sessionId = str(line.session_id) ?? this.#sessionId;
    this.#model = str(line.model) ?? this.#model;
    out.activity.push({
      type: 'init',
      pid: this.#pid,
      sessionId: this.#sessionId,
      model: str(line.model),
      tools: Array.isArray(line.tools) ? line.tools.filter((tool): tool is string => typeof tool === 'string') : [],
      cwd: str(line.cwd),
      version: str(line.claude_code_version),
    });
  }

  #onStreamEvent(line: Json, out: ParsedLine): void {
    if (line.parent_tool_use_id !== null && line.parent_tool_use_id !== undefined) return;
    const event = line.event;
    if (!isObject(event)) return;
    if (event.type === 'message_start' && isObject(event.message)) {
      this.#currentStreamId = str(event.message.id) ?? str(line.api_message_id);
      return;
    }
    if (event.type !== 'content_block_delta' || !isObject(event.delta) || event.delta.type !== 'text_delta') return;
    const text = str(event.delta.text);
    const messageId = str(line.api_message_id) ?? this.#currentStreamId ?? 'unknown';
    if (text === null || text === '') return;
    this.#streamed.add(messageId);
    this.#emitText(messageId, text, out);
  }

  #onAssistant(line: Json, out: ParsedLine): void {
    const message = line.message;
    if (!isObject(message)) return;
    const parent = str(line.parent_tool_use_id);
    const content = Array.isArray(message.content) ? message.content.filter(isObject) : [];
    for (const block of content) {
      if (block.type === 'tool_use') {
        out.activity.push({ type: 'tool_use', pid: this.#pid, id: str(block.id) ?? '', name: str(block.name) ?? '', input: block.input, parentToolUseId: parent });
      }
    }
    // Subagents' messages and the CLI's own error notices are not the run's text.
    if (parent !== null || line.is_api_error_message === true || line.error !== undefined || message.model === '<synthetic>') return;
    const id = str(message.id) ?? 'unknown';
    this.#messageId = id;
    this.#model = str(message.model) ?? this.#model;
    if (this.#streamed.has(id)) return;
    for (const block of content) {
      const text = block.type === 'text' ? str(block.text) : null;
      if (text !== null && text !== '') this.#emitText(id, text, out);
    }
  }

  #onUser(line: Json, out: ParsedLine): void {
    const message = line.message;
    if (!isObject(message) || !Array.isArray(message.content)) return;
    const parent = str(line.parent_tool_use_id);
    for (const block of message.content.filter(isObject)) {
      if (block.type !== 'tool_result') continue;
      out.activity.push({
        type: 'tool_result',
        pid: this.#pid,
        toolUseId: str(block.tool_use_id) ?? '',
        content: toolResultText(block.content),
        isError: block.is_error === true,
        parentToolUseId: parent,
      });
    }
  }

  #onResult(line: Json, out: ParsedLine): void {
    const usage = isObject(line.usage) ? line.usage : {};
    this.#sessionId = str(line.session_id) ?? this.#sessionId;
    const result: ClaudeCodeResult = {
      subtype: str(line.subtype),
      isError: line.is_error === true || (str(line.subtype)?.startsWith('error') ?? false),
      text: str(line.result) ?? '',
      sessionId: this.#sessionId,
      usage: fromAnthropicUsage({
        input_tokens: num(usage.input_tokens) ?? 0,
        output_tokens: num(usage.output_tokens) ?? 0,
        cache_creation_input_tokens: num(usage.cache_creation_input_tokens),
        cache_read_input_tokens: num(usage.cache_read_input_tokens),
      }),
      costUsd: num(line.total_cost_usd),
      numTurns: num(line.num_turns),
      durationMs: num(line.duration_ms),
      stopReason: str(line.stop_reason),
      apiErrorStatus: num(line.api_error_status),
      apiErrorType: str(line.api_error_type),
      errors: Array.isArray(line.errors) ? line.errors.map((error) => (typeof error === 'string' ? error : JSON.stringify(error))) : [],
      permissionDenials: Array.isArray(line.permission_denials) ? line.permission_denials : [],
    };
    this.#result = result;
    out.activity.push({
      type: 'result',
      pid: this.#pid,
      sessionId: result.sessionId,
      isError: result.isError,
      costUsd: result.costUsd,
      numTurns: result.numTurns,
      durationMs: result.durationMs,
      permissionDenials: result.permissionDenials,
    });
  }

  #emitText(messageId: string, text: string, out: ParsedLine): void {
    const separator = this.#lastTextMessageId !== null && this.#lastTextMessageId !== messageId ? MESSAGE_SEPARATOR : '';
    this.#lastTextMessageId = messageId;
    out.events.push({ type: 'text_delta', text: separator + text });
  }
}

/** A tool_result's content is a string or a list of blocks; images and the like are named, not inlined. */
function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(isObject)
    .map((block) => (block.type === 'text' ? (str(block.text) ?? '') : `[${str(block.type) ?? 'content'}]`))
    .join('\n');
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
