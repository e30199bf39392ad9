import { describe, expect, it } from 'vitest';
import { LATEST_MIGRATION } from '../src/adapters/storage/sql/migration-latest.js';
import { colonyMigrations } from '../src/adapters/storage/sql/migrations.js';

describe('migrations', () => {
  it('LATEST_MIGRATION names the newest migration, so up-to-date stores can skip the migrator', () => {
    for (const dialect of ['sqlite', 'postgres'] as const) {
      const names = Object.keys(colonyMigrations(dialect)).sort();
      expect(names[names.length - 1]).toBe(LATEST_MIGRATION);
    }
  });

  it('migration names sort in the order they must run', () => {
    const names = Object.keys(colonyMigrations('sqlite'));
    expect(names).toEqual([...names].sort());
    for (const n of names) expect(n).toMatch(/^\d{4}_[a-z0-9_]+$/);
  });
});
