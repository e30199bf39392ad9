import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { lstatIfExists } from './lstat-if-exists.js';
import { PROTECTED_NAMES, type ProtectedName } from './protected-paths.js';

/**
 * Protected names (protected-paths.ts) an agent's command may not create at the top of its workspace.
 * The sandbox keeps the existing ones read-only, but it cannot bind what does not exist: a command
 * could add `.mcp.json`, or `.claude/settings.json` with a hook, and those run unsandboxed for whoever
 * next opens the project. So the names absent before a command are looked for after it, and what the
 * command created is moved out of the workspace, never deleted (an operator's own new file would be
 * kept). `.colony` is left out: the sandbox hides it, and Colony itself writes there.
 */
const GUARDED = PROTECTED_NAMES.filter((rule) => !rule.unreadable);

/** A removed entry, by the rule that names it (the operator finds it under the quarantine folder). */
export interface MovedAside {
  rule: ProtectedName;
}

/** The guarded names absent from the top of `workspace` now. */
export async function absentProtectedNames(workspace: string): Promise<ProtectedName[]> {
  const present = await Promise.all(GUARDED.map((rule) => exists(join(workspace, rule.name))));
  return GUARDED.filter((_, i) => !present[i]);
}

/**
 * Moves the names of `absent` that exist now (the command created them) from `workspace` into a fresh
 * folder under `quarantine`; returns what was moved.
 */
export async function moveCreatedAside(workspace: string, absent: readonly ProtectedName[], quarantine: string): Promise<MovedAside[]> {
  const created: ProtectedName[] = [];
  for (const rule of absent) if (await exists(join(workspace, rule.name))) created.push(rule);
  if (created.length === 0) return [];
  const folder = join(quarantine, `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  await mkdir(folder, { recursive: true });
  const moved: MovedAside[] = [];
  for (const rule of created) {
    const from = join(workspace, rule.name);
    const to = join(folder, rule.name);
    await rename(from, to).catch(async (error: NodeJS.ErrnoException) => {
      // Another file system: copied, then removed.
      if (error.code !== 'EXDEV') throw error;
      await cp(from, to, { recursive: true, verbatimSymlinks: true });
      await rm(from, { recursive: true, force: true });
    });
    moved.push({ rule });
  }
  return moved;
}

async function exists(path: string): Promise<boolean> {
  return (await lstatIfExists(path)) !== undefined;
}
