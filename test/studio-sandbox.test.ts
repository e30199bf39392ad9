import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { BWRAP_INSTALL_HINT, probeBubblewrap } from '../src/sandbox/bwrap-probe.js';
import { startApi } from './support/api-server.js';
import { launchStudioBrowser, openStudio } from './support/studio-browser.js';

/** Shell commands without the OS sandbox are said loudly: in the status endpoint and as a Studio banner. */

let browser: Browser;

beforeAll(async () => {
  const probe = await probeBubblewrap('bwrap', process.env);
  if (!probe.ok) throw new Error(`${BWRAP_INSTALL_HINT} (${probe.reason})`);
  browser = await launchStudioBrowser();
});
afterAll(async () => {
  await browser?.close();
});

describe('sandbox status in the API and the Studio', { timeout: 60_000 }, () => {
  it('shows a banner while shell commands run without the OS sandbox', async () => {
    const api = await startApi({ sandbox: { mode: 'off' } });
    try {
      const status = await api.request('GET', '/api/v2/system/status');
      expect(status.json.sandbox).toMatchObject({ mode: 'off', isolation: 'none', degraded: true, reason: expect.stringContaining('sandbox.mode is off') });
      const page = await openStudio(browser, api.base);
      const banner = page.locator('#sandbox-warning');
      await banner.waitFor({ state: 'visible' });
      expect(await banner.textContent()).toContain('No OS sandbox');
      expect(await banner.getAttribute('role')).toBe('alert');
      expect(page.problems).toEqual([]);
      await page.close();
    } finally {
      await api.close();
    }
  });

  it('shows none when bubblewrap isolates them', async () => {
    const api = await startApi({});
    try {
      const status = await api.request('GET', '/api/v2/system/status');
      expect(status.json.sandbox).toMatchObject({ mode: 'auto', isolation: 'bwrap', degraded: false, reason: null });
      const page = await openStudio(browser, api.base);
      await page.locator('#summary').filter({ hasText: 'runner' }).waitFor();
      expect(await page.locator('#sandbox-warning').isVisible()).toBe(false);
      await page.close();
    } finally {
      await api.close();
    }
  });
});
