import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { parsePlanText } from '../src/swarm/plan-file.js';
import { REPO_ROOT, eventually, isAlive, removeTempProjects, runCli, runJson, startCli, tempProject, type BackgroundCli } from './support/cli.js';

/**
 * The CLI says what is true: the configuration actually in force and where each value came from,
 * what happens to interrupted work, durations and sizes as people read them, agents it spawned
 * retired, agents found by name, one clean line per syntax error, and a plain sentence on an old Node.
 */

interface AgentJson {
  id: string;
  name: string;
  type: string;
  status: string;
}
interface TaskJson {
  id: string;
  name: string | null;
  status: string;
  workflowId: string | null;
}

let server: FakeLlmServer;
let urls: { anthropicBaseUrl: string; openaiBaseUrl: string };

beforeAll(async () => {
  server = new FakeLlmServer();
  urls = await server.start();
});
afterAll(async () => {
  await server.close();
  removeTempProjects();
});

const SECRET = 'sk-ant-truth-secret-key';

function anthropicEnv(): Record<string, string> {
  return { ANTHROPIC_BASE_URL: urls.anthropicBaseUrl, ANTHROPIC_API_KEY: SECRET, COLONY_PROVIDER: 'anthropic' };
}

/** One line on stderr, prefixed `colony: `, with no code frame, stack or dangling colon. */
function expectOneCleanLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  const line = lines[0] as string;
  expect(line).toMatch(/^colony: /);
  expect(line).not.toMatch(/:\s*$/);
  return line;
}

describe('config show', () => {
  it('shows the providers the environment configures, secrets as "set", and where every value came from', async () => {
    const project = tempProject();
    const file = project.write('.colony/config.yaml', 'tasks:\n  concurrency: 3\nproviders:\n  openai:\n    model: gpt-from-file\n');
    const env = { ...anthropicEnv(), COLONY_LOG_LEVEL: 'info' };
    type Source = { source: string; name?: string };
    type ShowJson = { file: string; config: { providers: Record<string, Record<string, unknown>> }; sources: Record<string, Source> };
    const shown = await runJson<ShowJson>(['--db', 'other.db', 'config', 'show'], { cwd: project.dir, env });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.data.file).toBe(file);
    // The effective providers, not the empty `providers: {}` of the file's and flags' merge.
    expect(shown.data.config.providers.anthropic).toMatchObject({ apiKey: 'set', baseUrl: urls.anthropicBaseUrl.replace(/\/$/, '') });
    expect(shown.data.config.providers.openai).toMatchObject({ apiKey: null, model: 'gpt-from-file' });
    expect(shown.data.sources).toMatchObject({
      'providers.anthropic.apiKey': { source: 'env', name: 'ANTHROPIC_API_KEY' },
      'providers.anthropic.baseUrl': { source: 'env', name: 'ANTHROPIC_BASE_URL' },
      'providers.anthropic.model': { source: 'default' },
      'providers.openai.model': { source: 'file', name: file },
      'tasks.concurrency': { source: 'file', name: file },
      'tasks.retryJitter': { source: 'default' },
      'log.level': { source: 'env', name: 'COLONY_LOG_LEVEL' },
      'database.path': { source: 'flag', name: '--db' },
      projectDir: { source: 'default' },
    });
    expect(JSON.stringify(shown.data)).not.toContain(SECRET);

    const text = await runCli(['--db', 'other.db', 'config', 'show'], { cwd: project.dir, env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {4}apiKey: set # ANTHROPIC_API_KEY$/m);
    expect(text.stdout).toMatch(/^ {2}concurrency: 3 # \.colony\/config\.yaml$/m);
    expect(text.stdout).toMatch(/^ {2}path: .*other\.db # --db$/m);
    expect(text.stdout).toMatch(/^ {2}level: info # COLONY_LOG_LEVEL$/m);
    expect(text.stdout).toMatch(/^ {2}drainTimeoutMs: \d+ # default$/m);
    expect(text.stdout).not.toContain(SECRET);
  });
});

describe('durations and sizes for people', () => {
  it('a provider retry reads "retry 1 in 464ms", not the raw fraction of a millisecond', async () => {
    const project = tempProject();
    server.reset();
    // A server error without retry-after: the backoff's jitter makes the raw delay a fraction.
    server.enqueue({ fault: 'server_error', status: 500 }, { text: 'ready' });
    const result = await runCli(['providers', 'test', 'anthropic'], { cwd: project.dir, env: anthropicEnv() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/retry 1 in (\d+ms|\d+(\.\d)?s)\n/);
    expect(result.stderr).not.toMatch(/\d\.\d+ms/);
    expect(result.stdout).toMatch(/answered in \d+(\.\d)?m?s /);
  });

  it('status counts the write-ahead log: the database is as big as its files on disk', async () => {
    const project = tempProject();
    expect((await runCli(['init'], { cwd: project.dir })).code).toBe(0);
    const path = project.path('.colony', 'colony.db');
    // Another connection keeps the database open, as a running server does: writes stay in the WAL.
    const holder = new DatabaseSync(path);
    try {
      holder.prepare('SELECT count(*) FROM tasks').get();
      for (let i = 0; i < 3; i++) expect((await runCli(['task', 'create', '--command', `echo ${i}`], { cwd: project.dir })).code).toBe(0);
      const size = (suffix: string) => (existsSync(path + suffix) ? statSync(path + suffix).size : 0);
      const before = { db: size(''), wal: size('-wal'), shm: size('-shm') };
      expect(before.wal).toBeGreaterThan(0);
      const status = await runJson<{ database: { sizeBytes: number } }>(['status'], { cwd: project.dir });
      const after = size('') + size('-wal') + size('-shm');
      expect(status.data.database.sizeBytes).toBeGreaterThanOrEqual(before.db + before.wal + before.shm);
      expect(status.data.database.sizeBytes).toBeLessThanOrEqual(after);
      const text = await runCli(['status'], { cwd: project.dir });
      expect(text.stdout).toMatch(/database {2}.*colony\.db \(\d+(\.\d)? (B|KiB|MiB) on disk, schema /);
    } finally {
      holder.close();
    }
  });
});

describe('task create --wait', () => {
  it('prints an unnamed task\'s id once', async () => {
    const project = tempProject();
    const result = await runCli(['task', 'create', '--command', 'echo hi', '--wait'], { cwd: project.dir });
    expect(result.code, result.stderr).toBe(0);
    const first = result.stdout.split('\n')[0] as string;
    expect(first).toMatch(/^tsk_[0-9a-z]+$/);
    expect(result.stdout.split(first).length - 1).toBe(1);
  });
});

describe('agents', () => {
  it('are found by id, unique id prefix or name; a shared name is a usage error listing the matches', async () => {
    const project = tempProject();
    const spawn = async (name: string) => (await runJson<AgentJson>(['agent', 'spawn', 'coder', '--name', name], { cwd: project.dir })).data;
    const solo = await spawn('solo-coder');
    const twinA = await spawn('twin');
    const twinB = await spawn('twin');

    const shown = await runJson<{ agent: AgentJson }>(['agent', 'show', 'solo-coder'], { cwd: project.dir });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.data.agent.id).toBe(solo.id);

    const ambiguous = await runCli(['agent', 'terminate', 'twin'], { cwd: project.dir });
    expect(ambiguous.code).toBe(2);
    const line = expectOneCleanLine(ambiguous.stderr);
    expect(line).toContain('ambiguous');
    expect(line).toContain(twinA.id);
    expect(line).toContain(twinB.id);

    const paused = await runJson<AgentJson>(['agent', 'pause', 'solo-coder'], { cwd: project.dir });
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.data).toMatchObject({ id: solo.id, status: 'paused' });
    const resumed = await runJson<AgentJson>(['agent', 'resume', solo.id.slice(0, -4)], { cwd: project.dir });
    expect(resumed.data).toMatchObject({ id: solo.id, status: 'idle' });

    const terminated = await runJson<AgentJson>(['agent', 'terminate', 'solo-coder'], { cwd: project.dir });
    expect(terminated.code, terminated.stderr).toBe(0);
    expect(terminated.data).toMatchObject({ id: solo.id, status: 'terminated' });
    // With one twin gone, the name is unique among live agents.
    expect((await runJson<AgentJson>(['agent', 'terminate', twinA.id], { cwd: project.dir })).code).toBe(0);
    const last = await runJson<AgentJson>(['agent', 'terminate', 'twin'], { cwd: project.dir });
    expect(last.data).toMatchObject({ id: twinB.id, status: 'terminated' });

    const missing = await runCli(['agent', 'show', 'no-such-agent'], { cwd: project.dir });
    expect(missing.code).toBe(3);
    expect(expectOneCleanLine(missing.stderr)).toContain('no-such-agent');
  });

  it('agent run retires the agent it spawned: on success, on failure and on Ctrl-C', async () => {
    const project = tempProject();
    const env = anthropicEnv();
    const active = async () => (await runJson<AgentJson[]>(['agent', 'list'], { cwd: project.dir })).data;
    const all = async () => (await runJson<AgentJson[]>(['agent', 'list', '--all'], { cwd: project.dir })).data;

    server.reset();
    server.enqueue({ text: 'Done.' });
    const ok = await runCli(['agent', 'run', 'coder', 'say', 'done'], { cwd: project.dir, env });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await active()).toEqual([]);
    expect((await all()).map((a) => [a.type, a.status])).toEqual([['coder', 'terminated']]);

    server.reset();
    server.setDefaultReply({ toolCalls: [{ name: 'list_files', input: { path: '.' } }] });
    const failed = await runCli(['agent', 'run', 'coder', '--max-turns', '2', 'loop'], { cwd: project.dir, env });
    server.reset();
    expect(failed.code).toBe(1);
    expect(await active()).toEqual([]);
    expect(await all()).toHaveLength(2);

    // Interrupted while the model is answering: the task is cancelled (nothing else would run it) and the agent retired.
    project.write('.colony/config.yaml', 'tasks:\n  drainTimeoutMs: 100\n');
    server.reset();
    server.setDefaultReply({ text: 'too late', delayMs: 60_000 });
    let bg: BackgroundCli | undefined;
    try {
      bg = startCli(['agent', 'run', 'coder', 'take', 'your', 'time'], { cwd: project.dir, env });
      await server.waitForRequests(1);
      bg.child.kill('SIGINT');
      const interrupted = await bg.exited;
      expect(interrupted.code, interrupted.stderr).toBe(130);
      expect(interrupted.stderr).toMatch(/interrupted; task tsk_[0-9a-z]+ is cancelled/);
      expect(interrupted.stderr).not.toMatch(/^\s+at /m);
    } finally {
      if (bg && isAlive(bg.pid)) bg.child.kill('SIGKILL');
      server.reset();
      server.setDefaultReply({ text: 'ok' });
    }
    expect(await active()).toEqual([]);
    expect((await all()).map((a) => a.status)).toEqual(['terminated', 'terminated', 'terminated']);
    const tasks = (await runJson<TaskJson[]>(['task', 'list'], { cwd: project.dir })).data;
    expect(tasks.map((t) => t.status)).toEqual(['completed', 'failed', 'cancelled']);
  });
});

describe('colony run interrupted', () => {
  it('says that a live worker will finish the unfinished tasks, and it does', async () => {
    const project = tempProject();
    project.write(
      'gated.yaml',
      [
        'name: gated',
        'tasks:',
        '  - id: first',
        '    run: touch first.started; while [ ! -f release ]; do sleep 0.05; done',
        '  - id: second',
        '    run: echo second > second.txt',
        '    depends_on: [first]',
        '',
      ].join('\n'),
    );
    let worker: BackgroundCli | undefined;
    let run: BackgroundCli | undefined;
    try {
      // The run takes its first task before the worker starts, so that the worker cannot take it.
      run = startCli(['run', 'gated.yaml'], { cwd: project.dir });
      await eventually(() => (existsSync(project.path('first.started')) ? true : undefined), 'the first task to start');
      worker = startCli(['worker'], { cwd: project.dir });
      await worker.waitForStderr(/running tasks/);
      // A task created now is said to be the worker's to run, and it is.
      const created = await runCli(['task', 'create', '--command', 'echo queued > queued.txt'], { cwd: project.dir });
      expect(created.stdout).toContain(`the Colony worker (pid ${worker.pid}) on this database will run it`);
      await eventually(() => (existsSync(project.path('queued.txt')) ? true : undefined), 'the worker to run the created task');
      run.child.kill('SIGTERM');
      await run.waitForStderr(/SIGTERM/);
      project.write('release', '');
      const interrupted = await run.exited;
      expect(interrupted.code, interrupted.stderr).toBe(143);
      expect(interrupted.stderr).toMatch(new RegExp(`the Colony worker \\(pid ${worker.pid}\\) on this database will run the \\d unfinished tasks? of wf_`));
      expect(interrupted.stderr).not.toContain('to resume');
      // What it said is what happens: the worker runs the rest.
      await eventually(() => (existsSync(project.path('second.txt')) ? true : undefined), 'the worker to run the second task');
      worker.child.kill('SIGTERM');
      expect((await worker.exited).code).toBe(143);
    } finally {
      for (const bg of [run, worker]) if (bg && isAlive(bg.pid)) bg.child.kill('SIGKILL');
    }
  });
});

describe('syntax errors', () => {
  it('a workflow, a config file and a plan: one line with the file, line, column and problem, no dangling code frame', async () => {
    const project = tempProject();
    project.write('broken.yaml', 'name: broken\ntasks:\n  - id: a\n    run: echo a\n   b: 2\n');
    const run = await runCli(['run', 'broken.yaml'], { cwd: project.dir });
    expect(run.code).toBe(2);
    expect(expectOneCleanLine(run.stderr)).toMatch(/^colony: broken\.yaml: not valid YAML at line \d+, column \d+: \S.*$/);

    const configured = tempProject();
    configured.write('.colony/config.yaml', 'tasks:\n  concurrency: [1\nlog:\n  level: info\n');
    const status = await runCli(['status'], { cwd: configured.dir });
    expect(status.code).toBe(2);
    expect(expectOneCleanLine(status.stderr)).toMatch(/config\.yaml: not valid YAML at line \d+, column \d+: /);

    expect(() => parsePlanText('summary: x\n  tasks: [\n', 'plan.yaml')).toThrow(/^plan\.yaml: not valid YAML at line \d+, column \d+: [^\n]*[^:\n]$/);
  });
});

describe('on a Node older than 24', () => {
  const OLD_NODE = '/usr/bin/node';
  const version = existsSync(OLD_NODE) ? spawnSync(OLD_NODE, ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
  const old = /^v(\d+)\./.exec(version) !== null && Number(/^v(\d+)\./.exec(version)?.[1]) < 24;

  it.skipIf(!old)('importing the library and running the CLI say "Colony needs Node 24 or later", without a stack', () => {
    const entry = join(REPO_ROOT, 'dist', 'index.js');
    const probe = `import(${JSON.stringify(entry)}).then(() => console.log('loaded'), (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })))`;
    const imported = spawnSync(OLD_NODE, ['-e', probe], { encoding: 'utf8' });
    expect(JSON.parse(imported.stdout)).toEqual({ name: 'ConfigError', code: 'config', message: `Colony needs Node 24 or later (this is Node ${version})` });

    const plain = spawnSync(OLD_NODE, ['--input-type=module', '-e', `import ${JSON.stringify(entry)};`], { encoding: 'utf8' });
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toContain(`Colony needs Node 24 or later (this is Node ${version})`);
    expect(plain.stderr).not.toContain('ERR_UNKNOWN_BUILTIN_MODULE');
    expect(plain.stderr).not.toMatch(/^\s+at /m);

    for (const args of [['--help'], ['status']]) {
      const cli = spawnSync(OLD_NODE, [join(REPO_ROOT, 'dist', 'cli', 'main.js'), ...args], { encoding: 'utf8', cwd: tempProject().dir });
      expect(cli.status).toBe(2);
      expect(cli.stdout).toBe('');
      expect(cli.stderr).toBe(`colony: Colony needs Node 24 or later (this is Node ${version})\n`);
    }
  });

  it('on Node 24 the library entry loads with every export', async () => {
    const library = (await import(join(REPO_ROOT, 'dist', 'index.js'))) as Record<string, unknown>;
    expect(typeof library.createColony).toBe('function');
    expect(typeof library.SqliteStore).toBe('function');
    expect(typeof library.ConfigError).toBe('function');
  });
});
