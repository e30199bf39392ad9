import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CancelledError, ProviderError } from '../src/domain/errors.js';
import type { CompletionRequest, StreamEvent } from '../src/ports/provider.js';
import { resolveClaudeCodeLauncher } from '../src/adapters/providers/claude-code/claude-code-binary.js';
import { buildArgs, buildEnv } from '../src/adapters/providers/claude-code/claude-code-invocation.js';
import { renderPrompt, TRANSCRIPT_OUTRO } from '../src/adapters/providers/claude-code/claude-code-prompt.js';
import {
  CLAUDE_CODE_NOT_INSTALLED_MESSAGE,
  ClaudeCodeProvider,
  type ClaudeCodeActivity,
  type ClaudeCodeProviderOptions,
} from '../src/adapters/providers/claude-code/claude-code-provider.js';
import { createClaudeCodeProvider } from '../src/adapters/providers/claude-code/create-claude-code-provider.js';
import { resolveProvidersConfig } from '../src/providers/provider-config.js';
import { Secret } from '../src/providers/secret.js';
import { FakeLlmServer, type RecordedRequest } from '../src/testing/fake-llm-server.js';
import { rejectionOf } from './support/rejection.js';

/**
 * The claude-code provider against the REAL Claude Code CLI (the @anthropic-ai/claude-code devDependency,
 * found in node_modules/.bin) talking to the fake Anthropic server through ANTHROPIC_BASE_URL, with a
 * dummy key and a temporary HOME so that no user configuration interferes.
 */

const API_KEY = 'sk-ant-claude-code-test-0123456789';
const MODEL = 'fake-model';

const server = new FakeLlmServer();
let baseUrl: string;
let scratch: string;
let home: string;
let workdir: string;

beforeAll(async () => {
  baseUrl = (await server.start()).anthropicBaseUrl;
  scratch = realpathSync(mkdtempSync(path.join(tmpdir(), 'colony-claude-code-')));
  home = path.join(scratch, 'home');
  workdir = path.join(scratch, 'work');
  mkdirSync(home);
  mkdirSync(workdir);
});
afterAll(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});
beforeEach(() => server.reset());

/** Only what Claude Code needs from the environment, so that nothing on this machine leaks in. */
function hermeticEnv(): Record<string, string | undefined> {
  return { PATH: process.env.PATH, HOME: home };
}

function provider(options: ClaudeCodeProviderOptions = {}): ClaudeCodeProvider {
  return new ClaudeCodeProvider({ apiKey: API_KEY, baseUrl, cwd: workdir, baseEnv: hermeticEnv(), timeoutMs: 60_000, ...options });
}

function ask(text: string, extra: Partial<CompletionRequest> = {}): CompletionRequest {
  return { model: MODEL, messages: [{ role: 'user', content: [{ type: 'text', text }] }], ...extra };
}

function messageRequests(): RecordedRequest[] {
  return server.requests.filter((request) => request.protocol === 'anthropic');
}

function bodyOf(request: RecordedRequest | undefined): Record<string, unknown> {
  return (request?.body ?? {}) as Record<string, unknown>;
}

function systemText(body: Record<string, unknown>): string {
  const system = body.system;
  if (typeof system === 'string') return system;
  return Array.isArray(system) ? system.map((block: { text?: string }) => block.text ?? '').join('\n') : '';
}

function toolNames(body: Record<string, unknown>): string[] {
  return Array.isArray(body.tools) ? body.tools.map((tool: { name: string }) => tool.name) : [];
}


function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function groupIsAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** A reply that tells the test when Claude Code's model request has arrived. */
function arrival(reply: { text: string; delayMs?: number }): { arrived: Promise<void>; reply: () => typeof reply } {
  let signal!: () => void;
  const arrived = new Promise<void>((resolve) => {
    signal = resolve;
  });
  return {
    arrived,
    reply: () => {
      signal();
      return reply;
    },
  };
}

describe('claude-code provider: invocation', () => {
  it('builds the headless command line: stream-json, partial messages, no tools by default', () => {
    const args = buildArgs(ask('hi', { system: 'Be brief.' }), {
      model: null,
      allowedTools: [],
      tools: undefined,
      permissionMode: undefined,
      systemPromptMode: undefined,
      extraArgs: [],
    });
    expect(args).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--include-partial-messages',
      '--no-session-persistence',
      `--model=${MODEL}`,
      '--system-prompt=Be brief.',
      '--tools',
      '',
    ]);
  });

  it('offers exactly the allowed tools, appends the system prompt then, and keeps allowedTools last', () => {
    const args = buildArgs(ask('hi', { model: 'default', system: 'Be brief.' }), {
      model: 'configured-model',
      allowedTools: ['Read', 'Bash(git log:*)', 'mcp__colony__memory'],
      tools: undefined,
      permissionMode: 'acceptEdits',
      systemPromptMode: undefined,
      extraArgs: ['--strict-mcp-config'],
    });
    expect(args.slice(6)).toEqual([
      '--model=configured-model',
      '--append-system-prompt=Be brief.',
      '--permission-mode=acceptEdits',
      '--strict-mcp-config',
      '--tools',
      'Read,Bash',
      '--allowedTools',
      'Read',
      'Bash(git log:*)',
      'mcp__colony__memory',
    ]);
  });

  it('passes the key and endpoint, silences nonessential traffic and drops enclosing-session markers', () => {
    const env = buildEnv({
      base: { PATH: '/bin', CLAUDECODE: '1', ANTHROPIC_API_KEY: 'inherited' },
      apiKey: new Secret(API_KEY),
      baseUrl: 'http://127.0.0.1:1',
      internalRetries: 0,
      maxTokens: 1234,
      overrides: { HOME: '/tmp/h', PATH: undefined },
    });
    expect(env).toEqual({
      ANTHROPIC_API_KEY: API_KEY,
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      CLAUDE_CODE_MAX_RETRIES: '0',
      CLAUDE_CODE_MAX_OUTPUT_TOKENS: '1234',
      HOME: '/tmp/h',
    });
  });

  it('sends a lone user message as it is and renders a conversation as a transcript', () => {
    expect(renderPrompt([{ role: 'user', content: [{ type: 'text', text: 'just this' }] }])).toBe('just this');
    const prompt = renderPrompt([
      { role: 'user', content: [{ type: 'text', text: 'weather in Oslo?' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get_weather', input: { city: 'Oslo' } }] },
      { role: 'user', content: [{ type: 'tool_result', toolUseId: 't1', content: 'no data', isError: true }] },
    ]);
    expect(prompt).toContain('<user>\nweather in Oslo?\n</user>');
    expect(prompt).toContain('[tool call t1: get_weather {"city":"Oslo"}]');
    expect(prompt).toContain('[tool result for t1 (error)]\nno data');
    expect(prompt.endsWith(TRANSCRIPT_OUTRO)).toBe(true);
  });
});

describe('claude-code provider: finding the CLI', () => {
  it("finds the package's native binary in the project's node_modules/.bin and runs it directly", () => {
    const launcher = resolveClaudeCodeLauncher('claude', { searchFrom: [process.cwd()], env: { PATH: '' } });
    expect(launcher).not.toBeNull();
    expect(launcher?.command).toBe(path.join(process.cwd(), 'node_modules', '.bin', 'claude'));
    expect(launcher?.prefixArgs).toEqual([]);
    expect(launcher?.resolvedPath).toContain(path.join('node_modules', '@anthropic-ai', 'claude-code'));
  });

  it('runs a Node script through a Node >= 22, not through whatever its shebang finds', () => {
    const script = path.join(scratch, 'cli.js');
    writeFileSync(script, '#!/usr/bin/env node\nconsole.log("hi");\n');
    chmodSync(script, 0o755);
    const launcher = resolveClaudeCodeLauncher(script);
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
    expect(launcher).toEqual({ command: process.execPath, prefixArgs: [script], resolvedPath: script });
  });

  it('starts the package wrapper when the install script left its placeholder', () => {
    const pkg = path.join(scratch, 'node_modules', '@anthropic-ai', 'claude-code');
    mkdirSync(path.join(pkg, 'bin'), { recursive: true });
    writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: '@anthropic-ai/claude-code', bin: { claude: 'bin/claude.exe' } }));
    writeFileSync(path.join(pkg, 'bin', 'claude.exe'), 'echo "claude native binary not installed"\n');
    writeFileSync(path.join(pkg, 'cli-wrapper.cjs'), '#!/usr/bin/env node\n');
    const launcher = resolveClaudeCodeLauncher('claude', { searchFrom: [scratch], env: { PATH: '' } });
    expect(launcher?.command).toBe(process.execPath);
    expect(launcher?.prefixArgs).toEqual([path.join(pkg, 'cli-wrapper.cjs')]);
  });

  it('gives a clear, non-retryable error when the binary is not installed', async () => {
    for (const binary of [path.join(scratch, 'nowhere', 'claude'), 'claude-not-installed-anywhere']) {
      const error = await rejectionOf(provider({ binary, searchFrom: [scratch], baseEnv: { PATH: path.join(scratch, 'empty-bin') } }).complete(ask('hi')));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).message).toBe(CLAUDE_CODE_NOT_INSTALLED_MESSAGE);
      expect((error as ProviderError).retryable).toBe(false);
    }
  });

  it('reports a binary that cannot be started', async () => {
    const broken = path.join(scratch, 'not-executable');
    writeFileSync(broken, 'not a program\n');
    chmodSync(broken, 0o644);
    const error = await rejectionOf(provider({ binary: broken }).complete(ask('hi')));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).message).toMatch(/^claude-code: could not start .*not-executable: .*EACCES/);
    expect((error as ProviderError).retryable).toBe(false);
  });

  it('does not start anything for a call cancelled before it began', async () => {
    const started: ClaudeCodeActivity[] = [];
    const error = await rejectionOf(provider({ onActivity: (item) => started.push(item) }).complete(ask('hi', { signal: AbortSignal.abort() })));
    expect(error).toBeInstanceOf(CancelledError);
    expect(started).toEqual([]);
  });
});

describe('claude-code provider: the real CLI against the fake Anthropic server', () => {
  it('completes: returns the fake server text and the run usage', async () => {
    server.enqueue({ text: 'Hello from the fake model', usage: { inputTokens: 11, outputTokens: 7 } });
    const response = await provider().complete(ask('Say hello'));
    expect(response.content).toEqual([{ type: 'text', text: 'Hello from the fake model' }]);
    expect(response.stopReason).toBe('end_turn');
    expect(response.usage).toEqual({ inputTokens: 11, outputTokens: 7 });
    expect(response.model).toBe(MODEL);
    expect(response.id).not.toBe('');
  });

  it('speaks the Anthropic wire format to the server: model, our system prompt, the prompt, the key, no tools', async () => {
    server.enqueue({ text: 'ok' });
    await provider().complete(ask('What is 2 + 2?', { system: 'You are the Colony test agent.' }));
    const [request, ...others] = messageRequests();
    expect(others).toEqual([]);
    expect(request?.path).toBe('/v1/messages');
    expect(request?.headers['x-api-key']).toBe(API_KEY);
    const body = bodyOf(request);
    expect(body.model).toBe(MODEL);
    expect(systemText(body)).toContain('You are the Colony test agent.');
    expect(JSON.stringify(body.messages)).toContain('What is 2 + 2?');
    expect(toolNames(body)).not.toContain('Bash');
    expect(toolNames(body)).not.toContain('Read');
  });

  it('sends prior turns and tool results as text', async () => {
    server.enqueue({ text: 'It is sunny.' });
    const response = await provider().complete({
      model: MODEL,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }] },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Oslo' } }] },
        { role: 'user', content: [{ type: 'tool_result', toolUseId: 'call_1', content: 'sunny, 21C' }] },
      ],
    });
    expect(response.content).toEqual([{ type: 'text', text: 'It is sunny.' }]);
    const sent = JSON.stringify(bodyOf(messageRequests()[0]).messages);
    expect(sent).toContain('Weather in Oslo?');
    expect(sent).toContain('get_weather');
    expect(sent).toContain('sunny, 21C');
  });

  it('streams text deltas and ends with exactly one message_end', async () => {
    const text = 'Streaming, one piece after another, from the fake server';
    server.enqueue({ text, usage: { inputTokens: 5, outputTokens: 9 } });
    const events: StreamEvent[] = [];
    for await (const event of provider().stream(ask('stream please'))) events.push(event);
    const deltas = events.filter((event) => event.type === 'text_delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((event) => (event.type === 'text_delta' ? event.text : '')).join('')).toBe(text);
    expect(events.filter((event) => event.type === 'message_end')).toHaveLength(1);
    const last = events.at(-1);
    expect(last?.type).toBe('message_end');
    if (last?.type === 'message_end') {
      expect(last.response.content).toEqual([{ type: 'text', text }]);
      expect(last.response.usage).toEqual({ inputTokens: 5, outputTokens: 9 });
    }
  });

  it("runs its own tool loop in cwd: reads a file with Read and sends the tool_result back to the server", async () => {
    const file = path.join(workdir, 'notes.txt');
    writeFileSync(file, 'The secret word is PELICAN-42.\n');
    server.enqueue(
      { text: 'Let me read the notes.', toolCalls: [{ id: 'toolu_read_1', name: 'Read', input: { file_path: file } }] },
      { text: 'The secret word is PELICAN-42.', usage: { inputTokens: 40, outputTokens: 8 } },
    );
    const activity: ClaudeCodeActivity[] = [];
    const events: StreamEvent[] = [];
    const agent = provider({ allowedTools: ['Read'], onActivity: (item) => activity.push(item) });
    for await (const event of agent.stream(ask('What is the secret word in notes.txt?'))) events.push(event);

    const [first, second, ...rest] = messageRequests();
    expect(rest).toEqual([]);
    expect(toolNames(bodyOf(first))).toContain('Read');
    expect(toolNames(bodyOf(first))).not.toContain('Bash');
    const messages = bodyOf(second).messages as Array<{ role: string; content: unknown }>;
    const toolResults = messages
      .filter((message) => message.role === 'user' && Array.isArray(message.content))
      .flatMap((message) => message.content as Array<{ type: string; tool_use_id?: string; content?: unknown }>)
      .filter((block) => block.type === 'tool_result');
    expect(toolResults).toHaveLength(1);
    expect(toolResults[0]?.tool_use_id).toBe('toolu_read_1');
    expect(JSON.stringify(toolResults[0]?.content)).toContain('PELICAN-42');

    const end = events.at(-1);
    expect(end?.type).toBe('message_end');
    if (end?.type === 'message_end') {
      // The run's final answer; Claude Code's own tool call is not handed to Colony to run.
      expect(end.response.content).toEqual([{ type: 'text', text: 'The secret word is PELICAN-42.' }]);
      expect(end.response.stopReason).toBe('end_turn');
    }
    expect(events.some((event) => event.type === 'tool_use_start')).toBe(false);
    const streamed = events.map((event) => (event.type === 'text_delta' ? event.text : '')).join('');
    expect(streamed).toBe('Let me read the notes.\n\nThe secret word is PELICAN-42.');
    expect(activity.map((item) => item.type)).toEqual(['process_started', 'init', 'tool_use', 'tool_result', 'result']);
    expect(activity).toContainEqual(expect.objectContaining({ type: 'tool_use', id: 'toolu_read_1', name: 'Read', input: { file_path: file } }));
    expect(activity).toContainEqual(expect.objectContaining({ type: 'tool_result', toolUseId: 'toolu_read_1', isError: false }));
  });

  it('maps a server 500 to a retryable ProviderError with the status, and a 401 to a non-retryable one', async () => {
    server.enqueue({ fault: 'server_error', status: 500, message: 'upstream exploded' });
    const error = await rejectionOf(provider().complete(ask('hi')));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).status).toBe(500);
    expect((error as ProviderError).retryable).toBe(true);
    expect((error as ProviderError).message).toContain('upstream exploded');

    server.enqueue({ fault: 'server_error', status: 401, message: `invalid x-api-key ${API_KEY}` });
    const auth = await rejectionOf(provider().complete(ask('hi')));
    expect(auth).toBeInstanceOf(ProviderError);
    expect((auth as ProviderError).status).toBe(401);
    expect((auth as ProviderError).retryable).toBe(false);
    expect((auth as ProviderError).message).not.toContain(API_KEY);
  });

  it('reports a non-zero exit with the end of stderr, never the key', async () => {
    const failing = path.join(scratch, 'failing-claude.js');
    writeFileSync(failing, `#!/usr/bin/env node\nprocess.stderr.write('auth failed for ' + process.env.ANTHROPIC_API_KEY + '\\n');\nprocess.exit(3);\n`);
    chmodSync(failing, 0o755);
    const error = await rejectionOf(provider({ binary: failing }).complete(ask('hi')));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).message).toBe('claude-code: exited with code 3: auth failed for [REDACTED]');
    expect((error as ProviderError).retryable).toBe(false);
    expect(JSON.stringify(error)).not.toContain(API_KEY);
  });

  it('abort kills the process and rejects with CancelledError once it is gone', async () => {
    const { arrived, reply } = arrival({ text: 'too late', delayMs: 60_000 });
    server.enqueue(reply);
    const pids: number[] = [];
    const controller = new AbortController();
    const call = provider({
      onActivity: (item) => {
        if (item.type === 'process_started') pids.push(item.pid);
      },
    }).complete(ask('take your time', { signal: controller.signal }));
    await arrived;
    controller.abort();
    const error = await rejectionOf(call);
    expect(error).toBeInstanceOf(CancelledError);
    const [pid] = pids;
    expect(pid).toBeGreaterThan(0);
    expect(isAlive(pid!)).toBe(false);
    expect(groupIsAlive(pid!)).toBe(false);
  });

  it('a timeout kills the process and is a retryable ProviderError', async () => {
    // Whether Claude Code got as far as its request before the timeout (on a loaded machine it may
    // not have) does not matter: the timeout ends the process either way.
    const { reply } = arrival({ text: 'too late', delayMs: 60_000 });
    server.enqueue(reply);
    const pids: number[] = [];
    const call = provider({
      timeoutMs: 3_000,
      onActivity: (item) => {
        if (item.type === 'process_started') pids.push(item.pid);
      },
    }).complete(ask('take your time'));
    const error = await rejectionOf(call);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).retryable).toBe(true);
    expect((error as ProviderError).details.reason).toBe('timeout');
    expect(isAlive(pids[0]!)).toBe(false);
  });

  it('stopping a stream early kills the run', async () => {
    server.enqueue({ fault: 'slow', delayMs: 300, text: 'a slow answer that keeps on going and going' });
    const pids: number[] = [];
    const stream = provider({
      onActivity: (item) => {
        if (item.type === 'process_started') pids.push(item.pid);
      },
    }).stream(ask('go slowly'));
    for await (const event of stream) {
      if (event.type === 'text_delta') break;
    }
    expect(pids).toHaveLength(1);
    expect(isAlive(pids[0]!)).toBe(false);
  });

  it('createClaudeCodeProvider wires the claude-code config with the Anthropic key and endpoint', async () => {
    const resolved = resolveProvidersConfig({ 'claude-code': { model: MODEL, timeoutMs: 60_000 } }, { ANTHROPIC_API_KEY: API_KEY, ANTHROPIC_BASE_URL: baseUrl });
    const wrapped = createClaudeCodeProvider(resolved, { cwd: workdir, baseEnv: hermeticEnv() });
    expect(wrapped.id).toBe('claude-code');
    server.enqueue({ text: 'wired' });
    const response = await wrapped.complete({ model: 'default', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
    expect(response.content).toEqual([{ type: 'text', text: 'wired' }]);
    expect(bodyOf(messageRequests()[0]).model).toBe(MODEL);
    expect(messageRequests()[0]?.headers['x-api-key']).toBe(API_KEY);
  });
});
