import { ValidationError } from '../domain/errors.js';
import type { MemoryEntry, MemorySearchFilter, MemoryWrite } from '../ports/memory-store.js';
import * as checks from './memory-validation.js';

/**
 * Checks of what callers hand to the MemoryStore port, which every adapter runs before anything is
 * written, so that every adapter refuses the same input with the same messages. They are memory's
 * own checks (memory-validation.ts, the one copy), with messages that say they come from the store
 * ("memory key must not be empty"). What only one storage engine limits (sqlite-vec's vector length)
 * stays in its adapter.
 */

/** Embedding model names are identifiers, not documents. */
export const MAX_EMBEDDING_MODEL_LENGTH = 256;

export interface CheckedWrite {
  /** The value's JSON text: what is hashed, stored and returned. */
  json: string;
  /** Bytes of `json` as UTF-8. */
  size: number;
  /** The tags, each once, in the order given. */
  tags: string[];
  metadataJson: string;
}

function invalid(message: string, field: string): ValidationError {
  return new ValidationError(message, { details: { field } });
}

/** A shared check whose ValidationError names the store: `memory <message>`. */
function portCheck<A extends unknown[], R>(check: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    try {
      return check(...args);
    } catch (error) {
      if (error instanceof ValidationError) throw new ValidationError(`memory ${error.message}`, { details: error.details });
      throw error;
    }
  };
}

export const checkNamespace = portCheck((namespace: unknown, field?: string) => checks.checkNamespace(namespace, field));
export const checkKey = portCheck((key: unknown) => checks.checkKey(key));
export const checkTime = portCheck(checks.checkTime);
export const checkCount = portCheck(checks.checkCount);
export const checkTags = portCheck((tags: unknown, field: string = 'tags'): string[] => {
  if (!Array.isArray(tags)) throw invalid(`${field} must be an array of strings`, field);
  return [...new Set(checks.checkTags(tags, field))];
});

export function checkAddress(namespace: unknown, key: unknown): void {
  checkNamespace(namespace);
  checkKey(key);
}

export function checkExpectedVersion(expected: unknown): void {
  if (expected === undefined || expected === null) return;
  checkCount(expected, 'expectedVersion', 1);
}

/** Validates a whole write; returns the JSON texts to store. Throws ValidationError naming the problem. */
export const checkMemoryWrite = portCheck((entry: MemoryWrite): CheckedWrite => checkWrite(entry));

function checkWrite(entry: MemoryWrite): CheckedWrite {
  if (typeof entry !== 'object' || entry === null) throw invalid('write must be an object', 'entry');
  checks.checkNamespace(entry.namespace);
  checks.checkKey(entry.key);
  const json = checks.checkValue(entry.value);
  const size = Buffer.byteLength(json, 'utf8');
  const tags = [...new Set(checks.checkTags(entry.tags))];
  if (typeof entry.metadata !== 'object' || entry.metadata === null || Array.isArray(entry.metadata)) {
    throw invalid('metadata must be a JSON object', 'metadata');
  }
  const metadataJson = JSON.stringify(checks.checkMetadata(entry.metadata));
  if (entry.expiresAt !== null) checks.checkTime(entry.expiresAt, 'expiresAt');
  checks.checkTime(entry.at, 'at');
  return { json, size, tags, metadataJson };
}

/**
 * Validates a whole batch of writes (putMany): each entry as `checkMemoryWrite`, errors naming the
 * entry's index; the batch's size and bytes within the port's limits. Checks everything before
 * anything is written, so that a bad entry leaves the store untouched.
 */
export const checkMemoryBatch = portCheck((entries: readonly MemoryWrite[]): CheckedWrite[] => {
  const batch = checks.checkBatch<MemoryWrite>(entries);
  const checked = batch.map((entry, i) => checks.checkBatchEntry(i, () => checkWrite(entry)));
  checks.checkBatchBytes(checked.reduce((n, c) => n + c.size, 0));
  return checked;
});

export function checkSearchFilter(filter: MemorySearchFilter): void {
  if (typeof filter !== 'object' || filter === null) throw invalid('memory search filter must be an object', 'filter');
  if (filter.namespace !== undefined) checkNamespace(filter.namespace);
  else if (filter.namespaces !== undefined) {
    if (!Array.isArray(filter.namespaces)) throw invalid('memory namespaces must be an array', 'namespaces');
    for (const ns of filter.namespaces) checkNamespace(ns, 'namespaces');
  }
  if (filter.tags !== undefined) checkTags(filter.tags);
  checkTime(filter.now, 'now');
  checkCount(filter.limit, 'limit', 0);
}

/** The writes of a batch restore, checked as `checkMemoryBatch` (restore's own checks too, by index). */
export function restoreBatchOf(entries: readonly MemoryEntry[], mode: unknown, now: number): { writes: MemoryWrite[]; checked: CheckedWrite[] } {
  if (mode !== 'skip' && mode !== 'overwrite') throw invalid("memory restore mode must be 'skip' or 'overwrite'", 'mode');
  checkTime(now, 'now');
  const batch = checkBatchShape(entries);
  const writes = batch.map((entry, i) => checkBatchIndex(i, () => restoreWriteOf(entry)));
  return { writes, checked: checkMemoryBatch(writes) };
}

const checkBatchShape = portCheck((entries: readonly MemoryEntry[]) => checks.checkBatch<MemoryEntry>(entries));
const checkBatchIndex = portCheck(<R>(i: number, check: () => R): R => checks.checkBatchEntry(i, check));

export function checkModel(model: unknown): string {
  if (typeof model !== 'string' || model.length === 0 || model.length > MAX_EMBEDDING_MODEL_LENGTH || checks.hasControlCharacters(model)) {
    throw invalid(`embedding model must be a name of 1 to ${MAX_EMBEDDING_MODEL_LENGTH} characters`, 'model');
  }
  return model;
}

/**
 * The write a restore makes of an exported entry (its own time as the write's), after checking the
 * counters it keeps: a version of at least 1 and an access count of at least 0, whole numbers.
 */
export function restoreWriteOf(entry: MemoryEntry): MemoryWrite {
  if (typeof entry !== 'object' || entry === null) throw invalid('restore: entry must be an object', 'entry');
  for (const [name, n] of [['version', entry.version], ['accessCount', entry.accessCount]] as const) {
    if (!Number.isInteger(n) || n < (name === 'version' ? 1 : 0)) {
      throw new ValidationError(`restore: ${name} must be a whole number, got ${n}`, { details: { field: name } });
    }
  }
  return {
    namespace: entry.namespace,
    key: entry.key,
    value: entry.value,
    tags: entry.tags,
    metadata: entry.metadata,
    expiresAt: entry.expiresAt,
    at: entry.updatedAt,
  };
}
