import { readFileSync } from 'node:fs';

/** Colony's version, from its package.json (read when asked). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
