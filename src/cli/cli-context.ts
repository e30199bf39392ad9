import { createColony, type Colony } from '../core/colony.js';
import type { ConfigInput } from '../core/config.js';

/** Options every command accepts (defined once on the program). */
export interface GlobalOptions {
  project?: string;
  db?: string;
  config?: string;
  logLevel?: string;
  json?: boolean;
}

/** Opens the project's colony as the global options describe it. */
export async function openColony(options: GlobalOptions, kind: string, extra: ConfigInput = {}): Promise<Colony> {
  const overrides: ConfigInput = { ...extra };
  if (options.db) overrides.database = { ...extra.database, path: options.db };
  if (options.logLevel) overrides.log = { level: options.logLevel as 'info' };
  return createColony({
    projectDir: options.project ?? process.cwd(),
    configFile: options.config,
    env: process.env,
    config: overrides,
    kind,
  });
}

/** Runs `fn` with an opened colony and always closes it, so no command leaves work behind. */
export async function withColony<T>(options: GlobalOptions, kind: string, fn: (colony: Colony) => Promise<T>, extra: ConfigInput = {}): Promise<T> {
  const colony = await openColony(options, kind, extra);
  try {
    return await fn(colony);
  } finally {
    await colony.close();
  }
}
