/**
 * The environment a command starts with: built from an allow-list, never the server's own. The
 * server's environment holds provider keys, database URLs and JWT secrets; a command (an agent's
 * `run_shell`, an operator's shell task) gets only what a shell needs to work, what configuration
 * explicitly passes through (`sandbox.passEnv`) and what the task itself sets.
 */

/** Variables a command may inherit from the server: what a shell and common tools need, nothing more. */
export const CHILD_ENV_NAMES: readonly string[] = ['PATH', 'HOME', 'LANG', 'LANGUAGE', 'TERM', 'TMPDIR', 'USER', 'LOGNAME', 'SHELL', 'TZ'];

/** Prefixes of inherited locale variables (LC_ALL, LC_CTYPE, ...). */
export const CHILD_ENV_PREFIXES: readonly string[] = ['LC_'];

/** PATH when the server has none. */
export const CHILD_DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface ChildEnvironmentOptions {
  /** Where allow-listed values are read from: the server's environment. */
  from: NodeJS.ProcessEnv;
  /** Further names configuration passes through as they are (`sandbox.passEnv`). */
  passThrough?: readonly string[];
  /** What the task or agent spec sets explicitly; wins over inherited values. */
  set?: Readonly<Record<string, string>>;
  /** What the launcher sets (the sandbox's own HOME and TMPDIR); wins over inherited values, not over `set`. */
  launcher?: Readonly<Record<string, string>>;
}

/** The whole environment of a child process (it replaces the server's, it does not extend it). */
export function buildChildEnvironment(options: ChildEnvironmentOptions): Record<string, string> {
  const env: Record<string, string> = {};
  const passThrough = new Set(options.passThrough ?? []);
  for (const [name, value] of Object.entries(options.from)) {
    if (value === undefined) continue;
    if (CHILD_ENV_NAMES.includes(name) || CHILD_ENV_PREFIXES.some((prefix) => name.startsWith(prefix)) || passThrough.has(name)) env[name] = value;
  }
  env.PATH ??= CHILD_DEFAULT_PATH;
  Object.assign(env, options.launcher, options.set);
  return env;
}
