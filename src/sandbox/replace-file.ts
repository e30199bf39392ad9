import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { lstatIfExists } from './lstat-if-exists.js';

/** Permission bits a replaced file keeps (not setuid, setgid or sticky, which a write clears anyway). */
const KEPT_MODE_BITS = 0o777;
/** Mode of a new file, before the umask. */
const NEW_FILE_MODE = 0o666;
/** How much of the file's name the temporary file's name repeats (names are limited to 255 bytes). */
const TEMPORARY_NAME_PREFIX_CHARS = 64;

/**
 * Gives `path` the content `content` by writing a new file beside it and renaming it over `path`.
 * The inode `path` named before is never modified, so a hard link inside the workspace cannot make a
 * write change a file outside it, and a symlink swapped in for `path` is replaced, not followed. An
 * existing file keeps its permission bits (`mode` overrides them). The temporary file is removed if
 * anything fails. Errors are the file system's; callers map them.
 */
export async function replaceFile(path: string, content: string | Buffer, mode?: number): Promise<void> {
  const existing = await lstatIfExists(path);
  if (existing?.isDirectory() === true) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), { code: 'EISDIR' });
  const temporary = join(dirname(path), `.${basename(path).slice(0, TEMPORARY_NAME_PREFIX_CHARS)}.${randomUUID()}.colony-tmp`);
  try {
    const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, NEW_FILE_MODE);
    try {
      await handle.writeFile(content);
      const kept = mode ?? (existing?.isFile() === true ? existing.mode : undefined);
      if (kept !== undefined) await handle.chmod(kept & KEPT_MODE_BITS);
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
