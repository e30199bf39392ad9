// Studio first render: how long each page takes in Chromium, from navigation until the page has drawn
// its first data (its view drops aria-busy), against a server whose store holds 10,000 finished tasks
// (about 40,000 events), agents and memory entries. Each page is loaded in a fresh tab several times;
// the table gives the median and the slowest. Needs Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { nowMs, report, summarize, withTempColony } from './harness.js';

const TASKS = 10_000;
const AGENTS = 20;
const MEMORY_ENTRIES = 1_000;
const LOADS = 5;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const READY_TIMEOUT_MS = 60_000;

async function seed(colony) {
  colony.registerExecutor({ type: 'noop', execute: async ({ task }) => ({ echoed: task.input }) });
  const tasks = await colony.tasks.submit(Array.from({ length: TASKS }, (_, i) => ({ type: 'noop', name: `task-${i}`, input: { i } })));
  await colony.start();
  await colony.tasks.waitFor(tasks.map((t) => t.id));
  for (let i = 0; i < AGENTS; i++) await colony.agents.spawn({ type: i % 2 ? 'coder' : 'researcher' });
  const memory = await colony.memory();
  await memory.storeMany(Array.from({ length: MEMORY_ENTRIES }, (_, i) => ({ namespace: i % 2 ? 'notes' : 'facts', key: `k${i}`, value: { text: `entry ${i} about ants and bees` } })));
  return tasks;
}

export async function run() {
  if (!existsSync(CHROMIUM)) throw new Error(`studio bench: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  const { createServer } = await import('../dist/api/create-server.js');
  await withTempColony({ tasks: { concurrency: 256 } }, async (colony) => {
    const tasks = await seed(colony);
    const server = await createServer(colony, { host: '127.0.0.1', port: 0 });
    const address = await server.listen();
    const base = address.origin;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const pages = ['/', '/tasks', `/tasks?offset=${TASKS - 50}`, `/tasks/${tasks[TASKS - 1].id}`, '/events', '/agents', '/memory', '/system'];
    const rows = [];
    try {
      for (const path of pages) {
        const samples = [];
        for (let i = 0; i < LOADS; i++) {
          const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
          const t0 = nowMs();
          await page.goto(`${base}${path}`, { waitUntil: 'commit' });
          await page
            .locator('#view:not([aria-busy]) > *')
            .first()
            .waitFor({ timeout: READY_TIMEOUT_MS })
            .catch((error) => {
              throw new Error(`studio bench: ${path} did not render within ${READY_TIMEOUT_MS} ms (${error.message.split('\n')[0]})`);
            });
          samples.push(nowMs() - t0);
          await page.close();
        }
        const s = summarize(samples);
        rows.push({ name: `first render ${path.replace(/tsk_\w+/, ':id')}`, value: s.p50, unit: 'ms', target: '< 1,000 ms', detail: `median of ${LOADS} fresh tabs; slowest ${s.max.toFixed(0)} ms` });
      }
    } finally {
      await browser.close();
      await server.close();
    }
    report('studio', rows);
  });
}
