import { lstat, realpath, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { ConfigError } from '../domain/errors.js';
import { bwrapArgs, type HiddenPath } from './bwrap-args.js';
import { probeBubblewrap, type BwrapProbe } from './bwrap-probe.js';
import { probeDieWithRunner, type DieWithRunnerProbe } from './die-with-runner.js';
import { buildChildEnvironment } from './child-environment.js';
import type { SandboxConfig, SandboxMode } from './sandbox-config.js';
import { SANDBOX_HIDDEN_SYSTEM_PATHS } from './sandbox-defaults.js';
import { PROTECTED_NAMES } from './protected-paths.js';
import { absentProtectedNames, moveCreatedAside, type MovedAside } from './created-protected.js';

/** How shell commands are isolated on this machine, for `colony status`, the API and the dashboard. */
export interface SandboxStatus {
  /** What configuration asks for. */
  mode: SandboxMode;
  /** What commands actually run under. */
  isolation: 'bwrap' | 'none';
  /** True when commands run on the host, held back by the command policy alone. */
  degraded: boolean;
  /** Why there is no OS sandbox; null when there is one. */
  reason: string | null;
  /** bubblewrap's version when it is used. */
  version: string | null;
}

export interface LaunchRequest {
  /** An agent's `run_shell` (always sandboxed when possible) or an operator's shell task (per `sandbox.shellTasks`). */
  purpose: 'agent' | 'task';
  workspace: string;
  cwd: string;
  /** An agent type that asks for the network (frontmatter `network: true`). */
  network?: boolean;
  /** Variables the task or agent spec sets explicitly. */
  env?: Readonly<Record<string, string>>;
}

/** How to start one command: runShell's `prefix` and `env`, and what isolation that gives. */
export interface PreparedLaunch {
  /** bubblewrap and its options, or on the host the wrapper that ends the command with its runner (when there is one). */
  prefix: string[] | undefined;
  env: Record<string, string>;
  isolation: 'bwrap' | 'none';
  /** Why the command runs without the OS sandbox; null when it has one. */
  reason: string | null;
}

export interface CommandSandboxOptions {
  config: SandboxConfig;
  /** The server's environment: the allow-listed variables are read from it. */
  env: NodeJS.ProcessEnv;
  /** Paths no command may see: the database and its journal files, the config file (keys, JWT secret). */
  hide?: readonly string[];
  /**
   * Paths hidden from agents' commands only: the whole data directory. Operators' pipelines may keep
   * scratch files there (the build-pipeline example does), so shell tasks see it minus `hide`.
   */
  hideFromAgents?: readonly string[];
  /**
   * Where protected names an agent's command created in its workspace are moved (see
   * created-protected.ts): the data directory's `quarantine/`. Default: a folder in the OS temp directory.
   */
  quarantineDir?: string;
  /** Replaces the bubblewrap check (tests force "unavailable" with it). */
  probe?: (bwrapPath: string, env: NodeJS.ProcessEnv) => Promise<BwrapProbe>;
  /** Replaces the check for the wrapper that makes host-run commands die with their runner. */
  dieWithRunnerProbe?: (env: NodeJS.ProcessEnv) => Promise<DieWithRunnerProbe>;
  /** Told the status once it is detected (the composition root warns there when commands run unconfined). */
  onDetected?: (status: SandboxStatus) => void;
}

const NO_POLICY_BUT = 'commands run on the host with the command policy alone';

/**
 * Prepares shell commands to run in an OS sandbox (bubblewrap) with an environment built from an
 * allow-list, or, where bubblewrap is unavailable or turned off, on the host with that environment
 * and a reason that callers record. bubblewrap is checked once, on first use, by running it: a
 * process whose agents run no command never starts it.
 */
export class CommandSandbox {
  readonly #options: CommandSandboxOptions;
  #status: Promise<SandboxStatus> | null = null;
  #hostPrefix: Promise<string[] | undefined> | null = null;

  constructor(options: CommandSandboxOptions) {
    this.#options = options;
  }

  get config(): SandboxConfig {
    return this.#options.config;
  }

  /**
   * Runs an agent's command (`run`) and then moves out of the workspace the protected names it created
   * at the top (the sandbox keeps only existing ones read-only; see created-protected.ts).
   */
  async guardingProtected<T>(workspace: string, run: () => Promise<T>): Promise<{ result: T; movedAside: MovedAside[] }> {
    const absent = await absentProtectedNames(workspace);
    const result = await run();
    const movedAside = await moveCreatedAside(workspace, absent, this.#options.quarantineDir ?? join(tmpdir(), 'colony-quarantine'));
    return { result, movedAside };
  }

  /** Detected once, on the first call; the same answer afterwards. */
  status(): Promise<SandboxStatus> {
    this.#status ??= this.#detect().then((status) => {
      this.#options.onDetected?.(status);
      return status;
    });
    return this.#status;
  }

  /** The status if something asked for it already (detected or being detected); null otherwise, without detecting. */
  detected(): Promise<SandboxStatus> | null {
    return this.#status;
  }

  /**
   * The prefix and environment for one command. Throws ConfigError when `sandbox.mode` is `bwrap`
   * and bubblewrap does not work here: the command must not run unconfined.
   */
  async prepare(request: LaunchRequest): Promise<PreparedLaunch> {
    const { config, env: from } = this.#options;
    const hostEnvironment = () => buildChildEnvironment({ from, passThrough: config.passEnv, ...(request.env ? { set: request.env } : {}) });
    if (request.purpose === 'task' && !config.shellTasks) {
      return { prefix: await this.hostPrefix(), env: hostEnvironment(), isolation: 'none', reason: 'sandbox.shellTasks is off: shell tasks run on the host' };
    }
    const status = await this.status();
    if (status.isolation === 'none') {
      if (config.mode === 'bwrap') throw new ConfigError(`sandbox.mode is bwrap, but ${status.reason ?? 'bubblewrap is unavailable'}`);
      return { prefix: await this.hostPrefix(), env: hostEnvironment(), isolation: 'none', reason: status.reason };
    }
    const network = request.purpose === 'agent' ? config.agentNetwork || request.network === true : config.shellTaskNetwork;
    const [workspace, cwd, home, hide] = await Promise.all([realpath(request.workspace), realpath(request.cwd), this.#home(), this.#hidden(request.purpose)]);
    const readOnly = request.purpose === 'agent' ? await protectedEntries(workspace) : [];
    const prefix = [config.bwrapPath, ...bwrapArgs({ workspace, cwd, network, home, hide, readOnly })];
    // The command sees HOME and TMPDIR as the sandbox's own (empty, writable, gone afterwards).
    const env = buildChildEnvironment({
      from,
      passThrough: config.passEnv,
      launcher: { HOME: home ?? '/tmp', TMPDIR: '/tmp' },
      ...(request.env ? { set: request.env } : {}),
    });
    return { prefix, env, isolation: 'bwrap', reason: null };
  }

  /**
   * What host-run commands run under so that they die with this process (see die-with-runner.ts);
   * undefined where that is not possible here. Checked once, on first use.
   */
  hostPrefix(): Promise<string[] | undefined> {
    this.#hostPrefix ??= (this.#options.dieWithRunnerProbe ?? probeDieWithRunner)(this.#options.env).then((probe) => (probe.ok ? probe.prefix : undefined));
    return this.#hostPrefix;
  }

  async #detect(): Promise<SandboxStatus> {
    const { config, env } = this.#options;
    if (config.mode === 'off') {
      return { mode: 'off', isolation: 'none', degraded: true, reason: `sandbox.mode is off: ${NO_POLICY_BUT}`, version: null };
    }
    if (process.platform !== 'linux') {
      return { mode: config.mode, isolation: 'none', degraded: true, reason: `bubblewrap needs Linux (this is ${process.platform}): ${NO_POLICY_BUT}`, version: null };
    }
    const probe = await (this.#options.probe ?? probeBubblewrap)(config.bwrapPath, env);
    if (!probe.ok) return { mode: config.mode, isolation: 'none', degraded: true, reason: `${probe.reason}; ${NO_POLICY_BUT}`, version: null };
    return { mode: config.mode, isolation: 'bwrap', degraded: false, reason: null, version: probe.version };
  }

  /** The server's HOME, to be replaced by an empty one; null when there is none worth hiding. */
  async #home(): Promise<string | null> {
    const home = this.#options.env.HOME;
    if (home === undefined || !isAbsolute(home)) return null;
    const real = await realpath(home).catch(() => null);
    return real === null || real === sep ? null : real;
  }

  /** The configured and built-in paths to hide that exist now, resolved. */
  async #hidden(purpose: LaunchRequest['purpose']): Promise<HiddenPath[]> {
    const { hide = [], hideFromAgents = [], config } = this.#options;
    const candidates = [...SANDBOX_HIDDEN_SYSTEM_PATHS, ...hide, ...(purpose === 'agent' ? hideFromAgents : []), ...config.hidePaths];
    const found = await Promise.all(
      candidates.map(async (path): Promise<HiddenPath | null> => {
        try {
          const real = await realpath(resolve(path));
          if (real === sep) return null;
          return { path: real, kind: (await stat(real)).isDirectory() ? 'directory' : 'file' };
        } catch {
          return null;
        }
      }),
    );
    const unique = new Map<string, HiddenPath>();
    for (const hidden of found) if (hidden !== null) unique.set(hidden.path, hidden);
    return [...unique.values()];
  }
}

/**
 * The protected names (protected-paths.ts) at the top of the workspace that exist: an agent's command
 * may read them but not change them, as its file tools may not. Without this a command could rewrite
 * `.git/config` (a `core.fsmonitor` runs for whoever next uses git: the user, or Colony committing a
 * worktree) or a worktree's `.git` link, or add hooks and MCP servers to `.claude/` and `.mcp.json`.
 * Ones the command creates are moved out afterwards (`guardingProtected`); ones deeper in the tree are
 * the file tools' rule only.
 */
async function protectedEntries(workspace: string): Promise<string[]> {
  const found = await Promise.all(
    PROTECTED_NAMES.filter((rule) => !rule.unreadable).map(async (rule) => {
      const path = join(workspace, rule.name);
      // lstat: a link is bound as the link's target would be, so only real entries count.
      const entry = await lstat(path).catch(() => null);
      return entry !== null && (entry.isFile() || entry.isDirectory()) ? path : null;
    }),
  );
  return found.filter((path): path is string => path !== null);
}
