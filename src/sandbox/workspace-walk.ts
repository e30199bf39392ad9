import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { protectionOf } from './protected-paths.js';
import { WALK_SKIP_DIRECTORIES } from './sandbox-defaults.js';

export type WalkEntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface WalkEntry {
  path: string;
  name: string;
  type: WalkEntryType;
}

/**
 * Yields the entries under `directory` in a stable order (each directory's entries sorted by name,
 * before its subdirectories are entered). Symlinks are reported but never followed, so a walk can
 * neither leave the workspace nor loop; `.git`, `node_modules` and directories agents may not read
 * (`.colony`, see protected-paths.ts) are reported but not entered.
 * Subdirectories that cannot be read are skipped; the starting directory must be readable.
 */
export async function* walkDirectory(directory: string, recursive: boolean): AsyncGenerator<WalkEntry> {
  const pending: string[] = [directory];
  while (pending.length > 0) {
    const current = pending.pop()!;
    let dirents: Dirent[];
    try {
      dirents = await readdir(current, { withFileTypes: true });
    } catch (error) {
      if (current === directory) throw error;
      continue;
    }
    dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirectories: string[] = [];
    for (const dirent of dirents) {
      const path = join(current, dirent.name);
      const type: WalkEntryType = dirent.isDirectory() ? 'directory' : dirent.isFile() ? 'file' : dirent.isSymbolicLink() ? 'symlink' : 'other';
      yield { path, name: dirent.name, type };
      if (recursive && type === 'directory' && !WALK_SKIP_DIRECTORIES.includes(dirent.name) && protectionOf([dirent.name], 'read') === undefined) subdirectories.push(path);
    }
    pending.push(...subdirectories.reverse());
  }
}
