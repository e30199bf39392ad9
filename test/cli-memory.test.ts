import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_EPOCH_MS, MAX_MEMORY_TTL_MS } from '../src/domain/bounds.js';
import { MAX_MEMORY_VALUE_BYTES } from '../src/ports/memory-store.js';
import { eventually, removeTempProjects, runCli, runJson, tempProject, type TempProject } from './support/cli.js';
import { insertLegacyMemoryRow, storedExpiry, unreadableExpiry } from './support/legacy-memory-row.js';

// `colony memory ...` as a person or a script runs it: the real CLI in temporary projects.

afterAll(() => removeTempProjects());

interface EntryJson {
  namespace: string;
  key: string;
  value: unknown;
  version: number;
  tags: string[];
  metadata: Record<string, unknown>;
  expiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  accessedAt: number;
  accessCount: number;
  size: number;
}

interface ErrorJson {
  error: { code: string; message: string };
}

const mem = (project: TempProject, ...args: string[]) => runCli(['memory', ...args], { cwd: project.dir });
const memJson = <T = unknown>(project: TempProject, ...args: string[]) => runJson<T>(['memory', ...args], { cwd: project.dir });

async function list(project: TempProject, ...args: string[]): Promise<EntryJson[]> {
  const { code, data } = await memJson<EntryJson[]>(project, 'list', ...args);
  expect(code).toBe(0);
  return data;
}

describe('colony memory store, get, list, delete', () => {
  it('stores JSON or text, reads it back, lists with filters, and deletes, with --json shapes and exit codes', async () => {
    const project = tempProject();
    // The first write creates the database; then several CLI processes write and read at once.
    const stored = await memJson<EntryJson>(project, 'store', 'api-style', '{"style":"REST","casing":"snake"}', '--tags', 'conventions,api');
    expect(stored.code).toBe(0);
    expect(stored.data).toMatchObject({ namespace: 'default', key: 'api-style', value: { style: 'REST', casing: 'snake' }, version: 1, tags: ['conventions', 'api'], expiresAt: null });
    const [greeting, answer, quoted, team, human] = await Promise.all([
      memJson<EntryJson>(project, 'store', 'greeting', 'hello there'),
      memJson<EntryJson>(project, 'store', 'answer', '42'),
      memJson<EntryJson>(project, 'store', 'quoted', '"42"'),
      memJson<EntryJson>(project, 'store', 'lead', 'alice', '--namespace', 'team:alpha', '--tags', 'people'),
      mem(project, 'store', 'rota', 'bob'),
    ]);
    expect(greeting.data.value).toBe('hello there');
    expect(answer.data.value).toBe(42);
    expect(quoted.data.value).toBe('42');
    expect(team.data).toMatchObject({ namespace: 'team:alpha', key: 'lead', value: 'alice' });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^✓ stored default\/rota \(version 1, 5 bytes\)/);

    // get: the entry with --json; the value for people; exit 3 for a key that is not there.
    const [got, shown, shownText, missing, otherNamespace, lead] = await Promise.all([
      memJson<EntryJson>(project, 'get', 'api-style'),
      mem(project, 'get', 'api-style'),
      mem(project, 'get', 'greeting'),
      memJson<ErrorJson>(project, 'get', 'nope'),
      mem(project, 'get', 'lead'),
      memJson<EntryJson>(project, 'get', 'lead', '--namespace', 'team:alpha'),
    ]);
    expect(got.code).toBe(0);
    expect(got.data).toMatchObject({ namespace: 'default', key: 'api-style', value: { style: 'REST', casing: 'snake' }, version: 1 });
    expect(shown.stdout).toContain('default/api-style  version 1');
    expect(shown.stdout).toContain('"style": "REST"');
    expect(shownText.stdout.split('\n')[1]).toBe('hello there');
    expect(missing.code).toBe(3);
    expect(missing.data.error).toEqual({ code: 'not_found', message: 'no memory default/nope (never stored, deleted or expired)', details: { namespace: 'default', key: 'nope' } });
    expect(otherNamespace.code).toBe(3);
    expect(lead.data.value).toBe('alice');

    // Optimistic versions: a stale --expect-version is a conflict (exit 4) and changes nothing.
    // A store replaces the whole entry: value and tags.
    expect((await memJson<EntryJson>(project, 'store', 'api-style', '{"style":"gRPC"}', '--expect-version', '1', '--tags', 'conventions')).data).toMatchObject({ version: 2, tags: ['conventions'] });
    const stale = await memJson<ErrorJson>(project, 'store', 'api-style', '{"style":"SOAP"}', '--expect-version', '1');
    expect(stale.code).toBe(4);
    expect(stale.data.error.code).toBe('conflict');
    expect(stale.data.error.message).toBe('memory default/api-style: expected version 1, found version 2');
    expect((await memJson<EntryJson>(project, 'get', 'api-style')).data).toMatchObject({ value: { style: 'gRPC' }, version: 2 });
    expect((await memJson<EntryJson>(project, 'store', 'fresh', 'x', '--expect-version', '0')).code).toBe(0);
    expect((await memJson<ErrorJson>(project, 'store', 'fresh', 'y', '--expect-version', '0')).code).toBe(4);

    // list: ordered by namespace then key; filters by namespace, prefix and tags; limit and offset.
    const all = await list(project);
    expect(all.map((e) => `${e.namespace}/${e.key}`)).toEqual([
      'default/answer',
      'default/api-style',
      'default/fresh',
      'default/greeting',
      'default/quoted',
      'default/rota',
      'team:alpha/lead',
    ]);
    const [byNamespace, byPrefix, byTag, byTags, page, table] = await Promise.all([
      list(project, '--namespace', 'team:alpha'),
      list(project, '--prefix', 'a'),
      list(project, '--tags', 'conventions'),
      list(project, '--tags', 'conventions,people'),
      list(project, '--limit', '2', '--offset', '1'),
      mem(project, 'list', '--namespace', 'team:alpha'),
    ]);
    expect(byNamespace.map((e) => e.key)).toEqual(['lead']);
    expect(byPrefix.map((e) => e.key)).toEqual(['answer', 'api-style']);
    expect(byTag.map((e) => e.key)).toEqual(['api-style']);
    expect(byTags.map((e) => e.key)).toEqual([]);
    expect(page.map((e) => e.key)).toEqual(['api-style', 'fresh']);
    expect(table.stdout).toMatch(/^NAMESPACE\s+KEY\s+VER\s+SIZE\s+TAGS\s+UPDATED\s+EXPIRES\s+VALUE\nteam:alpha\s+lead\s+1\s+7\s+people\s+\S+\s+-\s+alice\n$/);

    // delete: exit 3 for a missing key, 4 for a stale version.
    expect((await memJson<ErrorJson>(project, 'delete', 'api-style', '--expect-version', '1')).code).toBe(4);
    expect((await memJson(project, 'delete', 'api-style', '--expect-version', '2')).data).toEqual({ namespace: 'default', key: 'api-style', deleted: true });
    expect((await mem(project, 'delete', 'api-style')).code).toBe(3);
    expect((await mem(project, 'get', 'api-style')).code).toBe(3);
    expect((await mem(project, 'delete', 'rota')).stdout).toBe('✓ deleted default/rota\n');
  });

  it('read-only commands refuse to run where there is no database, and create none', async () => {
    const project = tempProject();
    const commands = [['get', 'k'], ['list'], ['search', 'x'], ['stats'], ['gc'], ['delete', 'k'], ['export', '-']];
    const results = await Promise.all(commands.map((args) => mem(project, ...args)));
    results.forEach((result, i) => {
      expect(result.code, commands[i]!.join(' ')).toBe(3);
      expect(result.stderr).toMatch(/no Colony database/);
    });
    expect(readdirSync(project.dir)).toEqual([]);
  });
});

describe('colony memory search', () => {
  it('searches by keyword, embedder or both, and says which embedder answered, labelling the local one lexical', async () => {
    const project = tempProject();
    await mem(project, 'store', 'deploy', 'We deploy to production every Thursday with blue green releases', '--tags', 'ops');
    await Promise.all([
      mem(project, 'store', 'testing', 'Unit tests run with vitest on every commit', '--tags', 'dev'),
      mem(project, 'store', 'ops-contact', 'Page the platform team for production incidents', '--tags', 'ops', '--namespace', 'team:ops'),
    ]);

    interface SearchJson {
      query: string;
      mode: string;
      embedder: { model: string; kind: string; local: boolean; label: string } | null;
      hits: { entry: EntryJson; score: number; matchedBy: string[] }[];
    }
    const [hybrid, keyword, inNamespace, withTag, semantic, human, keywordHuman, bad] = await Promise.all([
      memJson<SearchJson>(project, 'search', 'production deploy Thursday'),
      memJson<SearchJson>(project, 'search', 'production', '--mode', 'keyword'),
      memJson<SearchJson>(project, 'search', 'production', '--mode', 'keyword', '--namespace', 'team:ops'),
      memJson<SearchJson>(project, 'search', 'production', '--mode', 'keyword', '--tags', 'ops', '--limit', '1'),
      memJson<SearchJson>(project, 'search', 'vitest unit tests', '--mode', 'semantic', '--limit', '1'),
      mem(project, 'search', 'production deploy'),
      mem(project, 'search', 'production', '--mode', 'keyword'),
      mem(project, 'search', 'x', '--mode', 'fuzzy'),
    ]);
    expect(hybrid.code).toBe(0);
    expect(hybrid.data.mode).toBe('hybrid');
    expect(hybrid.data.embedder).toMatchObject({ model: 'colony-local-hash-384', kind: 'local', local: true });
    expect(hybrid.data.embedder?.label).toMatch(/local lexical embedder/);
    expect(hybrid.data.hits[0]?.entry.key).toBe('deploy');
    expect(hybrid.data.hits[0]?.matchedBy).toEqual(['keyword', 'semantic']);

    expect(keyword.data.embedder).toBeNull();
    expect(keyword.data.hits.map((h) => h.entry.key).sort()).toEqual(['deploy', 'ops-contact']);
    expect(inNamespace.data.hits.map((h) => h.entry.key)).toEqual(['ops-contact']);
    expect(withTag.data.hits).toHaveLength(1);
    expect(semantic.data.hits.map((h) => [h.entry.key, h.matchedBy])).toEqual([['testing', ['semantic']]]);

    expect(human.code).toBe(0);
    expect(human.stdout.split('\n')[0]).toMatch(/^\d hits?, hybrid search; embedder colony-local-hash-384 \(local lexical embedder: it matches shared words, not meaning\)$/);
    expect(human.stdout).toMatch(/\n\d\.\d{4}\s+keyword\+semantic\s+default\s+deploy\s+We deploy/);
    expect(keywordHuman.stdout.split('\n')[0]).toBe('2 hits, keyword search (BM25)');

    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--mode/);
  });
});

describe('colony memory export and import', () => {
  it('round-trips every entry into a fresh project: identical `list --json`', async () => {
    const source = tempProject();
    await mem(source, 'store', 'api-style', '{"style":"REST","versions":[1,2],"nested":{"ok":true,"none":null}}', '--tags', 'conventions,api');
    await mem(source, 'store', 'unicode', 'naïve café 東京 🚀');
    await mem(source, 'store', 'number', '3.25');
    await mem(source, 'store', 'lead', 'alice', '--namespace', 'team:alpha', '--ttl', '3600');
    await mem(source, 'store', 'big', JSON.stringify({ text: 'lorem ipsum '.repeat(500) }), '--namespace', 'shared');
    const before = await list(source);
    expect(before).toHaveLength(5);

    const exported = await memJson<{ file: string; entries: number }>(source, 'export', source.path('memory.jsonl'));
    expect(exported).toMatchObject({ code: 0, data: { file: source.path('memory.jsonl'), entries: 5 } });
    const text = readFileSync(source.path('memory.jsonl'), 'utf8');
    expect(text.trim().split('\n')).toHaveLength(5);
    expect(JSON.parse(text.split('\n')[0] as string)).toEqual(before[0]);
    expect((await mem(source, 'export', '-')).stdout).toBe(text);
    expect((await mem(source, 'export', '-', '--namespace', 'team:alpha')).stdout.trim().split('\n').map((l) => JSON.parse(l).key)).toEqual(['lead']);
    expect(readdirSync(source.dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    const nowhere = await mem(source, 'export', source.path('no', 'such', 'dir.jsonl'));
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toBe(`colony: cannot write export file ${source.path('no', 'such', 'dir.jsonl')}: its directory does not exist\n`);

    const target = tempProject();
    const imported = await memJson(target, 'import', source.path('memory.jsonl'));
    expect(imported).toMatchObject({ code: 0, data: { entries: 5, imported: 5, skipped: 0, expired: 0 } });
    expect(await list(target)).toEqual(before);

    // Again: existing entries are kept, unless --overwrite.
    expect((await memJson(target, 'import', source.path('memory.jsonl'))).data).toEqual({ entries: 5, imported: 0, skipped: 5, expired: 0 });
    const human = await mem(target, 'import', source.path('memory.jsonl'), '--overwrite');
    expect(human.stdout).toMatch(/^✓ 5 entries read: 5 imported, 0 skipped/);
    expect((await memJson<EntryJson>(target, 'get', 'big', '--namespace', 'shared')).data.value).toEqual(before.find((e) => e.key === 'big')?.value);
  });

  it('refuses a file with a malformed line, naming the line, and writes nothing', async () => {
    const project = tempProject();
    await mem(project, 'store', 'keep', 'me');
    const before = await list(project);
    const file = project.write(
      'bad.jsonl',
      [
        JSON.stringify({ namespace: 'default', key: 'one', value: 1 }),
        JSON.stringify({ namespace: 'default', key: 'two', value: 2 }),
        '{"namespace": "default", "key": "three", "value": ',
        JSON.stringify({ namespace: 'default', key: 'four', value: 4 }),
      ].join('\n'),
    );
    const refused = await mem(project, 'import', file);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^colony: import refused, nothing was written: line 3: not valid JSON/);
    expect(await list(project)).toEqual(before);

    const badNamespace = project.write('ns.jsonl', `${JSON.stringify({ namespace: 'default', key: 'ok', value: 1 })}\n${JSON.stringify({ namespace: 'Not Valid', key: 'k', value: 1 })}\n`);
    const json = await memJson<ErrorJson>(project, 'import', badNamespace);
    expect(json.code).toBe(2);
    expect(json.data.error.code).toBe('validation');
    expect(json.data.error.message).toMatch(/line 2: namespace "Not Valid" is invalid/);
    expect(await list(project)).toEqual(before);

    // Into a project that has no database yet: refused before anything is created.
    const fresh = tempProject();
    const copy = fresh.write('bad.jsonl', readFileSync(file, 'utf8'));
    expect((await mem(fresh, 'import', copy)).code).toBe(2);
    expect(existsSync(fresh.path('.colony'))).toBe(false);
    expect((await mem(fresh, 'import', fresh.path('missing.jsonl'))).stderr).toMatch(/import file not found/);
  });
});

describe('colony memory TTL, stats and gc', () => {
  it('an entry with a TTL is readable until it expires, then gone from get and list; stats and gc see it', async () => {
    const project = tempProject();
    await mem(project, 'store', 'forever', 'stays');
    // Readable before it expires: an hour is longer than any machine takes between two commands.
    const lasting = await memJson<EntryJson>(project, 'store', 'lasting', 'an hour', '--ttl', '3600', '--namespace', 'other');
    expect(lasting.data.expiresAt! - lasting.data.updatedAt).toBe(3_600_000);
    expect((await memJson<EntryJson>(project, 'get', 'lasting', '--namespace', 'other')).data.value).toBe('an hour');
    await mem(project, 'delete', 'lasting', '--namespace', 'other');
    const stored = await memJson<EntryJson>(project, 'store', 'brief', 'soon gone', '--ttl', '1');
    expect(stored.data.expiresAt! - stored.data.updatedAt).toBe(1_000);
    const gone = await eventually(async () => {
      const result = await memJson<ErrorJson>(project, 'get', 'brief');
      return result.code === 3 ? result : undefined;
    }, 'the entry to expire');
    expect(gone.data.error.code).toBe('not_found');
    expect((await list(project)).map((e) => e.key)).toEqual(['forever']);

    interface StatsJson {
      entries: number;
      expired: number;
      namespaces: { namespace: string; entries: number }[];
      embedder: { model: string; local: boolean } | null;
      embeddings: number;
      l1: { maxBytes: number };
      l2: { configured: boolean; healthy: boolean };
      redisHealthy: boolean | null;
    }
    const stats = await memJson<StatsJson>(project, 'stats');
    expect(stats.data).toMatchObject({ entries: 1, expired: 1, namespaces: [{ namespace: 'default', entries: 1 }], embedder: { model: 'colony-local-hash-384', local: true }, l2: { configured: false }, redisHealthy: null });
    expect(stats.data.embeddings).toBeGreaterThanOrEqual(1);
    const human = await mem(project, 'stats');
    expect(human.stdout).toMatch(/^entries\s+1 live, 1 expired not yet collected/);
    expect(human.stdout).toMatch(/\nembedder\s+colony-local-hash-384 \(local lexical embedder/);
    expect(human.stdout).toMatch(/\nL2\s+none: no Redis configured \(memory.redisUrl\); memory runs on L1 and the database/);

    expect((await memJson(project, 'gc')).data).toEqual({ removed: 1 });
    expect((await memJson<StatsJson>(project, 'stats')).data.expired).toBe(0);
    expect((await mem(project, 'gc')).stdout).toBe('✓ removed 0 expired entries\n');
  });

  it('shows Redis as L2 when it answers, and as down (memory still working) when it does not', async () => {
    const project = tempProject();
    await mem(project, 'store', 'k', 'v');
    const up = await runJson<{ l2: { configured: boolean; healthy: boolean }; redisHealthy: boolean }>(['memory', 'stats'], { cwd: project.dir, env: { COLONY_REDIS_URL: 'redis://127.0.0.1:6379' } });
    expect(up.data).toMatchObject({ l2: { configured: true, healthy: true }, redisHealthy: true });

    const env = { COLONY_REDIS_URL: 'redis://127.0.0.1:1' };
    const down = await runCli(['memory', 'stats'], { cwd: project.dir, env });
    expect(down.code).toBe(0);
    expect(down.stdout).toMatch(/\nL2\s+down: redis 127\.0\.0\.1:1 .*; memory runs on L1 and the database until it answers/);
    const write = await runCli(['memory', 'store', 'k2', 'v2'], { cwd: project.dir, env });
    expect(write.code).toBe(0);
    const read = await runJson<EntryJson>(['memory', 'get', 'k2'], { cwd: project.dir, env });
    expect(read).toMatchObject({ code: 0, data: { value: 'v2' } });
  });
});

describe('colony memory: bad input', () => {
  it('refuses a bad TTL, namespace, key, version or an oversized value, writing nothing', async () => {
    const project = tempProject();
    const big = project.write('big.txt', 'x'.repeat(MAX_MEMORY_VALUE_BYTES + 1));
    const cases: { args: string[]; message: RegExp }[] = [
      { args: ['store', 'k', 'v', '--ttl', '-5'], message: /--ttl: expected a positive number of seconds, got "-5"/ },
      { args: ['store', 'k', 'v', '--ttl', '0'], message: /--ttl: expected a positive number of seconds/ },
      { args: ['store', 'k', 'v', '--ttl', 'soon'], message: /--ttl: expected a positive number of seconds/ },
      { args: ['store', 'k', 'v', '--ttl', '1e16'], message: /^colony: option --ttl is 10000000000000000000 ms, over the limit of 315360000000 ms \(10 years\)$/m },
      { args: ['store', 'k', 'v', '--ttl', '315360001'], message: /option --ttl is 315360001000 ms, over the limit/ },
      { args: ['store', 'k', 'v', '--namespace', 'Bad NS'], message: /namespace "Bad NS" is invalid/ },
      { args: ['store', '', 'v'], message: /key must not be empty/ },
      { args: ['store', 'k', 'v', '--expect-version', '-1'], message: /--expect-version: expected a whole number/ },
      { args: ['store', 'k', '--file', big], message: new RegExp(`value is ${MAX_MEMORY_VALUE_BYTES + 3} bytes of JSON, over the limit of ${MAX_MEMORY_VALUE_BYTES}`) },
      { args: ['store', 'k', '--file', project.path('nope.txt')], message: /value file not found/ },
      { args: ['store', 'k', 'v', '--file', big], message: /not both/ },
      { args: ['store', 'k'], message: /a value is required/ },
      { args: ['get', 'k', '--namespace', '-bad'], message: /namespace "-bad" is invalid/ },
    ];
    const results = await Promise.all(cases.map(({ args }) => mem(project, ...args)));
    cases.forEach(({ args, message }, i) => {
      expect(results[i]!.code, args.join(' ')).toBe(2);
      expect(results[i]!.stderr, args.join(' ')).toMatch(message);
      expect(results[i]!.stderr).not.toMatch(/\n\s+at /);
    });
    const json = await memJson<ErrorJson>(project, 'store', 'k', '--file', big);
    expect(json.code).toBe(2);
    expect(json.data.error.code).toBe('validation');
    // Nothing was written: not even a database.
    expect(readdirSync(project.dir).sort()).toEqual(['big.txt']);
  });
});

describe('colony memory: an entry with an unreadable expiry already stored', () => {
  it('ten years is the longest TTL; an older entry past 2^53 ms lists, searches, reads, counts and deletes', async () => {
    const project = tempProject();
    const longest = await memJson<EntryJson>(project, 'store', 'decade', 'kept ten years', '--ttl', String(MAX_MEMORY_TTL_MS / 1000));
    expect(longest.code).toBe(0);
    expect(longest.data.expiresAt! - longest.data.updatedAt).toBe(MAX_MEMORY_TTL_MS);
    // What `ttl: 1e16` stored before TTLs were bounded, written straight into the database.
    const db = project.path('.colony', 'colony.db');
    insertLegacyMemoryRow(db, { namespace: 'default', key: 'k1', value: 'an old forever note', expiresAt: unreadableExpiry() });

    expect((await list(project)).map((e) => [e.key, e.expiresAt])).toEqual([
      ['decade', longest.data.expiresAt],
      ['k1', MAX_EPOCH_MS],
    ]);
    const human = await mem(project, 'list');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('+275760-09-13T00:00:00.000Z');
    const found = await memJson<{ hits: { entry: EntryJson }[] }>(project, 'search', 'forever', '--mode', 'keyword');
    expect(found.code, found.stderr).toBe(0);
    expect(found.data.hits.map((h) => h.entry.key)).toEqual(['k1']);
    const got = await memJson<EntryJson>(project, 'get', 'k1');
    expect(got).toMatchObject({ code: 0, data: { value: 'an old forever note', expiresAt: MAX_EPOCH_MS } });
    expect((await mem(project, 'get', 'k1')).code).toBe(0);
    const stats = await memJson<{ entries: number }>(project, 'stats');
    expect(stats).toMatchObject({ code: 0, data: { entries: 2 } });
    const exported = await mem(project, 'export', '-');
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout.trim().split('\n')).toHaveLength(2);

    expect(storedExpiry(db, 'default', 'k1')).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
    const deleted = await mem(project, 'delete', 'k1');
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(storedExpiry(db, 'default', 'k1')).toBeUndefined();
    expect((await list(project)).map((e) => e.key)).toEqual(['decade']);
  });
});
