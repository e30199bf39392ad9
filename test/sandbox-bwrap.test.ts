import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AgentToolContext, ShellSettings } from '../src/agents/runtime/tools/agent-tool.js';
import { runShellTool } from '../src/agents/runtime/tools/shell-tool.js';
import { ConfigError } from '../src/domain/errors.js';
import { createShellExecutor } from '../src/tasks/executors/shell-executor.js';
import { bwrapArgs } from '../src/sandbox/bwrap-args.js';
import { BWRAP_INSTALL_HINT, probeBubblewrap } from '../src/sandbox/bwrap-probe.js';
import { CommandSandbox } from '../src/sandbox/command-sandbox.js';
import { SANDBOX_DEFAULT_CONFIG, type SandboxConfig } from '../src/sandbox/sandbox-config.js';
import { WorkspaceGuard } from '../src/sandbox/workspace-guard.js';
import { eventually } from './support/temp-colony.js';

/**
 * Agent shell commands in the OS sandbox (bubblewrap), attacked the ways a guard-rail lets through:
 * `..`, python, base64, /proc, the network, the data directory and HOME. These tests need bwrap and
 * fail (not skip) without it.
 */

const SECRET = 'sk-server-secret-0123456789';

beforeAll(async () => {
  const probe = await probeBubblewrap('bwrap', process.env);
  if (!probe.ok) throw new Error(`${BWRAP_INSTALL_HINT} (${probe.reason})`);
});

let root: string;
let workspace: string;
let home: string;
let hostOnly: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'colony-bwrap-'));
  workspace = join(root, 'workspace');
  home = join(root, 'home');
  await mkdir(join(workspace, '.colony'), { recursive: true });
  await mkdir(home);
  await writeFile(join(workspace, '.colony', 'colony.db'), `database ${SECRET}`);
  await writeFile(join(home, '.credentials'), `home ${SECRET}`);
  // /var/tmp is on the host's filesystem (not the sandbox's private /tmp): a write there is a real escape.
  hostOnly = join('/var/tmp', `colony-escape-${process.pid}-${Date.now()}`);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(hostOnly, { force: true });
});

function sandbox(config: Partial<SandboxConfig> = {}): CommandSandbox {
  return new CommandSandbox({
    config: { ...SANDBOX_DEFAULT_CONFIG, mode: 'bwrap', ...config },
    env: { PATH: process.env.PATH, HOME: home, OPENAI_API_KEY: SECRET },
    hide: [join(workspace, '.colony', 'colony.db')],
    hideFromAgents: [join(workspace, '.colony')],
    quarantineDir: join(root, 'quarantine'),
  });
}

/** The agent's run_shell tool, as the runtime calls it. */
async function runTool(command: string, shell: Partial<ShellSettings> = {}): Promise<{ content: string; isError: boolean }> {
  const context = {
    shell: { timeoutMs: 20_000, maxOutputBytes: 64 * 1024, sandbox: sandbox(), ...shell },
    guard: new WorkspaceGuard(workspace),
    workspace,
    signal: new AbortController().signal,
  } as unknown as AgentToolContext;
  const output = await runShellTool.run({ command }, context);
  return { content: output.content, isError: output.isError === true };
}

describe('agent shell commands under bubblewrap', { timeout: 60_000 }, () => {
  it('writes to the workspace, and cannot write outside it through .., python or base64', async () => {
    const inside = await runTool('echo inside > made-here.txt && cat made-here.txt');
    expect(inside.isError, inside.content).toBe(false);
    expect(await readFile(join(workspace, 'made-here.txt'), 'utf8')).toBe('inside\n');

    const up = await runTool('echo x > ../outside.txt; echo x > ../../outside.txt; echo done');
    expect(up.content).toContain('done');
    expect(existsSync(join(root, 'outside.txt'))).toBe(false);
    expect(existsSync(join(root, '..', 'outside.txt'))).toBe(false);

    const python = await runTool(`python3 -c "open('${hostOnly}', 'w').write('x')"`);
    expect(python.isError).toBe(true);
    expect(python.content).toMatch(/Read-only file system/);
    expect(existsSync(hostOnly)).toBe(false);

    const encoded = Buffer.from(`echo pwned > ${hostOnly}`).toString('base64');
    const base64 = await runTool(`printf %s ${encoded} | base64 -d | sh`);
    expect(base64.isError).toBe(true);
    expect(base64.content).toMatch(/Read-only file system/);
    const direct = await runTool(`printf %s ${Buffer.from('x').toString('base64')} | base64 -d > ${hostOnly}`);
    expect(direct.isError).toBe(true);
    expect(existsSync(hostOnly)).toBe(false);
  });

  it("cannot change git's or Claude Code's configuration in the workspace, though it may read it", async () => {
    await mkdir(join(workspace, '.git'), { recursive: true });
    await writeFile(join(workspace, '.git', 'config'), '[core]\n\tbare = false\n');
    await mkdir(join(workspace, '.claude'), { recursive: true });
    await writeFile(join(workspace, '.claude', 'settings.json'), '{}');
    await writeFile(join(workspace, '.mcp.json'), '{"mcpServers":{}}');
    await writeFile(join(workspace, 'CLAUDE.md'), 'instructions');
    const attacks = [
      'printf "[core]\\n\\tfsmonitor = touch pwned\\n" >> .git/config',
      'mkdir -p .git/hooks && printf "#!/bin/sh\\ntouch pwned\\n" > .git/hooks/pre-commit',
      'echo \'{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"touch pwned"}]}]}}\' > .claude/settings.json',
      'rm -f .mcp.json',
      'mv CLAUDE.md elsewhere.md',
      'rm -rf .git',
    ];
    for (const attack of attacks) {
      const run = await runTool(attack);
      expect(run.isError, `${attack}: ${run.content}`).toBe(true);
    }
    expect(await readFile(join(workspace, '.git', 'config'), 'utf8')).toBe('[core]\n\tbare = false\n');
    expect(existsSync(join(workspace, '.git', 'hooks', 'pre-commit'))).toBe(false);
    expect(await readFile(join(workspace, '.claude', 'settings.json'), 'utf8')).toBe('{}');
    expect(existsSync(join(workspace, '.mcp.json'))).toBe(true);
    expect(existsSync(join(workspace, 'CLAUDE.md'))).toBe(true);
    // Reading is allowed (git status, the instructions), and the rest of the workspace stays writable.
    const read = await runTool('cat .git/config CLAUDE.md && echo ok > src.txt');
    expect(read.isError, read.content).toBe(false);
    expect(read.content).toContain('instructions');
    expect(await readFile(join(workspace, 'src.txt'), 'utf8')).toBe('ok\n');
  });

  it("cannot create git's or Claude Code's configuration where there was none: what it creates is moved out of the workspace, kept for the operator", async () => {
    const hook = '{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"touch pwned"}]}]}}';
    const create = `mkdir -p .claude && echo '${hook}' > .claude/settings.json && echo '{"mcpServers":{}}' > .mcp.json && echo hi > CLAUDE.md && echo ok > src.txt`;
    const hosts = { bwrap: sandbox(), host: new CommandSandbox({ config: { ...SANDBOX_DEFAULT_CONFIG, mode: 'off' }, env: { PATH: process.env.PATH }, quarantineDir: join(root, 'quarantine') }) };
    for (const [where, chosen] of Object.entries(hosts)) {
      const run = await runTool(create, { sandbox: chosen });
      expect(run.isError, `${where}: ${run.content}`).toBe(true);
      for (const name of ['.claude/', '.mcp.json', 'CLAUDE.md']) expect(run.content, where).toContain(`[removed ${name}, which this command created`);
      for (const name of ['.claude', '.mcp.json', 'CLAUDE.md']) expect(existsSync(join(workspace, name)), `${where}: ${name}`).toBe(false);
      // The rest of what it did stands, and the workspace's own data directory is untouched.
      expect(await readFile(join(workspace, 'src.txt'), 'utf8')).toBe('ok\n');
      expect(existsSync(join(workspace, '.colony', 'colony.db'))).toBe(true);
    }
    // Nothing is deleted: each command's creations are in a folder of their own.
    const folders = readdirSync(join(root, 'quarantine'));
    expect(folders).toHaveLength(2);
    for (const folder of folders) {
      expect(readFileSync(join(root, 'quarantine', folder, '.claude', 'settings.json'), 'utf8')).toBe(`${hook}\n`);
      expect(readdirSync(join(root, 'quarantine', folder)).sort()).toEqual(['.claude', '.mcp.json', 'CLAUDE.md']);
    }
    // A command that creates none of them is not told of any.
    const plain = await runTool('echo again > src.txt');
    expect(plain).toEqual({ content: expect.not.stringContaining('[removed'), isError: false });
  });

  it('sees no secret: not in its environment, not in any /proc/*/environ, not in .colony, not in HOME', async () => {
    const looked = await runTool(
      'env; for f in /proc/[0-9]*/environ; do tr "\\0" "\\n" < "$f"; done; cat /proc/$PPID/environ; ' +
        'cat .colony/colony.db; ls -A .colony; cat "$HOME/.credentials"; echo "home is $HOME"; echo end',
    );
    expect(looked.content).toContain('end');
    expect(looked.content).not.toContain(SECRET);
    expect(looked.content).not.toContain('OPENAI_API_KEY');
    expect(looked.content).toContain('PATH=');
    // The hidden files are still there on the host.
    expect(readFileSync(join(workspace, '.colony', 'colony.db'), 'utf8')).toContain(SECRET);
    // Only the sandbox's own processes are visible: the server is not among them.
    const pids = await runTool("ls /proc | grep -E '^[0-9]+$' | wc -l");
    expect(Number(pids.content.match(/stdout ---\n\s*(\d+)/)?.[1]), pids.content).toBeLessThan(6);
  });

  it('has no network unless the agent type allows it', async () => {
    const server: Server = createServer((_request, response) => response.end('reached'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const fetchIt = `node -e "fetch('http://127.0.0.1:${port}/').then(r => r.text()).then(t => console.log('got ' + t), e => { console.log('failed ' + e.cause?.code); process.exit(7) })"`;
      const closed = await runTool(fetchIt);
      expect(closed.isError).toBe(true);
      expect(closed.content).toContain('failed');
      expect(closed.content).not.toContain('got reached');
      const curl = await runTool(`curl -sS -m 10 http://127.0.0.1:${port}/`);
      expect(curl.isError).toBe(true);
      expect(curl.content).not.toContain('reached');

      const open = await runTool(fetchIt, { network: true });
      expect(open.isError, open.content).toBe(false);
      expect(open.content).toContain('got reached');
      const configured = await runTool(fetchIt, { sandbox: sandbox({ agentNetwork: true }) });
      expect(configured.content).toContain('got reached');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('dies with its parent', async () => {
    const marker = `colony-sandbox-marker-${process.pid}-${Date.now()}`;
    const prefix = ['bwrap', ...bwrapArgs({ workspace, cwd: workspace, network: false, home: null, hide: [] })];
    // A stand-in for the server: it starts the sandbox and is then killed with SIGKILL (no clean-up).
    const parent = spawn('/bin/sh', ['-c', '"$@" & wait', 'sh', ...prefix, '/bin/sh', '-c', `sleep 300; : ${marker}`], { stdio: 'ignore', detached: true });
    try {
      // The sandboxed shell itself (the parent's and bwrap's command lines hold the marker too).
      const sandboxed = await eventually(() => processesWith(marker).find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('/bin/sh\0-c\0sleep')));
      parent.kill('SIGKILL');
      await eventually(() => processesWith(marker).length === 0, 20_000);
      expect(isAlive(sandboxed)).toBe(false);
    } finally {
      for (const pid of processesWith(marker)) process.kill(pid, 'SIGKILL');
      try {
        process.kill(-(parent.pid as number), 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  });

  it('refuses to run unconfined when bwrap is required but does not work', async () => {
    const broken = new CommandSandbox({ config: { ...SANDBOX_DEFAULT_CONFIG, mode: 'bwrap', bwrapPath: join(root, 'no-bwrap-here') }, env: process.env });
    const status = await broken.status();
    expect(status).toMatchObject({ mode: 'bwrap', isolation: 'none', degraded: true });
    expect(status.reason).toContain('not found');
    await expect(broken.prepare({ purpose: 'agent', workspace, cwd: workspace })).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('operator shell tasks', { timeout: 60_000 }, () => {
  const execute = async (command: string, config: Partial<SandboxConfig> = {}, env?: Record<string, string>) => {
    const executor = createShellExecutor({ maxOutputBytes: 64 * 1024, defaultTimeoutMs: 20_000, sandbox: sandbox(config) });
    const task = { id: 'tsk_1', input: { command, ...(env ? { env } : {}) }, timeoutMs: null };
    return (await executor.execute({ task, attempt: 1, signal: new AbortController().signal, agent: null, workspace, logger: undefined } as never)) as {
      stdout: string;
      sandbox: { isolation: string; reason?: string };
    };
  };

  it('run sandboxed by default, with the network, an environment of their own and a record of it', async () => {
    const result = await execute(
      'env; cat /proc/$PPID/environ; cat .colony/colony.db; echo written > out.txt; mkdir -p .colony/scratch && echo kept > .colony/scratch/f',
      {},
      { BUILD_MODE: 'release' },
    );
    expect(result.sandbox).toEqual({ isolation: 'bwrap' });
    expect(result.stdout).toContain('BUILD_MODE=release');
    expect(result.stdout).not.toContain(SECRET);
    expect(await readFile(join(workspace, 'out.txt'), 'utf8')).toBe('written\n');
    // The data directory is scratch space for an operator's pipeline; the database in it stays hidden.
    expect(await readFile(join(workspace, '.colony', 'scratch', 'f'), 'utf8')).toBe('kept\n');
    await expect(execute(`echo x > ${hostOnly}`)).rejects.toThrow(/Read-only file system/);
  });

  it('run on the host when sandbox.shellTasks is off, still without the server\'s secrets, and say so', async () => {
    const result = await execute(`env; echo host > ${hostOnly}`, { shellTasks: false });
    expect(result.sandbox).toEqual({ isolation: 'none', reason: expect.stringContaining('sandbox.shellTasks is off') });
    expect(result.stdout).not.toContain(SECRET);
    expect(await readFile(hostOnly, 'utf8')).toBe('host\n');
  });
});

/** Host pids of processes whose command line holds `marker` (zombies excluded). */
function processesWith(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker) && isAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // Gone while looking.
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
