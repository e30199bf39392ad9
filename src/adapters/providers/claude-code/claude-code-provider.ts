import { ProviderError } from '../../../domain/errors.js';
import type { CompletionRequest, CompletionResponse, Provider, StreamEvent } from '../../../ports/provider.js';
import { CLAUDE_CODE_DEFAULT_BINARY, CLAUDE_CODE_DEFAULT_TIMEOUT_MS } from '../../../providers/provider-defaults.js';
import { cancelledError, isRetryableErrorType, isRetryableStatus } from '../../../providers/provider-errors.js';
import { redactSecrets, Secret } from '../../../providers/secret.js';
import { resolveClaudeCodeLauncher, type ClaudeCodeLauncher } from './claude-code-binary.js';
import {
  CLAUDE_CODE_DEFAULT_INTERNAL_RETRIES,
  CLAUDE_CODE_KILL_GRACE_MS,
  CLAUDE_CODE_STDERR_TAIL_CHARS,
} from './claude-code-defaults.js';
import { buildArgs, buildEnv, chooseModel, type SystemPromptMode } from './claude-code-invocation.js';
import { renderPrompt } from './claude-code-prompt.js';
import { ClaudeCodeRun, type RunExit } from './claude-code-run.js';
import { ClaudeCodeStreamParser, type ClaudeCodeActivity, type ClaudeCodeResult } from './claude-code-stream.js';

export type { ClaudeCodeActivity } from './claude-code-stream.js';
export type { SystemPromptMode } from './claude-code-invocation.js';

export interface ClaudeCodeProviderOptions {
  /** A path, or a name looked up in the project's node_modules/.bin and then PATH. Default `claude`. */
  binary?: string;
  /** Used when a request's model is '' or 'default'; null or absent lets Claude Code choose. */
  model?: string | null;
  /** Passed as ANTHROPIC_API_KEY; absent keeps the inherited environment (or Claude Code's own login). */
  apiKey?: Secret | string | null;
  /** Passed as ANTHROPIC_BASE_URL (no /v1); absent keeps the inherited one. */
  baseUrl?: string | null;
  /** Where Claude Code runs, and so where its tools read and write. Default process.cwd(). */
  cwd?: string;
  /** Tools Claude Code may use without asking (`--allowedTools`), e.g. ['Read', 'Bash(git log:*)']. Default none. */
  allowedTools?: readonly string[];
  /**
   * Built-in tools offered to the model (`--tools`). Default: the tools named in allowedTools; with
   * neither, none (a pure completion) unless a permissionMode is set (then Claude Code's default set).
   */
  tools?: readonly string[];
  /** `--permission-mode`: acceptEdits, plan, dontAsk, ... (as root, Claude Code refuses bypassPermissions). */
  permissionMode?: string;
  /** Default: replace Claude Code's system prompt for a pure completion, append to it when tools are on. */
  systemPromptMode?: SystemPromptMode;
  /** The whole run, every turn and tool included; then SIGTERM, and SIGKILL after killGraceMs. */
  timeoutMs?: number;
  killGraceMs?: number;
  /** Claude Code's own retries per API request (CLAUDE_CODE_MAX_RETRIES). Default 0: Colony retries. */
  internalRetries?: number;
  /** Environment overrides for the process, applied last; undefined removes a variable. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Inherited environment; default process.env. */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /** More CLI flags, e.g. ['--mcp-config', path, '--strict-mcp-config']. */
  extraArgs?: readonly string[];
  /** Directories whose node_modules are searched for the binary; default cwd and Colony's install. */
  searchFrom?: string[];
  /**
   * What Claude Code does during a run: process start, session init, its tool calls and results, the
   * final cost. Called synchronously; what it throws is ignored.
   */
  onActivity?: (activity: ClaudeCodeActivity) => void;
}

export const CLAUDE_CODE_NOT_INSTALLED_MESSAGE =
  'Claude Code is not installed: install it with `npm install -g @anthropic-ai/claude-code` or set providers.claude-code.binary';

const TRANSIENT_MESSAGE = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|connection|timed? ?out|socket|overloaded/i;

/**
 * The Provider port over the Claude Code CLI, run headless once per call. Claude Code runs its own
 * agent loop (its tools, in `cwd`, as allowed) and the call returns when the run ends: its final
 * answer as the response text, stop reason end_turn (max_tokens if the last turn was cut), usage
 * summed over the run. The stream carries the text of every model turn as it is generated; Claude
 * Code's own tool calls and results go to `onActivity`, never into the response, since they are not
 * requests for Colony to run a tool. `request.tools` cannot be offered to Claude Code and are
 * ignored (hand it MCP servers through extraArgs instead); `temperature` has no CLI equivalent.
 *
 * Errors: a missing binary is a non-retryable ProviderError naming the fix; an API error reported
 * by the run keeps its status (429/5xx retryable); a non-zero exit carries the end of stderr; a
 * timeout kills the process group and is retryable; an abort kills it and rejects with
 * CancelledError once the process is gone. The API key never appears in a message.
 */
export class ClaudeCodeProvider implements Provider {
  readonly id = 'claude-code';
  readonly #options: ClaudeCodeProviderOptions;
  readonly #apiKey: Secret | null;
  #launcher: ClaudeCodeLauncher | null = null;

  constructor(options: ClaudeCodeProviderOptions = {}) {
    this.#options = options;
    const key = options.apiKey;
    this.#apiKey = key === null || key === undefined || key === '' ? null : key instanceof Secret ? key : new Secret(key);
  }

  async complete(request: CompletionRequest): Promise<CompletionResponse> {
    for await (const event of this.stream(request)) {
      if (event.type === 'message_end') return event.response;
    }
    throw this.#error('the run ended without a result', { retryable: true, reason: 'incomplete' });
  }

  async *stream(request: CompletionRequest): AsyncGenerator<StreamEvent> {
    if (isAborted(request.signal)) throw cancelledError(this.id);
    const launcher = this.#resolveLauncher();
    const options = this.#options;
    const cwd = options.cwd ?? process.cwd();
    const args = [
      ...launcher.prefixArgs,
      ...buildArgs(request, {
        model: options.model ?? null,
        allowedTools: options.allowedTools ?? [],
        tools: options.tools,
        permissionMode: options.permissionMode,
        systemPromptMode: options.systemPromptMode,
        extraArgs: options.extraArgs ?? [],
      }),
    ];
    const env = buildEnv({
      base: options.baseEnv ?? process.env,
      apiKey: this.#apiKey,
      baseUrl: options.baseUrl ?? null,
      internalRetries: options.internalRetries ?? CLAUDE_CODE_DEFAULT_INTERNAL_RETRIES,
      maxTokens: request.maxTokens,
      overrides: options.env ?? {},
    });
    const run = new ClaudeCodeRun({
      command: launcher.command,
      args,
      env,
      cwd,
      input: renderPrompt(request.messages),
      timeoutMs: options.timeoutMs ?? CLAUDE_CODE_DEFAULT_TIMEOUT_MS,
      killGraceMs: options.killGraceMs ?? CLAUDE_CODE_KILL_GRACE_MS,
      stderrTailChars: CLAUDE_CODE_STDERR_TAIL_CHARS,
      signal: request.signal,
    });
    const pid = run.pid ?? -1;
    if (run.pid !== undefined) this.#report({ type: 'process_started', pid, command: launcher.command, args, cwd });
    const parser = new ClaudeCodeStreamParser(pid);
    try {
      for await (const line of run.lines()) {
        const { events, activity } = parser.push(line);
        for (const item of activity) this.#report(item);
        for (const event of events) {
          if (run.stopReason === null) yield event;
        }
      }
      const exit = await run.exited;
      if (run.stopReason === 'cancelled' || isAborted(request.signal)) throw cancelledError(this.id);
      if (run.stopReason === 'timeout') {
        const ms = options.timeoutMs ?? CLAUDE_CODE_DEFAULT_TIMEOUT_MS;
        throw this.#error(`timed out after ${ms} ms; the process was killed`, { retryable: true, reason: 'timeout' });
      }
      yield { type: 'message_end', response: this.#response(parser, exit, run.stderrTail(), request) };
    } finally {
      // Also reached when the consumer stops early: the run must not outlive the call.
      await run.dispose();
    }
  }

  #resolveLauncher(): ClaudeCodeLauncher {
    if (this.#launcher !== null) return this.#launcher;
    const binary = this.#options.binary ?? CLAUDE_CODE_DEFAULT_BINARY;
    const launcher = resolveClaudeCodeLauncher(binary, {
      env: this.#options.baseEnv ?? process.env,
      ...(this.#options.searchFrom === undefined ? {} : { searchFrom: this.#options.searchFrom }),
    });
    if (launcher === null) throw this.#notInstalled(binary);
    this.#launcher = launcher;
    return launcher;
  }

  #response(parser: ClaudeCodeStreamParser, exit: RunExit, stderr: string, request: CompletionRequest): CompletionResponse {
    if (exit.spawnError !== null) {
      if (exit.spawnError.code === 'ENOENT') {
        this.#launcher = null;
        throw this.#notInstalled(this.#options.binary ?? CLAUDE_CODE_DEFAULT_BINARY);
      }
      throw this.#error(`could not start ${this.#launcher?.command ?? 'claude'}: ${exit.spawnError.message}`, {
        retryable: false,
        reason: 'spawn_failed',
        errorCode: exit.spawnError.code ?? null,
      });
    }
    const result = parser.result;
    if (result === null) {
      const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with code ${exit.code ?? 'unknown'}`;
      const tail = stderr.trim();
      if (exit.code === 0) throw this.#error(`exited without a result${tail === '' ? '' : `: ${tail}`}`, { retryable: true, reason: 'incomplete' });
      throw this.#error(`${how}${tail === '' ? '' : `: ${tail}`}`, {
        retryable: exit.signal !== null,
        reason: 'exit',
        exitCode: exit.code,
        exitSignal: exit.signal,
      });
    }
    if (result.isError) throw this.#runError(result, exit, stderr);
    return {
      id: parser.lastMessageId ?? result.sessionId ?? `claude-code-${exit.code ?? 0}`,
      model: parser.model ?? chooseModel(request, this.#options.model ?? null) ?? 'claude-code',
      content: result.text === '' ? [] : [{ type: 'text', text: result.text }],
      stopReason: result.stopReason === 'max_tokens' ? 'max_tokens' : 'end_turn',
      usage: result.usage,
    };
  }

  #runError(result: ClaudeCodeResult, exit: RunExit, stderr: string): ProviderError {
    const status = result.apiErrorStatus;
    const what = result.text !== '' ? result.text : result.errors.length > 0 ? result.errors.join('; ') : (result.subtype ?? 'the run failed');
    const retryable =
      status !== null
        ? isRetryableStatus(status)
        : isRetryableErrorType(result.apiErrorType) || (result.subtype === 'success' && TRANSIENT_MESSAGE.test(what));
    const tail = status === null && exit.code !== 0 && stderr.trim() !== '' ? ` (stderr: ${stderr.trim()})` : '';
    return new ProviderError(redactSecrets(`${this.id}${status === null ? '' : ` ${status}`}: ${what}${tail}`, this.#secrets()), {
      provider: this.id,
      status,
      retryable,
      details: {
        reason: 'run_error',
        subtype: result.subtype,
        errorType: result.apiErrorType,
        sessionId: result.sessionId,
        exitCode: exit.code,
      },
    });
  }

  #notInstalled(binary: string): ProviderError {
    return new ProviderError(CLAUDE_CODE_NOT_INSTALLED_MESSAGE, {
      provider: this.id,
      retryable: false,
      details: { reason: 'not_installed', binary },
    });
  }

  #error(message: string, details: { retryable: boolean; reason: string } & Record<string, unknown>): ProviderError {
    const { retryable, ...rest } = details;
    return new ProviderError(redactSecrets(`${this.id}: ${message}`, this.#secrets()), { provider: this.id, retryable, details: rest });
  }

  #secrets(): Array<Secret | string | undefined> {
    // The key may also come from the inherited environment or an override.
    return [this.#apiKey ?? undefined, this.#options.env?.ANTHROPIC_API_KEY, (this.#options.baseEnv ?? process.env).ANTHROPIC_API_KEY];
  }

  #report(activity: ClaudeCodeActivity): void {
    try {
      this.#options.onActivity?.(activity);
    } catch {
      // An observer's bug must not fail the call.
    }
  }
}

/** A function, so that TypeScript does not keep an earlier check's narrowing across awaits. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
