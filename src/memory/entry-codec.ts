import { gunzipSync, gzipSync } from 'node:zlib';
import type { MemoryEntry } from '../ports/memory-store.js';

/**
 * How a memory entry travels through L2: one format byte, then the entry's JSON, gzip-compressed
 * when it is larger than a threshold (the seed's "GZIP compression for large values"). A reader
 * that meets a format byte it does not know (written by a newer Colony) treats it as a miss.
 */
const FORMAT_JSON = 0x01;
const FORMAT_GZIP_JSON = 0x02;

/**
 * Encodes `entry`. `valueJson`, when given, is the value's JSON text already at hand (it is spliced
 * in rather than serialised again).
 */
export function encodeEntry(entry: MemoryEntry, compressAboveBytes: number, valueJson?: string): Buffer {
  let json: string;
  if (valueJson === undefined) {
    json = JSON.stringify(entry);
  } else {
    const { value: _value, ...rest } = entry;
    // `rest` always has fields, so its JSON is `{…}`: open it and put the value first.
    json = `{"value":${valueJson},${JSON.stringify(rest).slice(1)}`;
  }
  const text = Buffer.from(json, 'utf8');
  if (text.length > compressAboveBytes) {
    const zipped = gzipSync(text);
    if (zipped.length < text.length) return Buffer.concat([Buffer.of(FORMAT_GZIP_JSON), zipped]);
  }
  return Buffer.concat([Buffer.of(FORMAT_JSON), text]);
}

/** Decodes what `encodeEntry` wrote; undefined for anything else (a foreign or corrupt value). */
export function decodeEntry(data: Buffer): MemoryEntry | undefined {
  if (data.length < 2) return undefined;
  try {
    const format = data[0];
    let text: Buffer;
    if (format === FORMAT_JSON) text = data.subarray(1);
    else if (format === FORMAT_GZIP_JSON) text = gunzipSync(data.subarray(1));
    else return undefined;
    const entry = JSON.parse(text.toString('utf8')) as unknown;
    return isEntry(entry) ? entry : undefined;
  } catch {
    return undefined;
  }
}

function isEntry(value: unknown): value is MemoryEntry {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.namespace === 'string' &&
    typeof e.key === 'string' &&
    'value' in e &&
    typeof e.version === 'number' &&
    Array.isArray(e.tags) &&
    typeof e.metadata === 'object' &&
    e.metadata !== null &&
    (e.expiresAt === null || typeof e.expiresAt === 'number') &&
    typeof e.createdAt === 'number' &&
    typeof e.updatedAt === 'number' &&
    typeof e.accessedAt === 'number' &&
    typeof e.accessCount === 'number' &&
    typeof e.size === 'number'
  );
}
