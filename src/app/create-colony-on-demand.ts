import type { Colony, CreateColonyOptions } from './colony.js';

/**
 * The package's `createColony`: the composition root (some 200 modules, the logger among them) is
 * loaded on the first call, so that importing Colony costs little more than its exported constants
 * and schemas. Same signature and behaviour as app/colony.ts's, which it calls.
 */
export async function createColony(options: CreateColonyOptions = {}): Promise<Colony> {
  const { createColony: create } = await import('./colony.js');
  return create(options);
}
