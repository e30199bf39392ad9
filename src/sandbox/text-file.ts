import { readFile, stat } from 'node:fs/promises';
import { ExecutionError, isColonyError, NotFoundError, ValidationError, type ColonyError } from '../domain/errors.js';
import { replaceFile } from './replace-file.js';
import { BINARY_SNIFF_BYTES } from './sandbox-defaults.js';

/** Text file I/O for the file tools, with file-system errors turned into Colony errors an agent can act on. */

/** Whether `content` looks binary: a NUL byte near the start, the test git uses. */
export function looksBinary(content: Buffer): boolean {
  return content.subarray(0, BINARY_SNIFF_BYTES).includes(0);
}

/** Reads a UTF-8 text file of at most `maxBytes`; `shownPath` is the path as the agent named it. */
export async function readTextFile(path: string, shownPath: string, maxBytes: number): Promise<string> {
  try {
    const stats = await stat(path);
    if (stats.isDirectory()) throw new ValidationError(`${shownPath} is a directory, not a file`, { details: { path: shownPath } });
    if (stats.size > maxBytes) {
      throw new ValidationError(`${shownPath} is ${stats.size} bytes, over the ${maxBytes}-byte limit for this tool`, {
        details: { path: shownPath, bytes: stats.size, limit: maxBytes },
      });
    }
    const content = await readFile(path);
    if (looksBinary(content)) throw new ValidationError(`${shownPath} is a binary file`, { details: { path: shownPath } });
    return content.toString('utf8');
  } catch (error) {
    throw toToolError(error, shownPath);
  }
}

/**
 * Writes `content` to `path`, creating or replacing it, through a new file renamed into place (see
 * replace-file.ts): the old inode is never modified, so a hard link to a file outside the workspace
 * cannot carry the write out, and a symlink swapped in since the check is replaced, not followed.
 */
export async function writeTextFile(path: string, shownPath: string, content: string): Promise<void> {
  try {
    await replaceFile(path, content);
  } catch (error) {
    throw toToolError(error, shownPath);
  }
}

/** Maps a file-system error to the taxonomy; Colony errors pass through. */
export function toToolError(error: unknown, shownPath: string): ColonyError {
  if (isColonyError(error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const details = { path: shownPath, code };
  switch (code) {
    case 'ENOENT':
      return new NotFoundError('file', shownPath);
    case 'EISDIR':
      return new ValidationError(`${shownPath} is a directory, not a file`, { cause: error, details });
    case 'ENOTDIR':
      return new ValidationError(`a parent of ${shownPath} is a file, not a directory`, { cause: error, details });
    case 'ELOOP':
      return new ValidationError(`${shownPath} became a symlink after it was checked`, { cause: error, details });
    case 'EACCES':
    case 'EPERM':
      return new ValidationError(`permission denied: ${shownPath}`, { cause: error, details });
    default:
      return new ExecutionError(`file operation on ${shownPath} failed: ${(error as Error).message}`, { cause: error, details, retryable: false });
  }
}
