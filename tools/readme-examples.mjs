#!/usr/bin/env node
// Keeps README.md true: re-runs every command of its ```console blocks and writes their real output
// back under them. `npm run readme` rewrites; `--check` only reports blocks whose output changed.
//
// A block's lines that start with `$ ` are commands; everything up to the next command is the
// output. Commands run in order, in one scratch directory that links the repository's fixtures,
// tools, bin and dist, under sh, with `audit`/`kaudit` meaning this checkout's bin/audit.js (the
// installed binary) and `kubectl apply -f F` meaning kubectl against the local stub server
// (tools/apply-to-stub.mjs). The output is what a terminal shows: standard output and standard
// error as the command writes them, each going where the command line sends it (`> file` takes
// standard output only; the command's own redirections apply before the terminal's). Tables are
// laid out for a terminal of COLUMNS (120) columns.
import { readFileSync, writeFileSync, mkdtempSync, symlinkSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const file = join(root, 'README.md');
const text = readFileSync(file, 'utf8');
const work = mkdtempSync(join(tmpdir(), 'kaudit-readme-'));
for (const d of ['fixtures', 'tools', 'bin', 'dist', 'node_modules', 'package.json']) symlinkSync(join(root, d), join(work, d));

/** The width README tables are laid out for. */
export const README_COLUMNS = 120;

function run(cmd) {
  const bin = `node ${join(root, 'bin/audit.js')}`;
  const sh = cmd
    .replace(/(^|[;&|(]\s*|\b(?:do|then|else)\s+)k?audit(?=\s)/g, (_m, pre) => `${pre}${bin}`)
    .replace(/^kubectl apply -f (\S+)$/, `node ${join(root, 'tools/apply-to-stub.mjs')} $1`);
  try {
    const env = { ...process.env, NO_COLOR: '1', COLUMNS: String(README_COLUMNS) };
    delete env.FORCE_COLOR;
    // The group makes the command's own redirections apply first: `audit … > f` sends only
    // standard output to f, and standard error to the terminal, as a shell at a terminal does.
    return execFileSync('sh', ['-c', `{ ${sh}\n} 2>&1`], { cwd: work, encoding: 'utf8', env, maxBuffer: 64 << 20 });
  } catch (e) {
    return e.stdout ?? '';
  }
}

const out = [];
const lines = text.split('\n');
let changed = 0;
for (let i = 0; i < lines.length; i++) {
  out.push(lines[i]);
  if (lines[i] !== '```console') continue;
  // Collect the block up to its closing fence.
  let j = i + 1;
  const block = [];
  while (j < lines.length && lines[j] !== '```') block.push(lines[j++]);
  const rebuilt = [];
  let k = 0;
  while (k < block.length) {
    const line = block[k];
    if (!line.startsWith('$ ')) {
      k++;
      continue;
    }
    // A command may continue over lines ending with a backslash.
    let cmd = line.slice(2);
    rebuilt.push(line);
    while (cmd.endsWith('\\') && k + 1 < block.length) {
      k++;
      rebuilt.push(block[k]);
      cmd = cmd.slice(0, -1) + ' ' + block[k].trim();
    }
    k++;
    while (k < block.length && !block[k].startsWith('$ ')) k++;
    const shown = cmd.replace(/\s+#\s.*$/, '');
    const output = run(shown).replace(/\s+$/, '');
    if (output) rebuilt.push(...output.split('\n'));
  }
  if (rebuilt.join('\n') !== block.join('\n')) changed++;
  out.push(...rebuilt);
  i = j - 1;
}
rmSync(work, { recursive: true, force: true });
if (check) {
  process.stdout.write(changed ? `README.md: ${changed} console blocks are out of date; run npm run readme\n` : 'README.md: every console block is up to date\n');
  process.exitCode = changed ? 1 : 0;
} else {
  writeFileSync(file, out.join('\n'));
  process.stderr.write(`README.md: ${changed} console blocks rewritten\n`);
}
