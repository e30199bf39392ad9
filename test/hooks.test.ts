import { existsSync } from 'node:fs';
import { mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import { runAgent, type RunAgentOptions } from '../src/agents/runtime/agent-runtime.js';
import { loadConfig } from '../src/app/config.js';
import { ClaudeCodeProvider } from '../src/adapters/providers/claude-code/claude-code-provider.js';
import { createProvider } from '../src/app/create-provider.js';
import type { AgentTypeDefinition } from '../src/domain/agent.js';
import { ConfigError, ExecutionError } from '../src/domain/errors.js';
import type { ColonyEvent } from '../src/domain/events.js';
import type { TaskRecord } from '../src/domain/task.js';
import { readClaudeSettingsHooks } from '../src/hooks/claude-settings-hooks.js';
import { HOOKS_DEFAULT_CONFIG, type HooksConfig } from '../src/hooks/hook-config.js';
import { HOOK_MAX_BLOCKED_STOPS, HOOK_MAX_TIMEOUT_SECONDS } from '../src/hooks/hook-defaults.js';
import { colonyHookDefinitions, type HookDefinition } from '../src/hooks/hook-definition.js';
import { HookRunner } from '../src/hooks/hook-runner.js';
import { createLogger } from '../src/kernel/logger.js';
import { LocalEventBus } from '../src/kernel/local-event-bus.js';
import type { EventBus } from '../src/ports/event-bus.js';
import type { Provider } from '../src/ports/provider.js';
import { Secret } from '../src/providers/secret.js';
import { CommandSandbox } from '../src/sandbox/command-sandbox.js';
import { SANDBOX_DEFAULT_CONFIG } from '../src/sandbox/sandbox-config.js';
import { FakeLlmServer, type RecordedRequest } from '../src/testing/fake-llm-server.js';
import { rejectionOf } from './support/rejection.js';
import { T, taskRecord } from './support/task-fixtures.js';
import { swarmModel } from './support/swarm-model.js';
import { eventually, tempColony, tempDir } from './support/temp-colony.js';

const silent = createLogger('silent');

function hooksConfig(overrides: Partial<HooksConfig>): HooksConfig {
  return { ...HOOKS_DEFAULT_CONFIG, ...overrides };
}

/** A runner over real commands, in the agents' sandbox (bubblewrap where it works), with a secret in the server's environment. */
function runnerFor(hooks: HookDefinition[], events: EventBus, policy?: { deny?: string[] }): HookRunner {
  const sandbox = new CommandSandbox({ config: { ...SANDBOX_DEFAULT_CONFIG }, env: { PATH: process.env.PATH, HOME: process.env.HOME, ANTHROPIC_API_KEY: 'sk-ant-secret-value' } });
  return new HookRunner({ hooks, sandbox, events, logger: silent, ...(policy ? { policy } : {}) });
}

describe('hook runner (real commands)', () => {
  let dir: string;
  let events: LocalEventBus;
  let ran: ColonyEvent<'hook.ran'>[];

  beforeEach(async () => {
    dir = await realpath(tempDir('colony-hooks-'));
    events = new LocalEventBus({ logger: silent, bufferSize: 1_000 });
    ran = [];
    events.subscribe({ types: ['hook.ran'] }, (event) => {
      ran.push(event);
    });
  });
  afterEach(async () => {
    await events.flush();
    await rm(dir, { recursive: true, force: true });
  });

  it('passes: the hook runs in the workspace with its JSON input on stdin and COLONY_* variables, no secrets', async () => {
    const command = 'cat > input.json; env > env.txt; pwd > cwd.txt';
    const runner = runnerFor(colonyHookDefinitions(hooksConfig({ fileEdited: [{ command, matcher: 'Write|Edit' }] })), events);
    const verdict = await runner.run('fileEdited', {
      workspace: dir,
      task: { id: 'tsk_1', attempt: 2 },
      swarmId: null,
      tool: { names: ['write_file', 'Write'], filePath: join(dir, 'a.txt'), input: { path: 'a.txt', content: 'x' } },
    });
    expect(verdict).toEqual({ blocked: false, feedback: '' });
    const input = JSON.parse(await readFile(join(dir, 'input.json'), 'utf8')) as Record<string, unknown>;
    expect(input).toMatchObject({
      session_id: 'tsk_1',
      cwd: dir,
      hook_event_name: 'PostToolUse',
      colony_hook_point: 'fileEdited',
      task_id: 'tsk_1',
      attempt: 2,
      tool_name: 'Write',
      colony_tool_name: 'write_file',
      tool_input: { path: 'a.txt', content: 'x', file_path: join(dir, 'a.txt') },
    });
    const env = await readFile(join(dir, 'env.txt'), 'utf8');
    expect(env).toContain(`COLONY_FILE=${join(dir, 'a.txt')}`);
    expect(env).toContain('COLONY_HOOK_POINT=fileEdited');
    expect(env).toContain('COLONY_TASK_ID=tsk_1');
    expect(env).not.toContain('sk-ant-secret-value');
    expect((await readFile(join(dir, 'cwd.txt'), 'utf8')).trim()).toBe(dir);
    await events.flush();
    expect(ran).toHaveLength(1);
    expect(ran[0]?.data).toMatchObject({ point: 'fileEdited', command, source: 'colony', taskId: 'tsk_1', outcome: 'passed', exitCode: 0, blocked: false });
  });

  it('matches tool names whole, by Colony or Claude Code name: Edit does not run for write_file', async () => {
    const runner = runnerFor(colonyHookDefinitions(hooksConfig({ fileEdited: [{ command: 'touch ran', matcher: 'Edit' }] })), events);
    await runner.run('fileEdited', { workspace: dir, tool: { names: ['write_file', 'Write'], filePath: join(dir, 'a'), input: { path: 'a' } } });
    await runner.run('fileEdited', { workspace: dir, tool: { names: ['edit_file', 'Edit', 'MultiEdit'], filePath: join(dir, 'a'), input: { path: 'a' } } });
    await events.flush();
    expect(ran).toHaveLength(1);
  });

  it('runs a hook limited by agentTypes only for tasks whose agent is of one of those types', async () => {
    const runner = runnerFor(colonyHookDefinitions(hooksConfig({ taskCompleting: [{ command: 'echo "$COLONY_TASK_ID" >> ran.log; exit 2', agentTypes: ['tester'] }] })), events);
    const coder = await runner.run('taskCompleting', { workspace: dir, task: { id: 'tsk_coder', attempt: 1 }, agentType: 'coder' });
    const none = await runner.run('taskCompleting', { workspace: dir, task: { id: 'tsk_none', attempt: 1 } });
    const tester = await runner.run('taskCompleting', { workspace: dir, task: { id: 'tsk_tester', attempt: 1 }, agentType: 'tester' });
    expect(coder.blocked).toBe(false);
    expect(none.blocked).toBe(false);
    expect(tester.blocked).toBe(true);
    expect((await readFile(join(dir, 'ran.log'), 'utf8')).trim()).toBe('tsk_tester');
  });

  it('blocks: exit code 2 blocks by Claude Code convention, any failure blocks with blocking: true, none with blocking: false', async () => {
    const runner = runnerFor(
      colonyHookDefinitions(
        hooksConfig({
          taskCompleting: [
            { command: 'echo "2 tests failed" >&2; exit 2' },
            { command: 'echo lint says no; exit 1', blocking: true },
            { command: 'exit 2', blocking: false },
            { command: 'exit 1' },
          ],
        }),
      ),
      events,
    );
    const verdict = await runner.run('taskCompleting', { workspace: dir, task: { id: 'tsk_2', attempt: 1 } });
    expect(verdict.blocked).toBe(true);
    expect(verdict.feedback).toContain('2 tests failed');
    expect(verdict.feedback).toContain('exit code 2');
    expect(verdict.feedback).toContain('lint says no');
    await events.flush();
    expect(ran.map((event) => [event.data.exitCode, event.data.outcome, event.data.blocked])).toEqual([
      [2, 'failed', true],
      [1, 'failed', true],
      [2, 'failed', false],
      [1, 'failed', false],
    ]);
    expect(ran[0]?.data.output).toContain('2 tests failed');
  });

  it('times out: the hook is killed and reported, the step goes on', async () => {
    const runner = runnerFor(colonyHookDefinitions(hooksConfig({ taskEnd: [{ command: 'sleep 30', timeout: 0.2 }] })), events);
    const verdict = await runner.run('taskEnd', { workspace: dir, task: { id: 'tsk_3', attempt: 1 } });
    expect(verdict.blocked).toBe(false);
    await events.flush();
    expect(ran[0]?.data).toMatchObject({ outcome: 'timed_out', blocked: false, exitCode: null });
  });

  it('a timed-out blocking hook blocks, and a command the policy refuses is not run', async () => {
    const runner = runnerFor(
      colonyHookDefinitions(hooksConfig({ taskStart: [{ command: 'sleep 30', timeout: 0.2, blocking: true }, { command: 'curl http://example.invalid', blocking: true }] })),
      events,
      { deny: ['curl'] },
    );
    const verdict = await runner.run('taskStart', { workspace: dir });
    expect(verdict.blocked).toBe(true);
    expect(verdict.feedback).toContain('timed out after 200 ms');
    expect(verdict.feedback).toContain('command refused by policy');
    await events.flush();
    expect(ran.map((event) => event.data.outcome)).toEqual(['timed_out', 'refused']);
  });
});

describe('hook configuration', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await realpath(tempDir('colony-hooks-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function configError(hooks: unknown): Promise<ConfigError> {
    await mkdir(join(dir, '.colony'), { recursive: true });
    await writeFile(join(dir, '.colony/config.json'), JSON.stringify({ hooks }));
    try {
      loadConfig({ projectDir: dir });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return error as ConfigError;
    }
    throw new Error('expected a ConfigError');
  }

  it('refuses bad hooks with a message naming the key', async () => {
    expect((await configError({ taskDone: [] })).message).toMatch(/unknown config key "hooks\.taskDone".*known keys here: claudeSettings, taskStart, taskEnd, toolCalling, fileEdited, taskCompleting, swarmEnded/);
    expect((await configError({ taskCompleting: [{ comand: 'npm test' }] })).message).toMatch(/invalid config key "hooks\.taskCompleting\.0\.command".*must be the command line to run/);
    expect((await configError({ taskCompleting: [{ command: 'npm test', blockng: true }] })).message).toMatch(/"hooks\.taskCompleting\.0".*blockng/);
    expect((await configError({ taskCompleting: [{ command: '' }] })).message).toMatch(/invalid config key "hooks\.taskCompleting\.0\.command".*non-empty/);
    expect((await configError({ taskEnd: [{ command: 'x', timeout: 0 }] })).message).toMatch(/"hooks\.taskEnd\.0\.timeout"/);
    expect((await configError({ taskStart: [{ command: 'x', matcher: 'Edit' }] })).message).toMatch(/"hooks\.taskStart\.0".*matcher/);
    expect((await configError({ taskCompleting: [{ command: 'x', agentTypes: [] }] })).message).toMatch(/"hooks\.taskCompleting\.0\.agentTypes".*at least one agent type/);
    expect((await configError({ swarmEnded: [{ command: 'x', agentTypes: ['tester'] }] })).message).toMatch(/"hooks\.swarmEnded\.0".*agentTypes/);
  });

  it('refuses a matcher the linear-time engine cannot run when the colony is created, before anything is opened', async () => {
    const error = await rejectionOf(tempColony({ hooks: { toolCalling: [{ command: 'x', matcher: 'Bash' }, { command: 'y', matcher: '(?!Bash)' }] } }, { dir }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^invalid config key "hooks\.toolCalling\.1\.matcher": .*lookahead/);
    expect(existsSync(join(dir, '.colony', 'colony.db'))).toBe(false);
    await mkdir(join(dir, '.claude'));
    await writeFile(join(dir, '.claude/settings.json'), JSON.stringify({ hooks: { PostToolUse: [{ matcher: '(a', hooks: [{ type: 'command', command: 'x' }] }] } }));
    expect(() => readClaudeSettingsHooks(dir)).toThrow(/^\.claude\/settings\.json: invalid key "hooks\.PostToolUse\.0\.matcher": invalid regular expression/);
  });

  it('reads Claude Code settings hooks where the names match, skipping the rest with a note', async () => {
    await mkdir(join(dir, '.claude'));
    await writeFile(
      join(dir, '.claude/settings.json'),
      JSON.stringify({
        permissions: { allow: ['Bash(npm test)'] },
        hooks: {
          PostToolUse: [{ matcher: 'Edit|Write', hooks: [{ type: 'command', command: 'npx prettier --write "$CLAUDE_FILE"', timeout: 30 }] }],
          Stop: [{ hooks: [{ type: 'command', command: 'npm test', timeout: 86_400 }] }],
          PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 'check-bash' }] }],
          UserPromptSubmit: [{ hooks: [{ type: 'command', command: 'echo hi' }] }],
          SessionStart: [{ hooks: [{ type: 'prompt', prompt: 'hello' }] }],
        },
      }),
    );
    await writeFile(join(dir, '.claude/settings.local.json'), JSON.stringify({ hooks: { SessionEnd: [{ hooks: [{ type: 'command', command: 'echo bye' }] }] } }));
    const { hooks, notes } = readClaudeSettingsHooks(dir);
    expect(hooks.map((hook) => [hook.point, hook.command, hook.timeoutMs, hook.blocking, hook.source])).toEqual([
      ['fileEdited', 'npx prettier --write "$CLAUDE_FILE"', 30_000, null, '.claude/settings.json'],
      ['taskCompleting', 'npm test', HOOK_MAX_TIMEOUT_SECONDS * 1000, null, '.claude/settings.json'],
      ['toolCalling', 'check-bash', 60_000, null, '.claude/settings.json'],
      ['taskEnd', 'echo bye', 60_000, null, '.claude/settings.local.json'],
    ]);
    expect(hooks[0]?.matcher?.test('Write')).toBe(true);
    expect(hooks[0]?.matcher?.test('MultiEdit')).toBe(false);
    expect(hooks[2]?.matcher?.test('Bash')).toBe(true);
    expect(notes.join('\n')).toMatch(/hooks\.UserPromptSubmit skipped/);
    expect(notes.join('\n')).toMatch(/type "prompt" skipped/);
    expect(notes.join('\n')).toMatch(/timeout of 86400 s is cut/);
  });

  it('refuses a Claude Code settings file that is not JSON or whose hooks have the wrong shape, naming the file', async () => {
    await mkdir(join(dir, '.claude'));
    await writeFile(join(dir, '.claude/settings.json'), '{ "hooks": ');
    expect(() => readClaudeSettingsHooks(dir)).toThrow(ConfigError);
    expect(() => readClaudeSettingsHooks(dir)).toThrow(/settings\.json/);
    await writeFile(join(dir, '.claude/settings.json'), JSON.stringify({ hooks: { Stop: [{ hooks: [{ type: 'command', command: 'x', timeout: 'soon' }] }] } }));
    expect(() => readClaudeSettingsHooks(dir)).toThrow(/\.claude\/settings\.json: invalid key "hooks\.Stop\.0\.hooks\.0\.timeout"/);
  });

  it('a colony does not start over a bad Claude settings file, and ignores the file with claudeSettings: false', async () => {
    await mkdir(join(dir, '.claude'));
    await writeFile(join(dir, '.claude/settings.json'), JSON.stringify({ hooks: { Stop: 'npm test' } }));
    const error = await rejectionOf(tempColony({}, { dir }));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('.claude/settings.json');
    const { cleanup } = await tempColony({ hooks: { claudeSettings: false } }, { dir });
    await cleanup();
  });
});

const coderType: AgentTypeDefinition = {
  name: 'coder',
  description: 'writes code',
  tools: ['Read', 'Write', 'Edit', 'Bash'],
  model: null,
  capabilities: ['code'],
  maxConcurrency: 1,
  systemPrompt: 'You are a careful coder.',
  source: 'builtin',
  path: '',
};

/** The last user message the model was sent, as text (tool results included). */
function lastUserText(request: RecordedRequest | undefined): string {
  const messages = (request?.body as { messages: { role: string; content: unknown }[] }).messages;
  return JSON.stringify(messages.at(-1)?.content);
}

describe('hooks in the agent loop', () => {
  const server = new FakeLlmServer();
  let provider: Provider;
  let dir: string;
  let workspace: string;
  let store: SqliteStore;
  let events: LocalEventBus;
  let ran: ColonyEvent<'hook.ran'>[];
  let task: TaskRecord;

  beforeAll(async () => {
    const address = await server.start();
    provider = createProvider({ id: 'anthropic', apiKey: new Secret('sk-test-0123456789'), baseUrl: address.anthropicBaseUrl, model: 'fake-model', timeoutMs: 10_000, maxRetries: 0, maxConcurrency: 8 });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(async () => {
    server.reset();
    dir = await realpath(tempDir('colony-hooks-agent-'));
    workspace = join(dir, 'ws');
    await mkdir(workspace);
    store = new SqliteStore({ path: join(dir, 'colony.db'), busyTimeoutMs: 5_000 });
    await store.migrate();
    events = new LocalEventBus({ persist: (batch) => store.events.append(batch), logger: silent, bufferSize: 1_000 });
    ran = [];
    events.subscribe({ types: ['hook.ran'] }, (event) => {
      ran.push(event);
    });
    task = taskRecord('tsk_agent', { type: 'agent', status: 'running', input: { prompt: 'fix it' }, attempts: 1, startedAt: T });
    await store.tasks.insert([task]);
  });
  afterEach(async () => {
    await events.flush();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  function options(hooks: HooksConfig): RunAgentOptions {
    return {
      provider,
      providerId: 'anthropic',
      model: 'fake-model',
      agentType: coderType,
      agent: null,
      task,
      prompt: 'Make the tests pass.',
      workspace,
      store,
      events,
      limits: { maxTurns: 10, maxTokens: 1_000_000, maxOutputTokensPerTurn: 4_096 },
      shell: { timeoutMs: 10_000, maxOutputBytes: 64 * 1024 },
      signal: new AbortController().signal,
      hooks: runnerFor(colonyHookDefinitions(hooks), events),
      now: () => T,
    };
  }

  // The "tests": pass once fixed.txt says fixed.
  const tests = 'grep -q fixed fixed.txt 2>/dev/null || { echo "FAIL: fixed.txt does not say fixed" >&2; exit 2; }';

  it('a blocking completion hook refuses the report; the model gets its output, fixes the cause and completes', async () => {
    server.enqueue(
      { toolCalls: [{ name: 'report_result', input: { result: 'done' } }] },
      { toolCalls: [{ name: 'write_file', input: { path: 'fixed.txt', content: 'fixed\n' } }] },
      { toolCalls: [{ name: 'report_result', input: { result: 'done, tests pass' } }] },
    );
    const run = await runAgent(options(hooksConfig({ taskCompleting: [{ command: tests }], fileEdited: [{ command: 'echo "$COLONY_FILE" >> .edits.log', matcher: 'Write' }] })));

    expect(run.result).toBe('done, tests pass');
    expect(run.stopReason).toBe('report_result');
    expect(run.turns).toBe(3);
    // What the model was sent after its first report: the refusal with the hook's output.
    expect(lastUserText(server.requests[1])).toContain('FAIL: fixed.txt does not say fixed');
    expect(lastUserText(server.requests[1])).toContain('may not complete yet');
    // The fileEdited hook ran for the write, with the file's path.
    expect(await readFile(join(workspace, '.edits.log'), 'utf8')).toBe(`${join(workspace, 'fixed.txt')}\n`);
    // The refusal is in the transcript too.
    const turns = await store.transcripts.listTurns({ taskId: task.id });
    expect(JSON.stringify(turns.find((turn) => turn.turn === 1 && turn.role === 'tool')?.content)).toContain('FAIL: fixed.txt does not say fixed');
    await events.flush();
    expect(ran.map((event) => `${event.data.point}:${event.data.outcome}:${event.data.blocked}`)).toEqual(['taskCompleting:failed:true', 'fileEdited:passed:false', 'taskCompleting:passed:false']);
  });

  it('a final answer without report_result is refused the same way', async () => {
    server.enqueue({ text: 'All good.' }, { toolCalls: [{ name: 'write_file', input: { path: 'fixed.txt', content: 'fixed' } }] }, { text: 'Fixed now.' });
    const run = await runAgent(options(hooksConfig({ taskCompleting: [{ command: tests }] })));
    expect(run.result).toBe('Fixed now.');
    expect(run.stopReason).toBe('end_turn');
    expect(lastUserText(server.requests[1])).toContain('FAIL: fixed.txt does not say fixed');
  });

  it('through the claude-code provider (the real CLI), a refused finish goes back to Claude Code with the hook output, and the next answer completes', async () => {
    const home = join(dir, 'home');
    await mkdir(home);
    const claudeCode = new ClaudeCodeProvider({ apiKey: 'sk-ant-hooks-test-0123456789', baseUrl: server.address.anthropicBaseUrl, cwd: workspace, baseEnv: { PATH: process.env.PATH, HOME: home }, timeoutMs: 60_000 });
    server.enqueue({ text: 'All good.' }, { text: 'Fixed now.' });
    // Refuses the first finish, passes the next: as a test suite would once the cause is fixed.
    const once = 'test -f .seen || { touch .seen; echo "FAIL: the tests do not pass yet" >&2; exit 2; }';
    const run = await runAgent({ ...options(hooksConfig({ taskCompleting: [{ command: once }] })), provider: claudeCode, providerId: 'claude-code', agentType: { ...coderType, tools: [] } });
    expect(run.result).toBe('Fixed now.');
    expect(run.stopReason).toBe('end_turn');
    expect(run.turns).toBe(2);
    const calls = server.requests.filter((request) => request.path === '/v1/messages');
    expect(calls).toHaveLength(2);
    // Claude Code's second run was sent the conversation: its answer, then the refusal with the hook's output.
    expect(JSON.stringify(calls[1]?.body)).toContain('All good.');
    expect(JSON.stringify(calls[1]?.body)).toContain('FAIL: the tests do not pass yet');
    await events.flush();
    expect(ran.map((event) => `${event.data.point}:${event.data.outcome}:${event.data.blocked}`)).toEqual(['taskCompleting:failed:true', 'taskCompleting:passed:false']);
  });

  it('a blocking toolCalling hook refuses the call before it runs; the model gets the reason', async () => {
    await writeFile(join(workspace, 'keep.txt'), 'precious');
    server.enqueue(
      { toolCalls: [{ name: 'run_shell', input: { command: 'rm -f keep.txt' } }] },
      { toolCalls: [{ name: 'read_file', input: { path: 'keep.txt' } }] },
      { toolCalls: [{ name: 'report_result', input: { result: 'kept' } }] },
    );
    // Claude Code's PreToolUse shape: the call's JSON on stdin, exit code 2 refuses it.
    const guard = `if grep -q '"command":"rm ' ; then echo "no rm in this project" >&2; exit 2; fi`;
    const run = await runAgent(options(hooksConfig({ toolCalling: [{ command: guard, matcher: 'Bash' }] })));
    expect(run.result).toBe('kept');
    expect(await readFile(join(workspace, 'keep.txt'), 'utf8')).toBe('precious');
    const refusal = lastUserText(server.requests[1]);
    expect(refusal).toContain('run_shell was not run: a hook refused the call');
    expect(refusal).toContain('no rm in this project');
    expect(refusal).toContain('"is_error":true');
    await events.flush();
    // The matcher (Bash, Claude Code's name of run_shell) let read_file and report_result through unhooked.
    expect(ran.map((event) => `${event.data.point}:${event.data.blocked}`)).toEqual(['toolCalling:true']);
  });

  it('a blocking fileEdited hook adds its output to the tool result as an error', async () => {
    server.enqueue({ toolCalls: [{ name: 'write_file', input: { path: 'a.js', content: 'let x =' } }] }, { toolCalls: [{ name: 'report_result', input: { result: 'ok' } }] });
    await runAgent(options(hooksConfig({ fileEdited: [{ command: 'echo "syntax error in $COLONY_FILE"; exit 1', blocking: true }] })));
    const result = lastUserText(server.requests[1]);
    expect(result).toContain('syntax error in');
    expect(result).toContain('"is_error":true');
    expect(await readFile(join(workspace, 'a.js'), 'utf8')).toBe('let x =');
  });

  it(`gives up after ${HOOK_MAX_BLOCKED_STOPS} refused finishes: the task fails with the hook's output`, async () => {
    server.setDefaultReply({ toolCalls: [{ name: 'report_result', input: { result: 'done' } }] });
    const error = await rejectionOf(runAgent(options(hooksConfig({ taskCompleting: [{ command: tests }] }))));
    expect(error).toBeInstanceOf(ExecutionError);
    expect((error as ExecutionError).retryable).toBe(false);
    expect((error as Error).message).toContain(`refused it ${HOOK_MAX_BLOCKED_STOPS} times`);
    expect((error as Error).message).toContain('FAIL: fixed.txt does not say fixed');
    expect(server.requests).toHaveLength(HOOK_MAX_BLOCKED_STOPS);
  });

  it('a completion hook that times out is reported and the task completes', async () => {
    server.enqueue({ toolCalls: [{ name: 'report_result', input: { result: 'done' } }] });
    const run = await runAgent(options(hooksConfig({ taskCompleting: [{ command: 'sleep 30', timeout: 0.2 }] })));
    expect(run.result).toBe('done');
    await events.flush();
    expect(ran.map((event) => event.data.outcome)).toEqual(['timed_out']);
  });
});

describe('task hooks in a colony', () => {
  it('taskStart and taskEnd run in the workspace around every task; a blocking failure of either fails the task', async () => {
    const { colony, dir, cleanup } = await tempColony({
      hooks: {
        taskStart: [{ command: 'echo "start $COLONY_TASK_ID" >> hooks.log; test ! -f stop-here || { echo "not today" >&2; exit 2; }' }],
        taskEnd: [{ command: 'cat > end.json; echo "end $COLONY_TASK_ID" >> hooks.log; test ! -f end-fails || { echo "lint failed" >&2; exit 1; }', blocking: true }],
      },
    });
    try {
      await colony.start();
      const [ok] = await colony.tasks.submit([{ type: 'shell', input: { command: 'echo ran >> hooks.log' }, maxRetries: 0 }]);
      await colony.tasks.waitFor([ok!.id]);
      expect((await colony.tasks.get(ok!.id))?.status).toBe('completed');
      expect(await readFile(join(dir, 'hooks.log'), 'utf8')).toBe(`start ${ok!.id}\nran\nend ${ok!.id}\n`);
      expect(JSON.parse(await readFile(join(dir, 'end.json'), 'utf8'))).toMatchObject({ hook_event_name: 'SessionEnd', task_status: 'completed', task_type: 'shell' });

      await writeFile(join(dir, 'stop-here'), '');
      await writeFile(join(dir, 'hooks.log'), '');
      const [blocked] = await colony.tasks.submit([{ type: 'shell', input: { command: 'echo ran >> hooks.log' }, maxRetries: 0 }]);
      await colony.tasks.waitFor([blocked!.id]);
      const record = await colony.tasks.get(blocked!.id);
      expect(record?.status).toBe('failed');
      expect(record?.error?.message).toContain('a taskStart hook blocked the task');
      expect(record?.error?.message).toContain('not today');
      // Neither the command nor the taskEnd hook ran: the task never started.
      expect(await readFile(join(dir, 'hooks.log'), 'utf8')).toBe(`start ${blocked!.id}\n`);
      await colony.events.flush();
      const hookEvents = await colony.events.list({ types: ['hook.ran'] });
      expect(hookEvents.map((event) => `${(event.data as { point: string }).point}:${(event.data as { blocked: boolean }).blocked}`)).toEqual(['taskStart:false', 'taskEnd:false', 'taskStart:true']);

      // A blocking taskEnd failure fails a task that had succeeded.
      await rm(join(dir, 'stop-here'));
      await writeFile(join(dir, 'end-fails'), '');
      await writeFile(join(dir, 'hooks.log'), '');
      const [ended] = await colony.tasks.submit([{ type: 'shell', input: { command: 'echo ran >> hooks.log' }, maxRetries: 0 }]);
      await colony.tasks.waitFor([ended!.id]);
      const endedRecord = await colony.tasks.get(ended!.id);
      expect(endedRecord?.status).toBe('failed');
      expect(endedRecord?.error?.message).toContain("a taskEnd hook blocked the task's completion");
      expect(endedRecord?.error?.message).toContain('lint failed');
      expect(await readFile(join(dir, 'hooks.log'), 'utf8')).toBe(`start ${ended!.id}\nran\nend ${ended!.id}\n`);
    } finally {
      await cleanup();
    }
  });
});

describe('hooks in a swarm', () => {
  const server = new FakeLlmServer();
  let baseUrl: string;
  beforeAll(async () => {
    baseUrl = (await server.start()).anthropicBaseUrl;
  });
  afterAll(async () => {
    await server.close();
  });

  it("runs the project's Claude Code Stop hook as each agent task completes, and swarmEnded once the swarm ended", async () => {
    server.setDefaultReply(swarmModel());
    const dir = await realpath(tempDir('colony-hooks-swarm-'));
    await mkdir(join(dir, '.claude'));
    await writeFile(join(dir, '.claude/settings.json'), JSON.stringify({ hooks: { Stop: [{ hooks: [{ type: 'command', command: 'echo "$COLONY_TASK_ID" >> stops.log' }] }] } }));
    const { colony, cleanup } = await tempColony(
      {
        providers: { anthropic: { baseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } },
        agents: { defaultProvider: 'anthropic' },
        tasks: { defaultMaxRetries: 0 },
        hooks: { swarmEnded: [{ command: 'cat > swarm-end.tmp && mv swarm-end.tmp swarm-end.json' }] },
      },
      { dir, env: {} },
    );
    try {
      await colony.start();
      const swarm = await colony.swarms.waitFor((await colony.swarms.create({ objective: 'Build it', agents: 2 })).id);
      expect(swarm.status).toBe('completed');
      const taskIds = swarm.result?.tasks.map((task) => task.taskId).sort();
      expect((await readFile(join(dir, 'stops.log'), 'utf8')).trim().split('\n').sort()).toEqual(taskIds);
      // The hook runs once the ending is saved, so the swarm may be seen finished a moment before.
      const ended = await eventually(async () => (await readFile(join(dir, 'swarm-end.json'), 'utf8').catch(() => '')) || undefined);
      expect(JSON.parse(ended)).toMatchObject({ hook_event_name: 'SwarmEnded', swarm_id: swarm.id, swarm_status: 'completed', cwd: dir });
      await eventually(async () => (await colony.events.list({ types: ['hook.ran'] })).some((event) => (event.data as { point: string }).point === 'swarmEnded'));
      const sources = (await colony.events.list({ types: ['hook.ran'] })).map((event) => (event.data as { source: string; point: string }).point + ' ' + (event.data as { source: string }).source);
      expect(sources.filter((entry) => entry === 'taskCompleting .claude/settings.json')).toHaveLength(taskIds?.length ?? -1);
      expect(sources).toContain('swarmEnded colony');
    } finally {
      await cleanup();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
