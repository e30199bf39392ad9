import { copyFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULTS } from '../src/kernel/constants.js';
import {
  REPO_ROOT,
  eventually,
  isAlive,
  processesIn,
  removeTempProjects,
  runCli,
  runJson,
  startCli,
  tempProject,
  type BackgroundCli,
  type CliResult,
  type TempProject,
} from './support/cli.js';

/**
 * The `colony` CLI, end to end: the real bin/colony (running dist/: build first) as a child process,
 * in temporary project directories, with no COLONY_* variables in its environment.
 */

interface TaskJson {
  id: string;
  name: string | null;
  type: string;
  status: string;
  attempts: number;
  maxAttempts: number;
  dependencies: string[];
  workflowId: string | null;
  result: { exitCode: number; stdout: string; stderr: string } | null;
  error: { code: string; message: string } | null;
}
interface AgentJson {
  id: string;
  name: string;
  type: string;
  status: string;
  health: string;
  capabilities: string[];
}
interface AgentTypeJson {
  name: string;
  description: string;
  capabilities: string[];
  tools?: string[];
  model?: string | null;
  source: string;
}
interface EventJson {
  id: number;
  type: string;
  source: string;
  data: Record<string, unknown>;
  correlationId: string | null;
  timestamp: number;
}
interface RunJson {
  workflow: { id: string; name: string; status: string; definitionHash: string };
  status: string;
  resumed: boolean;
  counts: Record<string, number>;
  tasks: { id: string; name: string; status: string; attempts: number; durationMs: number | null; error: unknown }[];
}
interface StatusJson {
  projectDir: string;
  database: { path: string; sizeBytes: number | null; schemaVersion: string };
  runners: { id: string; kind: string; pid: number; host: string }[];
  tasks: Record<string, number>;
  agents: { active: number; byStatus: Record<string, number> };
  workflowsRunning: { id: string; name: string }[];
}
interface ErrorJson {
  error: { code: string; message: string };
}

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const USAGE_HINT = '(run with --help for usage)';
const TASK_STATUSES = ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled'];

afterAll(() => removeTempProjects());

/** A clear error: the exit code, one line on stderr naming the problem, no stack trace, no stdout. */
function expectCleanError(result: CliResult, code: number, mentions: string[], absent: string[] = []): void {
  const context = `stdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect(result.code, context).toBe(code);
  expect(result.stdout, context).toBe('');
  expect(result.stderr, context).not.toMatch(/^\s+at /m);
  const lines = result.stderr.trim().split('\n');
  // The message, plus commander's hint for usage errors.
  expect(lines.length, context).toBeLessThanOrEqual(2);
  if (lines.length === 2) expect(lines[1]).toBe(USAGE_HINT);
  const message = lines[0] as string;
  expect(message, context).toMatch(/^(colony|error): /);
  expect(message, context).not.toMatch(/unexpected error/);
  for (const m of mentions) expect(message, context).toContain(m);
  for (const a of absent) expect(message, context).not.toContain(a);
}

/** The same error under --json: `{ error: { code, message } }` on stdout, the same exit code. */
function expectJsonError(result: CliResult, code: number, errorCode: string, mentions: string[]): void {
  const context = `stdout: ${result.stdout}\nstderr: ${result.stderr}`;
  expect(result.code, context).toBe(code);
  expect(result.stderr, context).not.toMatch(/^\s+at /m);
  const parsed = JSON.parse(result.stdout) as ErrorJson;
  expect(parsed.error.code).toBe(errorCode);
  expect(typeof parsed.error.message).toBe('string');
  for (const m of mentions) expect(parsed.error.message).toContain(m);
}

/** No process runs in the project any more: every CLI invocation cleaned up after itself. */
function expectNoLeftovers(project: TempProject): void {
  expect(processesIn(project.dir)).toEqual([]);
}

/** Every file under `dir` (relative paths), sorted. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

async function taskList(project: TempProject, ...args: string[]): Promise<TaskJson[]> {
  const { code, data } = await runJson<TaskJson[]>(['task', 'list', '--limit', '1000', ...args], { cwd: project.dir });
  expect(code).toBe(0);
  return data;
}

const FAST_RETRY_CONFIG = 'tasks:\n  retryBaseDelayMs: 20\n  retryMaxDelayMs: 50\n  retryJitter: 0\n';

describe('help and version', () => {
  const EXPECTED_COMMANDS = [
    'init',
    'status',
    'db',
    'db status',
    'db migrate',
    'db copy',
    'run',
    'worker',
    'agent',
    'agent spawn',
    'agent list',
    'agent show',
    'agent terminate',
    'agent pause',
    'agent resume',
    'agent run',
    'agent types',
    'agent stats',
    'task',
    'task create',
    'task list',
    'task show',
    'task cancel',
    'task update',
    'task retry',
    'task transcript',
    'providers',
    'providers list',
    'providers test',
    'swarm',
    'swarm start',
    'swarm diff',
    'swarm list',
    'swarm status',
    'swarm pause',
    'swarm resume',
    'swarm stop',
    'consensus',
    'consensus ask',
    'consensus list',
    'consensus show',
    'events',
    'config',
    'config show',
    'up',
    'mcp',
    'keys',
    'keys create',
    'keys list',
    'keys revoke',
    'memory',
    'memory store',
    'memory get',
    'memory delete',
    'memory list',
    'memory search',
    'memory export',
    'memory import',
    'memory stats',
    'memory gc',
  ];

  /** Command names listed in a help text's "Commands:" section, except `help`. */
  function commandsIn(help: string): string[] {
    const section = help.split(/^Commands:\n/m)[1];
    if (section === undefined) return [];
    const names: string[] = [];
    for (const line of section.split('\n')) {
      if (line.trim() === '') break;
      const m = /^ {2}([a-z][a-z-]*)/.exec(line);
      if (m && m[1] !== 'help') names.push(m[1] as string);
    }
    return names;
  }

  it('prints usage for the program and every command and subcommand, and exits 0', async () => {
    const project = tempProject();
    const seen: string[] = [];
    const visit = async (path: string[]): Promise<void> => {
      const result = await runCli([...path, '--help'], { cwd: project.dir });
      expect(result.code, `${path.join(' ')} --help: ${result.stderr}`).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: colony${path.length ? ` ${path.join(' ')}` : ''} `));
      expect(result.stdout).toContain('--help');
      expect(result.stderr).toBe('');
      if (path.length) seen.push(path.join(' '));
      await Promise.all(commandsIn(result.stdout).map((name) => visit([...path, name])));
    };
    await visit([]);
    expect(seen.sort()).toEqual([...EXPECTED_COMMANDS].sort());
    // Asking for help creates nothing.
    expect(readdirSync(project.dir)).toEqual([]);
  });

  it('prints usage with `help <command>` too', async () => {
    const project = tempProject();
    const result = await runCli(['help', 'task'], { cwd: project.dir });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: colony task /);
    expect(commandsIn(result.stdout)).toEqual(['create', 'list', 'show', 'cancel', 'update', 'retry', 'transcript']);
  });

  it('prints the package.json version with --version and -v', async () => {
    const project = tempProject();
    for (const flag of ['--version', '-v']) {
      const result = await runCli([flag], { cwd: project.dir });
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(PACKAGE_VERSION);
    }
    expect(readdirSync(project.dir)).toEqual([]);
  });
});

describe('bad input: a clear message, the right exit code, nothing changed', { timeout: 60_000 }, () => {
  let project: TempProject;
  let eventsBefore: number;
  let filesBefore: string[];

  const WORKFLOWS: Record<string, string> = {
    'syntax.yaml': 'name: broken\ntasks:\n  - id: a\n    run: [echo\n',
    'cycle.yaml': [
      'name: cyclic',
      'tasks:',
      '  - { id: alpha, run: echo a, depends_on: [gamma] }',
      '  - { id: beta, run: echo b, depends_on: [alpha] }',
      '  - { id: gamma, run: echo c, depends_on: [beta] }',
      '  - { id: free, run: echo f }',
      '',
    ].join('\n'),
    'unknown-dep.yaml': 'name: lost\ntasks:\n  - { id: a, run: echo a }\n  - { id: b, run: echo b, depends_on: [a, ghost] }\n',
    'unknown-key.yaml': 'name: keys\ntasks:\n  - id: a\n    run: echo a\n    colour: red\n',
    'escape.yaml': 'name: escape\ntasks:\n  - { id: fine, run: ls }\n  - id: build\n    run: ls\n    cwd: ../..\n',
    'nul-run.yaml': 'name: nul\ntasks:\n  - id: a\n    run: "echo a\\0b"\n',
    'nul-env.yaml': 'name: nul\ntasks:\n  - id: a\n    run: env\n    env: { GREETING: "hi\\0there" }\n',
    'forever.yaml': 'name: forever\ntasks:\n  - id: a\n    run: sleep 1\n    timeout: 1000h\n',
    'forever-default.yaml': 'name: forever\ndefaults: { timeout: 99999999999 }\ntasks:\n  - { id: a, run: sleep 1 }\n',
    'deep.yaml': `name: deep\ntasks:\n  - id: a\n    type: shell\n    input: { command: ls, deep: ${'['.repeat(5_000)}${']'.repeat(5_000)} }\n`,
    'deeper-than-allowed.yaml': `name: deep\ntasks:\n  - id: a\n    type: shell\n    input: { command: ls, deep: ${'['.repeat(300)}${']'.repeat(300)} }\n`,
  };

  beforeAll(async () => {
    project = tempProject();
    expect((await runCli(['init'], { cwd: project.dir })).code).toBe(0);
    expect((await runCli(['task', 'create', '--name', 'seed', '--command', 'echo seed'], { cwd: project.dir })).code).toBe(0);
    for (const [name, text] of Object.entries(WORKFLOWS)) project.write(name, text);
    eventsBefore = (await runJson<EventJson[]>(['events', '--limit', '100000'], { cwd: project.dir })).data.length;
    expect(eventsBefore).toBeGreaterThan(0);
    filesBefore = listFiles(project.dir).filter((f) => !f.startsWith('.colony/colony.db'));
  });

  interface BadCase {
    what: string;
    args: string[];
    env?: Record<string, string>;
    exit: number;
    /** The JSON error code, for the cases also run with --json (each exit code and error code at least once). */
    json?: string;
    mentions: string[];
    absent?: string[];
  }
  const create = (...args: string[]) => ['task', 'create', '--command', 'echo x', ...args];
  const CASES: BadCase[] = [
    { what: 'an unknown command', args: ['frobnicate'], exit: 2, json: 'validation', mentions: ["unknown command 'frobnicate'"] },
    { what: 'an unknown option', args: ['task', 'list', '--bogus'], exit: 2, json: 'validation', mentions: ["unknown option '--bogus'"] },
    { what: 'a missing argument', args: ['task', 'show'], exit: 2, json: 'validation', mentions: ["missing required argument 'id'"] },
    { what: 'a missing workflow argument', args: ['run'], exit: 2, mentions: ["'workflow'"] },
    { what: 'an invalid choice of log level', args: ['--log-level', 'loud', 'status'], exit: 2, mentions: ['--log-level', 'loud'] },
    { what: 'task create --retries abc', args: create('--retries', 'abc'), exit: 2, json: 'validation', mentions: ['--retries', '"abc"'] },
    { what: 'task create --retries -1', args: create('--retries', '-1'), exit: 2, mentions: ['--retries', '"-1"'] },
    { what: 'task create --priority urgent', args: create('--priority', 'urgent'), exit: 2, mentions: ['priority'] },
    { what: "task create --input '{bad'", args: ['task', 'create', '--input', '{bad'], exit: 2, json: 'validation', mentions: ['--input', 'JSON'] },
    { what: 'task create --timeout 5x', args: create('--timeout', '5x'), exit: 2, mentions: ['"5x"'] },
    { what: 'task create --depends-on an unknown task', args: create('--depends-on', 'nonexistent'), exit: 2, mentions: ['nonexistent'] },
    { what: 'task create --type nosuchtype', args: ['task', 'create', '--type', 'nosuchtype'], exit: 2, mentions: ['"nosuchtype"'] },
    { what: 'task create --command on a non-shell type', args: ['task', 'create', '--type', 'other', '--command', 'x'], exit: 2, mentions: ['--command'] },
    { what: 'task show of an unknown id', args: ['task', 'show', 'tsk_doesnotexist'], exit: 3, json: 'not_found', mentions: ['tsk_doesnotexist'] },
    { what: 'task list --status bogus', args: ['task', 'list', '--status', 'bogus'], exit: 2, mentions: ['--status', '"bogus"'] },
    { what: 'agent spawn of an unknown type', args: ['agent', 'spawn', 'nosuchtype'], exit: 2, mentions: ['"nosuchtype"'] },
    { what: 'agent show of an unknown id', args: ['agent', 'show', 'agt_doesnotexist'], exit: 3, mentions: ['agt_doesnotexist'] },
    { what: 'run of a missing file', args: ['run', 'missing.yaml'], exit: 2, mentions: ['missing.yaml'] },
    { what: 'run of a YAML syntax error', args: ['run', 'syntax.yaml'], exit: 2, mentions: ['syntax.yaml', 'not valid YAML'] },
    {
      what: 'run of a workflow with a cycle',
      args: ['run', 'cycle.yaml'],
      exit: 2,
      json: 'validation',
      mentions: ['cycle', 'alpha', 'beta', 'gamma'],
      absent: ['free'],
    },
    { what: 'run of a workflow with an unknown dependency', args: ['run', 'unknown-dep.yaml'], exit: 2, mentions: ['ghost'] },
    { what: 'run of a workflow with an unknown key', args: ['run', 'unknown-key.yaml'], exit: 2, mentions: ['colour', 'tasks[0] (a)'] },
    { what: 'task create --timeout 1000h (past the longest timer)', args: create('--timeout', '1000h'), exit: 2, json: 'validation', mentions: ['timeoutMs', '"1000h"', 'at most 2147483647 ms'] },
    { what: 'task create --timeout of 20 digits', args: create('--timeout', '9'.repeat(20)), exit: 2, mentions: ['timeoutMs', 'at most'] },
    { what: 'task create with a cwd that climbs out', args: ['task', 'create', '--input', '{"command":"ls","cwd":"../.."}'], exit: 2, json: 'validation', mentions: ['cwd', '"../.." leaves the project directory'] },
    { what: 'task create with an absolute cwd elsewhere', args: ['task', 'create', '--input', '{"command":"ls","cwd":"/tmp"}'], exit: 2, mentions: ['cwd', '"/tmp" is outside the project directory'] },
    { what: 'task create with a NUL byte in the command', args: ['task', 'create', '--input', '{"command":"echo a\\u0000b"}'], exit: 2, mentions: ['command', 'NUL byte'] },
    { what: 'task create with a NUL byte in an env value', args: ['task', 'create', '--input', '{"command":"env","env":{"A":"x\\u0000y"}}'], exit: 2, mentions: ['env.A', 'NUL byte'] },
    { what: 'task create --input nested 50,000 levels deep', args: ['task', 'create', '--input', `${'['.repeat(50_000)}${']'.repeat(50_000)}`], exit: 2, json: 'validation', mentions: ['--input', 'nested more than'] },
    { what: 'run of a workflow whose cwd climbs out', args: ['run', 'escape.yaml'], exit: 2, json: 'validation', mentions: ['escape.yaml', 'tasks[1] (build).cwd', '"../.." leaves the project directory'] },
    { what: 'run of a workflow with a NUL byte in a command', args: ['run', 'nul-run.yaml'], exit: 2, mentions: ['tasks[0] (a).run', 'NUL byte'] },
    { what: 'run of a workflow with a NUL byte in an env value', args: ['run', 'nul-env.yaml'], exit: 2, mentions: ['tasks[0] (a).env.GREETING', 'NUL byte'] },
    { what: 'run of a workflow with a timeout past the longest timer', args: ['run', 'forever.yaml'], exit: 2, mentions: ['tasks[0] (a).timeout', '"1000h"', 'at most'] },
    { what: 'run of a workflow with a default timeout past the longest timer', args: ['run', 'forever-default.yaml'], exit: 2, mentions: ['defaults.timeout', 'at most'] },
    { what: 'run of a workflow nested 5,000 levels deep', args: ['run', 'deep.yaml'], exit: 2, json: 'validation', mentions: ['deep.yaml', 'nested too deeply'] },
    { what: 'run of a workflow nested past the limit', args: ['run', 'deeper-than-allowed.yaml'], exit: 2, mentions: ['deeper-than-allowed.yaml', 'nested more than'] },
    { what: 'COLONY_TASK_TIMEOUT_MS past the longest timer', args: ['status'], env: { COLONY_TASK_TIMEOUT_MS: '3000000000' }, exit: 2, json: 'config', mentions: ['tasks.defaultTimeoutMs', 'at most 2147483647'] },
    { what: 'COLONY_CONCURRENCY=abc', args: ['status'], env: { COLONY_CONCURRENCY: 'abc' }, exit: 2, json: 'config', mentions: ['COLONY_CONCURRENCY', '"abc"'] },
    {
      what: 'COLONY_CONCURRENCY=abc on a command that writes',
      args: create(),
      env: { COLONY_CONCURRENCY: 'abc' },
      exit: 2,
      mentions: ['COLONY_CONCURRENCY'],
    },
  ];

  for (const c of CASES) {
    it.concurrent(`${c.what}: exit ${c.exit}`, async () => {
      expectCleanError(await runCli(c.args, { cwd: project.dir, env: c.env }), c.exit, c.mentions, c.absent);
      if (c.json) expectJsonError(await runCli(['--json', ...c.args], { cwd: project.dir, env: c.env }), c.exit, c.json, c.mentions);
    });
  }

  it('changed nothing: same tasks, events, agents, workflows and files', async () => {
    const [tasks, events, agents, status] = await Promise.all([
      taskList(project),
      runJson<EventJson[]>(['events', '--limit', '100000'], { cwd: project.dir }),
      runJson<AgentJson[]>(['agent', 'list', '--all'], { cwd: project.dir }),
      runJson<StatusJson>(['status'], { cwd: project.dir }),
    ]);
    expect(tasks.map((t) => t.name)).toEqual(['seed']);
    expect(events.data.length).toBe(eventsBefore);
    expect(agents.data).toEqual([]);
    expect(status.data.workflowsRunning).toEqual([]);
    expect(listFiles(project.dir).filter((f) => !f.startsWith('.colony/colony.db'))).toEqual(filesBefore);
    expectNoLeftovers(project);
  });
});

describe.concurrent('errors that need their own project', { timeout: 60_000 }, () => {
  it('agent terminate twice: the second is a conflict (exit 4)', async () => {
    const project = tempProject();
    const spawned = await runJson<AgentJson>(['agent', 'spawn', 'coder'], { cwd: project.dir });
    expect(spawned.code).toBe(0);
    const first = await runCli(['agent', 'terminate', spawned.data.id], { cwd: project.dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(spawned.data.id);
    const [second, secondJson] = await Promise.all([
      runCli(['agent', 'terminate', spawned.data.id], { cwd: project.dir }),
      runCli(['--json', 'agent', 'terminate', spawned.data.id], { cwd: project.dir }),
    ]);
    expectCleanError(second, 4, [spawned.data.id, 'already terminated']);
    expectJsonError(secondJson, 4, 'conflict', [spawned.data.id]);
  });

  it('a config file with an unknown key or a wrong type: exit 2 naming the key, nothing created', async () => {
    const project = tempProject();
    project.write('.colony/config.yaml', 'tasks:\n  concurrancy: 3\n');
    const unknown = await runCli(['task', 'create', '--command', 'echo x'], { cwd: project.dir });
    expectCleanError(unknown, 2, ['"tasks.concurrancy"', 'config.yaml']);
    expectJsonError(await runCli(['--json', 'status'], { cwd: project.dir }), 2, 'config', ['tasks.concurrancy']);

    project.write('.colony/config.yaml', 'tasks:\n  concurrency: lots\n');
    const wrongType = await runCli(['task', 'create', '--command', 'echo x'], { cwd: project.dir });
    expectCleanError(wrongType, 2, ['"tasks.concurrency"']);

    // An explicit --config file is checked the same way.
    project.write('other.yaml', 'agents:\n  maxAgents: -5\n');
    expectCleanError(await runCli(['--config', 'other.yaml', 'status'], { cwd: project.dir }), 2, ['agents.maxAgents']);

    // Nothing was created by the failed commands.
    expect(listFiles(project.dir)).toEqual(['.colony/config.yaml', 'other.yaml']);
    project.write('.colony/config.yaml', 'tasks:\n  concurrency: 3\n');
    // A read-only command on a project without a database says so, and does not create one.
    expectCleanError(await runCli(['task', 'list'], { cwd: project.dir }), 3, ['no Colony database', 'colony init']);
    expect(listFiles(project.dir)).toEqual(['.colony/config.yaml', 'other.yaml']);
  });
});

// Each test runs many CLI processes one after another, and they share 2 cores with the others.
describe.concurrent('commands', { timeout: 90_000 }, () => {
  it('init creates .colony/ and the database, keeps files when run again, and backs them up with --force', async () => {
    const project = tempProject();
    // Run from the parent with --project: anything written relative to the cwd would show up beside it.
    const opts = { cwd: project.parent };
    const first = await runJson<{ projectDir: string; dataDir: string; database: string; schemaVersion: string; files: { path: string; action: string; backup?: string }[] }>(
      ['--project', project.dir, 'init'],
      opts,
    );
    expect(first.code).toBe(0);
    expect(first.data.projectDir).toBe(project.dir);
    expect(first.data.dataDir).toBe(project.path('.colony'));
    expect(first.data.database).toBe(project.path('.colony', 'colony.db'));
    expect(first.data.schemaVersion).toEqual(expect.any(String));
    expect(first.data.files).toEqual([
      { path: '.colony/config.yaml', action: 'created' },
      { path: '.colony/agents/README.txt', action: 'created' },
      { path: '.colony/.gitignore', action: 'created' },
      { path: '.mcp.json', action: 'created' },
    ]);
    expect(readdirSync(project.parent)).toEqual(['project']);
    expect(readdirSync(project.dir).sort()).toEqual(['.colony', '.mcp.json']);
    // Claude Code picks up the MCP server: this installation's bin, `colony mcp`.
    expect(JSON.parse(project.read('.mcp.json'))).toEqual({ mcpServers: { colony: { command: join(REPO_ROOT, 'bin', 'colony'), args: ['mcp'] } } });
    expect(statSync(project.path('.colony', 'agents')).isDirectory()).toBe(true);
    expect(statSync(project.path('.colony', 'colony.db')).size).toBeGreaterThan(0);
    expect(project.read('.colony/.gitignore')).toContain('colony.db');
    expect(project.read('.colony/config.yaml')).toMatch(/^# Colony configuration/);

    // Again: everything is kept, nothing changes (a task created meanwhile is still there).
    expect((await runCli(['task', 'create', '--name', 'keep-me', '--command', 'echo x'], { cwd: project.dir })).code).toBe(0);
    const snapshot = () => listFiles(project.dir).filter((f) => !f.startsWith('.colony/colony.db')).map((f) => [f, project.read(f)]);
    const before = snapshot();
    const again = await runCli(['--project', project.dir, 'init'], opts);
    expect(again.code).toBe(0);
    expect(again.stdout.match(/^\s+kept\s/gm)?.length).toBe(4);
    expect(again.stdout).not.toMatch(/^\s+(created|replaced)\s/m);
    expect(snapshot()).toEqual(before);

    // --force replaces the files and keeps a backup of each with the old content; the database stays.
    project.write('.colony/config.yaml', '# my own settings\ntasks:\n  concurrency: 3\n');
    project.write('.colony/.gitignore', 'my-ignores\n');
    const forced = await runJson<{ files: { path: string; action: string; backup?: string }[] }>(['--project', project.dir, 'init', '--force'], opts);
    expect(forced.code).toBe(0);
    expect(forced.data.files.map((f) => f.action)).toEqual(['replaced', 'replaced', 'replaced', 'replaced']);
    const backupOf = (path: string) => forced.data.files.find((f) => f.path === path)?.backup as string;
    expect(backupOf('.colony/config.yaml')).toMatch(/^\.colony\/config\.yaml\.bak-/);
    expect(project.read(backupOf('.colony/config.yaml'))).toBe('# my own settings\ntasks:\n  concurrency: 3\n');
    expect(project.read(backupOf('.colony/.gitignore'))).toBe('my-ignores\n');
    expect(project.read('.colony/config.yaml')).toMatch(/^# Colony configuration/);
    expect(project.read('.colony/.gitignore')).toContain('*.bak-*');
    // Neither run touched the database's content (this also opens it with the new config file).
    expect((await taskList(project)).map((t) => t.name)).toEqual(['keep-me']);
    expect(readdirSync(project.parent)).toEqual(['project']);
    expect(readdirSync(project.dir).sort()).toEqual(['.colony', '.mcp.json', backupOf('.mcp.json')]);
    expectNoLeftovers(project);
  });

  it('task create --wait runs a command; a failing one retries and exits 1; task retry --wait runs it again', async () => {
    const project = tempProject();
    project.write('.colony/config.yaml', FAST_RETRY_CONFIG);
    const ok = await runCli(['task', 'create', '--name', 'greet', '--command', 'echo hi', '--wait'], { cwd: project.dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/status\s+completed/);
    expect(ok.stdout).toMatch(/^\s+hi$/m);
    const greetId = /^greet (tsk_[0-9a-z]+)$/m.exec(ok.stdout)?.[1] as string;
    expect(greetId).toBeDefined();
    const shown = await runJson<TaskJson>(['task', 'show', greetId], { cwd: project.dir });
    expect(shown.code).toBe(0);
    expect(shown.data).toMatchObject({ id: greetId, name: 'greet', status: 'completed', attempts: 1, type: 'shell' });
    expect(shown.data.result).toMatchObject({ exitCode: 0, stdout: 'hi\n' });

    // Fails (exit 3) until ready.txt exists.
    const command = 'cat ready.txt || exit 3';
    const failed = await runJson<TaskJson>(['task', 'create', '--command', command, '--retries', '1', '--wait'], { cwd: project.dir });
    expect(failed.code).toBe(1);
    expect(failed.data).toMatchObject({ status: 'failed', attempts: 2, maxAttempts: 2 });
    expect(failed.data.error?.message).toContain('code 3');
    const failedShown = await runJson<TaskJson>(['task', 'show', failed.data.id], { cwd: project.dir });
    expect(failedShown.code).toBe(0);
    expect(failedShown.data).toMatchObject({ id: failed.data.id, status: 'failed', attempts: 2 });

    project.write('ready.txt', 'ready now\n');
    // A unique prefix of the id is enough.
    const rerun = await runJson<TaskJson>(['task', 'retry', failed.data.id.slice(0, -3), '--wait'], { cwd: project.dir });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.data).toMatchObject({ id: failed.data.id, status: 'completed', attempts: 3 });
    expect(rerun.data.result?.stdout).toBe('ready now\n');
    expectNoLeftovers(project);
  });

  it('task cancel cascades to dependents; task retry of the cancelled task makes them wait again', async () => {
    const project = tempProject();
    const a = await runJson<TaskJson>(['task', 'create', '--name', 'slow', '--command', 'sleep 30'], { cwd: project.dir });
    expect(a.code).toBe(0);
    expect(a.data).toMatchObject({ id: expect.stringMatching(/^tsk_/), name: 'slow', type: 'shell', dependencies: [], attempts: 0 });
    expect(['pending', 'queued']).toContain(a.data.status);
    // A unique prefix of A's id is enough for --depends-on.
    const b = await runJson<TaskJson>(['task', 'create', '--name', 'after-slow', '--command', 'echo b', '--depends-on', a.data.id.slice(0, -2)], {
      cwd: project.dir,
    });
    expect(b.code).toBe(0);
    expect(b.data).toMatchObject({ status: 'pending', dependencies: [a.data.id] });

    const cancelled = await runJson<TaskJson>(['task', 'cancel', a.data.id, '--reason', 'not needed'], { cwd: project.dir });
    expect(cancelled.code).toBe(0);
    expect(cancelled.data).toMatchObject({ id: a.data.id, status: 'cancelled' });
    const cancelledList = await taskList(project, '--status', 'cancelled');
    expect(Object.fromEntries(cancelledList.map((t) => [t.name, t.status]))).toEqual({ slow: 'cancelled', 'after-slow': 'cancelled' });

    // Retry (without --wait) puts A back in the queue, and B waits for it again.
    const retried = await runJson<TaskJson>(['task', 'retry', a.data.id], { cwd: project.dir });
    expect(retried.code).toBe(0);
    expect(retried.data.id).toBe(a.data.id);
    expect(['pending', 'queued']).toContain(retried.data.status);
    const bAgain = await runJson<TaskJson>(['task', 'show', b.data.id], { cwd: project.dir });
    expect(bAgain.data.status).toBe('pending');
    expectNoLeftovers(project);
  });

  it('run examples/build-pipeline.yaml completes every task, recorded as tasks and events of the run', async () => {
    const project = tempProject();
    copyFileSync(join(REPO_ROOT, 'examples', 'build-pipeline.yaml'), project.path('build-pipeline.yaml'));
    const names = (parseYaml(project.read('build-pipeline.yaml')) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    expect(names.length).toBeGreaterThan(5);

    const result = await runCli(['run', 'build-pipeline.yaml'], { cwd: project.dir, timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^build-pipeline: run wf_[0-9a-z]+/);
    for (const name of names) expect(result.stderr).toContain(`✓ ${name} `);
    expect(result.stdout).toMatch(/build-pipeline completed: 10 completed, 0 failed, 0 cancelled/);
    const workflowId = /run (wf_[0-9a-z]+)/.exec(result.stderr)?.[1] as string;

    const tasks = await taskList(project, '--workflow', workflowId);
    expect(tasks.map((t) => t.name).sort()).toEqual([...names].sort());
    expect(tasks.every((t) => t.status === 'completed' && t.workflowId === workflowId)).toBe(true);
    expect(project.read('.colony/example/build.txt')).toContain('compiled');

    const { data: events } = await runJson<EventJson[]>(['events', '--correlation', workflowId, '--limit', '10000'], { cwd: project.dir });
    expect(events.every((e) => e.correlationId === workflowId)).toBe(true);
    for (const type of ['task.created', 'task.started', 'task.completed']) {
      const named = events.filter((e) => e.type === type).map((e) => e.data.name as string);
      expect(named.sort(), type).toEqual([...names].sort());
    }
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['workflow.started', 'workflow.finished']));
    // Events are listed oldest first, each with the fields a script needs.
    const ids = events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    for (const e of events) {
      expect(e).toEqual({ id: expect.any(Number), type: expect.any(String), source: expect.any(String), data: expect.any(Object), correlationId: workflowId, timestamp: expect.any(Number) });
    }
    expectNoLeftovers(project);
  });

  it('run of a workflow with a failing task: exit 1, dependents cancelled, the independent branch completed', async () => {
    const project = tempProject();
    project.write(
      'failing.yaml',
      [
        'name: failing',
        'tasks:',
        '  - { id: setup, run: echo setup }',
        '  - { id: broken, run: "echo broken >&2; exit 3", depends_on: [setup], retries: 0 }',
        '  - { id: after-broken, run: touch should-not-exist, depends_on: [broken] }',
        '  - { id: last, run: touch should-not-exist, depends_on: [after-broken, setup] }',
        '  - { id: independent, run: echo independent }',
        '  - { id: after-independent, run: echo done, depends_on: [independent] }',
        '',
      ].join('\n'),
    );
    const result = await runJson<RunJson>(['run', 'failing.yaml'], { cwd: project.dir });
    expect(result.code, result.stderr).toBe(1);
    expect(result.data.status).toBe('failed');
    expect(result.data.workflow).toMatchObject({ name: 'failing', status: 'failed' });
    const byName = Object.fromEntries(result.data.tasks.map((t) => [t.name, t.status]));
    expect(byName).toEqual({
      setup: 'completed',
      broken: 'failed',
      'after-broken': 'cancelled',
      last: 'cancelled',
      independent: 'completed',
      'after-independent': 'completed',
    });
    expect(result.data.counts).toMatchObject({ completed: 3, failed: 1, cancelled: 2, pending: 0, queued: 0, running: 0 });
    expect(result.data.tasks.find((t) => t.name === 'broken')?.error).toMatchObject({ message: expect.stringContaining('code 3') });
    expect(existsSync(project.path('should-not-exist'))).toBe(false);
    // The progress display went to stderr, keeping stdout clean JSON.
    expect(result.stderr).toMatch(/✗ broken failed/);
    expectNoLeftovers(project);
  });

  it('run resumes an interrupted run, --fresh starts a new one, a finished workflow runs afresh', async () => {
    const project = tempProject();
    project.write(
      'gated.yaml',
      [
        'name: gated',
        'tasks:',
        '  - id: first',
        '    run: touch first.started; while [ ! -f release ]; do sleep 0.05; done; echo first done',
        '  - id: second',
        '    run: echo second done',
        '    depends_on: [first]',
        '',
      ].join('\n'),
    );
    let bg: BackgroundCli | undefined;
    try {
      bg = startCli(['run', 'gated.yaml'], { cwd: project.dir });
      await eventually(() => (existsSync(project.path('first.started')) ? true : undefined), 'the first task to start');
      bg.child.kill('SIGTERM');
      await bg.waitForStderr(/SIGTERM: letting running tasks finish/);
      project.write('release', '');
      const interrupted = await bg.exited;
      expect(interrupted.code, interrupted.stderr).toBe(143);
      expect(interrupted.stderr).not.toMatch(/^\s+at /m);
      expect(isAlive(bg.pid)).toBe(false);
    } finally {
      if (bg && isAlive(bg.pid)) bg.child.kill('SIGKILL');
    }
    const interruptedId = /run (wf_[0-9a-z]+)/.exec(bg.stderr)?.[1] as string;
    expect(interruptedId).toMatch(/^wf_/);
    expect(bg.stderr).toContain(`run the same command again to resume ${interruptedId}`);

    const status = await runJson<StatusJson>(['status'], { cwd: project.dir });
    expect(status.data.workflowsRunning.map((w) => w.id)).toEqual([interruptedId]);
    // The first task finished while draining; the second waits (pending, or queued once promoted).
    expect(status.data.tasks).toMatchObject({ completed: 1, running: 0, failed: 0, cancelled: 0 });
    expect((status.data.tasks.pending ?? 0) + (status.data.tasks.queued ?? 0)).toBe(1);
    expect(status.data.runners).toEqual([]);

    const fresh = await runJson<RunJson>(['run', '--fresh', 'gated.yaml'], { cwd: project.dir });
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.data.workflow.id).not.toBe(interruptedId);
    expect(fresh.data).toMatchObject({ status: 'completed', resumed: false });
    expect(fresh.data.tasks.map((t) => [t.name, t.status, t.attempts])).toEqual([
      ['first', 'completed', 1],
      ['second', 'completed', 1],
    ]);

    const resumed = await runJson<RunJson>(['run', 'gated.yaml'], { cwd: project.dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.data.workflow.id).toBe(interruptedId);
    expect(resumed.data).toMatchObject({ status: 'completed', resumed: true });
    expect(resumed.data.counts).toMatchObject({ completed: 2, failed: 0, cancelled: 0 });
    // The first task finished before the interruption and is not run again.
    expect(resumed.data.tasks.map((t) => [t.name, t.status, t.attempts])).toEqual([
      ['first', 'completed', 1],
      ['second', 'completed', 1],
    ]);

    const again = await runJson<RunJson>(['run', 'gated.yaml'], { cwd: project.dir });
    expect(again.code).toBe(0);
    expect([interruptedId, fresh.data.workflow.id]).not.toContain(again.data.workflow.id);
    expect(again.data).toMatchObject({ status: 'completed', resumed: false });
    expect(again.data.workflow.definitionHash).toBe(resumed.data.workflow.definitionHash);
    expectNoLeftovers(project);
  });

  it('agent types, spawn, list, show by unique prefix, terminate', async () => {
    const project = tempProject();
    project.write(
      '.claude/agents/my-agent.md',
      '---\nname: my-agent\ndescription: A test agent for the CLI suite.\ntools: Read, Grep\nmodel: haiku\n---\nYou are a careful tester.\n',
    );
    const types = await runJson<AgentTypeJson[]>(['agent', 'types'], { cwd: project.dir });
    expect(types.code).toBe(0);
    expect(types.data.length).toBeGreaterThanOrEqual(50);
    for (const t of types.data) {
      expect(t).toMatchObject({ name: expect.any(String), description: expect.any(String), capabilities: expect.any(Array), source: expect.any(String) });
    }
    expect(types.data.find((t) => t.name === 'my-agent')).toMatchObject({ source: 'claude', model: 'haiku', tools: ['Read', 'Grep'] });
    expect(types.data.find((t) => t.name === 'coder')).toMatchObject({ source: 'builtin' });

    const coder = await runJson<AgentJson>(['agent', 'spawn', 'coder', '--name', 'first-coder'], { cwd: project.dir });
    expect(coder.code).toBe(0);
    expect(coder.data).toMatchObject({ id: expect.stringMatching(/^agt_/), name: 'first-coder', type: 'coder', status: 'idle', health: 'healthy' });
    expect(coder.data.capabilities.length).toBeGreaterThan(0);
    const mine = await runJson<AgentJson>(['agent', 'spawn', 'my-agent', '--capability', 'testing,review'], { cwd: project.dir });
    expect(mine.code).toBe(0);
    expect(mine.data).toMatchObject({ type: 'my-agent', status: 'idle' });
    expect(mine.data.capabilities).toEqual(expect.arrayContaining(['testing', 'review']));

    const list = await runJson<AgentJson[]>(['agent', 'list'], { cwd: project.dir });
    expect(list.data.map((a) => a.id).sort()).toEqual([coder.data.id, mine.data.id].sort());

    // The shortest prefix (6 characters at least) that tells the two ids apart.
    let common = 0;
    while (coder.data.id[common] === mine.data.id[common]) common++;
    const prefix = coder.data.id.slice(0, Math.max(6, common + 1));
    const shown = await runJson<{ agent: AgentJson; trackRecord: { tasksCompleted: number; tasksFailed: number } }>(['agent', 'show', prefix], {
      cwd: project.dir,
    });
    expect(shown.code).toBe(0);
    expect(shown.data.agent.id).toBe(coder.data.id);
    expect(shown.data.trackRecord).toMatchObject({ tasksCompleted: 0, tasksFailed: 0 });
    if (common >= 6) {
      expectCleanError(await runCli(['agent', 'show', coder.data.id.slice(0, common)], { cwd: project.dir }), 2, ['ambiguous']);
    }

    const terminated = await runJson<AgentJson>(['agent', 'terminate', prefix, '--reason', 'done'], { cwd: project.dir });
    expect(terminated.code).toBe(0);
    expect(terminated.data).toMatchObject({ id: coder.data.id, status: 'terminated' });
    const [active, all] = await Promise.all([
      runJson<AgentJson[]>(['agent', 'list'], { cwd: project.dir }),
      runJson<AgentJson[]>(['agent', 'list', '--all'], { cwd: project.dir }),
    ]);
    expect(active.data.map((a) => a.id)).toEqual([mine.data.id]);
    expect(all.data.map((a) => a.id).sort()).toEqual([coder.data.id, mine.data.id].sort());
    expectNoLeftovers(project);
  });

  it('worker runs queued tasks, shows up in status, and exits 143 on SIGTERM leaving nothing behind', async () => {
    const project = tempProject();
    const queued = await runJson<TaskJson>(['task', 'create', '--name', 'for-worker', '--command', 'echo ran > worker-ran.txt'], { cwd: project.dir });
    expect(queued.code).toBe(0);
    let worker: BackgroundCli | undefined;
    try {
      worker = startCli(['worker'], { cwd: project.dir });
      const pid = worker.pid;
      await worker.waitForStderr(/running tasks/);
      const runner = await eventually(async () => {
        const { data } = await runJson<StatusJson>(['status'], { cwd: project.dir });
        return data.runners.find((r) => r.pid === pid);
      }, 'the worker to appear in status');
      expect(runner).toMatchObject({ kind: 'worker', pid, id: expect.stringMatching(/^run_/) });
      const done = await eventually(async () => {
        const { data } = await runJson<TaskJson>(['task', 'show', queued.data.id], { cwd: project.dir });
        return data.status === 'completed' ? data : undefined;
      }, 'the worker to run the task');
      expect(done.result?.exitCode).toBe(0);
      expect(project.read('worker-ran.txt')).toBe('ran\n');
      expect(isAlive(pid)).toBe(true);

      worker.child.kill('SIGTERM');
      const exited = await worker.exited;
      expect(exited.code, exited.stderr).toBe(143);
      expect(exited.stderr).toMatch(/worker stopped: 1 completed, 0 failed/);
      expect(exited.stderr).not.toMatch(/^\s+at /m);
      expect(() => process.kill(pid, 0)).toThrow();
      expect(isAlive(pid)).toBe(false);
    } finally {
      if (worker && isAlive(worker.pid)) worker.child.kill('SIGKILL');
    }
    const after = await runJson<StatusJson>(['status'], { cwd: project.dir });
    expect(after.data.runners).toEqual([]);
    expectNoLeftovers(project);
  });

  it('worker --until-idle runs what is queued, then exits 0 with a JSON summary', async () => {
    const project = tempProject();
    expect((await runCli(['task', 'create', '--command', 'echo one > one.txt'], { cwd: project.dir })).code).toBe(0);
    const result = await runJson<{ runner: string; completed: number; failed: number; interrupted: boolean }>(['worker', '--until-idle'], { cwd: project.dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.data).toEqual({ runner: expect.stringMatching(/^run_/), completed: 1, failed: 0, interrupted: false });
    expect(project.read('one.txt')).toBe('one\n');
    expectNoLeftovers(project);
  });

  it('status and config show --json have the documented shape', async () => {
    const project = tempProject();
    // Before anything exists, status says so and creates nothing.
    const empty = await runJson<Record<string, unknown>>(['status'], { cwd: project.dir });
    expect(empty.code).toBe(0);
    expect(empty.data).toEqual({ projectDir: project.dir, initialized: false, database: { path: project.path('.colony', 'colony.db') } });
    expect(listFiles(project.dir)).toEqual([]);
    expect((await runCli(['init'], { cwd: project.dir })).code).toBe(0);
    const [status, defaults] = await Promise.all([runJson<StatusJson>(['status'], { cwd: project.dir }), runJson<{ file: string | null; config: Record<string, unknown> }>(['config', 'show'], { cwd: project.dir })]);
    expect(status.code).toBe(0);
    expect(status.data).toEqual({
      projectDir: project.dir,
      initialized: true,
      database: { path: project.path('.colony', 'colony.db'), sizeBytes: expect.any(Number), schemaVersion: expect.any(String) },
      runners: [],
      tasks: Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])),
      agents: { active: 0, byStatus: {} },
      workflowsRunning: [],
      swarmsActive: [],
      providers: [],
      limitsReached: [],
      sandbox: { mode: 'auto', isolation: expect.any(String), degraded: expect.any(Boolean), reason: expect.toBeOneOf([null, expect.any(String)]), version: expect.toBeOneOf([null, expect.any(String)]) },
      memory: { tiers: ['L1', 'L3'], redis: null, degraded: false, summary: expect.any(String) },
      // The .mcp.json that init wrote names Colony's own MCP server; no agent starts it unless its type names it.
      mcpServers: [{ name: 'colony', transport: 'stdio', source: 'mcp.json', state: 'not_started' }],
      hooks: { configured: [], recentRuns: { scanned: 0, failed: 0, timedOut: 0, refused: 0, blocked: 0, latestAt: null } },
    });
    expect(defaults.code).toBe(0);
    // `init` wrote the commented template: it is the config file, and every value is still the default.
    expect(defaults.data.file).toBe(project.path('.colony', 'config.yaml'));
    expect(defaults.data.config).toMatchObject({ projectDir: project.dir, database: { path: project.path('.colony', 'colony.db') }, tasks: { concurrency: DEFAULTS.taskConcurrency } });

    project.write('.colony/config.yaml', 'tasks:\n  concurrency: 3\n');
    type ConfigJson = { file: string | null; config: { tasks: { concurrency: number }; database: { path: string } } };
    const [fromFile, fromEnvAndFlag] = await Promise.all([
      runJson<ConfigJson>(['config', 'show'], { cwd: project.dir }),
      runJson<ConfigJson>(['--db', 'other.db', 'config', 'show'], { cwd: project.dir, env: { COLONY_CONCURRENCY: '7' } }),
    ]);
    expect(fromFile.data.file).toBe(project.path('.colony', 'config.yaml'));
    expect(fromFile.data.config.tasks.concurrency).toBe(3);
    // The environment overrides the file, and a flag the default.
    expect(fromEnvAndFlag.data.config.tasks.concurrency).toBe(7);
    expect(fromEnvAndFlag.data.config.database.path).toMatch(/other\.db$/);
  });
});
