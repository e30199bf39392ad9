import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { startApi, type TestApi } from './support/api-server.js';
import { launchStudioBrowser, openStudio, waitLive } from './support/studio-browser.js';
import { swarmModel } from './support/swarm-model.js';
import { eventually } from './support/temp-colony.js';

/**
 * The Studio as a person uses it to run swarms: Debian's Chromium driven by playwright-core against
 * a real `colony up`-style server on an ephemeral port, with the fake model server behind the swarms.
 * Start one from the form and watch it finish; bad input; pause, resume and stop; the API key form.
 */

let browser: Browser;
let llm: FakeLlmServer;
let baseUrl: string;

beforeAll(async () => {
  browser = await launchStudioBrowser();
  llm = new FakeLlmServer({ defaultReply: swarmModel() });
  baseUrl = (await llm.start()).anthropicBaseUrl;
});
afterAll(async () => {
  await browser?.close();
  await llm?.close();
});

async function server(): Promise<TestApi> {
  return startApi({ providers: { anthropic: { baseUrl, apiKey: 'sk-ant-test-0123456789', model: 'fake-model', maxRetries: 0 } }, agents: { defaultProvider: 'anthropic' } }, { startEngine: true });
}

describe('running swarms from the Studio', { timeout: 60_000 }, () => {
  it('starts a swarm from the form and shows it running to completion, with its tasks, result and events', async () => {
    const api = await server();
    try {
      const page = await openStudio(browser, api.base);
      await page.locator('#summary').filter({ hasText: 'runner' }).waitFor();
      await waitLive(page);
      await page.fill('textarea[name=objective]', 'Write a haiku about ants');
      await page.selectOption('select[name=topology]', 'centralized');
      await page.fill('input[name=agents]', '2');
      await page.click('#swarm-form button[type=submit]');

      // The form leads to the new swarm's page, which follows it live to the end.
      await page.locator('#swarm-status .status-completed').waitFor({ timeout: 20_000 });
      const [swarm] = await api.colony.swarms.list();
      expect(swarm?.status).toBe('completed');
      expect(new URL(page.url()).pathname).toBe(`/swarms/${swarm?.id}`);
      await page.locator('#swarm-result').waitFor();
      expect(await page.locator('#swarm-result').textContent()).toMatch(/^SYNTHESIS/);
      // Bounded below the test's timeout, so that a failure names the step.
      await eventually(async () => (await page.locator('#plan-svg .node.status-fill-completed').count()) === 3, 20_000);
      // Its events: a bar per task run on the timeline, and replay steps through them up to swarm.finished.
      await eventually(async () => (await page.locator('#gantt .bar-completed').count()) === 3, 20_000);
      await page.locator('#replay-at').filter({ hasText: 'swarm.finished' }).waitFor();

      // Back on the list, the swarm is there, completed, linking to its page.
      await page.click('header nav a[href="/"]');
      const row = page.locator(`#swarm-table tr.swarm[data-id="${swarm?.id}"]`);
      await row.locator('.status-completed').waitFor();
      expect(await row.locator('a').getAttribute('href')).toBe(`/swarms/${swarm?.id}`);
      expect(page.problems).toEqual([]);
      await page.close();
    } finally {
      await api.close();
    }
  });

  it("shows the API's error for bad input and creates nothing; pauses, resumes and stops a running swarm", async () => {
    const api = await server();
    try {
      const page = await openStudio(browser, api.base);
      await waitLive(page);
      // The objective is required: the browser holds the empty form back, so the API is asked with a blank one.
      await page.fill('textarea[name=objective]', '   ');
      await page.click('#swarm-form button[type=submit]');
      await page.locator('#error').filter({ hasText: 'objective' }).waitFor();
      await page.fill('textarea[name=objective]', 'x');
      await page.click('#swarm-form details summary');
      await page.fill('textarea[name=plan]', '{"tasks": [');
      await page.click('#swarm-form button[type=submit]');
      await page.locator('#error').filter({ hasText: 'plan: not valid JSON' }).waitFor();
      expect(await api.colony.swarms.count()).toBe(0);

      // A swarm whose plan never finishes on its own (its worker answers after 30 s): pause, resume, then stop it.
      llm.setDefaultReply(async (request) => ({ ...((await swarmModel()(request)) as object), delayMs: 30_000 }));
      await page.fill('textarea[name=plan]', JSON.stringify({ tasks: [{ id: 'slow', title: 'Slow task', prompt: 'take your time' }] }));
      await page.uncheck('input[name=review]');
      await page.click('#swarm-form button[type=submit]');
      await page.locator('button[data-action=pause]:visible').waitFor();
      await page.click('button[data-action=pause]');
      await page.locator('#swarm-status .status-paused').waitFor();
      expect(await page.locator('button[data-action=pause]').isHidden()).toBe(true);
      expect((await api.colony.swarms.list())[0]?.status).toBe('paused');
      await page.click('button[data-action=resume]');
      await page.locator('button[data-action=pause]:visible').waitFor();
      expect((await api.colony.swarms.list())[0]?.status).not.toBe('paused');

      // The swarm's agents are drawn while it runs…
      const id = (await api.colony.swarms.list())[0]?.id as string;
      await eventually(async () => (await page.locator('#topology-svg a.node.agent').count()) === (await api.colony.swarms.status(id)).agents.length);
      expect(await page.locator('#topology-svg a.node.agent-terminated').count()).toBe(0);
      await page.click('button[data-action=stop]');
      await page.locator('#swarm-status .status-stopped').waitFor();
      expect((await api.colony.swarms.list())[0]?.status).toBe('stopped');
      // …and retired with it; the controls are gone.
      await eventually(async () => (await page.locator('#topology-svg a.node.agent-terminated').count()) === (await api.colony.swarms.status(id)).agents.length);
      expect(await page.locator('#swarm-controls').isHidden()).toBe(true);
      // The browser logs the refused blank objective's 400; nothing else went wrong.
      expect(page.problems).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
      await page.close();
    } finally {
      llm.setDefaultReply(swarmModel());
      await api.close();
    }
  });

  it('asks for an API key when the server requires one, and works with it', async () => {
    const api = await server();
    try {
      const { key } = await api.server.keys.create({ role: 'operator', name: 'studio' });
      const page = await openStudio(browser, api.base);
      await page.locator('#key-form').waitFor();
      await page.fill('#key', key);
      await page.click('#key-form button[type=submit]');
      await page.locator('#summary').filter({ hasText: 'runner' }).waitFor();
      await waitLive(page);
      expect(await page.locator('#key-form').isHidden()).toBe(true);
      await page.close();
    } finally {
      await api.close();
    }
  });
});
