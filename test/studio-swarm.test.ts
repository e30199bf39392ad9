import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { SwarmRecord } from '../src/domain/swarm.js';
import { FakeLlmServer, type FakeReplyFunction } from '../src/testing/fake-llm-server.js';
import { startApi, type TestApi } from './support/api-server.js';
import { axeViolations, launchStudioBrowser, openStudio, overflowsSideways, screenshots, waitLive, type StudioPage } from './support/studio-browser.js';
import { worktreeRoot } from '../src/tasks/task-worktree.js';
import { editingModel, git, gitRepo } from './support/git-swarm.js';
import { requestText, swarmModel } from './support/swarm-model.js';
import { eventually } from './support/temp-colony.js';

/**
 * The Studio's swarm page (/swarms/:id) in Chromium against a real server whose swarms ran on the
 * fake model: each topology drawn with its agents and its plan, the votes with voters and reasons,
 * usage matching the API, a running swarm updating live, replay of an earlier moment, a failed and
 * a stopped swarm; no console errors, no axe violations in either theme, nothing sideways at 390 px.
 * A swarm in a git repository shows its branch: files, merges, conflicts and the patch, live.
 */

const TOPOLOGIES = ['centralized', 'mesh', 'hierarchical', 'distributed'] as const;
const FAIL = 'FAIL-THIS-TASK';
const HOLD = 'HOLD-THIS-TASK';
const GATE = 'GATE-THIS-TASK';

let browser: Browser;
let llm: FakeLlmServer;
let api: TestApi;
let openGate: () => void = () => undefined;
let gate: Promise<void> = Promise.resolve();
const finished = new Map<string, SwarmRecord>();

/** The swarm model, but a task carrying FAIL fails (400, not retried), HOLD waits 30 s, GATE waits for openGate(). */
const model: FakeReplyFunction = async (request) => {
  const text = requestText(request);
  const isTaskCall = !('tool_choice' in (request.body as object));
  if (isTaskCall && text.includes(FAIL)) return { fault: 'server_error', status: 400, message: 'this task is made to fail' };
  const answer = await swarmModel()(request);
  if (isTaskCall && text.includes(HOLD)) return { ...(answer as object), delayMs: 30_000 };
  if (isTaskCall && text.includes(GATE)) await gate;
  return answer;
};

const plan = (...tasks: { id: string; prompt?: string; dependsOn?: string[] }[]) => ({
  tasks: tasks.map((t) => ({ id: t.id, title: `Task ${t.id}`, prompt: t.prompt ?? `Do ${t.id}`, dependsOn: t.dependsOn ?? [] })),
});

async function runSwarm(spec: Record<string, unknown>): Promise<SwarmRecord> {
  const created = await api.request('POST', '/api/v2/swarms', { body: { objective: 'Write a haiku about ants', agents: 3, ...spec } });
  expect(created.status, created.text).toBe(201);
  return api.colony.swarms.waitFor(created.json.id);
}

beforeAll(async () => {
  browser = await launchStudioBrowser();
  llm = new FakeLlmServer({ defaultReply: model });
  const { anthropicBaseUrl } = await llm.start();
  api = await startApi(
    {
      providers: { anthropic: { baseUrl: anthropicBaseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } },
      agents: { defaultProvider: 'anthropic' },
      tasks: { defaultMaxRetries: 0 },
    },
    { startEngine: true },
  );
  for (const topology of TOPOLOGIES) finished.set(topology, await runSwarm({ topology, review: true }));
  finished.set('failed', await runSwarm({ topology: 'centralized', review: false, plan: plan({ id: 'ok' }, { id: 'broken', prompt: FAIL, dependsOn: ['ok'] }) }));
}, 120_000);
afterAll(async () => {
  openGate();
  await browser?.close();
  await api?.close();
  await llm?.close();
});

async function checkPage(page: StudioPage, name: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    expect(await axeViolations(page), `${name} in ${colorScheme}`).toEqual([]);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  await screenshots(page, name);
  for (const width of [390, 360]) {
    await page.setViewportSize({ width, height: 800 });
    expect(await overflowsSideways(page), `${name} at ${width} px`).toBe(false);
  }
  await page.setViewportSize({ width: 1440, height: 900 });
  expect(page.problems).toEqual([]);
}

const attr = (page: StudioPage, selector: string, name: string) => page.locator(selector).evaluateAll((nodes, n) => nodes.map((x) => x.getAttribute(n)), name);

describe('the swarm page', { timeout: 120_000 }, () => {
  for (const topology of TOPOLOGIES) {
    it(`draws a finished ${topology} swarm: its agents, its plan with statuses, votes, usage and result`, async () => {
      const swarm = finished.get(topology) as SwarmRecord;
      expect(swarm.status).toBe('completed');
      const report = (await api.request('GET', `/api/v2/swarms/${swarm.id}/status`)).json;
      const usage = (await api.request('GET', `/api/v2/swarms/${swarm.id}/usage`)).json;
      const votes = (await api.request('GET', `/api/v2/swarms/${swarm.id}/votes`)).json.items;
      const page = await openStudio(browser, `${api.base}/swarms/${swarm.id}`);
      try {
        await page.locator('#swarm-status .status-completed').waitFor();
        await page.locator('#plan-svg').waitFor();

        // Topology: one node per agent of the swarm (plus a node per pool when distributed), each a link to the agent.
        const agentIds = await attr(page, '#topology-svg a.node.agent', 'data-id');
        expect(agentIds.sort()).toEqual(report.agents.map((a: { id: string }) => a.id).sort());
        const pools = Object.keys(report.swarm.config.pools ?? {});
        expect(await page.locator('#topology-svg g.node.group').count()).toBe(topology === 'distributed' ? pools.length : 0);
        expect(await page.locator('#topology-svg .edge').count()).toBeGreaterThanOrEqual(report.agents.length - 1);
        expect(await page.locator('#topology-svg a.node.agent').first().getAttribute('href')).toMatch(/^\/agents\?id=agt_/);

        // Plan: one node per plan task, all completed, linking to its task; an edge per dependency.
        const tasks = report.swarm.plan.tasks as { id: string; dependsOn: string[] }[];
        expect(await attr(page, '#plan-svg .node', 'data-id')).toEqual(tasks.map((t) => t.id));
        expect(await page.locator('#plan-svg .node.status-fill-completed').count()).toBe(tasks.length);
        expect(await page.locator('#plan-svg .edge-depends').count()).toBe(tasks.reduce((n, t) => n + t.dependsOn.length, 0));
        const hrefs = await attr(page, '#plan-svg a.node', 'href');
        expect(hrefs.sort()).toEqual(report.tasks.map((t: { taskId: string }) => `/tasks/${t.taskId}`).sort());

        // Timeline: a bar per task run, on the lane of the agent that ran it.
        expect(await page.locator('#gantt .bar').count()).toBe(tasks.length);

        // Votes: every vote with its voter and reason (mesh peers vote on each result).
        const voteCount = votes.reduce((n: number, v: { votes: unknown[] }) => n + v.votes.length, 0);
        expect(await page.locator('#swarm-votes .proposal').count()).toBe(votes.length);
        expect(await page.locator('#swarm-votes tr.vote').count()).toBe(voteCount);
        if (topology === 'mesh') {
          expect(voteCount).toBeGreaterThan(0);
          const row = page.locator('#swarm-votes tr.vote').first();
          expect(await row.textContent()).toContain('looks right');
          expect(await row.textContent()).toContain('verified');
          expect(await row.getAttribute('data-voter')).toBe(votes[0].votes[0].voterId);
        } else {
          expect(await page.locator('#swarm-votes .empty').textContent()).toContain('No votes');
        }

        // Usage: the API's numbers, per task and per agent; no price known for the fake model.
        const tokens = (usage.total.inputTokens + usage.total.outputTokens).toLocaleString('en-US');
        expect(await page.locator('#usage-total').textContent()).toContain(`${tokens} tokens`);
        expect(await page.locator('#usage-cost').textContent()).toBe('no price known');
        expect(await page.locator('#usage-tasks tbody tr').count()).toBe(usage.tasks.length);
        expect(await page.locator('#usage-agents tbody tr').count()).toBe(usage.agents.length);

        expect(await page.locator('#swarm-result').textContent()).toMatch(/^SYNTHESIS/);
        expect(await page.locator('#swarm-controls').isHidden()).toBe(true);
        // Not a git repository: no branch panel.
        expect(await page.locator('#swarm-branch').isHidden()).toBe(true);
        await checkPage(page, `swarm-${topology}`);
      } finally {
        await page.close();
      }
    });
  }

  it('replays a finished swarm: an earlier event shows fewer completed tasks, and the position is in the URL', async () => {
    const swarm = finished.get('centralized') as SwarmRecord;
    const events = (await api.request('GET', `/api/v2/events?correlationId=${swarm.id}&types=task.completed&limit=10`)).json.items;
    expect(events.length).toBe(3);
    const page = await openStudio(browser, `${api.base}/swarms/${swarm.id}?at=${events[0].id}`);
    try {
      await page.locator('#replay-note').waitFor();
      await page.locator('#plan-svg .node.status-fill-completed').first().waitFor();
      expect(await page.locator('#plan-svg .node.status-fill-completed').count()).toBe(1);
      expect(await page.locator('#replay-at').textContent()).toContain('task.completed');

      // The keyboard moves it: Home is the swarm's first event, before its plan existed.
      await page.focus('#replay-range');
      await page.keyboard.press('Home');
      await page.locator('#swarm-plan .empty').waitFor();
      expect(await page.locator('#swarm-status').textContent()).toBe('planning');
      expect(new URL(page.url()).searchParams.get('at')).not.toBeNull();
      await page.keyboard.press('End');
      await page.locator('#replay-note').waitFor({ state: 'hidden' });
      expect(await page.locator('#plan-svg .node.status-fill-completed').count()).toBe(3);
      expect(new URL(page.url()).searchParams.has('at')).toBe(false);
      // Focus stayed on the control while the drawings changed.
      expect(await page.evaluate('document.activeElement.id')).toBe('replay-range');
      expect(page.problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('replays votes: at the first vote cast, one vote is shown on an undecided proposal', async () => {
    const swarm = finished.get('mesh') as SwarmRecord;
    const [firstVote] = (await api.request('GET', `/api/v2/events?correlationId=${swarm.id}&types=vote.cast&limit=1`)).json.items;
    const page = await openStudio(browser, `${api.base}/swarms/${swarm.id}?at=${firstVote.id}`);
    try {
      await page.locator('#replay-note').waitFor();
      await page.locator('#swarm-votes tr.vote').first().waitFor();
      expect(await page.locator('#swarm-votes tr.vote').count()).toBe(1);
      expect(await page.locator('#swarm-votes tr.vote').getAttribute('data-voter')).toBe(firstVote.data.voterId);
      expect(await page.locator('#swarm-votes .proposal').count()).toBe(1);
      expect(await page.locator('#swarm-votes .proposal h3 .status').textContent()).toBe('open');
      expect(page.problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('updates a running swarm live: a task turns completed without a reload', async () => {
    gate = new Promise((resolve) => (openGate = resolve));
    const created = await api.request('POST', '/api/v2/swarms', {
      body: { objective: 'Write a haiku about ants', topology: 'centralized', agents: 2, review: false, plan: plan({ id: 'first' }, { id: 'gated', prompt: GATE, dependsOn: ['first'] }) },
    });
    const id = created.json.id as string;
    const page = await openStudio(browser, `${api.base}/swarms/${id}`);
    try {
      await waitLive(page);
      await page.locator('#plan-svg [data-id="gated"].status-fill-running').waitFor();
      expect(await page.locator('#plan-svg [data-id="first"]').getAttribute('class')).toContain('status-fill-completed');
      await eventually(async () => (await page.locator('#topology-svg a.node.agent-busy').count()) === 1);
      await page.evaluate('window.__sameDocument = true');
      // Focus on a plan node survives the live updates.
      await page.focus('#plan-svg [data-id="first"]');
      openGate();
      await page.locator('#plan-svg [data-id="gated"].status-fill-completed').waitFor();
      await page.locator('#swarm-status .status-completed').waitFor();
      expect(await page.evaluate('window.__sameDocument')).toBe(true);
      expect(await page.evaluate('document.activeElement.getAttribute("data-id")')).toBe('first');
      await page.locator('#swarm-result').waitFor();
      expect(page.problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('shows a failover as it happens: the retired queen, its successor and the link between them', async () => {
    gate = new Promise((resolve) => (openGate = resolve));
    const created = await api.request('POST', '/api/v2/swarms', {
      // The queen plans (a given plan needs none until review); every worker waits at the gate.
      body: { objective: `Write a haiku about ants ${GATE}`, topology: 'centralized', agents: 2, review: true },
    });
    const id = created.json.id as string;
    const page = await openStudio(browser, `${api.base}/swarms/${id}`);
    try {
      await waitLive(page);
      await page.locator('#plan-svg .node.status-fill-running').first().waitFor();
      const queen = await eventually(async () => (await api.colony.swarms.get(id)).leaderAgentId ?? undefined);
      await api.colony.agents.terminate(queen, 'killed by the test');
      await page.locator(`#topology-svg a.node.agent-replaced[data-id="${queen}"]`).waitFor();
      await page.locator('#topology-svg .edge-failover').waitFor({ state: 'attached' });
      const successor = (await api.colony.swarms.get(id)).leaderAgentId as string;
      expect(successor).not.toBe(queen);
      expect(await page.locator(`#topology-svg a.node[data-id="${successor}"]`).textContent()).toContain('queen');
      openGate();
      await page.locator('#swarm-status .status-completed').waitFor();
      expect(await page.locator('#topology-svg .edge-failover').count()).toBe(1);
      await checkPage(page, 'swarm-failover');
    } finally {
      await page.close();
    }
  });

  it('shows a failed swarm with its error and its failed task', async () => {
    const swarm = finished.get('failed') as SwarmRecord;
    expect(swarm.status).toBe('failed');
    const page = await openStudio(browser, `${api.base}/swarms/${swarm.id}`);
    try {
      await page.locator('#swarm-status .status-failed').waitFor();
      await page.locator('#swarm-error').waitFor();
      expect(await page.locator('#swarm-error').textContent()).toContain(swarm.error?.code as string);
      expect(await page.locator('#plan-svg [data-id="broken"]').getAttribute('class')).toContain('status-fill-failed');
      expect(await page.locator('#plan-svg [data-id="ok"]').getAttribute('class')).toContain('status-fill-completed');
      expect(await page.locator('#gantt .bar-failed').count()).toBe(1);
      await checkPage(page, 'swarm-failed');
    } finally {
      await page.close();
    }
  });

  it('stops a running swarm from its page and shows it stopped, its agents retired', async () => {
    const created = await api.request('POST', '/api/v2/swarms', {
      body: { objective: 'Write a haiku about ants', topology: 'centralized', agents: 2, review: false, plan: plan({ id: 'quick' }, { id: 'slow', prompt: HOLD, dependsOn: ['quick'] }) },
    });
    const id = created.json.id as string;
    const page = await openStudio(browser, `${api.base}/swarms/${id}`);
    try {
      await page.locator('#plan-svg [data-id="slow"].status-fill-running').waitFor();
      await page.click('button[data-action=stop]');
      await page.locator('#swarm-status .status-stopped').waitFor();
      expect((await api.colony.swarms.get(id)).status).toBe('stopped');
      await eventually(async () => (await page.locator('#topology-svg a.node.agent-terminated').count()) === (await api.colony.swarms.status(id)).agents.length);
      expect(await page.locator('#plan-svg [data-id="slow"]').getAttribute('class')).toContain('status-fill-cancelled');
      await page.locator('#swarm-result').waitFor();
      await checkPage(page, 'swarm-stopped');
    } finally {
      await page.close();
    }
  });

  it('opens a swarm by a unique prefix of its id, events and all', async () => {
    const swarm = finished.get('centralized') as SwarmRecord;
    const page = await openStudio(browser, `${api.base}/swarms/${swarm.id.slice(0, swarm.id.length - 4)}`);
    try {
      await page.locator('#swarm-status .status-completed').waitFor();
      await page.locator('#replay-at').filter({ hasText: 'swarm.finished' }).waitFor();
      expect(await page.locator('#gantt .bar').count()).toBe(3);
      expect(page.problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('says so for an unknown swarm', async () => {
    const page = await openStudio(browser, `${api.base}/swarms/swm_nosuchswarm`);
    try {
      await page.locator('#error').filter({ hasText: 'swm_nosuchswarm' }).waitFor();
      page.problems = page.problems.filter((p) => !p.includes('404'));
      expect(page.problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('the swarm page of a swarm in a git repository', { timeout: 120_000 }, () => {
  let repo: string;
  let gitLlm: FakeLlmServer;
  let gitApi: TestApi;
  let openGitGate: () => void = () => undefined;
  let gitGate: Promise<void> = Promise.resolve();
  const BIG_FILE = Array.from({ length: 2_100 }, (_, i) => `line ${i + 1}\n`).join('');
  const edits = editingModel(
    {
      notes: { 'notes.md': 'notes\nADDED BY THE SWARM\n' },
      // Past what the page draws at once (400 lines open, 2,000 per file): closed, and cut when opened.
      big: { 'big.txt': BIG_FILE },
      left: { 'shared.txt': 'one\nTWO by left\nthree\n' },
      right: { 'shared.txt': 'one\nTWO by right\nthree\n' },
      held: { 'held.txt': 'held line\n' },
    },
    // The resolving agent changes nothing: the conflict markers stay, so the conflict stands.
    {},
  );
  const gitModel: FakeReplyFunction = async (request) => {
    if (requestText(request).includes(GATE)) await gitGate;
    return edits(request);
  };
  const gitPlan = (...tasks: { id: string; prompt?: string; dependsOn?: string[] }[]) => ({
    summary: 'edits',
    tasks: tasks.map((t) => ({ id: t.id, title: `Task ${t.id}`, prompt: t.prompt ?? `Do ${t.id}.`, agentType: 'coder', dependsOn: t.dependsOn ?? [] })),
  });
  const create = async (spec: Record<string, unknown>): Promise<string> => {
    const created = await gitApi.request('POST', '/api/v2/swarms', { body: { objective: 'Edit the files', agents: 2, concurrency: 2, review: false, ...spec } });
    expect(created.status, created.text).toBe(201);
    return created.json.id as string;
  };

  beforeAll(async () => {
    repo = gitRepo({ 'README.md': 'hello\n', 'shared.txt': 'one\ntwo\nthree\n' });
    gitLlm = new FakeLlmServer({ defaultReply: gitModel });
    const { anthropicBaseUrl } = await gitLlm.start();
    gitApi = await startApi(
      {
        providers: { anthropic: { baseUrl: anthropicBaseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } },
        agents: { defaultProvider: 'anthropic' },
        tasks: { defaultMaxRetries: 0 },
      },
      { startEngine: true, dir: repo },
    );
  }, 60_000);
  afterAll(async () => {
    openGitGate();
    await gitApi?.close();
    await gitLlm?.close();
    if (repo) {
      rmSync(worktreeRoot(repo), { recursive: true, force: true });
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('shows the branch, its changed files, its merged tasks, the commands and the patch with the added line', async () => {
    const id = await create({ plan: gitPlan({ id: 'notes' }, { id: 'big' }) });
    const swarm = await gitApi.colony.swarms.waitFor(id);
    expect(swarm.status).toBe('completed');
    const result = swarm.result?.git;
    expect(result?.files.map((f) => f.path).sort()).toEqual(['big.txt', 'notes.md']);
    const page = await openStudio(browser, `${gitApi.base}/swarms/${id}`);
    try {
      await page.locator('#swarm-status .status-completed').waitFor();
      await page.locator('#branch-name').waitFor();
      expect(await page.locator('#branch-name').textContent()).toBe(result?.branch);
      expect(await page.locator('#branch-range').textContent()).toBe(`${result?.base.slice(0, 8)}..${result?.head.slice(0, 8)}`);
      expect(await page.locator('#branch-dirty').count()).toBe(0);
      expect(await attr(page, '#branch-files tbody tr', 'data-path')).toEqual(result?.files.map((f) => f.path));
      expect(await page.locator('#branch-files tr[data-path="notes.md"]').textContent()).toContain('+2');
      expect(await page.locator('#branch-files tr[data-path="big.txt"]').textContent()).toContain('+2100');
      expect((await attr(page, '#branch-merged li', 'data-plan-task')).sort()).toEqual(['big', 'notes']);
      expect(await page.locator('#branch-conflicts').count()).toBe(0);
      const commands = await page.locator('#swarm-branch .git-commands code').allTextContents();
      expect(commands).toEqual([`git diff ${result?.base} ${result?.branch}`, `git merge ${result?.branch}`]);
      // The command it shows does what it says: its output is the patch drawn below.
      expect(git(repo, 'diff', result?.base as string, result?.branch as string)).toContain('+ADDED BY THE SWARM');

      // The patch: one block per file, the added line marked as added.
      expect((await attr(page, '#swarm-patch .file-change', 'data-path')).sort()).toEqual(['big.txt', 'notes.md']);
      expect(await page.locator('#swarm-patch [data-path="notes.md"] .diff-add').allTextContents()).toContain('+ADDED BY THE SWARM\n');
      // The big file is closed and not drawn until opened; opened, it draws 2,000 lines and says the rest are not drawn.
      const big = page.locator('#swarm-patch [data-path="big.txt"]');
      expect(await big.getAttribute('open')).toBeNull();
      expect(await big.locator('pre').count()).toBe(0);
      await big.locator('summary').click();
      await big.locator('pre').waitFor();
      expect(await big.locator('pre span').count()).toBe(2_000);
      expect(await big.locator('p.muted').textContent()).toMatch(/^\d[\d,]* more lines not drawn/);
      expect(await page.locator('#swarm-patch > .patch > p.muted').textContent()).toContain('1 of them');
      await big.locator('summary').click();
      // The plan marks each task merged into the branch.
      expect(await page.locator('#plan-svg .node.merge-merged').count()).toBe(2);
      await checkPage(page, 'swarm-git-branch');

      // Replayed at the first merge, the plan marks that one task merged, not the other.
      const [firstMerge] = (await gitApi.request('GET', `/api/v2/events?correlationId=${id}&types=swarm.task_merged&limit=1`)).json.items;
      await page.goto(`${gitApi.base}/swarms/${id}?at=${firstMerge.id}`);
      await page.locator('#replay-note').waitFor();
      await page.locator(`#plan-svg [data-id="${firstMerge.data.planTaskId}"].merge-merged`).waitFor();
      expect(await page.locator('#plan-svg .node.merge-merged').count()).toBe(1);
      expect(page.problems).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('shows a conflict no agent resolved: the plan task, its kept branch and the conflicting file', async () => {
    const id = await create({ plan: gitPlan({ id: 'left' }, { id: 'right' }) });
    const swarm = await gitApi.colony.swarms.waitFor(id);
    expect(swarm.status).toBe('failed');
    const conflict = swarm.result?.git?.conflicts[0];
    expect(conflict?.files).toEqual(['shared.txt']);
    const page = await openStudio(browser, `${gitApi.base}/swarms/${id}`);
    try {
      await page.locator('#branch-conflicts').waitFor();
      const item = page.locator(`#branch-conflicts li[data-plan-task="${conflict?.planTaskId}"]`);
      expect(await item.locator('.conflict-file').allTextContents()).toEqual(['shared.txt']);
      expect(await item.textContent()).toContain(conflict?.branch);
      expect(await page.locator('#branch-kept li').allTextContents()).toEqual([conflict?.branch]);
      expect(await page.locator(`#plan-svg [data-id="${conflict?.planTaskId}"]`).getAttribute('class')).toContain('merge-conflicted');
      // The other side is in the branch and its patch.
      expect(await page.locator('#swarm-patch [data-path="shared.txt"] .diff-add').allTextContents()).toEqual([expect.stringMatching(/^\+TWO by (left|right)\n$/)]);
      await checkPage(page, 'swarm-git-conflict');
    } finally {
      await page.close();
    }
  });

  it('shows merges as they happen: a held task turns merged and its file appears without a reload', async () => {
    gitGate = new Promise((resolve) => (openGitGate = resolve));
    // An uncommitted edit in the checkout: the swarm starts from the last commit, and the page warns.
    writeFileSync(join(repo, 'README.md'), 'hello, edited and not committed\n');
    const id = await create({ plan: gitPlan({ id: 'held', prompt: `Do held. ${GATE}` }) });
    const page = await openStudio(browser, `${gitApi.base}/swarms/${id}`);
    try {
      await waitLive(page);
      await page.locator('#plan-svg [data-id="held"].status-fill-running').waitFor();
      // While it runs the branch is there (from the swarm's config), with nothing merged yet.
      const branch = (await gitApi.colony.swarms.get(id)).config.git?.branch as string;
      expect(await page.locator('#branch-name').textContent()).toBe(branch);
      expect(await page.locator('#branch-merged').count()).toBe(0);
      expect(await page.locator('#branch-dirty').textContent()).toContain('uncommitted changes');
      await page.evaluate('window.__sameDocument = true');
      openGitGate();
      await page.locator('#branch-merged li[data-plan-task="held"]').waitFor();
      await page.locator('#plan-svg [data-id="held"].merge-merged').waitFor();
      await page.locator('#swarm-patch [data-path="held.txt"]').waitFor();
      await page.locator('#swarm-status .status-completed').waitFor();
      await page.locator('#branch-files tr[data-path="held.txt"]').waitFor();
      expect(await page.evaluate('window.__sameDocument')).toBe(true);
      await page.locator('#branch-dirty').waitFor();
      await checkPage(page, 'swarm-git-live');
    } finally {
      await page.close();
    }
  });
});
