import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../src/domain/errors.js';
import { FileJournal } from '../src/sandbox/file-journal.js';
import { FileTools } from '../src/sandbox/file-tools.js';
import { WorkspaceGuard } from '../src/sandbox/workspace-guard.js';

describe('FileTools', () => {
  let base: string;
  let root: string;
  let journal: FileJournal;
  let tools: FileTools;

  beforeEach(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'colony-tools-')));
    root = join(base, 'workspace');
    await mkdir(join(root, 'src', 'lib'), { recursive: true });
    await mkdir(join(root, 'node_modules', 'dep'), { recursive: true });
    await mkdir(join(root, '.git'));
    await writeFile(join(root, 'src', 'main.ts'), 'import { add } from "./lib/math";\nconsole.log(add(1, 2));\n');
    await writeFile(join(root, 'src', 'lib', 'math.ts'), 'export function add(a: number, b: number) {\n  return a + b;\n}\n');
    await writeFile(join(root, 'README.md'), '# Demo\nadd numbers\n');
    await writeFile(join(root, 'node_modules', 'dep', 'index.js'), 'function add() {}\n');
    await writeFile(join(root, '.git', 'config'), 'add = true\n');
    await writeFile(join(root, 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0x61, 0x64, 0x64]));
    await writeFile(join(base, 'outside.txt'), 'add outside\n');
    journal = new FileJournal();
    tools = new FileTools({ guard: new WorkspaceGuard(root), journal });
  });
  afterEach(async () => {
    await rm(base, { recursive: true, force: true });
  });

  describe('readFile', () => {
    it('reads a file with line numbers and paging', async () => {
      const whole = await tools.readFile('src/lib/math.ts');
      expect(whole).toEqual({
        path: 'src/lib/math.ts',
        content: 'export function add(a: number, b: number) {\n  return a + b;\n}',
        startLine: 1,
        endLine: 3,
        totalLines: 3,
        truncated: false,
        nextOffset: null,
      });
      const page = await tools.readFile('src/lib/math.ts', { offset: 1, limit: 1 });
      expect(page).toMatchObject({ content: '  return a + b;', startLine: 2, endLine: 2, truncated: true, nextOffset: 2 });
      expect(JSON.parse(JSON.stringify(page))).toEqual(page);
    });

    it('refuses binary files, missing files, bad offsets and paths outside', async () => {
      await expect(tools.readFile('image.png')).rejects.toThrow(/binary/);
      await expect(tools.readFile('missing.txt')).rejects.toBeInstanceOf(NotFoundError);
      await expect(tools.readFile('src/main.ts', { offset: 99 })).rejects.toThrow(/past the end/);
      await expect(tools.readFile('src/main.ts', { limit: 0 })).rejects.toBeInstanceOf(ValidationError);
      await expect(tools.readFile('../outside.txt')).rejects.toBeInstanceOf(ValidationError);
      await expect(tools.readFile('src')).rejects.toThrow(/is a directory/);
    });
  });

  describe('writeFile', () => {
    it('creates files (and parent directories) and journals them first', async () => {
      expect(await tools.writeFile('docs/guide/intro.md', '# Intro\n')).toEqual({ path: 'docs/guide/intro.md', bytes: 8, created: true });
      expect(await tools.writeFile('README.md', 'replaced\n')).toEqual({ path: 'README.md', bytes: 9, created: false });
      expect(await readFile(join(root, 'docs', 'guide', 'intro.md'), 'utf8')).toBe('# Intro\n');
      expect(journal.entries().map((entry) => [entry.kind, entry.path])).toEqual([
        ['absent', join(root, 'docs', 'guide', 'intro.md')],
        ['file', join(root, 'README.md')],
      ]);

      await journal.rollback();
      expect(await readFile(join(root, 'README.md'), 'utf8')).toBe('# Demo\nadd numbers\n');
      await expect(readFile(join(root, 'docs', 'guide', 'intro.md'))).rejects.toThrow(/ENOENT/);
      await expect(readFile(join(root, 'docs'))).rejects.toThrow(/ENOENT/);
    });

    it('refuses writes outside the workspace, through symlinks and into .git, changing nothing', async () => {
      await symlink(base, join(root, 'up'));
      await expect(tools.writeFile('../outside.txt', 'x')).rejects.toBeInstanceOf(ValidationError);
      await expect(tools.writeFile('up/outside.txt', 'x')).rejects.toBeInstanceOf(ValidationError);
      await expect(tools.writeFile('.git/config', 'x')).rejects.toThrow(/\.git/);
      await expect(tools.writeFile('src', 'x')).rejects.toThrow(/directory/);
      expect(await readFile(join(base, 'outside.txt'), 'utf8')).toBe('add outside\n');
      expect(await readFile(join(root, '.git', 'config'), 'utf8')).toBe('add = true\n');
      expect(journal.entries()).toEqual([]);
    });
  });

  describe('editFile', () => {
    it('replaces a unique occurrence, keeping "$" patterns literal', async () => {
      expect(await tools.editFile('src/lib/math.ts', { oldText: 'a + b', newText: "a + b + Number('$&')" })).toEqual({ path: 'src/lib/math.ts', replacements: 1 });
      expect(await readFile(join(root, 'src', 'lib', 'math.ts'), 'utf8')).toContain("return a + b + Number('$&');");
      await journal.rollback();
      expect(await readFile(join(root, 'src', 'lib', 'math.ts'), 'utf8')).toContain('return a + b;\n');
    });

    it('refuses text that is missing or ambiguous, unless replaceAll', async () => {
      await expect(tools.editFile('src/main.ts', { oldText: 'subtract', newText: 'x' })).rejects.toThrow(/not found in src\/main\.ts/);
      await expect(tools.editFile('src/main.ts', { oldText: 'add', newText: 'sum' })).rejects.toThrow(/occurs 2 times/);
      expect(journal.entries()).toEqual([]);
      expect(await tools.editFile('src/main.ts', { oldText: 'add', newText: 'sum', replaceAll: true })).toMatchObject({ replacements: 2 });
      expect(await readFile(join(root, 'src', 'main.ts'), 'utf8')).toBe('import { sum } from "./lib/math";\nconsole.log(sum(1, 2));\n');
    });

    it('refuses edits of files that do not exist or sit in .git', async () => {
      await expect(tools.editFile('nope.ts', { oldText: 'a', newText: 'b' })).rejects.toBeInstanceOf(NotFoundError);
      await expect(tools.editFile('.git/config', { oldText: 'add', newText: 'x' })).rejects.toBeInstanceOf(ValidationError);
    });
  });

  describe('listFiles', () => {
    it('lists one directory, sorted, with file sizes', async () => {
      const result = await tools.listFiles('src', { maxEntries: 100 });
      expect(result).toEqual({
        path: 'src',
        entries: [
          { path: 'src/lib', type: 'directory' },
          { path: 'src/main.ts', type: 'file', size: 58 },
        ],
        truncated: false,
      });
    });

    it('lists recursively without entering .git or node_modules or following symlinks', async () => {
      await symlink(base, join(root, 'up'));
      const result = await tools.listFiles('.', { recursive: true, maxEntries: 100 });
      expect(result.entries.map((entry) => `${entry.type}:${entry.path}`)).toEqual([
        'directory:.git',
        'file:README.md',
        'file:image.png',
        'directory:node_modules',
        'directory:src',
        'symlink:up',
        'directory:src/lib',
        'file:src/main.ts',
        'file:src/lib/math.ts',
      ]);
    });

    it('stops at maxEntries and says so', async () => {
      const result = await tools.listFiles('.', { recursive: true, maxEntries: 2 });
      expect(result.entries).toHaveLength(2);
      expect(result.truncated).toBe(true);
    });

    it('refuses paths outside and files', async () => {
      await expect(tools.listFiles('..', { maxEntries: 10 })).rejects.toBeInstanceOf(ValidationError);
      await expect(tools.listFiles('README.md', { maxEntries: 10 })).rejects.toThrow(/not a directory/);
    });
  });

  describe('searchFiles', () => {
    it('finds matching lines in text files, skipping .git, node_modules and binary files', async () => {
      const result = await tools.searchFiles('\\badd\\b', { maxResults: 50 });
      expect(result.matches).toEqual([
        { path: 'README.md', line: 2, text: 'add numbers' },
        { path: 'src/main.ts', line: 1, text: 'import { add } from "./lib/math";' },
        { path: 'src/main.ts', line: 2, text: 'console.log(add(1, 2));' },
        { path: 'src/lib/math.ts', line: 1, text: 'export function add(a: number, b: number) {' },
      ]);
      expect(result.truncated).toBe(false);
    });

    it('filters by glob and path and stops at maxResults', async () => {
      expect((await tools.searchFiles('add', { glob: '*.md', maxResults: 50 })).matches.map((match) => match.path)).toEqual(['README.md']);
      expect((await tools.searchFiles('add', { path: 'src/lib', maxResults: 50 })).matches.map((match) => match.path)).toEqual(['src/lib/math.ts']);
      expect((await tools.searchFiles('add', { glob: 'src/lib/**', maxResults: 50 })).matches).toHaveLength(1);
      const capped = await tools.searchFiles('add', { maxResults: 2 });
      expect(capped.matches).toHaveLength(2);
      expect(capped.truncated).toBe(true);
    });

    it('refuses invalid patterns and paths outside', async () => {
      await expect(tools.searchFiles('(unclosed', { maxResults: 10 })).rejects.toThrow(/invalid regular expression/);
      await expect(tools.searchFiles('add', { path: '../', maxResults: 10 })).rejects.toBeInstanceOf(ValidationError);
      await expect(tools.searchFiles('add', { maxResults: 0 })).rejects.toBeInstanceOf(ValidationError);
    });
  });
});
