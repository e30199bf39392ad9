import type { ColumnCategory, ColumnShape } from './copy-schema.js';

/**
 * Values between dialects. SQLite keeps JSON as text and PostgreSQL as jsonb (which `pg` hands back
 * parsed); blobs arrive as Uint8Array and go to `pg` as Buffer (bytea); booleans are integers on
 * SQLite. Everything else (text, integers, doubles) passes as it is.
 */
export function toTarget(value: unknown, from: ColumnShape, to: ColumnShape, targetKind: 'sqlite' | 'postgres'): unknown {
  if (value === null || value === undefined) return null;
  // A parsed jsonb value goes back to JSON text, whichever side: a JSON string `"42"` must not become the text 42.
  let out = from.category === 'json' ? JSON.stringify(value) : value;
  if (out instanceof Uint8Array && !Buffer.isBuffer(out)) out = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  if (to.category === 'boolean' && typeof out === 'number') out = out !== 0;
  if (targetKind === 'sqlite' && typeof out === 'boolean') out = out ? 1 : 0;
  return out;
}

/** How a column's values compare after the copy: JSON by meaning, blobs by bytes, numbers by value. */
export function comparisonCategory(source: ColumnShape, target: ColumnShape): ColumnCategory {
  const both = [source.category, target.category];
  for (const category of ['json', 'bytes', 'number', 'boolean'] as const) if (both.includes(category)) return category;
  return 'text';
}

/**
 * A value of `column` in a form that is equal on both sides when the copy kept it. JSON compares by
 * meaning (jsonb reorders keys): parsed already when the column is jsonb, from its text otherwise.
 */
export function comparable(value: unknown, column: ColumnShape, category: ColumnCategory): string | number | null {
  if (value === null || value === undefined) return null;
  switch (category) {
    case 'json':
      return canonicalJson(column.category === 'json' || typeof value !== 'string' ? value : parseOrKeep(value));
    case 'bytes':
      return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex') : String(value);
    case 'number':
    case 'boolean':
      return typeof value === 'boolean' ? (value ? 1 : 0) : Number(value);
    default:
      return String(value);
  }
}

function parseOrKeep(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Bytes a row takes in memory, roughly: to keep a batch of large values (memory blobs) small. */
export function rowBytes(row: Record<string, unknown>): number {
  let bytes = 0;
  for (const value of Object.values(row)) {
    if (typeof value === 'string') bytes += value.length;
    else if (value instanceof Uint8Array) bytes += value.byteLength;
    else if (value !== null && typeof value === 'object') bytes += JSON.stringify(value).length;
    else bytes += 8;
  }
  return bytes;
}
