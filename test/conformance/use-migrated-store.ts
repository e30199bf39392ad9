import { afterEach, beforeEach } from 'vitest';
import type { Store } from '../../src/ports/store.js';

export type CreateStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

/**
 * The per-test store of a conformance suite: a fresh store from `create`, migrated, before each test;
 * closed and cleaned up after it. Call inside the suite's `describe`; read the store through the getter.
 */
export function useMigratedStore<S extends Pick<Store, 'migrate' | 'close'> = Store>(create: () => Promise<{ store: S; cleanup: () => Promise<void> }>): () => S {
  let store: S;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ store, cleanup } = await create());
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
    await cleanup();
  });
  return () => store;
}
