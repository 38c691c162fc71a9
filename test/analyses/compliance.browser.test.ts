// The HTML report in a real browser: Debian's Chromium driven by playwright-core (installed by
// .ci/run; skipped where no Chromium is installed). A screenshot goes to test-artifacts/.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

describe.skipIf(!CHROMIUM)('the HTML compliance report in Chromium', () => {
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const dir = tmpDir();
  const file = join(dir, 'report.html');

  beforeAll(async () => {
    // The sample, plus hostile values in the data: they must stay inert text.
    writeFiles(dir, {
      'hostile.log': jsonl([
        event({ auditID: 'h1', user: { username: '<img src=x onerror="window.__pwned=1">', groups: ['system:masters'] }, userAgent: '<script>window.__pwned=2</script>' }),
        event({ auditID: 'h2', user: { username: '"><svg onload="window.__pwned=3">', groups: ['system:authenticated'] }, objectRef: { resource: 'secrets', namespace: '<b>ns</b>', apiVersion: 'v1' } }),
      ]),
    });
    const r = await runCli(['compliance', 'fixtures/sample', join(dir, 'hostile.log'), '--rbac', 'fixtures/sample-rbac', '--now', '2026-03-04T00:00:00Z', '--out', file, '-q']);
    expect(r.code).toBe(0);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 1400 } });
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (req) => {
      if (!req.url().startsWith('file:') && !req.url().startsWith('blob:') && !req.url().startsWith('data:')) errors.push(`network request: ${req.url()}`);
    });
    await page.goto(`file://${resolve(file)}`);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('renders, with no console error and no network request', async () => {
    expect(await page.locator('h1').textContent()).toBe('Kubernetes least-privilege report');
    expect(await page.locator('#checks tbody tr').count()).toBe(12);
    expect(await page.locator('svg[role=img]').count()).toBe(2);
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/compliance-report.png', fullPage: false });
    expect(errors).toEqual([]);
  });

  it('every chart label is readable: each text of each chart lies inside its chart (screenshot of the charts)', async () => {
    const outside = await page.evaluate(() => {
      const bad: string[] = [];
      for (const svg of Array.from(document.querySelectorAll('svg[role=img]'))) {
        const box = svg.getBoundingClientRect();
        for (const t of Array.from(svg.querySelectorAll('text'))) {
          const r = t.getBoundingClientRect();
          if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) bad.push(`${svg.getAttribute('aria-label')}: "${t.textContent}" at ${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)} outside ${Math.round(box.left)},${Math.round(box.top)}–${Math.round(box.right)},${Math.round(box.bottom)}`);
        }
      }
      return bad;
    });
    expect(outside).toEqual([]);
    // The value above the tallest bar of each chart is there and inside (the labels once clipped at the top).
    const tops = await page.evaluate(() => Array.from(document.querySelectorAll('svg[role=img]')).map((svg) => Math.max(...Array.from(svg.querySelectorAll('text.val')).map((t) => Number(t.textContent) || 0))));
    expect(tops.every((n) => n > 0)).toBe(true);
    mkdirSync('test-artifacts', { recursive: true });
    await page.locator('#summary').screenshot({ path: 'test-artifacts/compliance-charts.png' });
  });

  it('sorts a table by a column, both ways', async () => {
    const scores = async (): Promise<number[]> => (await page.locator('#subjects tbody tr td:nth-child(8)').allTextContents()).filter((t) => t !== '–').map((t) => parseFloat(t));
    await page.locator('#subjects th', { hasText: 'score' }).click();
    const up = await scores();
    expect(up).toEqual([...up].sort((a, b) => a - b));
    await page.locator('#subjects th', { hasText: 'score' }).click();
    const down = await scores();
    expect(down).toEqual([...down].sort((a, b) => b - a));
    expect(await page.locator('#subjects th', { hasText: 'score' }).getAttribute('aria-sort')).toBe('descending');
  });

  it('filters rows, and the CSV download holds exactly the rows shown', async () => {
    await page.locator('input[data-filter=checks]').fill('access to secrets');
    const visible = await page.locator('#checks tbody tr:visible').count();
    expect(visible).toBe(1);
    expect(await page.locator('[data-count=checks]').textContent()).toBe('1 of 12 rows');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('button[data-csv=checks]').click()]);
    const path = join(dir, 'checks.csv');
    await download.saveAs(path);
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^check,title,status,SOC 2,/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/^KC-04,access to secrets is minimal,FAIL,/);
    await page.locator('input[data-filter=checks]').fill('');
    expect(await page.locator('#checks tbody tr:visible').count()).toBe(12);
  });

  it('keeps hostile values from the audit data inert', async () => {
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    const text = await page.locator('body').textContent();
    expect(text).toContain('<img src=x onerror="window.__pwned=1">');
    expect(await page.locator('img').count()).toBe(0);
    await page.locator('input[data-filter=subjects]').fill('onload');
    expect(await page.locator('#subjects tbody tr:visible').count()).toBe(1);
    await page.locator('#checks details').first().evaluate((d) => ((d as HTMLDetailsElement).open = true));
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(errors).toEqual([]);
    writeFileSync(join(dir, 'done'), 'ok');
  });

  it('prints to PDF', async () => {
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(10_000);
  });
});
