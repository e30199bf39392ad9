import { describeMs, MAX_EPOCH_MS, MAX_MEMORY_TTL_MS } from '../domain/bounds.js';
import { ValidationError } from '../domain/errors.js';
import type { JsonValue } from '../domain/json.js';
import { MAX_JSON_DEPTH } from '../domain/json-depth.js';
import {
  MAX_MEMORY_BATCH_BYTES,
  MAX_MEMORY_BATCH_ENTRIES,
  MAX_MEMORY_KEY_LENGTH,
  MAX_MEMORY_METADATA_BYTES,
  MAX_MEMORY_TAG_LENGTH,
  MAX_MEMORY_TAGS,
  MAX_MEMORY_VALUE_BYTES,
  MEMORY_NAMESPACE_PATTERN,
} from '../ports/memory-store.js';

/**
 * The one copy of memory's input checks, with the L3 port's limits: the manager runs them at its
 * edge (so bad input is refused before any tier is touched), the REST, CLI and JSONL edges run them
 * on what they read, and every MemoryStore adapter runs them again (through memory-store-input.ts,
 * which names the store in its messages). Each throws ValidationError naming the field and the problem.
 */

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** Whether a text holds a C0 or C1 control character (names and keys must not). */
export function hasControlCharacters(text: string): boolean {
  return CONTROL_CHARACTERS.test(text);
}

export function checkNamespace(namespace: unknown, field = 'namespace'): string {
  if (typeof namespace !== 'string') throw new ValidationError(`${field} must be a string`, { details: { field } });
  if (!MEMORY_NAMESPACE_PATTERN.test(namespace)) {
    throw new ValidationError(
      `${field} ${JSON.stringify(namespace.slice(0, 80))} is invalid: use 1 to 64 lowercase letters, digits and _ . : -, starting with a letter or digit`,
      { details: { field } },
    );
  }
  return namespace;
}

export function checkKey(key: unknown, field = 'key'): string {
  if (typeof key !== 'string') throw new ValidationError(`${field} must be a string`, { details: { field } });
  if (key.length === 0) throw new ValidationError(`${field} must not be empty`, { details: { field } });
  const length = key.length > MAX_MEMORY_KEY_LENGTH ? codePoints(key) : key.length;
  if (length > MAX_MEMORY_KEY_LENGTH) {
    throw new ValidationError(`${field} is ${length} characters long, over the limit of ${MAX_MEMORY_KEY_LENGTH}`, { details: { field } });
  }
  if (CONTROL_CHARACTERS.test(key)) throw new ValidationError(`${field} must not contain control characters`, { details: { field } });
  return key;
}

/** A TTL in milliseconds: a positive number up to MAX_MEMORY_TTL_MS, ten years (or undefined: no expiry). */
export function checkTtl(ttlMs: unknown, field = 'ttlMs'): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new ValidationError(`${field} must be a positive number of milliseconds, got ${String(ttlMs)}`, { details: { field } });
  }
  if (ttlMs > MAX_MEMORY_TTL_MS) {
    throw new ValidationError(`${field} is ${ttlMs} ms, over the limit of ${MAX_MEMORY_TTL_MS} ms (${describeMs(MAX_MEMORY_TTL_MS)})`, {
      details: { field },
    });
  }
  return ttlMs;
}

/** An instant in epoch milliseconds, within what a Date can show (±MAX_EPOCH_MS). */
export function checkTime(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_EPOCH_MS) {
    throw new ValidationError(`${field} must be a time in epoch milliseconds (at most ${MAX_EPOCH_MS}), got ${String(value)}`, {
      details: { field },
    });
  }
  return value;
}

/** A whole number of at least `min`, within the safe integers. */
export function checkCount(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(`${field} must be an integer of at least ${min}, got ${String(value)}`, { details: { field } });
  }
  return value;
}

export function checkTags(tags: unknown, field = 'tags'): string[] {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) throw new ValidationError(`${field} must be an array of strings`, { details: { field } });
  if (tags.length > MAX_MEMORY_TAGS) {
    throw new ValidationError(`${field}: ${tags.length} tags, over the limit of ${MAX_MEMORY_TAGS}`, { details: { field } });
  }
  tags.forEach((tag: unknown, i) => {
    if (typeof tag !== 'string' || tag.length === 0) {
      throw new ValidationError(`${field}[${i}] must be a non-empty string`, { details: { field } });
    }
    if (tag.length > MAX_MEMORY_TAG_LENGTH && codePoints(tag) > MAX_MEMORY_TAG_LENGTH) {
      throw new ValidationError(`${field}[${i}] is longer than ${MAX_MEMORY_TAG_LENGTH} characters`, { details: { field } });
    }
    if (CONTROL_CHARACTERS.test(tag)) throw new ValidationError(`${field}[${i}] must not contain control characters`, { details: { field } });
  });
  return [...(tags as string[])];
}

/** Checks that `value` is plain JSON within the size limit; returns its JSON text. */
export function checkValue(value: unknown, field = 'value'): string {
  if (value === undefined) throw new ValidationError(`${field} is required`, { details: { field } });
  checkJson(value, field, 0, new Set());
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_MEMORY_VALUE_BYTES) {
    throw new ValidationError(`${field} is ${bytes} bytes of JSON, over the limit of ${MAX_MEMORY_VALUE_BYTES}`, { details: { field, bytes } });
  }
  return json;
}

export function checkMetadata(metadata: unknown, field = 'metadata'): Record<string, JsonValue> {
  if (metadata === undefined) return {};
  if (!isPlainObject(metadata)) throw new ValidationError(`${field} must be a JSON object`, { details: { field } });
  checkJson(metadata, field, 0, new Set());
  const bytes = Buffer.byteLength(JSON.stringify(metadata), 'utf8');
  if (bytes > MAX_MEMORY_METADATA_BYTES) {
    throw new ValidationError(`${field} is ${bytes} bytes of JSON, over the limit of ${MAX_MEMORY_METADATA_BYTES}`, { details: { field, bytes } });
  }
  return metadata as Record<string, JsonValue>;
}

export function checkExpectedVersion(expectedVersion: unknown): number | null | undefined {
  if (expectedVersion === undefined || expectedVersion === null) return expectedVersion;
  if (typeof expectedVersion !== 'number' || !Number.isSafeInteger(expectedVersion) || expectedVersion < 1) {
    throw new ValidationError(`expectedVersion must be a positive integer or null, got ${String(expectedVersion)}`, {
      details: { field: 'expectedVersion' },
    });
  }
  return expectedVersion;
}

export function checkLimit(limit: unknown, max: number, field = 'limit'): number {
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > max) {
    throw new ValidationError(`${field} must be an integer from 1 to ${max}, got ${String(limit)}`, { details: { field } });
  }
  return limit;
}

export function checkOffset(offset: unknown): number {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new ValidationError(`offset must be a non-negative integer, got ${String(offset)}`, { details: { field: 'offset' } });
  }
  return offset;
}

/** A batch of writes: an array of at most MAX_MEMORY_BATCH_ENTRIES entries. */
export function checkBatch<T>(entries: unknown, field = 'entries'): readonly T[] {
  if (!Array.isArray(entries)) throw new ValidationError(`${field} must be an array`, { details: { field } });
  if (entries.length > MAX_MEMORY_BATCH_ENTRIES) {
    throw new ValidationError(`${field}: ${entries.length} entries, over the limit of ${MAX_MEMORY_BATCH_ENTRIES} per batch`, {
      details: { field, entries: entries.length },
    });
  }
  return entries as readonly T[];
}

/** A batch's values together (bytes of their JSON): at most MAX_MEMORY_BATCH_BYTES. */
export function checkBatchBytes(bytes: number, field = 'entries'): void {
  if (bytes > MAX_MEMORY_BATCH_BYTES) {
    throw new ValidationError(`${field}: ${bytes} bytes of values, over the limit of ${MAX_MEMORY_BATCH_BYTES} per batch`, {
      details: { field, bytes },
    });
  }
}

/**
 * Runs the checks of entry `index` of a batch: a ValidationError they throw comes out naming the
 * entry (`entries[3]: key must not be empty`, `details.index` 3, `details.field` kept).
 */
export function checkBatchEntry<R>(index: number, check: () => R, field = 'entries'): R {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError(`${field}[${index}]: ${error.message}`, { details: { ...error.details, index } });
  }
}

function checkJson(value: unknown, path: string, depth: number, ancestors: Set<object>): void {
  if (depth > MAX_JSON_DEPTH) throw new ValidationError(`${rootOf(path)} is nested more than ${MAX_JSON_DEPTH} levels deep`, { details: { field: rootOf(path) } });
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError(`${path} is ${value}, which JSON cannot hold`, { details: { field: path } });
    return;
  }
  if (typeof value === 'object' && ancestors.has(value)) {
    throw new ValidationError(`${path} refers to an object that contains it (a cycle), which JSON cannot hold`, { details: { field: rootOf(path) } });
  }
  if (Array.isArray(value)) {
    ancestors.add(value);
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new ValidationError(`${path}[${i}] is a hole in a sparse array, which JSON cannot hold`, { details: { field: path } });
      checkJson(value[i], `${path}[${i}]`, depth + 1, ancestors);
    }
    ancestors.delete(value);
    return;
  }
  if (isPlainObject(value)) {
    ancestors.add(value);
    for (const [k, v] of Object.entries(value)) checkJson(v, `${path}.${k}`, depth + 1, ancestors);
    ancestors.delete(value);
    return;
  }
  const kind = typeof value === 'object' ? (value as object).constructor?.name ?? 'object' : typeof value;
  throw new ValidationError(`${path} is a ${kind}, which is not plain JSON`, { details: { field: path } });
}

function rootOf(path: string): string {
  return path.split(/[.[]/)[0] ?? path;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Length in code points (a string's `length` counts UTF-16 units, so it is never smaller). */
function codePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xdc00 || unit > 0xdfff) n++;
  }
  return n;
}
