import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createColony, type Colony, type CreateColonyOptions } from '../../src/app/colony.js';
import type { ConfigInput } from '../../src/app/config.js';

export interface TempColony {
  colony: Colony;
  dir: string;
  cleanup: () => Promise<void>;
}

/** Fast test settings: short polls and backoffs, silent logs; a fresh SQLite file per colony. */
export const FAST: ConfigInput = {
  tasks: { pollIntervalMs: 20, retryBaseDelayMs: 5, retryMaxDelayMs: 20, retryJitter: 0, drainTimeoutMs: 2_000 },
  log: { level: 'silent' },
};

export function tempDir(prefix = 'colony-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function tempColony(config: ConfigInput = {}, options: Omit<CreateColonyOptions, 'projectDir' | 'config'> & { dir?: string } = {}): Promise<TempColony> {
  const dir = options.dir ?? tempDir();
  const merged: ConfigInput = { ...FAST, ...config, tasks: { ...FAST.tasks, ...config.tasks }, log: { ...FAST.log, ...config.log } };
  const colony = await createColony({ ...options, projectDir: dir, config: merged });
  return {
    colony,
    dir,
    cleanup: async () => {
      await colony.close({ drainTimeoutMs: 0 });
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` returns a value; fails the test after `timeoutMs`, a hang guard (not a timing assertion). */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(10);
  }
}
