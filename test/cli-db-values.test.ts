import { describe, expect, it } from 'vitest';
import { categoryOf, dependencyOrder, selfReferences, type ColumnShape, type TableShape } from '../src/adapters/storage/copy/copy-schema.js';
import { comparable, comparisonCategory, toTarget } from '../src/adapters/storage/copy/copy-values.js';

// What `colony db copy` converts between dialects, and how it compares rows afterwards.

const column = (name: string, type: string): ColumnShape => ({ name, type, category: categoryOf(type), serial: false });
const sqliteJson = column('input', 'text');
const pgJson = column('input', 'jsonb');

describe('copy values between SQLite and PostgreSQL', () => {
  it('keeps JSON text as it is into jsonb, and turns parsed jsonb back into JSON text (a JSON string stays a string)', () => {
    expect(toTarget('{"b":1,"a":[1,2]}', sqliteJson, pgJson, 'postgres')).toBe('{"b":1,"a":[1,2]}');
    expect(toTarget({ b: 1, a: [1, 2] }, pgJson, sqliteJson, 'sqlite')).toBe('{"b":1,"a":[1,2]}');
    // jsonb's "42" comes back from pg as the JavaScript string 42: it must stay a JSON string.
    expect(toTarget('42', pgJson, sqliteJson, 'sqlite')).toBe('"42"');
    expect(toTarget(42, pgJson, pgJson, 'postgres')).toBe('42');
    expect(toTarget(null, pgJson, sqliteJson, 'sqlite')).toBeNull();
  });

  it('passes blobs to pg as Buffers, and booleans as integers to SQLite', () => {
    const bytes = new Uint8Array([0, 1, 255]);
    const out = toTarget(bytes, column('data', 'blob'), column('data', 'bytea'), 'postgres');
    expect(Buffer.isBuffer(out)).toBe(true);
    expect([...(out as Buffer)]).toEqual([0, 1, 255]);
    expect(toTarget(1, column('flag', 'integer'), column('flag', 'boolean'), 'postgres')).toBe(true);
    expect(toTarget(false, column('flag', 'boolean'), column('flag', 'integer'), 'sqlite')).toBe(0);
  });

  it('compares JSON by meaning (key order, parsed or text), blobs by bytes, numbers by value', () => {
    const category = comparisonCategory(sqliteJson, pgJson);
    expect(category).toBe('json');
    expect(comparable('{"b":1,"a":2}', sqliteJson, category)).toBe(comparable({ a: 2, b: 1 }, pgJson, category));
    expect(comparable('"42"', sqliteJson, category)).toBe(comparable('42', pgJson, category));
    expect(comparable('"42"', sqliteJson, category)).not.toBe(comparable(42, pgJson, category));
    expect(comparable(new Uint8Array([1, 2]), column('d', 'blob'), 'bytes')).toBe(comparable(Buffer.from([1, 2]), column('d', 'bytea'), 'bytes'));
    expect(comparable(1, column('n', 'integer'), 'number')).toBe(comparable(true, column('n', 'boolean'), 'number'));
  });
});

describe('copy order', () => {
  const table = (name: string, references: string[] = []): TableShape => ({
    name,
    columns: [],
    primaryKey: ['id'],
    foreignKeys: references.map((r) => ({ columns: [`${r}_id`], references: r })),
  });

  it('puts every table after the tables it references; a reference to itself is left to the copy', () => {
    const order = dependencyOrder([table('votes', ['proposals']), table('tasks', ['tasks', 'agents']), table('proposals', ['tasks']), table('agents')]).map((t) => t.name);
    expect(order).toEqual(['agents', 'tasks', 'proposals', 'votes']);
    expect(selfReferences(table('tasks', ['tasks', 'agents']))).toEqual(['tasks_id']);
  });
});
