// `audit view` in a real browser: Debian's Chromium driven by playwright-core (installed by .ci/run;
// skipped where no Chromium is installed). The page is checked against the command line: row counts
// against `audit investigate -o json`, facet filters against the same command-line filters, the
// Commands view against `audit commands -o json`, and the downloads byte for byte against `audit
// export -o csv` / `audit commands -o csv`. Hostile audit data stays text, and no request leaves
// the page.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { runCli, tmpDir, writeFiles, event, jsonl } from '../helpers.js';
import { CHROMIUM, LAUNCH_ARGS } from './browser.js';
import { HOSTILE as SHARED_HOSTILE, writeHostileFixture } from '../hostile.js';
import { visible, FORMULA_START_SOURCE } from '../../src/render/sanitize.js';
import { parse as parseCsv } from 'csv-parse/sync';
import { capNotice, type ViewReport } from '../../src/analyses/view/index.js';


/** Strings an attacker can put in an audit event, each trying to run as markup or script (besides the shared fixture, test/hostile.ts). */
const HOSTILE = {
  user: '<img src=x onerror="window.__pwned=1">',
  agent: '<script>window.__pwned=2</script>',
  namespace: '"><svg onload="window.__pwned=3">',
  name: 'javascript:window.__pwned=4',
  formula: '=HYPERLINK("http://203.0.113.9/x","click")',
  uri: '/api/v1/namespaces/x/pods/</script><!--<script>window.__pwned=5</script>',
  template: "{{constructor.constructor('window.__pwned=6')()}}",
  bidi: 'admin\u202Egnp.exe',
  lineSep: 'a\u2028b\u2029c</script><script>window.__pwned=8</script>',
  cluster: 'prod\u202e</script><b>bold</b>\u2028x',
  escape: 'ev\u001b]0;owned\u0007il',
};

/** A log file name an attacker could choose (an archive they hand over): markup, bidi, a line separator. */
const HOSTILE_FILE = 'audit\u202egol.<img src=x onerror="window.__pwned=7">\u2028.log';

async function cli(args: string[]): Promise<string> {
  const r = await runCli([...args, '-q']);
  if (r.code !== 0) throw new Error(`audit ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

describe.skipIf(!CHROMIUM)('audit view in Chromium', () => {
  let browser: Browser;
  let context: BrowserContext;
  const requests: string[] = [];
  const errors: string[] = [];
  const dir = tmpDir();
  const pages: Record<string, string> = {};

  async function open(name: string, hash = ''): Promise<Page> {
    const page = await context.newPage();
    page.on('console', (m) => m.type() === 'error' && errors.push(`${name}: ${m.text()}`));
    page.on('pageerror', (e) => errors.push(`${name}: ${String(e)}`));
    page.on('dialog', (d) => {
      errors.push(`${name}: a dialog opened: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (req) => {
      if (req.url() !== `file://${pages[name]}` && !req.url().startsWith(`file://${pages[name]}#`)) requests.push(req.url());
    });
    await page.goto(`file://${pages[name]}${hash}`);
    await page.waitForSelector('html[data-state=ready]', { timeout: 30_000 });
    return page;
  }

  const count = async (page: Page): Promise<number> => Number(await page.getAttribute('#count', 'data-count'));

  async function pick(page: Page, facet: string, value: string): Promise<void> {
    const box = page.locator(`details[data-facet=${facet}]`);
    if (!(await box.evaluate((d) => (d as HTMLDetailsElement).open))) await box.locator('summary').click();
    const find = box.locator('input.fc-find');
    if (await find.isVisible()) await find.fill(value);
    await box.locator('label', { has: page.locator('.fc-v', { hasText: new RegExp(`^${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) }).locator('input').check();
    if (await find.isVisible()) await find.fill('');
  }

  async function download(page: Page, format: 'csv' | 'jsonl'): Promise<string> {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`button[data-export=${format}]`)]);
    return readFileSync((await dl.path())!, 'utf8');
  }

  beforeAll(async () => {
    const t0 = Date.parse('2026-03-02T10:00:00Z');
    const at = (s: number): Record<string, string> => ({ requestReceivedTimestamp: new Date(t0 + s * 1000).toISOString(), stageTimestamp: new Date(t0 + s * 1000 + 12).toISOString() });
    writeFiles(dir, {
      'hostile.log': jsonl([
        event({ auditID: 'h1', user: { username: HOSTILE.user, groups: ['system:authenticated'] }, userAgent: HOSTILE.agent, ...at(0) }),
        event({ auditID: 'h2', objectRef: { resource: 'pods', namespace: HOSTILE.namespace, name: HOSTILE.name, apiVersion: 'v1' }, requestURI: HOSTILE.uri, ...at(10) }),
        event({ auditID: 'h3', verb: 'get', objectRef: { resource: 'secrets', namespace: 'default', name: HOSTILE.formula, apiVersion: 'v1' }, ...at(20), responseStatus: { code: 403 }, annotations: { 'authorization.k8s.io/decision': 'forbid' } }),
        event({ auditID: HOSTILE.template, user: { username: HOSTILE.bidi, groups: [HOSTILE.escape] }, sourceIPs: [HOSTILE.escape], ...at(30) }),
        event({ auditID: 'h5', verb: 'create', objectRef: { resource: 'pods', subresource: 'exec', namespace: 'default', name: HOSTILE.name, apiVersion: 'v1' }, requestURI: `/api/v1/namespaces/default/pods/x/exec?command=${encodeURIComponent(HOSTILE.agent)}&stdout=true`, ...at(40) }),
      ]),
    });
    const make = async (name: string, args: string[]): Promise<void> => {
      pages[name] = resolve(join(dir, `${name}.html`));
      await cli(['view', ...args, '--out', pages[name]!]);
    };
    await make('sample', ['fixtures/sample']);
    await make('filtered', ['fixtures/sample', '--namespace', 'production', '--verb', 'get,list']);
    await make('capped', ['fixtures/sample', '--max-rows', '100']);
    await make('capped-bytes', ['fixtures/sample', '--max-bytes', '200kB']);
    const shared = writeHostileFixture(join(dir, 'shared'));
    await make('hostile', [join(dir, 'hostile.log'), shared.log]);
    await make('empty', ['fixtures/sample', '--user', 'nobody']);
    // Red team: hostile strings where the operator does not type them, too: the log's file name
    // (shown in the detail pane, the footer and the command line on the page) and the cluster label.
    const named = writeFiles(join(dir, 'named'), {
      [HOSTILE_FILE]: jsonl([
        event({ auditID: 'f1', userAgent: `kubectl/v1.30.0 ${HOSTILE.lineSep}`, user: { username: HOSTILE.formula, groups: ['a', HOSTILE.formula] }, requestReceivedTimestamp: '2026-03-02T10:00:00Z', stageTimestamp: '2026-03-02T10:00:00.010Z' }),
        event({ auditID: 'f2', userAgent: HOSTILE.formula, verb: 'delete', requestURI: '/api/v1/namespaces/default/pods/p', objectRef: { resource: 'pods', namespace: 'default', name: HOSTILE.uri, apiVersion: 'v1' }, requestReceivedTimestamp: '2026-03-02T10:00:05Z', stageTimestamp: '2026-03-02T10:00:05.010Z' }),
      ]),
    });
    await make('named', ['--cluster', HOSTILE.cluster, join(named, HOSTILE_FILE)]);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: LAUNCH_ARGS });
    context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 800 }, timezoneId: 'Asia/Kolkata' });
    // Every request the browser would make, whatever the scheme.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file://') && Object.values(pages).some((p) => url.startsWith(`file://${p}`))) return route.continue();
      requests.push(url);
      return route.abort();
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('(1) shows as many API calls as audit investigate -o json finds, with and without command-line filters', async () => {
    for (const [name, args] of [
      ['sample', []],
      ['filtered', ['--namespace', 'production', '--verb', 'get,list']],
    ] as const) {
      const page = await open(name, '#view=calls');
      const want = (JSON.parse(await cli(['investigate', 'fixtures/sample', ...args, '-o', 'json'])) as unknown[]).length;
      expect(want).toBeGreaterThan(0);
      expect(await count(page)).toBe(want);
      expect(await page.locator('#count').textContent()).toBe(`${want.toLocaleString('en-US')} of ${want.toLocaleString('en-US')} API calls`);
      await page.close();
    }
  });

  it('(2, 4) a user and a namespace chosen in the page select the rows --user and --namespace select, and Export CSV writes the bytes audit export -o csv writes', async () => {
    const page = await open('sample', '#view=calls');
    await pick(page, 'user', 'bob@example.com');
    await pick(page, 'ns', 'staging');
    const args = ['fixtures/sample', '--user', 'bob@example.com', '--namespace', 'staging'];
    const rows = JSON.parse(await cli(['investigate', ...args, '-o', 'json'])) as { auditID: string }[];
    expect(rows.length).toBeGreaterThan(10);
    expect(await count(page)).toBe(rows.length);
    expect(await download(page, 'jsonl')).toBe(await cli(['export', '--order-window', '0', ...args, '-o', 'jsonl']));
    expect(await download(page, 'csv')).toBe(await cli(['export', '--order-window', '0', ...args, '-o', 'csv']));
    // The facet counts are those of the selection: the namespace facet shows bob's namespaces.
    const staging = await page.locator('details[data-facet=ns] label', { hasText: 'staging' }).locator('.fc-c').textContent();
    expect(Number(staging)).toBe(rows.length);
    // The filters are in the URL: the same link opens the same selection.
    const hash = new URL(page.url()).hash;
    expect(hash).toContain('user=bob%40example.com');
    expect(hash).toContain('ns=staging');
    const again = await open('sample', hash);
    expect(await count(again)).toBe(rows.length);
    expect(await again.locator('details[data-facet=user] input:checked').count()).toBe(1);
    await again.close();
    await page.close();
  });

  it('(4) "only denied" and free text select what --denied and the text select, and export the same bytes', async () => {
    const page = await open('sample', '#view=calls');
    await page.check('input[data-only=denied]');
    expect(await download(page, 'csv')).toBe(await cli(['export', '--order-window', '0', 'fixtures/sample', '--denied', '-o', 'csv']));
    await page.fill('input.search', 'SECRETS bob');
    await page.waitForFunction(() => new URL(location.href).hash.includes('q=SECRETS+bob'));
    const want = await cli(['export', '--order-window', '0', 'fixtures/sample', '--denied', '--user', 'bob@example.com', '--resource', 'secrets', '-o', 'csv']);
    expect(await download(page, 'csv')).toBe(want);
    await page.close();
  });

  it('(3) lists the commands audit commands -o json lists, newest first, with their calls beneath', async () => {
    const page = await open('sample', '#view=commands');
    const cmds = (JSON.parse(await cli(['commands', 'fixtures/sample', '-o', 'json'])) as { commands: { command: string; auditIDs: string[]; start: string }[] }).commands;
    expect(await count(page)).toBe(cmds.length);
    const shown = await page.locator('.g-row:not([hidden]) .c6 .l1').allTextContents();
    const newest = [...cmds].reverse().slice(0, 8).map((c) => c.command);
    expect(shown.slice(0, 8).map((t) => t.replace(/ \(\?\)$/, ''))).toEqual(newest);
    expect((await download(page, 'jsonl')).trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual(cmds);
    expect(await download(page, 'csv')).toBe(await cli(['commands', 'fixtures/sample', '-o', 'csv']));
    // Expand the first command: its calls appear beneath it, one row each.
    await page.locator('.g-row[aria-level="1"] .toggle').first().click();
    const calls = newest.length ? [...cmds].reverse()[0]!.auditIDs.length : 0;
    expect(await page.locator('.g-row[aria-level="2"]').count()).toBe(calls);
    // A facet the view has no column for is kept, and the page says it is not applied.
    expect(await page.locator('.unused').textContent()).toBe('');
    await page.click('button[data-view=calls]');
    await pick(page, 'verb', 'delete');
    await page.click('button[data-view=commands]');
    expect(await page.locator('.unused').textContent()).toBe('Not applied in this view: Verb (API calls view only)');
    expect(await count(page)).toBe(cmds.length);
    await page.click('text=Clear all filters');
    // A user filter means the same in both (a command's calls share its user): same CSV bytes.
    await pick(page, 'user', 'alice@example.com');
    expect(await download(page, 'csv')).toBe(await cli(['commands', 'fixtures/sample', '--user', 'alice@example.com', '-o', 'csv']));
    await page.close();
  });

  it('chooses a time range on the histogram as --since/--until would', async () => {
    const page = await open('sample', '#view=calls');
    const box = (await page.locator('svg.hist-svg').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.3, box.y + 20);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.45, box.y + 20, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => location.hash.includes('from='));
    const p = new URLSearchParams(new URL(page.url()).hash.slice(1));
    const want = (JSON.parse(await cli(['investigate', 'fixtures/sample', '--since', p.get('from')!, '--until', p.get('to')!, '-o', 'json'])) as unknown[]).length;
    expect(want).toBeGreaterThan(0);
    expect(want).toBeLessThan(5888);
    expect(await count(page)).toBe(want);
    await page.close();
  });

  it('is usable from the keyboard: Tab reaches the table, arrows move, Enter opens the details, Escape closes them', async () => {
    const page = await open('sample', '#view=calls');
    const seen: string[] = [];
    for (let i = 0; i < 200 && !seen.includes('grid'); i++) {
      await page.keyboard.press('Tab');
      seen.push(await page.evaluate(() => document.activeElement?.getAttribute('role') ?? document.activeElement?.tagName ?? ''));
      if (i === 0) expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to the table');
    }
    expect(seen).toContain('grid');
    // The view switch is one tab stop before the table; the arrow keys choose the view.
    expect(seen.filter((r) => r === 'radio')).toHaveLength(1);
    expect(seen.indexOf('radio')).toBeLessThan(seen.indexOf('grid'));
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const active = await page.getAttribute('[role=grid]', 'aria-activedescendant');
    expect(active).toBe('g-row-2');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('aside.detail').isVisible()).toBe(true);
    const id = await page.locator('.d-id code').textContent();
    const newest = (JSON.parse(await cli(['investigate', 'fixtures/sample', '-o', 'json', '--sort=-time', '--limit', '3'])) as { auditID: string }[])[2]!;
    expect(id).toBe(newest.auditID);
    expect(await page.locator('.d-loc').textContent()).toMatch(/^Read from fixtures\/sample\/audit[^,]*, line \d+$/);
    expect(new URL(page.url()).hash).toMatch(/sel=r\d+/);
    // The first Tab stop skips to the table.
    await page.locator('button.skip').focus();
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('role'))).toBe('grid');
    await page.locator('aside.detail').focus();
    await page.keyboard.press('Escape');
    expect(await page.locator('aside.detail').isVisible()).toBe(false);
    await page.locator('[role=radio][aria-checked=true]').focus();
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => page.getAttribute('[data-view=commands]', 'aria-checked')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-view'))).toBe('commands');
    await page.close();
  });

  it('opens and closes a command\'s calls with the arrow keys', async () => {
    const page = await open('sample', '#view=commands&access=kubectl');
    await page.locator('[role=treegrid]').focus();
    const first = page.locator('#g-row-0');
    expect(await first.getAttribute('aria-expanded')).toBe('false');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => first.getAttribute('aria-expanded')).toBe('true');
    const calls = Number((await first.locator('.c0 .l2').textContent())!.split(' ')[0]);
    expect(await page.locator('.g-row[aria-level="2"]').count()).toBe(calls);
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => page.locator('.g-row[aria-level="2"]').count()).toBe(0);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('aside.detail .d-line').textContent()).toBe((await first.locator('.c6 .l1').textContent())!.replace(/ \(\?\)$/, ''));
    await page.close();
  });

  it('says so when the command line\'s filters matched nothing', async () => {
    const page = await open('empty', '#view=calls');
    expect(await count(page)).toBe(0);
    expect(await page.locator('.g-empty').textContent()).toBe("This page holds no API calls: the command line's filters matched no request.");
    await page.close();
  });

  it('shows times in UTC, or in the local zone with its offset', async () => {
    const page = await open('sample', '#view=calls&sort=asc');
    const utc = await page.locator('.g-row:not([hidden]) .c0 .l1').first().textContent();
    await page.click('button[aria-pressed]');
    const local = await page.locator('.g-row:not([hidden]) .c0 .l1').first().textContent();
    expect(await page.locator('button[aria-pressed]').textContent()).toBe('Times: UTC+05:30');
    expect(Date.parse(`${local!.replace(' ', 'T')}+05:30`)).toBe(Date.parse(`${utc!.replace(' ', 'T')}Z`));
    await page.close();
  });

  it('says how many older requests --max-rows left out, with the exact numbers of the report, as an alert', async () => {
    const page = await open('capped', '#view=calls');
    expect(await count(page)).toBe(100);
    const rep = JSON.parse(await cli(['view', 'fixtures/sample', '--max-rows', '100', '-o', 'json'])) as ViewReport;
    expect(rep.summary).toMatchObject({ calls: 100, leftOut: 5788, cappedBy: 'max-rows' });
    const cap = page.locator('.cap[role=alert]');
    expect(await cap.textContent()).toBe(`Not every request is here. ${capNotice(rep.summary)}`);
    expect(await cap.textContent()).toMatch(/newest 100 of the 5,888 requests that matched: 5,788 older ones were left out \(--max-rows 100; the newest left out is from 20\d\d-/);
    await page.close();
    const whole = await open('sample', '#view=calls');
    expect(await whole.locator('.cap').count()).toBe(0);
    await whole.close();
  });

  it('keeps, under --max-bytes, the newest requests whose data fits, and says how many it left out and why', async () => {
    const page = await open('capped-bytes', '#view=calls');
    const rep = JSON.parse(await cli(['view', 'fixtures/sample', '--max-bytes', '200kB', '-o', 'json'])) as ViewReport;
    expect(rep.summary).toMatchObject({ matched: 5888, maxBytes: 200_000, cappedBy: 'max-bytes' });
    expect(rep.summary.bytes).toBeLessThanOrEqual(200_000);
    expect(rep.summary.calls).toBeGreaterThan(100);
    expect(rep.summary.calls).toBeLessThan(5888);
    expect(await count(page)).toBe(rep.summary.calls);
    const text = await page.locator('.cap[role=alert]').textContent();
    expect(text).toBe(`Not every request is here. ${capNotice(rep.summary)}`);
    expect(text).toContain(`older ones were left out (--max-bytes 200,000: the page holds ${rep.summary.bytes.toLocaleString('en-US')} bytes of data; the newest left out is from ${rep.summary.leftOutUntil})`);
    expect(text).toContain('raise --max-bytes');
    // Every request the page holds is newer than the newest one left out: no holes.
    const times = rep.records.map((r) => Date.parse(r.time));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(Date.parse(rep.summary.leftOutUntil));
    await page.close();
  });

  it('reads at 1280×800 without a sideways scroll, and prints a plain table', async () => {
    const page = await open('sample', '#view=calls&only=humans');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
    const details = (await page.locator('.g-head .c6').boundingBox())!;
    expect(details.width).toBeGreaterThanOrEqual(200);
    expect(details.x + details.width).toBeLessThanOrEqual(1280);
    await page.emulateMedia({ media: 'print' });
    await expect.poll(() => page.locator('#print tbody tr').count()).toBe(await count(page));
    expect(await page.locator('.grid').isVisible()).toBe(false);
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  });

  it('(5) renders hostile audit data as text, shows what would not display as itself, and runs none of it', async () => {
    const page = await open('hostile', '#view=calls&sort=asc');
    const pwned = (): Promise<unknown> => page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned);
    const text = async (): Promise<string> => (await page.locator('#app').textContent()) ?? '';
    const all = async (): Promise<string> => text() + (await page.locator('#app [title]').evaluateAll((els) => els.map((e) => (e as HTMLElement).title).join('\n')));
    // Markup-looking strings appear as the text they are.
    expect(await text()).toContain(HOSTILE.user);
    expect(await text()).toContain(HOSTILE.namespace);
    // Bidi controls, escape sequences, zero-width characters: shown visibly, as every format a person reads does.
    expect(await text()).toContain(visible(SHARED_HOSTILE.bidi));
    expect(await text()).toContain(visible(SHARED_HOSTILE.control));
    expect(await text()).not.toContain('Show -');
    const n = await count(page);
    for (let k = 0; k < n; k += 7) {
      await page.locator('[role=grid]').focus();
      await page.locator(`#g-row-${Math.min(k, 10)}`).isVisible();
      await page.evaluate((kk) => document.querySelector('.g-scroll')!.scrollTo(0, kk * 40), k);
      await page.locator(`#g-row-${k}`).click();
      await expect.poll(() => page.locator('aside.detail').isVisible()).toBe(true);
      await page.locator('aside.detail details').evaluateAll((ds) => ds.forEach((d) => ((d as HTMLDetailsElement).open = true)));
      expect(await all()).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}](?<![\t\n])/u);
    }
    await page.fill('input.search', 'gnp.exe');
    await expect.poll(() => count(page)).toBe(1);
    expect(await text()).toContain(visible(HOSTILE.bidi));
    expect(await text()).toContain(visible(HOSTILE.escape));
    await page.fill('input.search', 'onerror');
    await expect.poll(() => count(page)).toBeGreaterThan(0);
    await page.click('button[data-view=commands]');
    for (const t of await page.locator('.g-row[aria-level="1"] .toggle').all()) await t.click();
    expect(await all()).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}](?<![\t\n])/u);
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('#print').textContent()).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}](?<![\t\n])/u);
    await page.emulateMedia({ media: 'screen' });
    expect(await pwned()).toBeUndefined();
    expect(await page.locator('img, iframe, object, embed, a[href], #app svg:not(.hist-svg)').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(2);
    expect(await page.title()).toBe('kaudit view');
    // The export is the command line's, formula neutralisation included.
    await page.fill('input.search', '');
    await page.click('button[data-view=calls]');
    const csv = await download(page, 'csv');
    expect(csv).toBe(await cli(['export', '--order-window', '0', join(dir, 'hostile.log'), join(dir, 'shared', 'audit.log'), '-o', 'csv']));
    expect(csv).toContain(`"'${HOSTILE.formula.replace(/"/g, '""')}"`);
    expect(await download(page, 'jsonl')).toBe(await cli(['export', '--order-window', '0', join(dir, 'hostile.log'), join(dir, 'shared', 'audit.log'), '-o', 'jsonl']));
    await page.close();
  });

  it('(red team) shows a hostile file name, cluster label, URL fragment and line separators as text, and neutralises formulas in both CSV exports', async () => {
    // The fragment is someone else's link: its filter values are hostile too.
    const frag = `#view=calls&user=${encodeURIComponent('<img src=x onerror="window.__pwned=10">')}&q=${encodeURIComponent('</script>\u202e')}`;
    const page = await open('named', frag);
    const text = async (): Promise<string> => ((await page.locator('#app').textContent()) ?? '') + (await page.locator('#app [title]').evaluateAll((els) => els.map((e) => (e as HTMLElement).title).join('\n')));
    expect(await text()).toContain(visible(HOSTILE_FILE));
    expect(await text()).toContain(visible(HOSTILE.cluster));
    // The link's search text is the search box's value, as typed; the user it picks is no row's.
    expect(await page.inputValue('input.search')).toBe('</script>\u202e');
    expect(await count(page)).toBe(0);
    await page.click('button:has-text("Clear all filters")');
    await expect.poll(() => count(page)).toBe(2);
    await page.locator('#g-row-0').click();
    await page.locator('aside.detail details').evaluateAll((ds) => ds.forEach((d) => ((d as HTMLDetailsElement).open = true)));
    expect(await text()).toContain(visible(HOSTILE.lineSep));
    expect(await text()).toContain(visible(HOSTILE_FILE));
    // Nothing invisible or reordering reaches the screen; nothing ran; no markup was made.
    expect(await text()).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}](?<![\t\n])/u);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('img, svg:not(.hist-svg):not(.hist-svg *), a[href]').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(2);
    const src = join(dir, 'named', HOSTILE_FILE);
    const calls = await download(page, 'csv');
    expect(calls).toBe(await cli(['export', '--order-window', '0', '--cluster', HOSTILE.cluster, src, '-o', 'csv']));
    // A formula in any field (user, groups, user agent) starts no cell of the export.
    const formula = new RegExp(FORMULA_START_SOURCE, 'u');
    const cells = (csv: string): string[] => (parseCsv(csv, { relax_column_count: true }) as string[][]).flat();
    // A cell that would start a formula is the neutralised one: a leading ' makes it text.
    expect(cells(calls).filter((c) => formula.test(c) && !c.startsWith("'"))).toEqual([]);
    expect(cells(calls)).toContain(`'${HOSTILE.formula}`);
    await page.click('button[data-view=commands]');
    const commands = await download(page, 'csv');
    expect(commands).toBe(await cli(['commands', '--cluster', HOSTILE.cluster, src, '-o', 'csv']));
    expect(cells(commands).filter((c) => formula.test(c) && !c.startsWith("'"))).toEqual([]);
    expect(cells(commands)).toContain(`'${HOSTILE.formula}`);
    await page.close();
  });

  it('(6) sends no request anywhere, and the watch on requests does see one when a page makes it', async () => {
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    // Control: a page without the policy that fetches is seen (and stopped) by the same watch.
    const page = await context.newPage();
    await page.setContent('<p>control</p>');
    await page.evaluate(() => fetch('http://192.0.2.1/x').catch(() => undefined));
    expect(requests).toEqual(['http://192.0.2.1/x']);
    requests.length = 0;
    await page.close();
  });
});
