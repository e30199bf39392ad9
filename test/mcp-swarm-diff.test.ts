import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/api/create-server.js';
import type { ConfigInput } from '../src/app/config.js';
import { createMcpServer } from '../src/mcp/create-mcp-server.js';
import { cutPatch } from '../src/domain/swarm.js';
import type { Role } from '../src/security/roles.js';
import { FakeLlmServer, type FakeReplyFunction, type RecordedRequest } from '../src/testing/fake-llm-server.js';
import { worktreeRoot } from '../src/tasks/task-worktree.js';
import { request } from './support/api-server.js';
import { call, callError } from './support/mcp-calls.js';
import { OpenApiChecker, type OpenApiDoc } from './support/openapi-check.js';
import { requestText, swarmModel } from './support/swarm-model.js';
import { tempColony, tempDir, type TempColony } from './support/temp-colony.js';

/**
 * swarm_diff and swarm_status's git view over MCP (the SDK's client, connected in memory to the
 * server over a real colony): a real swarm in a real git repository writes files, and its branch
 * comes back with the files changed and the patch, cut at maxBytes when asked. The REST diff too.
 */

const llm = new FakeLlmServer();
let temp: TempColony;
let repo: string;
let plain: TempColony;
/** A swarm that ended in the repository, and one of a colony whose directory is no repository. */
let swarmId: string;
let branchlessId: string;

/** A line repeated in big.txt: its patch is far over the smallest maxBytes. */
const BIG_LINE = 'a line of the big file, long enough to make the patch big: ünïcödé\n';
const BIG_LINES = 200;

function git(dir: string, ...args: string[]): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_')));
  return execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', ...args], { cwd: dir, env, encoding: 'utf8' }).trim();
}

function hasToolResult(request: RecordedRequest): boolean {
  const messages = (request.body as { messages?: { content: unknown }[] }).messages ?? [];
  const last = messages.at(-1)?.content;
  return Array.isArray(last) && last.some((part: { type?: string }) => part.type === 'tool_result');
}

/** The worker of task `edit` writes two files on its first turn, then reports; other calls get the swarm model. */
function editingModel(): FakeReplyFunction {
  const base = swarmModel();
  return (request) => {
    const text = requestText(request);
    if (!/^Your task \(edit\)/m.test(text)) return base(request);
    if (hasToolResult(request)) return { text: 'wrote both files' };
    return {
      toolCalls: [
        { name: 'write_file', input: { path: 'small.txt', content: 'one\ntwo\n' } },
        { name: 'write_file', input: { path: 'big.txt', content: BIG_LINE.repeat(BIG_LINES) } },
      ],
    };
  };
}

const config = (baseUrl: string): ConfigInput => ({
  providers: { anthropic: { baseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } },
  agents: { defaultProvider: 'anthropic' },
  tasks: { defaultMaxRetries: 0 },
});

const plan = { summary: 'edits', tasks: [{ id: 'edit', title: 'Edit', prompt: 'Write the files.', agentType: 'coder', dependsOn: [] }] };

beforeAll(async () => {
  const baseUrl = (await llm.start()).anthropicBaseUrl;
  llm.setDefaultReply(editingModel());
  repo = tempDir('colony-mcp-git-');
  git(repo, 'init', '--quiet', '--initial-branch=main');
  writeFileSync(join(repo, 'README.md'), 'hello\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'start');
  temp = await tempColony(config(baseUrl), { env: {}, dir: repo });
  await temp.colony.start();
  const created = await temp.colony.swarms.create({ objective: 'two files', agents: 1, review: false, plan });
  const done = await temp.colony.swarms.waitFor(created.id);
  expect(done.status, JSON.stringify(done.error)).toBe('completed');
  swarmId = done.id;
  plain = await tempColony(config(baseUrl), { env: {} });
  branchlessId = (await plain.colony.swarms.create({ objective: 'no repository here', review: false, plan })).id;
}, 60_000);

afterAll(async () => {
  await temp?.cleanup();
  await plain?.cleanup();
  if (repo !== undefined) {
    rmSync(worktreeRoot(repo), { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  }
  await llm.close();
});

async function connect(colony: TempColony['colony'], role: Role): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createMcpServer(colony, { role }).connect(serverSide);
  const client = new Client({ name: 'colony-test', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

describe('swarm_diff over MCP', () => {
  it('a viewer gets the branch, base, head, files with line counts and the whole patch, by id prefix', async () => {
    const client = await connect(temp.colony, 'viewer');
    try {
      const tool = (await client.listTools()).tools.find((t) => t.name === 'swarm_diff');
      expect(tool?.annotations?.readOnlyHint).toBe(true);
      const diff = await call(client, 'swarm_diff', { swarmId: swarmId.slice(0, -4) });
      const branch = git(repo, 'branch', '--list', 'colony/*').replace(/^[*+ ]+/, '');
      expect(diff).toMatchObject({ success: true, swarmId, branch, base: git(repo, 'rev-parse', 'main'), head: git(repo, 'rev-parse', branch), truncated: false });
      expect(diff.files).toEqual([
        { path: 'big.txt', additions: BIG_LINES, deletions: 0 },
        { path: 'small.txt', additions: 2, deletions: 0 },
      ]);
      expect(diff).toMatchObject({ filesChanged: 2, additions: BIG_LINES + 2, deletions: 0 });
      expect(diff.note).toBeUndefined();
      // The patch is git's own.
      expect(diff.patch).toBe(`${git(repo, 'diff', diff.base, diff.head)}\n`);
      expect(diff.patchBytes).toBe(Buffer.byteLength(diff.patch));
    } finally {
      await client.close();
    }
  });

  it('cuts the patch at maxBytes on a line end and says how to get all of it', async () => {
    const client = await connect(temp.colony, 'viewer');
    try {
      const whole = await call(client, 'swarm_diff', { swarmId });
      const cut = await call(client, 'swarm_diff', { swarmId, maxBytes: 1_000 });
      expect(cut.truncated).toBe(true);
      expect(Buffer.byteLength(cut.patch)).toBeLessThanOrEqual(1_000);
      expect(cut.patch.endsWith('\n')).toBe(true);
      expect(whole.patch.startsWith(cut.patch)).toBe(true);
      expect(cut.patchBytes).toBe(whole.patchBytes);
      expect(cut.note).toContain(`of ${whole.patchBytes} bytes`);
      expect(cut.note).toContain(`colony swarm diff ${swarmId}`);
      // The files are all there even when the patch is cut.
      expect(cut.files).toEqual(whole.files);
    } finally {
      await client.close();
    }
  });

  it('a swarm without a branch, an unknown id and bad arguments are tool errors, and the server goes on', async () => {
    const client = await connect(plain.colony, 'viewer');
    try {
      expect(await callError(client, 'swarm_diff', { swarmId: branchlessId })).toMatch(/^conflict: swarm swm_\w+ has no git branch/);
      expect(await callError(client, 'swarm_diff', { swarmId: 'swm_nothing_here' })).toMatch(/^not_found/);
      expect(await callError(client, 'swarm_diff', {})).toContain('swarmId');
      expect(await callError(client, 'swarm_diff', { swarmId: branchlessId, maxBytes: 10 })).toContain('maxBytes');
      expect(await callError(client, 'swarm_diff', { swarmId: branchlessId, maxBytes: 100_000_000 })).toContain('maxBytes');
      expect(await callError(client, 'swarm_diff', { swarmId: branchlessId, maxBytes: 'all' })).toContain('maxBytes');
      // Still serving.
      expect((await call(client, 'swarm_status', { swarmId: branchlessId })).git).toBeNull();
    } finally {
      await client.close();
    }
  });
});

describe('swarm_status over MCP', () => {
  it("shows the swarm's git work compactly: branch, counts, files with +/-", async () => {
    const client = await connect(temp.colony, 'viewer');
    try {
      const report = await call(client, 'swarm_status', { swarmId });
      const result = (await temp.colony.swarms.get(swarmId)).result?.git;
      expect(report.git).toEqual({
        branch: result?.branch,
        base: result?.base,
        head: result?.head,
        dirty: false,
        filesChanged: 2,
        additions: BIG_LINES + 2,
        deletions: 0,
        files: [`big.txt +${BIG_LINES} -0`, 'small.txt +2 -0'],
        merged: ['edit'],
        conflicts: [],
        kept: [],
      });
      expect(report.result.git).toBeUndefined();
    } finally {
      await client.close();
    }
  });
});

describe('GET /api/v2/swarms/:id/diff', () => {
  it('returns the files changed with the patch, in the documented shape', async () => {
    const server = await createServer(temp.colony, { host: '127.0.0.1', port: 0 });
    try {
      const { origin } = await server.listen();
      const diff = await request(origin, 'GET', `/api/v2/swarms/${swarmId}/diff`);
      expect(diff.status).toBe(200);
      expect(diff.json.files).toEqual([
        { path: 'big.txt', additions: BIG_LINES, deletions: 0 },
        { path: 'small.txt', additions: 2, deletions: 0 },
      ]);
      expect(diff.json.truncated).toBe(false);
      expect(diff.json.patchBytes).toBe(Buffer.byteLength(diff.json.patch, 'utf8'));
      const checker = new OpenApiChecker((await request(origin, 'GET', '/api/v2/openapi.json')).json as OpenApiDoc);
      expect(checker.problems('GET /api/v2/swarms/{id}/diff', diff)).toEqual([]);

      // maxBytes: the start of the patch, cut at a line end, saying so; the files are all there.
      const cut = await request(origin, 'GET', `/api/v2/swarms/${swarmId}/diff?maxBytes=1000`);
      expect(cut.status).toBe(200);
      expect(cut.json).toMatchObject({ truncated: true, patchBytes: diff.json.patchBytes, files: diff.json.files });
      expect(Buffer.byteLength(cut.json.patch, 'utf8')).toBeLessThanOrEqual(1000);
      expect(diff.json.patch.startsWith(cut.json.patch)).toBe(true);
      expect(cut.json.patch.endsWith('\n')).toBe(true);
      expect(checker.problems('GET /api/v2/swarms/{id}/diff', cut)).toEqual([]);
      const roomy = await request(origin, 'GET', `/api/v2/swarms/${swarmId}/diff?maxBytes=${diff.json.patchBytes}`);
      expect(roomy.json).toMatchObject({ truncated: false, patch: diff.json.patch });
      // A bad maxBytes is the client's mistake, named.
      for (const bad of ['10', 'all', '1.5']) {
        const refused = await request(origin, 'GET', `/api/v2/swarms/${swarmId}/diff?maxBytes=${bad}`);
        expect(refused.status, bad).toBe(400);
        expect(JSON.stringify(refused.json), bad).toContain('maxBytes');
      }
    } finally {
      await server.close();
    }
  });
});

describe('cutPatch', () => {
  it('never splits a character or a line', () => {
    expect(cutPatch('ab\ncd\n', 100)).toEqual({ text: 'ab\ncd\n', cut: false, patchBytes: 6 });
    expect(cutPatch('ab\ncd\n', 4)).toEqual({ text: 'ab\n', cut: true, patchBytes: 6 });
    // 'é' is two bytes: a cut inside it drops it whole.
    expect(cutPatch('aé', 2)).toEqual({ text: 'a', cut: true, patchBytes: 3 });
    // No limit: all of it.
    expect(cutPatch('aé\n')).toEqual({ text: 'aé\n', cut: false, patchBytes: 4 });
  });
});
