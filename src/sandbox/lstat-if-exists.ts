import type { Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';

/** The path's own stats (a symlink is not followed), or undefined when nothing is there. */
export async function lstatIfExists(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
