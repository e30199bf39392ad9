import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createColony, type Colony, type CreateColonyOptions } from '../app/colony.js';
import { databaseKind, loadConfig, type ConfigInput } from '../app/config.js';
import { ColonyError } from '../domain/errors.js';

/** The folder under the data directory where commands with a live view write their logs. */
const LOG_DIR = 'logs';

/** Options every command accepts (defined once on the program). */
export interface GlobalOptions {
  project?: string;
  db?: string;
  config?: string;
  logLevel?: string;
  json?: boolean;
}

export interface OpenOptions {
  /**
   * The command only reads or changes existing records: refuse to run (and create an empty
   * database) where there is none yet.
   */
  mustExist?: boolean;
  /**
   * Log to this file under the data directory (`logs/<name>`) instead of stderr: for commands
   * whose stderr is a live view that log lines (and their stacks) would garble.
   */
  logFile?: string;
  /** Whether the process runs tasks and the worker pools it serves (see `createColony`): `up --no-work`, `worker --pool`. */
  role?: Pick<CreateColonyOptions, 'work' | 'pools'>;
}

/** Where a command's log file goes: `<dataDir>/logs/<name>`. */
export function logFilePath(dataDir: string, name: string): string {
  return join(dataDir, LOG_DIR, name);
}

/** The global flags that set a configuration key (in cliOverrides), by dotted key. */
export const CONFIG_KEY_FLAGS: Readonly<Record<string, string>> = { 'database.path': '--db', 'database.url': '--db', 'log.level': '--log-level' };

/** Configuration overrides given by the global flags (highest precedence), on top of `extra`. */
function cliOverrides(options: GlobalOptions, extra: ConfigInput = {}): ConfigInput {
  const overrides: ConfigInput = { ...extra };
  // `--db` takes a file path or a database URL (`sqlite:...`).
  if (options.db) overrides.database = { ...extra.database, ...(/^[a-z][a-z0-9+.-]*:/i.test(options.db) && !/^[a-z]:[\\/]/i.test(options.db) ? { url: options.db } : { path: options.db }) };
  if (options.logLevel) overrides.log = { level: options.logLevel as 'info' };
  return overrides;
}

/**
 * The effective configuration as the global options describe it, without opening anything: for
 * commands that only need configuration (config show, providers) or must not create a database.
 */
export function loadCliConfig(options: GlobalOptions, extra: ConfigInput = {}): ReturnType<typeof loadConfig> {
  return loadConfig({ projectDir: options.project ?? process.cwd(), file: options.config, env: process.env, overrides: cliOverrides(options, extra) });
}

/** Opens the project's colony as the global options describe it. */
export async function openColony(options: GlobalOptions, kind: string, extra: ConfigInput = {}, open: OpenOptions = {}): Promise<Colony> {
  const overrides = cliOverrides(options, extra);
  if (open.mustExist) {
    const { config } = loadCliConfig(options, extra);
    // A database server is there or not when connecting; only a SQLite file can be missing.
    if (databaseKind(config.database) === 'sqlite' && !existsSync(config.database.path)) {
      throw new ColonyError('not_found', `no Colony database at ${config.database.path}: run \`colony init\` first, or start work with \`colony run\` or \`colony task create\``, {
        details: { database: config.database.path },
      });
    }
  }
  let logFile: string | undefined;
  if (open.logFile !== undefined) {
    const { config } = loadCliConfig(options, extra);
    logFile = logFilePath(config.dataDir, open.logFile);
  }
  return createColony({
    projectDir: options.project ?? process.cwd(),
    configFile: options.config,
    env: process.env,
    config: overrides,
    kind,
    ...open.role,
    ...(logFile === undefined ? {} : { logFile }),
  });
}

/** Runs `fn` with an opened colony and always closes it, so no command leaves work behind. */
export async function withColony<T>(
  options: GlobalOptions,
  kind: string,
  fn: (colony: Colony) => Promise<T>,
  extra: ConfigInput = {},
  open: OpenOptions = {},
): Promise<T> {
  const colony = await openColony(options, kind, extra, open);
  try {
    return await fn(colony);
  } finally {
    await colony.close();
  }
}
