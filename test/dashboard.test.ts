import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FakeLlmServer } from '../src/testing/fake-llm-server.js';
import { startApi, type TestApi } from './support/api-server.js';
import { swarmModel } from './support/swarm-model.js';

/**
 * The web dashboard, as a person uses it: Debian's Chromium driven by playwright-core against a real
 * `colony up`-style server on an ephemeral port, with the fake model server behind the swarms.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let browser: Browser;
let llm: FakeLlmServer;
let baseUrl: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the dashboard tests drive Chromium, and there is none at ${CHROMIUM}: apt-get install chromium (npm test's pretest step does it as root), or set CHROMIUM_PATH`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // No background networking: this machine's network is closed, and Chromium would keep trying.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
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

async function open(api: TestApi): Promise<Page> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().includes('401')) problems.push(message.text());
  });
  await page.goto(api.base);
  (page as Page & { problems: string[] }).problems = problems;
  return page;
}

describe('web dashboard', () => {
  it('starts a swarm from the form and shows it running to completion, with its tasks, result and events', async () => {
    const api = await server();
    try {
      const page = await open(api);
      await page.locator('#summary').filter({ hasText: 'runner' }).waitFor();
      await page.locator('#stream-state').filter({ hasText: 'live' }).waitFor();
      await page.fill('textarea[name=objective]', 'Write a haiku about ants');
      await page.selectOption('select[name=topology]', 'centralized');
      await page.fill('input[name=agents]', '2');
      await page.click('#swarm-form button[type=submit]');

      const row = page.locator('#swarm-rows tr.swarm').first();
      await row.locator('.status-completed').waitFor({ timeout: 20_000 });
      const [swarm] = await api.colony.swarms.list();
      expect(swarm?.status).toBe('completed');
      expect(await row.getAttribute('data-id')).toBe(swarm?.id);

      await row.click();
      await page.locator('#swarm-result').waitFor();
      expect(await page.locator('#swarm-result').textContent()).toMatch(/^SYNTHESIS/);
      const statuses = await page.locator('#swarm-task-rows td:nth-child(2)').allTextContents();
      expect(statuses).toEqual(['completed', 'completed', 'completed']);
      await page.locator('#event-list li[data-type="swarm.finished"]').waitFor();
      expect(await page.locator('#task-rows tr').count()).toBeGreaterThan(0);
      expect((page as Page & { problems: string[] }).problems).toEqual([]);
      await page.close();
    } finally {
      await api.close();
    }
  });

  it('shows the API\'s error for bad input and creates nothing; pauses and stops a running swarm', async () => {
    const api = await server();
    try {
      const page = await open(api);
      await page.click('#swarm-form button[type=submit]');
      await page.locator('#error').filter({ hasText: 'objective' }).waitFor();
      await page.fill('textarea[name=objective]', 'x');
      await page.click('#swarm-form details summary');
      await page.fill('textarea[name=plan]', '{"tasks": [');
      await page.click('#swarm-form button[type=submit]');
      await page.locator('#error').filter({ hasText: 'plan: not valid JSON' }).waitFor();
      expect(await api.colony.swarms.count()).toBe(0);

      // A swarm whose plan never finishes on its own (its worker answers after 30 s): pause, then stop it.
      llm.setDefaultReply(async (request) => ({ ...((await swarmModel()(request)) as object), delayMs: 30_000 }));
      await page.fill('textarea[name=plan]', JSON.stringify({ tasks: [{ id: 'slow', title: 'Slow task', prompt: 'take your time' }] }));
      await page.uncheck('input[name=review]');
      await page.click('#swarm-form button[type=submit]');
      await page.locator('#swarm-detail button[data-action=pause]').waitFor();
      await page.click('#swarm-detail button[data-action=pause]');
      await page.locator('#swarm-detail button[data-action=resume]').waitFor();
      expect((await api.colony.swarms.list())[0]?.status).toBe('paused');
      // The swarm's agents are listed while it runs…
      await page.locator('#agent-rows tr[data-id]').first().waitFor();
      const workers = await api.colony.agents.list({ excludeTerminated: true });
      expect(await page.locator('#agent-rows tr[data-id]').count()).toBe(workers.length);
      await page.click('#swarm-detail button[data-action=stop]');
      await page.locator('#swarm-rows .status-stopped').waitFor();
      expect((await api.colony.swarms.list())[0]?.status).toBe('stopped');
      // …and retired with it.
      await page.locator('#agent-rows td.empty').waitFor();
      await page.close();
    } finally {
      llm.setDefaultReply(swarmModel());
      await api.close();
    }
  });

  it('asks for an API key when the server requires one, and works with it', async () => {
    const api = await server();
    try {
      const { key } = await api.server.keys.create({ role: 'operator', name: 'dashboard' });
      const page = await open(api);
      await page.locator('#key-form').waitFor();
      await page.fill('#key', key);
      await page.click('#key-form button[type=submit]');
      await page.locator('#summary').filter({ hasText: 'runner' }).waitFor();
      await page.locator('#stream-state').filter({ hasText: 'live' }).waitFor();
      expect(await page.locator('#key-form').isHidden()).toBe(true);
      await page.close();
    } finally {
      await api.close();
    }
  });
});
