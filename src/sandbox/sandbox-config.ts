import { z } from 'zod';

/**
 * The `sandbox` section of Colony's config: how shell commands are isolated from the host.
 *
 * - `mode`: `auto` runs commands under bubblewrap when it works on this machine and degrades, loudly,
 *   to the command policy alone when it does not; `bwrap` requires it (commands fail without it);
 *   `off` never uses it. Environment: COLONY_SANDBOX.
 * - `shellTasks`: whether operator shell tasks (REST, CLI, workflows) run in the sandbox too.
 *   Agents' `run_shell` always does when it is available; an operator's own build may need to write
 *   outside the workspace, so this one can be turned off.
 * - `shellTaskNetwork`: whether sandboxed shell tasks keep the network (builds fetch packages).
 * - `agentNetwork`: whether agents' commands get the network; an agent type can also ask for it with
 *   `network: true` in its frontmatter.
 * - `passEnv`: variable names passed from the server's environment to commands, beyond the base set.
 * - `hidePaths`: more paths hidden from sandboxed commands (the data directory and HOME always are).
 */
export const SANDBOX_MODES = ['auto', 'bwrap', 'off'] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

export const sandboxConfigSchema = z.strictObject({
  mode: z.enum(SANDBOX_MODES),
  /** The bubblewrap program: a name looked up in PATH or an absolute path. */
  bwrapPath: z.string().min(1),
  shellTasks: z.boolean(),
  shellTaskNetwork: z.boolean(),
  agentNetwork: z.boolean(),
  passEnv: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')),
  hidePaths: z.array(z.string().min(1)),
});

export type SandboxConfig = z.infer<typeof sandboxConfigSchema>;

export const SANDBOX_DEFAULT_CONFIG: SandboxConfig = {
  mode: 'auto',
  bwrapPath: 'bwrap',
  shellTasks: true,
  shellTaskNetwork: true,
  agentNetwork: false,
  passEnv: [],
  hidePaths: [],
};
