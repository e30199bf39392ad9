import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Driving the Studio in Debian's Chromium (playwright-core): a browser, pages that record every
 * console error and page error, the axe-core accessibility check, and the screenshots a reviewer
 * looks at (test-results/studio/<name>-<width>.png, at a desktop and a phone width).
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT_DIR = 'test-results/studio';
export const SCREEN_WIDTHS = [1440, 390] as const;

export async function launchStudioBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // No background networking: this machine's network is closed, and Chromium would keep trying.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface StudioPage extends Page {
  /** Console errors and uncaught page errors seen so far (401s before a key is given are expected). */
  problems: string[];
}

/** A new page at `url`, recording its problems; `colorScheme` picks the theme the system asks for. */
export async function openStudio(browser: Browser, url: string, options: { width?: number; colorScheme?: 'light' | 'dark' } = {}): Promise<StudioPage> {
  const page = (await browser.newPage({ viewport: { width: options.width ?? 1440, height: 900 }, colorScheme: options.colorScheme ?? 'light' })) as StudioPage;
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().includes('401')) page.problems.push(message.text());
  });
  await page.goto(url);
  return page;
}

/** Waits until the page's live event stream is connected (the header says so). */
export async function waitLive(page: Page): Promise<void> {
  await page.locator('#stream-state').filter({ hasText: 'live' }).waitFor();
}

let axeSource: string | undefined;

/** The axe-core violations on the page as it is now (WCAG 2.1 A and AA rules), as short readable lines. */
export async function axeViolations(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated, not added as a script tag: the server's Content-Security-Policy refuses inline scripts.
  await page.evaluate(axeSource);
  // A string, not a function: this file is compiled without the DOM's types.
  const violations = (await page.evaluate(`(async () => {
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.map((n) => JSON.stringify(n.target)).join(', '));
  })()`)) as string[];
  return violations;
}

/** Whether the page is wider than its viewport (content overflowing sideways). */
export async function overflowsSideways(page: Page): Promise<boolean> {
  return (await page.evaluate('document.documentElement.scrollWidth > document.documentElement.clientWidth + 1')) as boolean;
}

/**
 * Screenshots of the page at each of SCREEN_WIDTHS, full height, under test-results/studio/; the
 * viewport is put back afterwards. Returns the files written.
 */
export async function screenshots(page: Page, name: string): Promise<string[]> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const before = page.viewportSize();
  const files: string[] = [];
  for (const width of SCREEN_WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    const path = `${SCREENSHOT_DIR}/${name}-${width}.png`;
    await page.screenshot({ path, fullPage: true });
    files.push(path);
  }
  if (before) await page.setViewportSize(before);
  return files;
}
