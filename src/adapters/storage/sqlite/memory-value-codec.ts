import { hash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * How memory values are stored: content-addressed by the SHA-256 of their JSON text (so identical
 * values are stored once, whatever their keys), and gzip-compressed above a size where compression
 * pays. gzip rather than brotli: any tool can read it back, and at level 6 it compresses JSON to a
 * quarter or less at over 100 MB/s. Callers of the port never see any of this.
 */

/** Values whose JSON is longer than this many bytes are compressed (when that makes them smaller). */
export const MEMORY_COMPRESSION_THRESHOLD_BYTES = 1024;
const GZIP_LEVEL = 6;

export interface EncodedValue {
  hash: string;
  data: Uint8Array;
  compressed: 0 | 1;
  /** Bytes of the JSON text. */
  size: number;
}

export function hashValueJson(json: string): string {
  return hash('sha256', json, 'hex');
}

export function encodeValue(json: string, hash: string = hashValueJson(json)): EncodedValue {
  const raw = Buffer.from(json, 'utf8');
  if (raw.byteLength > MEMORY_COMPRESSION_THRESHOLD_BYTES) {
    const packed = gzipSync(raw, { level: GZIP_LEVEL });
    // Incompressible text (already-encoded data) is kept as it is.
    if (packed.byteLength < raw.byteLength) return { hash, data: packed, compressed: 1, size: raw.byteLength };
  }
  return { hash, data: raw, compressed: 0, size: raw.byteLength };
}

/** The JSON text back from a stored blob. */
export function decodeValue(data: Uint8Array, compressed: number): string {
  const bytes = compressed === 1 ? gunzipSync(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return bytes.toString('utf8');
}
