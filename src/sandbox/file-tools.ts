import type { Stats } from 'node:fs';
import { lstat, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { ValidationError } from '../domain/errors.js';
import { compileUntrustedGlob, type UntrustedGlob } from '../security/untrusted-glob.js';
import { compileUntrustedRegex, type UntrustedRegex } from '../security/untrusted-regex.js';
import type { FileJournal } from './file-journal.js';
import {
  FILE_READ_DEFAULT_LINES,
  FILE_READ_MAX_FILE_BYTES,
  FILE_READ_MAX_OUTPUT_BYTES,
  FILE_WRITE_MAX_BYTES,
  LIST_MAX_ENTRIES,
  SEARCH_MAX_FILE_BYTES,
  SEARCH_MAX_FILES,
  SEARCH_MAX_LINE_CHARS,
  SEARCH_MAX_MATCH_CHARS,
  SEARCH_MAX_PATTERN_CHARS,
  SEARCH_MAX_RESULTS,
  SEARCH_MAX_TOTAL_BYTES,
  SEARCH_YIELD_EVERY_BYTES,
} from './sandbox-defaults.js';
import { looksBinary, readTextFile, toToolError, writeTextFile } from './text-file.js';
import { walkDirectory, type WalkEntryType } from './workspace-walk.js';
import type { WorkspaceGuard } from './workspace-guard.js';

export interface FileToolsOptions {
  guard: WorkspaceGuard;
  journal: FileJournal;
}

/** Paths in results are workspace-relative with `/` separators: what the agent would type back. */
export interface ReadFileResult {
  path: string;
  content: string;
  /** 1-based number of the first line returned (0 when none). */
  startLine: number;
  endLine: number;
  totalLines: number;
  truncated: boolean;
  /** The `offset` that continues the read, or null at the end of the file. */
  nextOffset: number | null;
}

export interface WriteFileResult {
  path: string;
  bytes: number;
  created: boolean;
}

export interface EditFileResult {
  path: string;
  replacements: number;
}

export interface ListedEntry {
  path: string;
  type: WalkEntryType;
  size?: number;
}

export interface ListFilesResult {
  path: string;
  entries: ListedEntry[];
  truncated: boolean;
}

export interface SearchMatch {
  path: string;
  line: number;
  text: string;
}

export interface SearchFilesResult {
  matches: SearchMatch[];
  filesSearched: number;
  truncated: boolean;
}

/**
 * The file tools agents use: every path goes through the WorkspaceGuard, every write is recorded in
 * the FileJournal before it happens (so a task's changes can be rolled back), and every result is a
 * plain JSON-serializable object, bounded by the caps in sandbox-defaults.ts.
 */
export class FileTools {
  readonly #guard: WorkspaceGuard;
  readonly #journal: FileJournal;

  constructor(options: FileToolsOptions) {
    this.#guard = options.guard;
    this.#journal = options.journal;
  }

  /** Reads lines: `offset` lines are skipped (0-based), at most `limit` returned, within an output cap. */
  async readFile(path: string, options: { offset?: number; limit?: number } = {}): Promise<ReadFileResult> {
    const offset = options.offset ?? 0;
    const limit = options.limit ?? FILE_READ_DEFAULT_LINES;
    requireInteger('offset', offset, 0);
    requireInteger('limit', limit, 1);
    const absolute = await this.#guard.resolve(path, 'read');
    const shown = await this.#guard.toRelative(absolute);
    const text = await readTextFile(absolute, shown, FILE_READ_MAX_FILE_BYTES);
    const lines = splitLines(text);
    if (offset > 0 && offset >= lines.length) {
      throw new ValidationError(`offset ${offset} is past the end of ${shown} (${lines.length} lines)`, { details: { path: shown, offset, totalLines: lines.length } });
    }
    const picked: string[] = [];
    let bytes = 0;
    let cut = false;
    for (const line of lines.slice(offset, offset + limit)) {
      const lineBytes = Buffer.byteLength(line) + 1;
      if (bytes + lineBytes > FILE_READ_MAX_OUTPUT_BYTES) {
        // A single line over the cap (minified code) is returned cut rather than not at all.
        if (picked.length === 0) picked.push(cutToBytes(line, FILE_READ_MAX_OUTPUT_BYTES));
        cut = true;
        break;
      }
      picked.push(line);
      bytes += lineBytes;
    }
    const endLine = offset + picked.length;
    const more = endLine < lines.length;
    return {
      path: shown,
      content: picked.join('\n'),
      startLine: picked.length === 0 ? 0 : offset + 1,
      endLine,
      totalLines: lines.length,
      truncated: more || cut,
      nextOffset: more ? endLine : null,
    };
  }

  async writeFile(path: string, content: string): Promise<WriteFileResult> {
    if (typeof content !== 'string') throw new ValidationError('content must be a string');
    const bytes = Buffer.byteLength(content);
    if (bytes > FILE_WRITE_MAX_BYTES) throw new ValidationError(`content is ${bytes} bytes, over the ${FILE_WRITE_MAX_BYTES}-byte limit`, { details: { bytes } });
    const absolute = await this.#guard.resolve(path, 'write');
    const shown = await this.#guard.toRelative(absolute);
    const existing = await lstatOrUndefined(absolute, shown);
    if (existing?.isDirectory() === true) throw new ValidationError(`${shown} is a directory, not a file`, { details: { path: shown } });
    await this.#write(absolute, shown, content);
    return { path: shown, bytes, created: existing === undefined };
  }

  /** Replaces `oldText` by `newText`: it must occur exactly once, or at least once with `replaceAll`. */
  async editFile(path: string, edit: { oldText: string; newText: string; replaceAll?: boolean }): Promise<EditFileResult> {
    if (typeof edit.oldText !== 'string' || edit.oldText === '') throw new ValidationError('oldText must be a non-empty string');
    if (typeof edit.newText !== 'string') throw new ValidationError('newText must be a string');
    if (edit.oldText === edit.newText) throw new ValidationError('oldText and newText are the same: nothing to change');
    const absolute = await this.#guard.resolve(path, 'write');
    const shown = await this.#guard.toRelative(absolute);
    const text = await readTextFile(absolute, shown, FILE_WRITE_MAX_BYTES);
    const pieces = text.split(edit.oldText);
    const occurrences = pieces.length - 1;
    if (occurrences === 0) throw new ValidationError(`oldText was not found in ${shown}`, { details: { path: shown } });
    if (occurrences > 1 && edit.replaceAll !== true) {
      throw new ValidationError(`oldText occurs ${occurrences} times in ${shown}: include more surrounding text to pick one, or set replaceAll`, {
        details: { path: shown, occurrences },
      });
    }
    // split/join, not String.replace: "$&" and friends in newText must stay literal.
    const updated = pieces.join(edit.newText);
    if (Buffer.byteLength(updated) > FILE_WRITE_MAX_BYTES) throw new ValidationError(`the edited ${shown} would exceed ${FILE_WRITE_MAX_BYTES} bytes`);
    await this.#write(absolute, shown, updated);
    return { path: shown, replacements: occurrences };
  }

  async listFiles(path: string, options: { recursive?: boolean; maxEntries: number }): Promise<ListFilesResult> {
    requireInteger('maxEntries', options.maxEntries, 1);
    const maxEntries = Math.min(options.maxEntries, LIST_MAX_ENTRIES);
    const absolute = await this.#guard.resolve(path, 'read');
    const shown = await this.#guard.toRelative(absolute);
    await requireDirectory(absolute, shown);
    const entries: ListedEntry[] = [];
    let truncated = false;
    try {
      for await (const entry of walkDirectory(absolute, options.recursive === true)) {
        if (entries.length >= maxEntries) {
          truncated = true;
          break;
        }
        const listed: ListedEntry = { path: await this.#guard.toRelative(entry.path), type: entry.type };
        const size = entry.type === 'file' ? await sizeOf(entry.path) : undefined;
        if (size !== undefined) listed.size = size;
        entries.push(listed);
      }
    } catch (error) {
      throw toToolError(error, shown);
    }
    return { path: shown, entries, truncated };
  }

  /**
   * Searches text files for a regular expression, line by line. The pattern is matched by RE2 (see
   * untrusted-regex.ts), in time linear in each line, so no pattern can stall the process; RE2 has
   * no backreferences or lookaround. Skips `.git`, `node_modules`, symlinks, binary files, files over
   * SEARCH_MAX_FILE_BYTES and lines over SEARCH_MAX_LINE_CHARS, and stops after SEARCH_MAX_FILES files
   * or `maxResults` matches. `glob` filters files: without `/` it is matched against the file name,
   * with `/` against the workspace-relative path (in linear time too: see untrusted-glob.ts).
   */
  async searchFiles(pattern: string, options: { path?: string; glob?: string; maxResults: number; ignoreCase?: boolean }): Promise<SearchFilesResult> {
    requireInteger('maxResults', options.maxResults, 1);
    const maxResults = Math.min(options.maxResults, SEARCH_MAX_RESULTS);
    const regex = compilePattern(pattern, options.ignoreCase === true);
    const glob = options.glob === undefined ? undefined : compileUntrustedGlob(options.glob);
    const absolute = await this.#guard.resolve(options.path ?? '.', 'read');
    const shown = await this.#guard.toRelative(absolute);
    const matches: SearchMatch[] = [];
    let filesSearched = 0;
    let bytesRead = 0;
    let bytesSinceYield = 0;
    let truncated = false;

    for await (const file of this.#searchableFiles(absolute, shown, glob)) {
      if (filesSearched >= SEARCH_MAX_FILES || matches.length >= maxResults || bytesRead >= SEARCH_MAX_TOTAL_BYTES) {
        truncated = true;
        break;
      }
      filesSearched++;
      const text = await readSearchable(file.absolute);
      if (text === undefined) continue;
      bytesRead += text.length;
      const lines = splitLines(text);
      for (let index = 0; index < lines.length; index++) {
        // Without the `\r` of a CRLF file, so that `$` matches at the end of the line.
        const trimmed = lines[index]!.replace(/\r$/, '');
        if (trimmed.length > SEARCH_MAX_LINE_CHARS) continue;
        bytesSinceYield += trimmed.length;
        if (bytesSinceYield >= SEARCH_YIELD_EVERY_BYTES) {
          bytesSinceYield = 0;
          await yieldToEventLoop();
        }
        if (!regex.test(trimmed)) continue;
        if (matches.length >= maxResults) {
          truncated = true;
          break;
        }
        matches.push({ path: file.shown, line: index + 1, text: trimmed.length > SEARCH_MAX_MATCH_CHARS ? `${trimmed.slice(0, SEARCH_MAX_MATCH_CHARS)}…` : trimmed });
      }
    }
    return { matches, filesSearched, truncated };
  }

  async *#searchableFiles(absolute: string, shown: string, glob: UntrustedGlob | undefined): AsyncGenerator<{ absolute: string; shown: string }> {
    const stats = await statOrThrow(absolute, shown);
    if (!stats.isDirectory()) {
      yield { absolute, shown };
      return;
    }
    try {
      for await (const entry of walkDirectory(absolute, true)) {
        if (entry.type !== 'file') continue;
        const relative = await this.#guard.toRelative(entry.path);
        if (glob !== undefined && !glob.matches(glob.source.includes('/') ? relative : entry.name)) continue;
        yield { absolute: entry.path, shown: relative };
      }
    } catch (error) {
      throw toToolError(error, shown);
    }
  }

  /** Journal first, then create parent directories, then write. */
  async #write(absolute: string, shown: string, content: string): Promise<void> {
    try {
      await this.#journal.beforeWrite(absolute);
      await mkdir(dirname(absolute), { recursive: true });
    } catch (error) {
      throw toToolError(error, shown);
    }
    await writeTextFile(absolute, shown, content);
  }
}

/** Lines without their `\n`; a final newline does not start another line. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The longest prefix of `text` within `maxBytes` of UTF-8, without half a character at the end. */
function cutToBytes(text: string, maxBytes: number): string {
  return Buffer.from(text).subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
}

function compilePattern(pattern: string, ignoreCase: boolean): UntrustedRegex {
  if (typeof pattern !== 'string' || pattern === '') throw new ValidationError('pattern must be a non-empty regular expression');
  if (pattern.length > SEARCH_MAX_PATTERN_CHARS) throw new ValidationError(`pattern is longer than ${SEARCH_MAX_PATTERN_CHARS} characters`);
  return compileUntrustedRegex(pattern, ignoreCase ? 'i' : '');
}

/** A file's text when it is small and not binary; undefined otherwise (skipped, not an error). */
async function readSearchable(path: string): Promise<string | undefined> {
  try {
    const stats = await stat(path);
    if (stats.size > SEARCH_MAX_FILE_BYTES) return undefined;
    const content = await readFile(path);
    return looksBinary(content) ? undefined : content.toString('utf8');
  } catch {
    return undefined; // deleted or unreadable since the walk saw it
  }
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new ValidationError(`${name} must be an integer of at least ${min}`, { details: { [name]: value } });
}

async function statOrThrow(path: string, shown: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (error) {
    throw toToolError(error, shown);
  }
}

async function requireDirectory(path: string, shown: string): Promise<void> {
  if (!(await statOrThrow(path, shown)).isDirectory()) throw new ValidationError(`${shown} is not a directory`, { details: { path: shown } });
}

async function lstatOrUndefined(path: string, shown: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw toToolError(error, shown);
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await lstat(path)).size;
  } catch {
    return undefined;
  }
}
