import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ExecutionError } from '../src/domain/errors.js';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { parseWorkflow } from '../src/workflow/workflow-file.js';
import { prepareWorkflowRun } from '../src/workflow/workflow-runner.js';
import { startApi, type TestApi } from './support/api-server.js';
import { swarmModel } from './support/swarm-model.js';
import { axeViolations, CHROMIUM, launchStudioBrowser, openStudio, overflowsSideways, screenshots, waitLive, type StudioPage } from './support/studio-browser.js';
import type { Ballot } from '../src/consensus/ballot.js';

/**
 * The Studio's task view, tasks list and event log in Chromium against a real server: an agent task
 * (fake model) that calls tools and writes a file, a task that fails and is retried, 10,000 tasks to
 * page through, and the live event feed paused and resumed.
 */

let browser: Browser;
let llm: FakeLlmServer;
let baseUrl: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the Studio tests drive Chromium, and there is none at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  browser = await launchStudioBrowser();
  llm = new FakeLlmServer();
  baseUrl = (await llm.start()).anthropicBaseUrl;
});
afterAll(async () => {
  await browser?.close();
  await llm?.close();
});

/** A server with the fake model behind its agents and an `echo` task type (its result is its input). */
async function server(startEngine = true): Promise<TestApi> {
  const api = await startApi({ providers: { anthropic: { baseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } }, agents: { defaultProvider: 'anthropic' } }, { startEngine });
  api.colony.registerExecutor({ type: 'echo', execute: async ({ task }) => task.input });
  return api;
}

/** Both themes pass axe, and the page fits a 390 px phone (and 360 px) without sideways scrolling. */
async function checkPage(page: StudioPage, name: string): Promise<void> {
  expect(await axeViolations(page)).toEqual([]);
  await page.emulateMedia({ colorScheme: 'dark' });
  expect(await axeViolations(page)).toEqual([]);
  await page.emulateMedia({ colorScheme: 'light' });
  for (const width of [390, 360]) {
    await page.setViewportSize({ width, height: 900 });
    expect(await overflowsSideways(page), `sideways overflow at ${width} px`).toBe(false);
  }
  await page.setViewportSize({ width: 1440, height: 900 });
  await screenshots(page, name);
  expect(page.problems).toEqual([]);
}

describe('Studio: task view', () => {
  it('shows an agent task’s prompt, output, transcript with its tool calls and results, and its file changes as a diff', async () => {
    const api = await server();
    try {
      llm.enqueue(
        { toolCalls: [{ name: 'write_file', input: { path: 'notes/hello.txt', content: 'hello\nworld\nthird line\n' } }], usage: { inputTokens: 120, outputTokens: 30 } },
        { toolCalls: [{ name: 'edit_file', input: { path: 'notes/hello.txt', old_text: 'world', new_text: 'studio' } }], usage: { inputTokens: 150, outputTokens: 20 } },
        { toolCalls: [{ name: 'read_file', input: { path: 'missing.txt' } }], usage: { inputTokens: 170, outputTokens: 10 } },
        { text: 'Wrote notes/hello.txt.', usage: { inputTokens: 190, outputTokens: 8 } },
      );
      const [task] = await api.colony.tasks.submit([{ type: 'agent', name: 'write-notes', input: { prompt: 'Write notes/hello.txt saying hello.' } }]);
      const [done] = await api.colony.tasks.waitFor([task!.id]);
      expect(done?.status).toBe('completed');

      // The API: the diff is the task's own change, rebuilt from the journal and the transcript.
      const changes = (await api.request('GET', `/api/v2/tasks/${task!.id}/changes`)).json;
      expect(changes.journal).toBe(true);
      expect(changes.files).toHaveLength(1);
      expect(changes.files[0]).toMatchObject({ path: 'notes/hello.txt', change: 'created', note: null });
      expect(changes.files[0].diff).toEqual({
        hunks: [{ header: '@@ -0,0 +1,3 @@', lines: [{ op: '+', text: 'hello' }, { op: '+', text: 'studio' }, { op: '+', text: 'third line' }] }],
        added: 3,
        removed: 0,
      });
      const history = (await api.request('GET', `/api/v2/tasks/${task!.id}/history`)).json;
      expect(history.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'completed', error: null })]);
      expect(history.events.map((e: { type: string }) => e.type)).toEqual(expect.arrayContaining(['task.created', 'task.started', 'task.completed']));

      const page = await openStudio(browser, `${api.base}/tasks/${task!.id}`);
      await page.locator('#transcript').waitFor();
      // Sections that do not apply are left out, not printed as "null".
      expect(await page.locator('#task-detail').evaluate((d) => [...d.childNodes].some((n) => n.nodeType === 3))).toBe(false);
      expect(await page.locator('h1').textContent()).toContain('write-notes');
      expect(await page.locator('#task-prompt').textContent()).toBe('Write notes/hello.txt saying hello.');
      expect(await page.locator('#task-output').textContent()).toBe('Wrote notes/hello.txt.');
      const roles = await page.locator('#transcript .turn').evaluateAll((turns) => turns.map((t) => `${t.getAttribute('data-turn')}:${t.getAttribute('data-role')}`));
      expect(roles).toEqual(['0:system', '0:user', '1:assistant', '1:tool', '2:assistant', '2:tool', '3:assistant', '3:tool', '4:assistant']);
      const call = page.locator('.tool-call[data-tool=write_file]');
      expect(await call.textContent()).toContain('"path": "notes/hello.txt"');
      expect(await page.locator('.tool-result[data-tool=edit_file]').textContent()).toContain('1 replacement');
      expect(await page.locator('.tool-result.tool-error[data-tool=read_file]').textContent()).toContain('missing.txt');
      const diff = page.locator('.file-change[data-path="notes/hello.txt"] .diff');
      expect(await diff.locator('.diff-add').allTextContents()).toEqual(['+hello\n', '+studio\n', '+third line\n']);
      expect(await page.locator('#attempts tr.attempt').count()).toBe(1);
      expect(await page.locator('#agent-choice').textContent()).toContain('no requirement');
      expect(await page.locator('.facts').first().textContent()).toContain('630 in, 68 out');
      expect(await page.locator('.facts').first().textContent()).toMatch(/Queued.*Waited to start\d/);
      await checkPage(page, 'task');
      await page.close();
    } finally {
      await api.close();
    }
  });

  it('follows a running task live: its status, transcript and output appear without a reload', async () => {
    const api = await server();
    try {
      llm.enqueue({ text: 'Finished after a pause.', delayMs: 3_000, usage: { inputTokens: 40, outputTokens: 5 } });
      const [task] = await api.colony.tasks.submit([{ type: 'agent', name: 'slow-answer', input: { prompt: 'Take your time.' } }]);
      const page = await openStudio(browser, `${api.base}/tasks/${task!.id}`);
      await waitLive(page);
      await page.locator('#task-detail h1 .status-running').waitFor();
      await page.locator('#task-detail h1 .status-completed').waitFor({ timeout: 10_000 });
      await page.locator('#task-output').filter({ hasText: 'Finished after a pause.' }).waitFor();
      expect(await page.locator('#transcript .turn[data-role=assistant]').count()).toBe(1);
      expect(page.problems).toEqual([]);
      await page.close();
    } finally {
      await api.close();
    }
  });

  it('shows every attempt of a task that failed and was retried, with each error, and retries it from its button', async () => {
    const api = await server();
    try {
      let calls = 0;
      api.colony.registerExecutor({
        type: 'flaky',
        execute: async ({ attempt }) => {
          calls++;
          throw new ExecutionError(`the flaky service refused attempt ${attempt}`);
        },
      });
      const [task] = await api.colony.tasks.submit([{ type: 'flaky', name: 'flaky-call', maxRetries: 1 }]);
      const [failed] = await api.colony.tasks.waitFor([task!.id]);
      expect(failed?.status).toBe('failed');

      const page = await openStudio(browser, `${api.base}/tasks/${task!.id}`);
      await waitLive(page);
      const rows = page.locator('#attempts tr.attempt');
      await rows.nth(1).waitFor();
      expect(await rows.count()).toBe(2);
      expect(await rows.nth(0).textContent()).toContain('the flaky service refused attempt 1');
      expect(await rows.nth(0).textContent()).toContain('(retried)');
      expect(await rows.nth(1).textContent()).toContain('the flaky service refused attempt 2');
      expect(await page.locator('#task-error').textContent()).toContain('attempt 2');
      expect(await page.locator('#file-changes').count()).toBe(0);
      await checkPage(page, 'task-failed');

      // A retry gives the task a fresh budget: two more attempts, shown as they happen.
      await page.click('button[data-action=retry]');
      await page.locator('#task-error').filter({ hasText: 'attempt 4' }).waitFor();
      expect(await rows.count()).toBe(4);
      expect(calls).toBe(4);
      expect(page.problems).toEqual([]);
      await page.close();
    } finally {
      await api.close();
    }
  });
});

describe('Studio: a swarm’s task', () => {
  it('links a swarm task to its swarm and agent, says how its agent was chosen, and lists it under its swarm', async () => {
    const swarmLlm = new FakeLlmServer({ defaultReply: swarmModel() });
    const { anthropicBaseUrl } = await swarmLlm.start();
    const api = await startApi({ providers: { anthropic: { baseUrl: anthropicBaseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } }, agents: { defaultProvider: 'anthropic' } }, { startEngine: true });
    try {
      // The research task names no agent type: the adaptive selector picks one among the research types.
      const plan = { tasks: [{ id: 'facts', title: 'Gather facts', prompt: 'List three facts about ants.', kind: 'research' }] };
      const swarm = await api.colony.swarms.create({ objective: 'Write a haiku about ants', topology: 'centralized', agents: 2, review: false, plan });
      expect((await api.colony.swarms.waitFor(swarm.id)).status).toBe('completed');
      const [task] = await api.colony.tasks.list({ swarmId: swarm.id, limit: 1 });
      const [choice] = await api.colony.events.list({ correlationId: swarm.id, types: ['swarm.agent_type_chosen'] });
      expect(choice?.data).toMatchObject({ planTaskId: 'facts', kind: 'research', by: 'selector' });
      // A task outside the swarm, which its list leaves out.
      api.colony.registerExecutor({ type: 'echo', execute: async ({ task: t }) => t.input });
      await api.colony.tasks.waitFor((await api.colony.tasks.submit([{ type: 'echo', name: 'outside' }])).map((t) => t.id));

      const page = await openStudio(browser, `${api.base}/tasks/${task!.id}`);
      await page.locator('#agent-choice').waitFor();
      expect(await page.locator(`#task-detail a[href="/swarms/${swarm.id}"]`).count()).toBeGreaterThan(0);
      expect(await page.locator('#agent-choice').textContent()).toContain('dispatched by its swarm');
      const reasons = await page.locator('#agent-choice').textContent();
      expect(reasons).toContain(`agent type "${(choice?.data as { type: string }).type}": chosen for work of kind "research" by the adaptive selector`);
      for (const c of (choice?.data as { candidates: { type: string }[] }).candidates) expect(reasons).toContain(`${c.type} score `);
      expect(await page.locator('.facts').first().textContent()).toMatch(/Tokens[\d,]+ in, [\d,]+ out/);
      const agentLink = page.locator('#attempts a[href^="/agents?id=agt_"]');
      expect(await agentLink.count()).toBe(1);
      expect(await page.locator('#task-events li[data-type="swarm.task_dispatched"]').count()).toBe(1);
      await checkPage(page, 'task-swarm');

      const list = await openStudio(browser, `${api.base}/tasks?swarmId=${swarm.id}`);
      await list.locator('#task-total').waitFor();
      const total = await api.colony.tasks.count({ swarmId: swarm.id });
      expect(total).toBe((await api.colony.tasks.count()) - 1);
      expect(await list.locator('#task-total').textContent()).toBe(`${total} task${total === 1 ? '' : 's'} with swarmId ${swarm.id}`);
      expect(list.problems).toEqual([]);
      await list.close();
      await page.close();
    } finally {
      await api.close();
      await swarmLlm.close();
    }
  });
});

describe('Studio: tasks list', () => {
  it('pages through 10,000 tasks from the server and filters them, the filters in the URL', async () => {
    const api = await server(false);
    try {
      await api.colony.tasks.submit(Array.from({ length: 10_000 }, (_, i) => ({ type: 'echo', name: `bulk-${i}`, input: { i } })));
      await api.colony.tasks.submit([1, 2, 3].map((i) => ({ type: 'agent', name: `agent-${i}`, input: { prompt: 'x' } })));
      const { workflow } = await prepareWorkflowRun(api.colony, parseWorkflow('name: nightly build\ntasks:\n  - id: compile\n    type: echo\n  - id: package\n    type: echo\n    depends_on: compile\n'));

      const page = await openStudio(browser, `${api.base}/tasks`);
      await page.locator('#task-total').waitFor();
      expect(await page.locator('#task-total').textContent()).toBe('10,005 tasks');
      expect(await page.locator('#task-table tr.task').count()).toBe(50);
      expect(await page.locator('#task-range').textContent()).toContain('1–50 of 10,005');
      // Newest first by default.
      expect(await page.locator('#task-table tr.task td:first-child a').first().textContent()).toBe('package');
      expect(await page.locator('#workflow-table tr.workflow').count()).toBe(1);
      expect(await page.locator('#workflow-table tr.workflow').textContent()).toContain('running');
      await checkPage(page, 'tasks');

      await page.click('.pager a:has-text("next")');
      await page.locator('#task-range').filter({ hasText: '51–100' }).waitFor();
      expect(new URL(page.url()).searchParams.get('offset')).toBe('50');

      await page.fill('#task-filters input[name=type]', 'agent');
      await page.click('#task-filters button[type=submit]');
      await page.locator('#task-total').filter({ hasText: '3 tasks with type agent' }).waitFor();
      expect(new URL(page.url()).search).toBe('?type=agent');
      expect(await page.locator('#task-table tr.task').count()).toBe(3);

      await page.fill('#task-filters input[name=search]', 'AGENT-2');
      await page.click('#task-filters button[type=submit]');
      await page.locator('#task-total').filter({ hasText: '1 task with search AGENT-2, type agent' }).waitFor();
      expect(await page.locator('#task-table tr.task td:first-child a').allTextContents()).toEqual(['agent-2']);
      await page.fill('#task-filters input[name=search]', '');
      await page.selectOption('#task-filters select[name=sort]', 'createdAt');
      await page.click('#task-filters button[type=submit]');
      await page.locator('#task-table tr.task td:first-child a').first().filter({ hasText: 'agent-1' }).waitFor();

      // A workflow run leads to its tasks.
      await page.click(`#workflow-table a[href="/tasks?workflowId=${workflow.id}"]`);
      await page.locator('#task-total').filter({ hasText: `2 tasks with workflowId ${workflow.id}` }).waitFor();
      expect(await page.locator('#task-table tr.task td:first-child a').allTextContents()).toEqual(['package', 'compile']);
      await page.selectOption('#workflow-filters select[name=workflowStatus]', 'completed');
      await page.click('#workflow-filters button[type=submit]');
      await page.locator('#workflow-list .empty').waitFor();

      // A shared URL opens the same view.
      const shared = await openStudio(browser, `${api.base}/tasks?status=completed`);
      await shared.locator('#task-total').filter({ hasText: '0 tasks with status completed' }).waitFor();
      expect(await shared.locator('#task-filters select[name=status]').inputValue()).toBe('completed');
      // A task that has not run can be cancelled from its page; then it can be retried.
      await page.click('#task-table a:has-text("agent-1")');
      await page.click('button[data-action=cancel]');
      await page.locator('#task-detail h1 .status-cancelled').waitFor();
      expect(await page.locator('button[data-action=retry]').count()).toBe(1);
      expect(await page.locator('#task-error').textContent()).toContain('cancelled');
      expect(page.problems).toEqual([]);
      expect(shared.problems).toEqual([]);
      await shared.close();
      await page.close();
    } finally {
      await api.close();
    }
  });
});

describe('Studio: events', () => {
  it('shows payloads, filters by type in the URL, holds new events while paused and shows them on resume, and links to their pages', async () => {
    const api = await server();
    try {
      for (let i = 0; i < 120; i++) api.colony.events.publish('memory.stored', { namespace: 'seed', key: `k${i}`, version: 1 }, { source: 'test', correlationId: null });
      const [first] = await api.colony.tasks.submit([{ type: 'echo', name: 'first-echo', input: { said: 'hello from the first task' } }]);
      await api.colony.tasks.waitFor([first!.id]);
      api.colony.events.publish('swarm.created', { swarmId: 'swm_0000000000000000000000test', name: 'seeded', topology: 'mesh', objective: 'links' }, { source: 'test', correlationId: 'swm_0000000000000000000000test' });
      // A vote's event leads to the proposal on the votes page.
      const voter = { id: 'events-voter', vote: async (b: Ballot) => [await api.colony.consensus.keyring.sign({ proposalId: b.proposalId, round: b.round, voterId: 'events-voter', decision: 'approve', confidence: 1, reason: 'ok' })] };
      const proposal = await api.colony.consensus.propose({ question: 'links?', strategy: 'majority' }, [voter]);

      const page = await openStudio(browser, `${api.base}/events`);
      await waitLive(page);
      const swarmLine = page.locator('#event-log li[data-type="swarm.created"]');
      await swarmLine.waitFor();
      expect(await swarmLine.locator('.event-links a').getAttribute('href')).toBe('/swarms/swm_0000000000000000000000test');
      expect(await swarmLine.textContent()).toContain('"objective": "links"');
      const decided = page.locator('#event-log li[data-type="consensus.decided"]');
      await decided.waitFor();
      expect(await decided.locator('.event-links a', { hasText: 'vote' }).first().getAttribute('href')).toBe(`/consensus?id=${proposal.id}`);
      await checkPage(page, 'events');

      // The first page is the newest 100; older ones are paged back from the server.
      expect(await page.locator('#event-log li').count()).toBe(100);
      await page.click('#older-events');
      await page.locator('#event-log li[data-type="colony.started"]').waitFor();
      const ids = await page.locator('#event-log li').evaluateAll((items) => items.map((i) => Number(i.getAttribute('data-id'))));
      expect(ids.length).toBeGreaterThan(120);
      expect(ids).toEqual([...ids].sort((a, b) => b - a));
      expect(await page.locator('#older-events').isHidden()).toBe(true);

      // Its correlation's events, by a link whose URL can be shared.
      await swarmLine.locator('a:has-text("events of")').click();
      await page.locator('#event-filters input[name=correlationId]').and(page.locator('[value="swm_0000000000000000000000test"]')).waitFor();
      await page.locator('#event-log li').first().waitFor();
      expect(await page.locator('#event-log li').evaluateAll((items) => items.map((i) => i.getAttribute('data-type')))).toEqual(['swarm.created']);

      await page.fill('#event-filters input[name=correlationId]', '');
      await page.fill('#event-filters input[name=types]', 'task.*');
      await page.click('#event-filters button[type=submit]');
      await page.locator('#event-log li[data-type="task.completed"]').waitFor();
      expect(new URL(page.url()).searchParams.get('types')).toBe('task.*');
      const types = await page.locator('#event-log li').evaluateAll((items) => items.map((i) => i.getAttribute('data-type')));
      expect(types.length).toBeGreaterThan(0);
      expect(types.every((t) => t?.startsWith('task.'))).toBe(true);
      const created = page.locator('#event-log li[data-type="task.created"]');
      expect(await created.locator('a').first().getAttribute('href')).toBe(`/tasks/${first!.id}`);
      const firstCreated = created.filter({ has: page.locator(`a[href="/tasks/${first!.id}"]`) });

      await page.click('#feed-pause');
      expect(await page.locator('#feed-pause').getAttribute('aria-pressed')).toBe('true');
      const [second] = await api.colony.tasks.submit([{ type: 'echo', name: 'second-echo' }]);
      await api.colony.tasks.waitFor([second!.id]);
      await page.locator('#feed-state').filter({ hasText: /Paused: [1-9]\d* new events? held/ }).waitFor();
      const secondLines = page.locator(`#event-log li:has(a[href="/tasks/${second!.id}"])`);
      expect(await secondLines.count()).toBe(0);
      await page.click('#feed-pause');
      await page.locator('#event-log li[data-type="task.completed"]').filter({ has: page.locator(`a[href="/tasks/${second!.id}"]`) }).waitFor();
      expect(await page.locator('#event-log li').first().getAttribute('data-type')).toBe('task.completed');
      expect(await page.locator('#feed-state').textContent()).toContain('Live');

      // An event's link leads to its task's page.
      await firstCreated.locator('a').first().click();
      await page.locator('#task-detail h1').filter({ hasText: 'first-echo' }).waitFor();
      expect(new URL(page.url()).pathname).toBe(`/tasks/${first!.id}`);
      expect(page.problems).toEqual([]);
      await page.close();
    } finally {
      await api.close();
    }
  });
});
