import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

/**
 * The yaml library, loaded on the first call (Node keeps it after that): importing Colony, and the
 * commands and programs that read no YAML, do not pay for its 70 modules. Synchronous, so that the
 * parsers using it stay synchronous. On Node it is the same module instance an `import` would give.
 */
export function loadYaml(): typeof Yaml {
  return createRequire(import.meta.url)('yaml') as typeof Yaml;
}
