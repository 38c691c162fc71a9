// `audit view` at 200,000 API calls in Chromium: the page loads, filters, scrolls and exports. The
// timings are measured and printed (and written to test-artifacts/view-scale.json), never asserted:
// the machine running the tests may be busy. What is asserted: the counts match the command line,
// the table keeps only the rows in sight in the DOM, and the export holds exactly the rows selected.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runCli, tmpDir } from '../helpers.js';
import { generate, DEFAULT_GEN } from '../../src/gen/index.js';
import { CHROMIUM, LAUNCH_ARGS } from './browser.js';


describe.skipIf(!CHROMIUM)('audit view at 200,000 API calls', () => {
  let browser: Browser;
  let page: Page;
  const dir = tmpDir();
  const html = resolve(join(dir, 'big.html'));
  const log = join(dir, 'log');
  const numbers: Record<string, number | string> = {};
  let calls = 0;
  let written = NaN;

  /** Runs an interaction and returns the page's own filter time and the longest main-thread task it caused. */
  async function measure(name: string, act: () => Promise<unknown>): Promise<void> {
    await page.evaluate(() => {
      performance.clearMeasures('kaudit:filter');
      performance.clearMeasures('kaudit:search');
      (window as unknown as { __long: number[] }).__long = [];
    });
    const t0 = Date.now();
    await act();
    await page.waitForTimeout(300);
    const r = await page.evaluate(() => ({
      filter: performance.getEntriesByName('kaudit:filter').map((e) => e.duration),
      search: performance.getEntriesByName('kaudit:search').map((e) => e.duration),
      long: (window as unknown as { __long: number[] }).__long,
    }));
    numbers[`${name}: filter ms`] = Math.round(Math.max(0, ...r.filter));
    if (r.search.length) numbers[`${name}: text search ms (in slices)`] = Math.round(Math.max(...r.search));
    numbers[`${name}: longest task ms`] = Math.round(Math.max(0, ...r.long));
    numbers[`${name}: wall ms (incl. driver)`] = Date.now() - t0 - 300;
  }

  beforeAll(async () => {
    let t = Date.now();
    await generate({ ...DEFAULT_GEN, out: log, days: 1, seed: 5, scale: 1, rotate: 'none' });
    numbers['generate log s'] = (Date.now() - t) / 1000;
    t = Date.now();
    // Every call of the day (over 200,000): more than the default rows of --memory 192M (98,304).
    const r = await runCli(['view', log, '--out', html, '--max-rows', '500000']);
    expect(r.code).toBe(0);
    written = Number(/^view: (\d+) API calls/m.exec(r.stderr)?.[1]);
    numbers['audit view s'] = (Date.now() - t) / 1000;
    numbers['page MB'] = Math.round(readFileSync(html).length / 1e5) / 10;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    await page.addInitScript(() => {
      const w = window as unknown as { __long: number[] };
      w.__long = [];
      new PerformanceObserver((l) => l.getEntries().forEach((e) => w.__long.push(e.duration))).observe({ type: 'longtask', buffered: true });
    });
  }, 300_000);

  afterAll(async () => {
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync('test-artifacts/view-scale.json', JSON.stringify(numbers, null, 2) + '\n');
    process.stdout.write(`\naudit view, ${calls} API calls:\n${Object.entries(numbers).map(([k, v]) => `  ${k.padEnd(44)} ${v}`).join('\n')}\n`);
    await browser?.close();
  });

  it('loads', async () => {
    const t0 = Date.now();
    await page.goto(`file://${html}#view=calls`);
    await page.waitForSelector('html[data-state=ready]', { timeout: 120_000 });
    numbers['load to first render ms'] = Date.now() - t0;
    const load = await page.evaluate(() => ['kaudit:load:data', 'kaudit:load:ui'].map((n) => performance.getEntriesByName(n)[0]?.duration ?? NaN));
    numbers['  of which: decode the data ms'] = Math.round(load[0]!);
    numbers['  of which: build the model and first render ms'] = Math.round(load[1]!);
    calls = Number(await page.getAttribute('#count', 'data-count'));
    expect(calls).toBeGreaterThanOrEqual(200_000);
    expect(calls).toBe(written);
    numbers['JS heap MB after load'] = await page.evaluate(() => Math.round(((performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? 0) / 1e6));
  }, 180_000);

  it('filters by a facet, by text, by a toggle, by time and by view, and keeps only the rows in sight in the DOM', async () => {
    await measure('free text "secrets"', async () => {
      await page.fill('input.search', 'secrets');
      await page.waitForFunction(() => location.hash.includes('q=secrets'));
    });
    await measure('clear text', async () => {
      await page.fill('input.search', '');
      await page.waitForFunction(() => !location.hash.includes('q='));
    });
    await measure('user facet', () => page.locator('details[data-facet=user] input[type=checkbox]').first().check());
    const oneUser = Number(await page.getAttribute('#count', 'data-count'));
    expect(oneUser).toBeGreaterThan(0);
    expect(oneUser).toBeLessThan(calls);
    await measure('only writes', () => page.check('input[data-only=writes]'));
    await measure('clear all', () => page.click('text=Clear all filters'));
    expect(Number(await page.getAttribute('#count', 'data-count'))).toBe(calls);
    await measure('histogram brush', async () => {
      const box = (await page.locator('svg.hist-svg').boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.2, box.y + 20);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.6, box.y + 20, { steps: 4 });
      await page.mouse.up();
      await page.waitForFunction(() => location.hash.includes('from='));
    });
    await measure('switch to commands', () => page.click('button[data-view=commands]'));
    await measure('switch to API calls', () => page.click('button[data-view=calls]'));
    await measure('scroll to the end', async () => {
      await page.locator('.g-scroll').evaluate((e) => (e.scrollTop = e.scrollHeight));
      await page.waitForTimeout(100);
    });
    expect(await page.locator('.g-row').count()).toBeLessThan(80);
  }, 180_000);

  it('exports exactly the rows selected', async () => {
    await page.click('text=Clear all filters');
    await page.check('input[data-only=denied]');
    const n = Number(await page.getAttribute('#count', 'data-count'));
    const t0 = Date.now();
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('button[data-export=csv]')]);
    const csv = readFileSync((await dl.path())!, 'utf8');
    numbers['export CSV of the denied rows ms'] = Date.now() - t0;
    expect(csv.trimEnd().split('\n')).toHaveLength(n + 1);
    await page.uncheck('input[data-only=denied]');
    const t1 = Date.now();
    const [all] = await Promise.all([page.waitForEvent('download'), page.click('button[data-export=csv]')]);
    const allCsv = readFileSync((await all.path())!, 'utf8');
    numbers['export CSV of every row ms'] = Date.now() - t1;
    numbers['export CSV of every row MB'] = Math.round(allCsv.length / 1e5) / 10;
    expect(allCsv).toBe((await runCli(['export', '--order-window', '0', log, '-o', 'csv', '-q'])).stdout);
  }, 180_000);
});
