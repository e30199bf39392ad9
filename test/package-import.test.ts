import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/cli.js';

/**
 * What importing the package (dist/: build first) loads, counted by modules rather than timed: a
 * program that embeds Colony on SQLite with an in-process model must not pay for the database,
 * server, protocol and vendor libraries it does not use (each costs tens to hundreds of ms to load).
 */

/** Packages only the features that use them may load: PostgreSQL, Redis, the servers, the vendor SDKs. */
const HEAVY = ['pg', 'ioredis', 'fastify', '@fastify/', '@modelcontextprotocol/sdk', '@anthropic-ai/sdk', 'openai', 'ai', '@ai-sdk/', 'zod-to-json-schema'];
/** Loaded by a colony on SQLite (kysely migrates the file, sqlite-vec comes with its memory tier), not by the import. */
const SQLITE_COLONY = ['kysely', 'sqlite-vec'];
/** Not needed merely to import the package: loaded by createColony (pino) or by the first YAML read. */
const NOT_ON_IMPORT = ['pino', 'yaml', 'cockatiel', 're2js'];

/** A preload that records every module URL Node loads (ESM and require alike) and prints them at exit. */
const RECORDER = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
const urls = [];
registerHooks({ load(url, context, next) { urls.push(url); return next(url, context); } });
process.on('exit', () => process.stderr.write('LOADED ' + JSON.stringify(urls) + '\\n'));
`)}`;

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The packages (by node_modules name) a child loaded while running `script`, an ES module. */
async function packagesLoaded(script: string): Promise<Set<string>> {
  const { stderr } = await run(process.execPath, ['--import', RECORDER, '--input-type=module', '-e', script], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '' } });
  const line = stderr.split('\n').find((l) => l.startsWith('LOADED '));
  if (line === undefined) throw new Error(`the child printed no module list: ${stderr}`);
  const packages = new Set<string>();
  for (const url of JSON.parse(line.slice('LOADED '.length)) as string[]) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match?.[1] !== undefined) packages.add(match[1]);
  }
  return packages;
}

function loadedAmong(packages: Set<string>, names: readonly string[]): string[] {
  return [...packages].filter((pkg) => names.some((name) => (name.endsWith('/') ? pkg.startsWith(name) : pkg === name)));
}

const ENTRY = JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist', 'index.js')).href);

describe('importing the package', { timeout: 60_000 }, () => {
  it('loads its schemas library but none of the heavy ones, nor the logger or yaml', async () => {
    const packages = await packagesLoaded(`const colony = await import(${ENTRY}); if (typeof colony.createColony !== 'function') process.exit(3);`);
    // The recorder works: zod is what the exported schemas (configSchema, consensusAskSchema) are made of.
    expect(packages).toContain('zod');
    expect(loadedAmong(packages, [...HEAVY, ...SQLITE_COLONY, ...NOT_ON_IMPORT])).toEqual([]);
  });

  it('a colony on SQLite that runs an agent on an in-process model still loads none of the heavy ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colony-import-'));
    dirs.push(dir);
    const script = `
      const { createColony } = await import(${ENTRY});
      const colony = await createColony({ projectDir: ${JSON.stringify(dir)}, env: {}, config: { log: { level: 'silent' } } });
      colony.providers.register({
        id: 'inproc',
        async complete(request) {
          return { id: 'r', model: request.model, content: [{ type: 'tool_use', id: 'c', name: 'report_result', input: { result: 'done' } }], stopReason: 'tool_use', usage: { inputTokens: 1, outputTokens: 1 } };
        },
      }, { id: 'inproc', model: 'm', default: true });
      colony.agentTypes.register({ name: 'reporter', description: 'Reports.', systemPrompt: 'Report done.', tools: [] });
      const [task] = await colony.tasks.submit([{ type: 'agent', input: { prompt: 'Report.', agentType: 'reporter', provider: 'inproc' } }]);
      await colony.start();
      const [done] = await colony.tasks.waitFor([task.id]);
      await colony.close({ drainTimeoutMs: 0 });
      if (done.status !== 'completed' || done.result.result !== 'done') { console.error(JSON.stringify(done)); process.exit(3); }
    `;
    const packages = await packagesLoaded(script);
    // The recorder saw the colony being built: its logger is loaded by then.
    expect(packages).toContain('pino');
    expect(loadedAmong(packages, HEAVY)).toEqual([]);
  });
});
