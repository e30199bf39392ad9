import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/domain/errors.js';
import { checkCommand } from '../src/sandbox/command-policy.js';
import { compileUntrustedGlob, GLOB_MAX_EXPANSIONS } from '../src/security/untrusted-glob.js';

const PATHS = [
  'README.md',
  '.env',
  '.github/workflows/ci.yml',
  'src/index.ts',
  'src/lib/math.ts',
  'src/lib/math.test.ts',
  'src/.hidden/x.ts',
  'test/a.spec.js',
  'docs/guide/intro.md',
  'a',
  'ab',
  'abc',
  'a1',
  'a3',
  'file[1].txt',
  'x.tsx',
  'weird name.ts',
];

const GLOBS = [
  '*',
  '*.md',
  '*.ts',
  '**',
  '**/*.ts',
  'src/**',
  'src/**/*.ts',
  'src/*/*.ts',
  '**/lib/**',
  '.*',
  '.github/**',
  '*.{ts,tsx}',
  '{src,test}/**/*.{ts,js}',
  'a?',
  'a[bc]',
  'a[!b]*',
  'a[0-9]',
  'a{1..3}',
  '[[:alpha:]]*',
  '@(a|ab)',
  '+(a|b)',
  'a*(b|c)',
  '?(a)b*',
  'weird name.ts',
  'src/lib/math.ts',
  '*.test.ts',
  '**/*.test.ts',
];

describe('compileUntrustedGlob', () => {
  it('agrees with path.matchesGlob on common globs', () => {
    const disagreements: string[] = [];
    for (const glob of GLOBS) {
      const compiled = compileUntrustedGlob(glob);
      for (const path of PATHS) {
        const expected = posix.matchesGlob(path, glob);
        if (compiled.matches(path) !== expected) disagreements.push(`${glob} ${path}: expected ${expected}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('takes a backslash as an escape (matchesGlob turns it into a separator)', () => {
    expect(compileUntrustedGlob('file\\[1\\].txt').matches('file[1].txt')).toBe(true);
    expect(compileUntrustedGlob('file\\[1\\].txt').matches('file1.txt')).toBe(false);
    expect(compileUntrustedGlob('\\*.md').matches('*.md')).toBe(true);
    expect(compileUntrustedGlob('\\*.md').matches('README.md')).toBe(false);
  });

  it('matches a pathological glob in linear time, with the right answer', async () => {
    // path.matchesGlob backtracks through this for time growing as a power of the name's length.
    const glob = `${'*a'.repeat(25)}*c`;
    const name = 'a'.repeat(200);
    let immediateRan = false;
    const immediate = new Promise<void>((resolve) =>
      setImmediate(() => {
        immediateRan = true;
        resolve();
      }),
    );
    const compiled = compileUntrustedGlob(glob);
    expect([compiled.matches(name), compiled.matches(`${name}c`), compiled.matches(`dir/${name}c`)]).toEqual([false, true, false]);
    expect(compileUntrustedGlob(`**/${glob}`).matches(`${'d/'.repeat(200)}${name}b`)).toBe(false);
    await immediate;
    expect(immediateRan).toBe(true);
  });

  it('keeps a configured command pattern from stalling the shell policy on a long program name', () => {
    const deny = `${'*a'.repeat(25)}*c`;
    expect(checkCommand(`${'a'.repeat(200)} --flag`, { deny: [deny] })).toEqual({ allowed: true });
    expect(checkCommand(`${'a'.repeat(200)}c --flag`, { deny: [deny] })).toEqual({ allowed: false, reason: expect.stringContaining('matches the deny pattern') });
    expect(() => checkCommand('ls', { deny: ['!(git)'] })).toThrow(/negation/);
  });

  it('refuses negated extglobs and runaway brace expansion with a ValidationError', () => {
    expect(() => compileUntrustedGlob('!(a).ts')).toThrow(/negation !\(…\) is not supported/);
    expect(() => compileUntrustedGlob('{a,b}'.repeat(12))).toThrow(new RegExp(`more than ${GLOB_MAX_EXPANSIONS} alternatives`));
    expect(() => compileUntrustedGlob('{1..100000}')).toThrow(ValidationError);
    expect(() => compileUntrustedGlob('x'.repeat(2_000))).toThrow(/longer than/);
    expect(() => compileUntrustedGlob('')).toThrow(ValidationError);
  });
});
