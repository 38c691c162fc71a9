#!/usr/bin/env node
// Builds the `audit view` page's script and style with esbuild: src/view-page/main.ts (and the
// shared modules it imports, such as the CSV writer of `audit export`) → dist/view-page/page.js,
// src/view-page/style.css → dist/view-page/page.css, both minified. The HTML renderer
// (src/analyses/view/html.ts) inlines them. Fails when the script outgrows its budget.
import { build } from 'esbuild';
import { mkdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/view-page');
const BUDGET = 150 * 1024;
mkdirSync(out, { recursive: true });

const common = { bundle: true, minify: true, legalComments: 'none', charset: 'utf8', logLevel: 'warning' };
await build({
  ...common,
  entryPoints: [join(root, 'src/view-page/main.ts')],
  outfile: join(out, 'page.js'),
  format: 'iife',
  platform: 'browser',
  // DecompressionStream: Chromium 80, Firefox 113, Safari 16.4.
  target: ['chrome100', 'firefox113', 'safari16'],
  tsconfig: join(root, 'src/view-page/tsconfig.json'),
});
await build({ ...common, entryPoints: [join(root, 'src/view-page/style.css')], outfile: join(out, 'page.css'), target: ['chrome100', 'firefox113', 'safari16'] });

const size = statSync(join(out, 'page.js')).size;
if (size > BUDGET) {
  process.stderr.write(`build-view-page: page.js is ${size} bytes, over the ${BUDGET}-byte budget\n`);
  process.exit(1);
}
if (process.argv.includes('--size')) process.stdout.write(`page.js ${size} bytes, page.css ${statSync(join(out, 'page.css')).size} bytes\n`);
