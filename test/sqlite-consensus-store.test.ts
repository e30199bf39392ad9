import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../src/adapters/storage/sqlite/sqlite-store.js';
import { runConsensusStoreConformance } from './conformance/consensus-store.js';

runConsensusStoreConformance('sqlite (temp file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'colony-consensus-'));
  return {
    store: new SqliteStore({ path: join(dir, 'colony.db'), busyTimeoutMs: 5_000 }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
