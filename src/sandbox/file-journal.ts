import { mkdir, readFile, rmdir, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ExecutionError, ValidationError } from '../domain/errors.js';
import { lstatIfExists } from './lstat-if-exists.js';
import { replaceFile } from './replace-file.js';
import { JOURNAL_MAX_FILE_BYTES } from './sandbox-defaults.js';

/**
 * What a file looked like before an agent first changed it, so that a failed or rejected task can
 * be undone. Only changes made through the file tools are journaled: a shell command's effects are
 * not (that would need a filesystem snapshot).
 */
export type JournalEntry =
  /** The file existed: its content (base64) and permission bits. */
  | { kind: 'file'; path: string; bytes: number; mode: number; content: string }
  /** The file did not exist; nor did these parent directories (deepest first), created for it. */
  | { kind: 'absent'; path: string; createdDirectories: string[] }
  /** The file existed but was too big to keep: rollback reports it instead of pretending to restore it. */
  | { kind: 'unrestorable'; path: string; bytes: number; reason: string };

/** An entry without the saved content, for display. */
export type JournalEntrySummary =
  | { kind: 'file'; path: string; bytes: number }
  | { kind: 'absent'; path: string }
  | { kind: 'unrestorable'; path: string; bytes: number; reason: string };

export interface SerializedJournal {
  version: 1;
  entries: JournalEntry[];
}

export interface RollbackResult {
  /** Files put back to their prior content. */
  restored: string[];
  /** Files (and then empty directories) that had not existed and were removed. */
  removed: string[];
  /** Files whose prior content was never saved, with why. */
  unrestorable: Array<{ path: string; reason: string }>;
}

const absolutePath = z.string().refine((path) => isAbsolute(path) && !path.includes('\0'), 'must be an absolute path');
const serializedJournalSchema = z.object({
  version: z.literal(1),
  entries: z.array(
    z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('file'), path: absolutePath, bytes: z.number().int().nonnegative(), mode: z.number().int().min(0).max(0o7777), content: z.base64() }),
      z.object({ kind: z.literal('absent'), path: absolutePath, createdDirectories: z.array(absolutePath) }),
      z.object({ kind: z.literal('unrestorable'), path: absolutePath, bytes: z.number().int().nonnegative(), reason: z.string() }),
    ]),
  ),
});

/**
 * Records each file's prior state once, before its first write, and restores them all on rollback.
 * Serializable (`JSON.stringify(journal)`, `FileJournal.fromJSON`) so a journal persisted with a task
 * can still be rolled back after a restart.
 */
export class FileJournal {
  readonly #entries = new Map<string, JournalEntry>();
  /** Captures in flight, so two concurrent writes to one file record its state only once. */
  readonly #capturing = new Map<string, Promise<void>>();

  static fromJSON(value: unknown): FileJournal {
    const parsed = serializedJournalSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ValidationError(`invalid file journal: ${issue?.path.join('.') || 'journal'}: ${issue?.message}`);
    }
    const journal = new FileJournal();
    for (const entry of parsed.data.entries) journal.#entries.set(entry.path, entry);
    return journal;
  }

  /** Call before every write to `absolutePath`; only the first call per path records anything. */
  async beforeWrite(absolutePath: string): Promise<void> {
    if (typeof absolutePath !== 'string' || !isAbsolute(absolutePath) || absolutePath.includes('\0')) {
      throw new ValidationError(`the journal needs an absolute path, got ${JSON.stringify(absolutePath)}`);
    }
    const path = resolve(absolutePath);
    if (this.#entries.has(path)) return;
    let capture = this.#capturing.get(path);
    if (capture === undefined) {
      capture = captureEntry(path)
        .then((entry) => {
          this.#entries.set(path, entry);
        })
        .finally(() => this.#capturing.delete(path));
      this.#capturing.set(path, capture);
    }
    await capture;
  }

  entries(): JournalEntrySummary[] {
    return [...this.#entries.values()].map((entry): JournalEntrySummary => {
      if (entry.kind === 'file') return { kind: 'file', path: entry.path, bytes: entry.bytes };
      if (entry.kind === 'absent') return { kind: 'absent', path: entry.path };
      return { ...entry };
    });
  }

  toJSON(): SerializedJournal {
    return { version: 1, entries: [...this.#entries.values()].map((entry) => structuredClone(entry)) };
  }

  /**
   * Puts every journaled file back, newest first. Entries rolled back (or reported unrestorable) leave
   * the journal; when some fail, the rest are still attempted, the failures stay in the journal for a
   * retry, and an ExecutionError lists them.
   */
  async rollback(): Promise<RollbackResult> {
    const result: RollbackResult = { restored: [], removed: [], unrestorable: [] };
    const failed: Array<{ path: string; error: string }> = [];
    for (const entry of [...this.#entries.values()].reverse()) {
      try {
        await rollbackEntry(entry, result);
        this.#entries.delete(entry.path);
      } catch (error) {
        failed.push({ path: entry.path, error: (error as Error).message });
      }
    }
    if (failed.length > 0) {
      throw new ExecutionError(`rollback failed for ${failed.length} file(s): ${failed.map((failure) => `${failure.path} (${failure.error})`).join('; ')}`, {
        retryable: false,
        details: { ...result, failed },
      });
    }
    return result;
  }
}

async function captureEntry(path: string): Promise<JournalEntry> {
  const stats = await lstatIfExists(path);
  if (stats === undefined) return { kind: 'absent', path, createdDirectories: await missingDirectories(dirname(path)) };
  if (stats.isDirectory()) throw new ValidationError(`${path} is a directory, not a file`, { details: { path } });
  if (!stats.isFile()) throw new ValidationError(`${path} is not a regular file`, { details: { path } });
  if (stats.size > JOURNAL_MAX_FILE_BYTES) {
    return {
      kind: 'unrestorable',
      path,
      bytes: stats.size,
      reason: `its prior content (${stats.size} bytes) is over the journal's limit of ${JOURNAL_MAX_FILE_BYTES} bytes, so it was not saved and cannot be restored`,
    };
  }
  const content = await readFile(path);
  return { kind: 'file', path, bytes: content.length, mode: stats.mode & 0o7777, content: content.toString('base64') };
}

async function rollbackEntry(entry: JournalEntry, result: RollbackResult): Promise<void> {
  if (entry.kind === 'unrestorable') {
    result.unrestorable.push({ path: entry.path, reason: entry.reason });
    return;
  }
  if (entry.kind === 'file') {
    // The directory may have been deleted since (by a shell command): recreate it.
    await mkdir(dirname(entry.path), { recursive: true });
    // Replaced, not written in place: a hard link or symlink put there since cannot carry the content elsewhere.
    await replaceFile(entry.path, Buffer.from(entry.content, 'base64'), entry.mode);
    result.restored.push(entry.path);
    return;
  }
  const stats = await lstatIfExists(entry.path);
  if (stats?.isDirectory() === true) throw new Error('it is now a directory; not removing a directory the journal did not record');
  if (stats !== undefined) {
    await unlink(entry.path);
    result.removed.push(entry.path);
  }
  for (const directory of entry.createdDirectories) {
    try {
      await rmdir(directory);
      result.removed.push(directory);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Not empty: something else lives there now, so it stays. Already gone: nothing to do.
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw error;
    }
  }
}

/** The ancestors of a future file that do not exist yet, deepest first. */
async function missingDirectories(directory: string): Promise<string[]> {
  const missing: string[] = [];
  let current = directory;
  while ((await lstatIfExists(current)) === undefined) {
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return missing;
}
