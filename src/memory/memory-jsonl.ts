import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { Writable } from 'node:stream';
import { ValidationError, isColonyError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import type { MemoryEntry } from '../ports/memory-store.js';
import { checkCount, checkKey, checkMetadata, checkNamespace, checkTags, checkTime, checkValue } from './memory-validation.js';

/**
 * Memory's exchange format: JSON Lines, one entry per line, with every field of a MemoryEntry
 * (namespace, key, value, version, tags, metadata, expiresAt, createdAt, updatedAt, accessedAt,
 * accessCount, size). On import only namespace, key and value are required; the rest default
 * (no tags, no metadata, no expiry, now); unknown fields are refused, so that a typo is not
 * silently dropped.
 */

/** Where export writes: a Node stream (backpressure respected; not ended) or a function per chunk. */
export type JsonlSink = Writable | ((chunk: string) => void | Promise<void>);
/** What import reads: a stream or any async iterable of text chunks, or the whole text. */
export type JsonlSource = AsyncIterable<string | Buffer | Uint8Array> | string;

/** Problems listed in an import error (the first is in the message; all of these in details). */
const MAX_REPORTED_PROBLEMS = 20;

const FIELDS = new Set([
  'namespace',
  'key',
  'value',
  'version',
  'tags',
  'metadata',
  'expiresAt',
  'createdAt',
  'updatedAt',
  'accessedAt',
  'accessCount',
  'size',
]);

export function entryToJsonLine(entry: MemoryEntry): string {
  const line: MemoryEntry = {
    namespace: entry.namespace,
    key: entry.key,
    value: entry.value,
    version: entry.version,
    tags: entry.tags,
    metadata: entry.metadata,
    expiresAt: entry.expiresAt,
    createdAt: entry.createdAt,
    updatedAt: entry.updatedAt,
    accessedAt: entry.accessedAt,
    accessCount: entry.accessCount,
    size: entry.size,
  };
  return `${JSON.stringify(line)}\n`;
}

export async function writeChunk(sink: JsonlSink, chunk: string): Promise<void> {
  if (typeof sink === 'function') {
    await sink(chunk);
    return;
  }
  if (!sink.write(chunk)) await once(sink, 'drain');
}

/** A validated import line: the entry as read (defaults filled in) and its value's JSON text. */
export interface ImportLine {
  line: number;
  entry: MemoryEntry;
  valueJson: string;
}

/**
 * Reads and validates every line. Throws one ValidationError naming the first bad line (and
 * listing up to MAX_REPORTED_PROBLEMS in `details.problems`) if any line is bad, so that the caller
 * writes nothing. Blank lines are skipped.
 */
export async function readJsonl(source: JsonlSource, now: number): Promise<ImportLine[]> {
  const lines: ImportLine[] = [];
  const problems: { line: number; message: string }[] = [];
  let problemCount = 0;
  const seen = new Map<string, number>();
  for await (const { number, text } of splitLines(source)) {
    if (text.trim() === '') continue;
    try {
      const parsed = parseLine(text, now);
      const id = `${parsed.entry.namespace}/${parsed.entry.key}`;
      const first = seen.get(id);
      if (first !== undefined) throw new ValidationError(`${parsed.entry.namespace}/${parsed.entry.key} already appears on line ${first}`);
      seen.set(id, number);
      lines.push({ line: number, ...parsed });
    } catch (error) {
      problemCount++;
      if (problems.length < MAX_REPORTED_PROBLEMS) {
        problems.push({ line: number, message: isColonyError(error) || error instanceof Error ? error.message : String(error) });
      }
    }
  }
  const first = problems[0];
  if (first !== undefined) {
    const more = problemCount > 1 ? ` (and ${problemCount - 1} more bad line${problemCount > 2 ? 's' : ''})` : '';
    throw new ValidationError(`import refused, nothing was written: line ${first.line}: ${first.message}${more}`, {
      details: { line: first.line, problems, problemCount },
    });
  }
  return lines;
}

function parseLine(text: string, now: number): { entry: MemoryEntry; valueJson: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`not valid JSON (${(error as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ValidationError('not a JSON object');
  const o = raw as Record<string, unknown>;
  const unknown = Object.keys(o).filter((field) => !FIELDS.has(field));
  if (unknown.length > 0) throw new ValidationError(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`);
  if (!('namespace' in o)) throw new ValidationError('namespace is missing');
  if (!('key' in o)) throw new ValidationError('key is missing');
  if (!('value' in o)) throw new ValidationError('value is missing');
  const namespace = checkNamespace(o.namespace);
  const key = checkKey(o.key);
  const valueJson = checkValue(o.value);
  const tags = checkTags(o.tags ?? []);
  const metadata = checkMetadata(o.metadata ?? {});
  const expiresAt = o.expiresAt === undefined || o.expiresAt === null ? null : time(o.expiresAt, 'expiresAt');
  const updatedAt = o.updatedAt === undefined ? now : time(o.updatedAt, 'updatedAt');
  const createdAt = o.createdAt === undefined ? updatedAt : time(o.createdAt, 'createdAt');
  const accessedAt = o.accessedAt === undefined ? updatedAt : time(o.accessedAt, 'accessedAt');
  const version = o.version === undefined ? 1 : checkCount(o.version, 'version', 1);
  const accessCount = o.accessCount === undefined ? 0 : checkCount(o.accessCount, 'accessCount', 0);
  const size = Buffer.byteLength(valueJson, 'utf8');
  if (o.size !== undefined && o.size !== size) {
    throw new ValidationError(`size is ${String(o.size)} but the value is ${size} bytes of JSON`);
  }
  if (createdAt > updatedAt) throw new ValidationError('createdAt is later than updatedAt');
  return {
    entry: { namespace, key, value: o.value as JsonValue, version, tags, metadata, expiresAt, createdAt, updatedAt, accessedAt, accessCount, size },
    valueJson,
  };
}

/** A time in a line: not before 1970, and within what a Date can show. */
function time(value: unknown, field: string): number {
  if (typeof value === 'number' && value < 0) throw new ValidationError(`${field} must be a time in epoch milliseconds, got ${JSON.stringify(value)}`);
  return checkTime(value, field);
}

/** Lines of a text stream, numbered from 1, decoding UTF-8 across chunk boundaries; CRLF and a BOM are accepted. */
async function* splitLines(source: JsonlSource): AsyncGenerator<{ number: number; text: string }> {
  const decoder = new StringDecoder('utf8');
  let buffered = '';
  let number = 0;
  const chunks: AsyncIterable<string | Buffer | Uint8Array> | string[] = typeof source === 'string' ? [source] : source;
  for await (const chunk of chunks) {
    buffered += typeof chunk === 'string' ? chunk : decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      yield { number: ++number, text: clean(buffered.slice(0, newline), number) };
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
  }
  buffered += decoder.end();
  if (buffered.length > 0) yield { number: ++number, text: clean(buffered, number) };
}

function clean(line: string, number: number): string {
  let text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text;
}
