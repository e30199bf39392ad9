import { open, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Colony } from '../../app/colony.js';
import { ColonyError, ValidationError } from '../../domain/errors.js';
import type { JsonValue } from '../../domain/json.js';
import { embedderLabel } from '../../memory/embedder-label.js';
import { readJsonl } from '../../memory/memory-jsonl.js';
import type { EmbedderInfo, MemoryManager, MemorySearchResult, MemoryStats, SearchMode } from '../../memory/memory-manager.js';
import { checkKey, checkNamespace, checkTags, checkTtl, checkValue } from '../../memory/memory-validation.js';
import { MAX_MEMORY_VALUE_BYTES, type MemoryEntry } from '../../ports/memory-store.js';
import type { GlobalOptions } from '../cli-context.js';
import { withColony } from '../cli-context.js';
import { color, isoTime, printJson, printTable, println, truncate } from '../output.js';

/**
 * `colony memory store|get|delete|list|search|export|import|stats|gc`: the tiered memory from a
 * terminal. Input is checked before the project is opened, so bad input writes nothing (not even an
 * empty database). Exit codes: 3 for a key that does not exist, 4 for a version conflict, 2 for bad
 * input.
 */

export const DEFAULT_CLI_NAMESPACE = 'default';
/** A value file larger than this is refused before it is read (the value limit is checked precisely after). */
const VALUE_FILE_MAX_BYTES = 16 * MAX_MEMORY_VALUE_BYTES;
/** How long `stats` waits for a configured Redis to connect before reporting it down. */
const REDIS_CONNECT_WAIT_MS = 1_500;

interface NamespaceOption {
  namespace?: string;
}

export async function memoryStoreCommand(
  key: string,
  value: string | undefined,
  options: GlobalOptions & NamespaceOption & { ttl?: string; tags?: string[]; expectVersion?: number; file?: string },
): Promise<void> {
  const namespace = checkNamespace(options.namespace ?? DEFAULT_CLI_NAMESPACE);
  checkKey(key);
  if (value !== undefined && options.file !== undefined) throw new ValidationError('give the value as an argument or with --file, not both');
  if (value === undefined && options.file === undefined) throw new ValidationError('a value is required: colony memory store <key> <value>, or --file <path> (- for stdin)');
  const parsed = parseValue(value ?? (await readValueFile(options.file as string)));
  checkValue(parsed);
  const tags = checkTags(options.tags);
  const ttlMs = options.ttl === undefined ? undefined : checkTtl(parseSeconds('--ttl', options.ttl) * 1000, 'option --ttl');
  const expectedVersion = options.expectVersion === undefined ? undefined : options.expectVersion === 0 ? null : options.expectVersion;

  await withColony(options, 'cli', async (colony) => {
    const memory = await colony.memory();
    const entry = await memory.store(namespace, key, parsed, {
      tags,
      ...(ttlMs === undefined ? {} : { ttlMs }),
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    });
    await embedNow(memory);
    if (options.json) return printJson(entry);
    const expiry = entry.expiresAt === null ? '' : `, expires ${isoTime(entry.expiresAt)}`;
    println(`${color.green('✓')} stored ${entry.namespace}/${entry.key} (version ${entry.version}, ${entry.size} bytes${expiry})`);
  });
}

export async function memoryGetCommand(key: string, options: GlobalOptions & NamespaceOption): Promise<void> {
  const namespace = checkNamespace(options.namespace ?? DEFAULT_CLI_NAMESPACE);
  checkKey(key);
  await withColony(
    options,
    'cli',
    async (colony) => {
      const entry = await (await colony.memory()).retrieve(namespace, key);
      if (entry === undefined) throw notFound(namespace, key);
      if (options.json) return printJson(entry);
      println(color.dim(`${entry.namespace}/${entry.key}  version ${entry.version}  ${describeEntry(entry)}`));
      println(typeof entry.value === 'string' ? entry.value : JSON.stringify(entry.value, null, 2));
    },
    {},
    { mustExist: true },
  );
}

export async function memoryDeleteCommand(key: string, options: GlobalOptions & NamespaceOption & { expectVersion?: number }): Promise<void> {
  const namespace = checkNamespace(options.namespace ?? DEFAULT_CLI_NAMESPACE);
  checkKey(key);
  await withColony(
    options,
    'cli',
    async (colony) => {
      const deleted = await (await colony.memory()).delete(namespace, key, options.expectVersion === undefined ? {} : { expectedVersion: options.expectVersion });
      if (!deleted) throw notFound(namespace, key);
      if (options.json) return printJson({ namespace, key, deleted: true });
      println(`${color.green('✓')} deleted ${namespace}/${key}`);
    },
    {},
    { mustExist: true },
  );
}

export async function memoryListCommand(options: GlobalOptions & NamespaceOption & { prefix?: string; tags?: string[]; limit: number; offset: number }): Promise<void> {
  const filter = listFilter(options);
  await withColony(
    options,
    'cli',
    async (colony) => {
      const entries = await (await colony.memory()).list({ ...filter, limit: options.limit, offset: options.offset });
      if (options.json) return printJson(entries);
      printTable(
        ['NAMESPACE', 'KEY', 'VER', 'SIZE', 'TAGS', 'UPDATED', 'EXPIRES', 'VALUE'],
        entries.map((e) => [
          e.namespace,
          e.key,
          String(e.version),
          String(e.size),
          e.tags.join(',') || '-',
          isoTime(e.updatedAt),
          isoTime(e.expiresAt),
          truncate(preview(e.value), 50),
        ]),
      );
    },
    {},
    { mustExist: true },
  );
}

export async function memorySearchCommand(query: string, options: GlobalOptions & NamespaceOption & { mode: string; limit: number; tags?: string[] }): Promise<void> {
  const mode = searchMode(options.mode);
  const filter = listFilter(options);
  await withColony(
    options,
    'cli',
    async (colony) => {
      const memory = await colony.memory();
      // Entries written by processes that exited before embedding them are embedded first.
      if (mode !== 'keyword') await embedNow(memory);
      const result = await memory.search(query, { ...filter, limit: options.limit, mode });
      if (options.json) return printJson({ ...result, embedder: result.embedder === null ? null : { ...result.embedder, label: embedderText(result.embedder) } });
      println(color.dim(searchHeading(result)));
      printTable(
        ['SCORE', 'FOUND BY', 'NAMESPACE', 'KEY', 'VALUE'],
        result.hits.map((h) => [h.score.toFixed(4), h.matchedBy.join('+'), h.entry.namespace, h.entry.key, truncate(preview(h.entry.value), 60)]),
      );
    },
    {},
    { mustExist: true },
  );
}

export async function memoryExportCommand(file: string, options: GlobalOptions & NamespaceOption & { prefix?: string; tags?: string[] }): Promise<void> {
  const filter = listFilter(options);
  await withColony(
    options,
    'cli',
    async (colony) => {
      const memory = await colony.memory();
      if (file === '-') {
        // stdout carries the JSON Lines (with --json too: they are the machine-readable output).
        await memory.exportJsonl(process.stdout, filter);
        return;
      }
      // Written beside the target and renamed at the end, so a failed export leaves no half file.
      const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
      const handle = await openFile(temporary, 'w', 'export file', file);
      let result: { entries: number };
      try {
        const stream = handle.createWriteStream();
        result = await memory.exportJsonl(stream, filter);
        await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
        await rename(temporary, file);
      } catch (error) {
        await handle.close().catch(() => undefined);
        await rm(temporary, { force: true });
        throw error;
      }
      if (options.json) return printJson({ file, entries: result.entries });
      println(`${color.green('✓')} exported ${result.entries} entr${result.entries === 1 ? 'y' : 'ies'} to ${file}`);
    },
    {},
    { mustExist: true },
  );
}

export async function memoryImportCommand(file: string, options: GlobalOptions & { overwrite?: boolean }): Promise<void> {
  const text = file === '-' ? await readStdin() : await readTextFile(file, 'import file');
  // Every line is checked before the project is opened: a bad line refuses the import, naming it.
  await readJsonl(text, Date.now());
  await withColony(options, 'cli', async (colony) => {
    const memory = await colony.memory();
    const result = await memory.importJsonl(text, { mode: options.overwrite ? 'overwrite' : 'skip' });
    await embedNow(memory);
    if (options.json) return printJson(result);
    const parts = [`${result.imported} imported`, `${result.skipped} skipped (already there${options.overwrite ? '' : '; --overwrite replaces them'})`];
    if (result.expired > 0) parts.push(`${result.expired} already expired (not written)`);
    println(`${color.green('✓')} ${result.entries} entr${result.entries === 1 ? 'y' : 'ies'} read: ${parts.join(', ')}`);
  });
}

export async function memoryStatsCommand(options: GlobalOptions): Promise<void> {
  await withColony(
    options,
    'cli',
    async (colony) => {
      const stats = await statsAfterConnecting(await colony.memory());
      if (options.json) return printJson(stats);
      printStats(colony, stats);
    },
    {},
    { mustExist: true },
  );
}

export async function memoryGcCommand(options: GlobalOptions): Promise<void> {
  await withColony(
    options,
    'cli',
    async (colony) => {
      const result = await (await colony.memory()).gc();
      if (options.json) return printJson(result);
      println(`${color.green('✓')} removed ${result.removed} expired entr${result.removed === 1 ? 'y' : 'ies'}`);
    },
    {},
    { mustExist: true },
  );
}

/** An option's number of seconds: more than zero, fractions allowed. */
export function parseSeconds(name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new ValidationError(`option ${name}: expected a positive number of seconds, got "${value}"`, { details: { field: name } });
  }
  return n;
}

/** A command-line value: JSON when it parses as JSON, else the text itself. */
export function parseValue(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

function listFilter(options: NamespaceOption & { prefix?: string; tags?: string[] }): { namespace?: string; keyPrefix?: string; tags?: string[] } {
  return {
    ...(options.namespace === undefined ? {} : { namespace: checkNamespace(options.namespace) }),
    ...(options.prefix === undefined ? {} : { keyPrefix: options.prefix }),
    ...(options.tags === undefined || options.tags.length === 0 ? {} : { tags: checkTags(options.tags) }),
  };
}

function searchMode(mode: string): SearchMode {
  if (mode === 'keyword' || mode === 'semantic' || mode === 'hybrid') return mode;
  throw new ValidationError(`option --mode: expected keyword, semantic or hybrid, got "${mode}"`);
}

function notFound(namespace: string, key: string): ColonyError {
  return new ColonyError('not_found', `no memory ${namespace}/${key} (never stored, deleted or expired)`, { details: { namespace, key } });
}

/** Embeds what is not embedded yet; a failing embedder is a warning (keyword search still works), never an error. */
async function embedNow(memory: MemoryManager): Promise<void> {
  const run = await memory.flushEmbeddings();
  if (run.error !== null) process.stderr.write(`colony: warning: entries not embedded (${run.error}); semantic search misses them until the embedder works\n`);
}

function embedderText(embedder: EmbedderInfo): string {
  return embedderLabel(embedder);
}

function searchHeading(result: MemorySearchResult): string {
  const n = `${result.hits.length} hit${result.hits.length === 1 ? '' : 's'}`;
  if (result.embedder === null) return `${n}, keyword search (BM25)`;
  return `${n}, ${result.mode} search; embedder ${embedderText(result.embedder)}`;
}

function describeEntry(entry: MemoryEntry): string {
  const parts = [`${entry.size} bytes`, `updated ${isoTime(entry.updatedAt)}`];
  if (entry.tags.length > 0) parts.push(`tags ${entry.tags.join(',')}`);
  if (entry.expiresAt !== null) parts.push(`expires ${isoTime(entry.expiresAt)}`);
  return parts.join('  ');
}

function preview(value: JsonValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A configured Redis connects in the background: give it a moment, so that stats do not report a healthy Redis as down. */
async function statsAfterConnecting(memory: MemoryManager): Promise<MemoryStats> {
  let stats = await memory.stats();
  const deadline = Date.now() + REDIS_CONNECT_WAIT_MS;
  while (stats.l2.configured && !stats.l2.healthy && Date.now() < deadline) {
    await sleep(50);
    stats = await memory.stats();
  }
  return stats;
}

function printStats(colony: Colony, s: MemoryStats): void {
  const rows: [string, string][] = [
    ['entries', `${s.entries} live, ${s.expired} expired not yet collected (colony memory gc)`],
    ['namespaces', s.namespaces.map((n) => `${n.namespace} (${n.entries})`).join(', ') || '-'],
    ['stored', `${s.storedBytes} bytes for ${s.logicalBytes} bytes of values${s.storageRatio === null ? '' : ` (ratio ${s.storageRatio.toFixed(2)}: compression and deduplication)`}`],
    ['embedder', s.embedder === null ? 'none (keyword search only)' : `${embedderText(s.embedder)}, ${s.embeddings} vectors`],
    ['L1', `in this process: ${s.l1.entries} entries, ${s.l1.bytes} of ${s.l1.maxBytes} bytes`],
    ['L2', l2Text(s)],
    ['L3', `the database, ${colony.storeLocation}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) println(`${color.bold(k.padEnd(width))}  ${v}`);
}

function l2Text(s: MemoryStats): string {
  if (!s.l2.configured) return 'none: no Redis configured (memory.redisUrl); memory runs on L1 and the database';
  if (s.l2.healthy) return `${color.green('healthy')}: ${s.l2.description}`;
  return `${color.red('down')}: ${s.l2.description}; memory runs on L1 and the database until it answers (${s.l2.pendingDeletes} keys to clean up then)`;
}

async function readValueFile(file: string): Promise<string> {
  return file === '-' ? readStdin() : readTextFile(file, 'value file');
}

async function readTextFile(file: string, what: string): Promise<string> {
  const handle = await openFile(file, 'r', what);
  try {
    const { size } = await handle.stat();
    if (what === 'value file' && size > VALUE_FILE_MAX_BYTES) {
      throw new ValidationError(`${what} ${file} is ${size} bytes; a value is at most ${MAX_MEMORY_VALUE_BYTES} bytes of JSON`, { details: { field: 'value', bytes: size } });
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** Opens a file; a missing or unwritable one is bad input (exit 2) naming `shown` (the file the user gave). */
async function openFile(file: string, flags: 'r' | 'w', what: string, shown = file): Promise<Awaited<ReturnType<typeof open>>> {
  try {
    return await open(file, flags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    if (flags === 'r') throw new ValidationError(code === 'ENOENT' ? `${what} not found: ${shown}` : `cannot read ${what} ${shown}: ${code}`);
    throw new ValidationError(`cannot write ${what} ${shown}: ${code === 'ENOENT' ? 'its directory does not exist' : code}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
