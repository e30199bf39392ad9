import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The image's own environment, read from the Dockerfile's ENV lines (continuations joined). */
export function dockerfileEnv(repoRoot: string): Record<string, string> {
  const text = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const env: Record<string, string> = {};
  for (const line of text.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const [, key, value] of line.slice(4).matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)) env[key as string] = value as string;
  }
  return env;
}
