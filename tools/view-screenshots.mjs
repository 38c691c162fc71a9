#!/usr/bin/env node
// The README's screenshots of `audit view`, taken from a real run on the bundled sample:
// docs/view-commands.png, docs/view-calls.png and docs/view-detail.png, 1280×800, in Debian's
// Chromium (playwright-core).
// `npm run screenshots` after `npm run build`.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const page = join(root, 'trail.html');
execFileSync(process.execPath, [join(root, 'bin/audit.js'), 'view', 'fixtures/sample', '--out', 'trail.html'], { cwd: root, stdio: 'inherit' });

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--font-render-hinting=none'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'UTC', deviceScaleFactor: 1 });

async function shot(hash, out, act = async () => {}) {
  const p = await context.newPage();
  await p.goto(`file://${page}${hash}`);
  await p.waitForSelector('html[data-state=ready]');
  await act(p);
  await p.mouse.move(0, 0);
  await p.screenshot({ path: join(root, 'docs', out) });
  process.stderr.write(`docs/${out}\n`);
  await p.close();
}

// Commands: what people typed with kubectl, one command opened with its calls beneath it.
await shot('#view=commands&access=kubectl&only=humans', 'view-commands.png', async (p) => {
  const row = p.locator('.g-row[aria-level="1"]', { has: p.locator('.c0 .l2', { hasText: /^[2-9] calls$/ }) }).nth(1);
  await row.locator('.toggle').click();
});
// API calls: a person's requests on secrets, the denied ones marked.
await shot('#view=calls&q=secrets&only=humans', 'view-calls.png');
// The detail pane: the full normalized record of a denied call, and the command it belongs to.
await shot('#view=calls&q=secrets&only=humans', 'view-detail.png', async (p) => {
  await p.locator('.g-row.denied').first().click();
});
await browser.close();
rmSync(page);
