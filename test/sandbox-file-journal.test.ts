import { access, chmod, mkdir, mkdtemp, readFile, realpath, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExecutionError, ValidationError } from '../src/domain/errors.js';
import { FileJournal } from '../src/sandbox/file-journal.js';
import { JOURNAL_MAX_FILE_BYTES } from '../src/sandbox/sandbox-defaults.js';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('FileJournal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'colony-journal-')));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('restores a modified file to its first recorded content and mode', async () => {
    const file = join(dir, 'a.txt');
    await writeFile(file, 'original\n');
    await chmod(file, 0o640);
    const journal = new FileJournal();
    await journal.beforeWrite(file);
    await writeFile(file, 'first change\n');
    await journal.beforeWrite(file); // recorded once: the second call must not capture "first change"
    await writeFile(file, 'second change\n');
    await chmod(file, 0o600);

    expect(await journal.rollback()).toEqual({ restored: [file], removed: [], unrestorable: [] });
    expect(await readFile(file, 'utf8')).toBe('original\n');
    expect((await stat(file)).mode & 0o777).toBe(0o640);
  });

  it('removes a created file and the directories created for it, when empty', async () => {
    const file = join(dir, 'new', 'deep', 'b.txt');
    const journal = new FileJournal();
    await journal.beforeWrite(file);
    await mkdir(join(dir, 'new', 'deep'), { recursive: true });
    await writeFile(file, 'created');

    const result = await journal.rollback();
    expect(result.removed).toEqual([file, join(dir, 'new', 'deep'), join(dir, 'new')]);
    expect(await exists(join(dir, 'new'))).toBe(false);
  });

  it('keeps a created directory that something else now uses', async () => {
    const file = join(dir, 'shared', 'c.txt');
    const journal = new FileJournal();
    await journal.beforeWrite(file);
    await mkdir(join(dir, 'shared'));
    await writeFile(file, 'created');
    await writeFile(join(dir, 'shared', 'other.txt'), 'not journaled');

    expect((await journal.rollback()).removed).toEqual([file]);
    expect(await exists(join(dir, 'shared', 'other.txt'))).toBe(true);
  });

  it('restores a file that was deleted and then recreated', async () => {
    const file = join(dir, 'd.txt');
    await writeFile(file, 'before');
    const journal = new FileJournal();
    await journal.beforeWrite(file);
    await unlink(file);
    await writeFile(file, 'recreated');
    await journal.beforeWrite(file);

    await journal.rollback();
    expect(await readFile(file, 'utf8')).toBe('before');
  });

  it('restores a deleted file even when its directory was deleted too', async () => {
    const file = join(dir, 'gone', 'e.txt');
    await mkdir(join(dir, 'gone'));
    await writeFile(file, 'keep me');
    const journal = new FileJournal();
    await journal.beforeWrite(file);
    await rm(join(dir, 'gone'), { recursive: true });

    expect((await journal.rollback()).restored).toEqual([file]);
    expect(await readFile(file, 'utf8')).toBe('keep me');
  });

  it('survives a JSON round trip and rolls back from it', async () => {
    const changed = join(dir, 'changed.bin');
    const created = join(dir, 'created.txt');
    const binary = Buffer.from([0, 1, 2, 255, 254, 10]);
    await writeFile(changed, binary);
    const journal = new FileJournal();
    await journal.beforeWrite(changed);
    await journal.beforeWrite(created);
    await writeFile(changed, 'overwritten');
    await writeFile(created, 'new');

    const persisted = JSON.parse(JSON.stringify(journal)) as unknown;
    const revived = FileJournal.fromJSON(persisted);
    expect(revived.entries()).toEqual([
      { kind: 'file', path: changed, bytes: binary.length },
      { kind: 'absent', path: created },
    ]);
    const result = await revived.rollback();
    expect(result.restored).toEqual([changed]);
    expect(result.removed).toEqual([created]);
    expect(await readFile(changed)).toEqual(binary);
    expect(await exists(created)).toBe(false);
    expect(revived.entries()).toEqual([]);
  });

  it('records a file over the cap as not restorable, and says so on rollback', async () => {
    const big = join(dir, 'big.dat');
    await writeFile(big, '');
    await truncate(big, JOURNAL_MAX_FILE_BYTES + 1); // sparse: no real disk use
    const journal = new FileJournal();
    await journal.beforeWrite(big);
    const [entry] = journal.entries();
    expect(entry).toMatchObject({ kind: 'unrestorable', path: big, bytes: JOURNAL_MAX_FILE_BYTES + 1 });
    expect(JSON.stringify(journal).length).toBeLessThan(1000);

    const result = await FileJournal.fromJSON(JSON.parse(JSON.stringify(journal))).rollback();
    expect(result.unrestorable).toEqual([{ path: big, reason: expect.stringMatching(/over the journal's limit .* cannot be restored/) }]);
  });

  it('records a file once under concurrent calls', async () => {
    const file = join(dir, 'f.txt');
    await writeFile(file, 'v1');
    const journal = new FileJournal();
    await Promise.all([journal.beforeWrite(file), journal.beforeWrite(file), journal.beforeWrite(file)]);
    expect(journal.entries()).toHaveLength(1);
  });

  it('reports failures after trying every entry, and keeps them for a retry', async () => {
    const file = join(dir, 'g.txt');
    const becomesDirectory = join(dir, 'h');
    await writeFile(file, 'v1');
    const journal = new FileJournal();
    await journal.beforeWrite(file);
    await journal.beforeWrite(becomesDirectory);
    await writeFile(file, 'v2');
    await mkdir(becomesDirectory);

    await expect(journal.rollback()).rejects.toBeInstanceOf(ExecutionError);
    expect(await readFile(file, 'utf8')).toBe('v1');
    expect(journal.entries()).toEqual([{ kind: 'absent', path: becomesDirectory }]);
  });

  it('refuses relative paths, directories and malformed JSON', async () => {
    const journal = new FileJournal();
    await expect(journal.beforeWrite('relative.txt')).rejects.toBeInstanceOf(ValidationError);
    await expect(journal.beforeWrite(dir)).rejects.toBeInstanceOf(ValidationError);
    expect(() => FileJournal.fromJSON({ version: 2, entries: [] })).toThrow(ValidationError);
    expect(() => FileJournal.fromJSON({ version: 1, entries: [{ kind: 'file', path: 'x', bytes: 1, mode: 420, content: 'eA==' }] })).toThrow(/absolute/);
  });
});
