import { ValidationError } from '../../../domain/errors.js';
import {
  MAX_MEMORY_KEY_LENGTH,
  MAX_MEMORY_METADATA_BYTES,
  MAX_MEMORY_TAG_LENGTH,
  MAX_MEMORY_TAGS,
  MAX_MEMORY_VALUE_BYTES,
  MEMORY_NAMESPACE_PATTERN,
  type MemorySearchFilter,
  type MemoryWrite,
} from '../../../ports/memory-store.js';

/**
 * Checks of what callers hand to the MemoryStore port, run before anything is written. Nothing here
 * is SQLite-specific: another adapter uses the same checks so that every adapter refuses the same
 * input with the same messages.
 */

/** Nesting deeper than this is refused (and keeps the checks below far from the stack limit). */
export const MAX_MEMORY_VALUE_DEPTH = 256;
/** Embedding model names are identifiers, not documents. */
export const MAX_EMBEDDING_MODEL_LENGTH = 256;
/** sqlite-vec's own limit on a vector's length. */
export const MAX_EMBEDDING_DIMENSIONS = 8192;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

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

export function checkNamespace(namespace: unknown, field = 'namespace'): string {
  if (typeof namespace !== 'string' || !MEMORY_NAMESPACE_PATTERN.test(namespace)) {
    throw invalid(
      `memory ${field} ${JSON.stringify(namespace)} is invalid: use 1 to 64 of a-z 0-9 _ . : - starting with a letter or digit`,
      field,
    );
  }
  return namespace;
}

export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw invalid('memory key must be a non-empty string', 'key');
  if (codePoints(key) > MAX_MEMORY_KEY_LENGTH) {
    throw invalid(`memory key is longer than ${MAX_MEMORY_KEY_LENGTH} characters`, 'key');
  }
  if (CONTROL_CHARACTERS.test(key)) throw invalid('memory key contains a control character', 'key');
  return key;
}

export function checkAddress(namespace: unknown, key: unknown): void {
  checkNamespace(namespace);
  checkKey(key);
}

export function checkTime(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`memory ${field} must be a finite number (epoch ms)`, field);
  return value;
}

export function checkCount(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw invalid(`memory ${field} must be an integer of at least ${min}`, field);
  }
  return value;
}

export function checkExpectedVersion(expected: unknown): void {
  if (expected === undefined || expected === null) return;
  checkCount(expected, 'expectedVersion', 1);
}

export function checkTags(tags: unknown, field = 'tags'): string[] {
  if (!Array.isArray(tags)) throw invalid(`memory ${field} must be an array of strings`, field);
  if (tags.length > MAX_MEMORY_TAGS) throw invalid(`memory ${field}: more than ${MAX_MEMORY_TAGS} tags`, field);
  const unique = new Set<string>();
  for (const tag of tags as unknown[]) {
    if (typeof tag !== 'string' || tag.length === 0 || codePoints(tag) > MAX_MEMORY_TAG_LENGTH || CONTROL_CHARACTERS.test(tag)) {
      throw invalid(
        `memory ${field}: ${JSON.stringify(tag)} is not a tag (1 to ${MAX_MEMORY_TAG_LENGTH} characters, no control characters)`,
        field,
      );
    }
    unique.add(tag);
  }
  return [...unique];
}

/** Validates a whole write; returns the JSON texts to store. Throws ValidationError naming the problem. */
export function checkMemoryWrite(entry: MemoryWrite): CheckedWrite {
  if (typeof entry !== 'object' || entry === null) throw invalid('memory write must be an object', 'entry');
  checkAddress(entry.namespace, entry.key);
  checkJson(entry.value, 'value', 0, new Set());
  const json = JSON.stringify(entry.value);
  const size = Buffer.byteLength(json, 'utf8');
  if (size > MAX_MEMORY_VALUE_BYTES) {
    throw new ValidationError(`memory value is ${size} bytes of JSON; the limit is ${MAX_MEMORY_VALUE_BYTES}`, {
      details: { field: 'value', size, limit: MAX_MEMORY_VALUE_BYTES },
    });
  }
  const tags = checkTags(entry.tags);
  if (typeof entry.metadata !== 'object' || entry.metadata === null || Array.isArray(entry.metadata)) {
    throw invalid('memory metadata must be a JSON object', 'metadata');
  }
  checkJson(entry.metadata, 'metadata', 0, new Set());
  const metadataJson = JSON.stringify(entry.metadata);
  if (Buffer.byteLength(metadataJson, 'utf8') > MAX_MEMORY_METADATA_BYTES) {
    throw invalid(`memory metadata is larger than ${MAX_MEMORY_METADATA_BYTES} bytes of JSON`, 'metadata');
  }
  if (entry.expiresAt !== null) checkTime(entry.expiresAt, 'expiresAt');
  checkTime(entry.at, 'at');
  return { json, size, tags, metadataJson };
}

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

export function checkModel(model: unknown): string {
  if (typeof model !== 'string' || model.length === 0 || model.length > MAX_EMBEDDING_MODEL_LENGTH || CONTROL_CHARACTERS.test(model)) {
    throw invalid(`embedding model must be a name of 1 to ${MAX_EMBEDDING_MODEL_LENGTH} characters`, 'model');
  }
  return model;
}

/** A vector usable for cosine search: 1 to 8192 finite components, not all zero. */
export function checkVector(vector: unknown): Float32Array {
  if (!(vector instanceof Float32Array)) throw invalid('embedding vector must be a Float32Array', 'vector');
  if (vector.length === 0 || vector.length > MAX_EMBEDDING_DIMENSIONS) {
    throw invalid(`embedding vector has ${vector.length} dimensions; 1 to ${MAX_EMBEDDING_DIMENSIONS} are accepted`, 'vector');
  }
  let nonZero = false;
  for (const x of vector) {
    if (!Number.isFinite(x)) throw invalid('embedding vector has a component that is not a finite number', 'vector');
    if (x !== 0) nonZero = true;
  }
  if (!nonZero) throw invalid('embedding vector is all zeros: it has no direction to compare', 'vector');
  return vector;
}

/** Accepts exactly what JSON represents, so that what is read back equals what was written. */
function checkJson(value: unknown, path: string, depth: number, ancestors: Set<object>): void {
  if (depth > MAX_MEMORY_VALUE_DEPTH) throw invalid(`memory ${path}: nested deeper than ${MAX_MEMORY_VALUE_DEPTH} levels`, rootOf(path));
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw invalid(`memory ${path}: ${String(value)} is not a JSON number`, rootOf(path));
      return;
    case 'object': {
      if (value === null) return;
      if (ancestors.has(value)) throw invalid(`memory ${path}: refers to itself (a cycle)`, rootOf(path));
      ancestors.add(value);
      if (Array.isArray(value)) {
        value.forEach((item: unknown, i) => {
          if (item === undefined) throw invalid(`memory ${path}[${i}]: undefined is not JSON`, rootOf(path));
          checkJson(item, `${path}[${i}]`, depth + 1, ancestors);
        });
      } else {
        const proto = Object.getPrototypeOf(value) as unknown;
        if (proto !== Object.prototype && proto !== null) {
          throw invalid(`memory ${path}: only plain objects are JSON (got ${describeObject(value)})`, rootOf(path));
        }
        for (const [name, item] of Object.entries(value)) {
          if (item === undefined) throw invalid(`memory ${path}.${name}: undefined is not JSON`, rootOf(path));
          checkJson(item, `${path}.${name}`, depth + 1, ancestors);
        }
      }
      ancestors.delete(value);
      return;
    }
    case 'undefined':
      throw invalid(`memory ${path}: undefined is not JSON`, rootOf(path));
    default:
      throw invalid(`memory ${path}: a ${typeof value} is not JSON`, rootOf(path));
  }
}

function rootOf(path: string): string {
  return path.split(/[.[]/)[0] ?? path;
}

function describeObject(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a prototype';
}

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}
