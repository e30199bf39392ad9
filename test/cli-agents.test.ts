import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { runCli, tempProject } from './support/cli.js';

// The CLI against a fake LLM server speaking the real wire protocols: `agent run`, `task transcript`
// and `providers list|test`, for the Anthropic and the OpenAI-compatible provider.
let server: FakeLlmServer;
let urls: { anthropicBaseUrl: string; openaiBaseUrl: string };

beforeAll(async () => {
  server = new FakeLlmServer();
  urls = await server.start();
});
afterAll(async () => {
  await server.close();
});

function envFor(provider: 'anthropic' | 'openai'): Record<string, string> {
  return provider === 'anthropic'
    ? { ANTHROPIC_BASE_URL: urls.anthropicBaseUrl, ANTHROPIC_API_KEY: 'sk-ant-test-secret', COLONY_PROVIDER: 'anthropic' }
    : { OPENAI_BASE_URL: urls.openaiBaseUrl, OPENAI_API_KEY: 'sk-openai-test-secret', COLONY_PROVIDER: 'openai' };
}

describe.each(['anthropic', 'openai'] as const)('agent run through %s', (provider) => {
  it('a coder reads, edits, runs a command and reports; the transcript and usage are readable', async () => {
    const project = tempProject();
    writeFileSync(join(project.dir, 'notes.txt'), 'status: draft\n');
    server.reset();
    server.enqueue(
      { text: 'Reading the notes.', toolCalls: [{ name: 'read_file', input: { path: 'notes.txt' } }] },
      { toolCalls: [{ name: 'edit_file', input: { path: 'notes.txt', old_text: 'draft', new_text: 'final' } }] },
      { toolCalls: [{ name: 'run_shell', input: { command: 'grep -c final notes.txt' } }] },
      { text: 'All done.', toolCalls: [{ name: 'report_result', input: { result: { changed: ['notes.txt'] } } }] },
    );
    const run = await runCli(['agent', 'run', 'coder', 'Finalise', 'the', 'notes'], { cwd: project.dir, env: envFor(provider) });
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Reading the notes.');
    expect(run.stderr).toMatch(/⚙ read_file\n⚙ edit_file\n⚙ run_shell\n⚙ report_result/);
    expect(run.stderr).toMatch(/finished in 4 turns/);
    expect(readFileSync(join(project.dir, 'notes.txt'), 'utf8')).toBe('status: final\n');
    // The model received the shell command's output as a tool result.
    expect(JSON.stringify(server.requests.at(-1)?.body)).toContain('1');

    const list = await runCli(['--json', 'task', 'list'], { cwd: project.dir });
    const [task] = JSON.parse(list.stdout) as { id: string; type: string; status: string; result: { usage: { inputTokens: number } } }[];
    expect(task).toMatchObject({ type: 'agent', status: 'completed' });
    expect(task!.result.usage.inputTokens).toBeGreaterThan(0);

    const transcript = await runCli(['--json', 'task', 'transcript', task!.id], { cwd: project.dir });
    const t = JSON.parse(transcript.stdout) as { usage: { inputTokens: number; outputTokens: number }; turns: { role: string; content: { type: string; name?: string }[] }[] };
    expect(t.turns.map((x) => x.role)).toEqual(['system', 'user', 'assistant', 'tool', 'assistant', 'tool', 'assistant', 'tool', 'assistant', 'tool']);
    expect(t.turns.flatMap((x) => x.content.filter((c) => c.type === 'tool_use').map((c) => c.name))).toEqual(['read_file', 'edit_file', 'run_shell', 'report_result']);
    expect(t.usage.inputTokens).toBeGreaterThan(0);
    const text = await runCli(['task', 'transcript', task!.id], { cwd: project.dir });
    expect(text.stdout).toContain('→ edit_file(');

    // Secrets never reach the database or the output.
    const events = await runCli(['--json', 'events', '--limit', '1000'], { cwd: project.dir });
    for (const out of [run.stdout, run.stderr, events.stdout, transcript.stdout]) expect(out).not.toContain('test-secret');
  });

  it('fails with exit 1 and a clear reason when the model never finishes', async () => {
    const project = tempProject();
    server.reset();
    server.setDefaultReply({ toolCalls: [{ name: 'list_files', input: { path: '.' } }] });
    const run = await runCli(['agent', 'run', 'coder', '--max-turns', '3', 'loop', 'forever'], { cwd: project.dir, env: envFor(provider) });
    server.reset();
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/did not finish within 3 turns/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('agent run through claude-code', () => {
  it('runs the real Claude Code CLI in the workspace with the agent type\'s tools', async () => {
    const project = tempProject();
    server.reset();
    server.setDefaultReply({ text: 'Reviewed: nothing to change.' });
    const run = await runCli(['agent', 'run', 'reviewer', '--provider', 'claude-code', 'Review', 'the', 'project'], {
      cwd: project.dir,
      env: { ...envFor('anthropic'), HOME: project.path('.home') },
      timeoutMs: 120_000,
    });
    const messages = server.requests.filter((r) => r.path === '/v1/messages');
    server.reset();
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Reviewed: nothing to change.');
    expect(run.stderr).toMatch(/claude-code\//);
    // Claude Code itself called the Anthropic API, offering the reviewer's tools (Read, Grep, Glob).
    expect(messages.length).toBeGreaterThan(0);
    const tools = ((messages[0]!.body as { tools?: { name: string }[] }).tools ?? []).map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(['Read', 'Grep', 'Glob']));
    expect(tools).not.toContain('Write');
  });
});

describe('agent run: bad input', () => {
  it('an unknown agent type or provider is a usage error, and stores nothing', async () => {
    const project = tempProject();
    const unknownType = await runCli(['agent', 'run', 'wizard', 'do', 'magic'], { cwd: project.dir, env: envFor('anthropic') });
    expect(unknownType.code).toBe(2);
    expect(unknownType.stderr).toMatch(/unknown agent type "wizard"/);
    const unknownProvider = await runCli(['agent', 'run', 'coder', '--provider', 'skynet', 'x'], { cwd: project.dir, env: envFor('anthropic') });
    expect(unknownProvider.code).toBe(2);
    expect(unknownProvider.stderr).toMatch(/provider/);
    const list = await runCli(['--json', 'task', 'list'], { cwd: project.dir });
    expect(list.code === 3 || JSON.parse(list.stdout).length === 0).toBe(true);
  });
});

describe('providers', () => {
  it('list shows what is configured without ever showing a key', async () => {
    const project = tempProject();
    const out = await runCli(['--json', 'providers', 'list'], { cwd: project.dir, env: envFor('anthropic') });
    expect(out.code).toBe(0);
    const list = JSON.parse(out.stdout) as { id: string; keyConfigured: boolean; baseUrl: string; default: boolean }[];
    expect(list.map((p) => p.id)).toEqual(['anthropic', 'openai', 'claude-code']);
    expect(list[0]).toMatchObject({ keyConfigured: true, baseUrl: urls.anthropicBaseUrl, default: true });
    expect(out.stdout).not.toContain('test-secret');
  });

  it('test reports a working provider, and a clear failure for one that errors', async () => {
    const project = tempProject();
    server.reset();
    server.enqueue({ text: 'ready' });
    const ok = await runCli(['--json', 'providers', 'test', 'openai'], { cwd: project.dir, env: envFor('openai') });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ provider: 'openai', ok: true, reply: 'ready' });

    server.enqueue({ fault: 'server_error', status: 401 });
    const bad = await runCli(['providers', 'test', 'anthropic'], { cwd: project.dir, env: envFor('anthropic') });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/anthropic .* did not answer/);
    expect(bad.stdout + bad.stderr).not.toContain('test-secret');
  });
});
