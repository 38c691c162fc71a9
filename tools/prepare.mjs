#!/usr/bin/env node
// npm's `prepare` script: builds dist/ (TypeScript → JavaScript) however kaudit is installed.
//
// - `npm ci`, `npm install`, `npm pack`, and npm installing a git URL: the dev dependencies are
//   there; this runs tsc.
// - `npm install -g .` (or `npm link`) in a fresh clone: npm links the folder into the global
//   prefix without installing its dependencies (npm docs, "npm install <folder>": a folder outside
//   the project root is symlinked, its dependencies are not installed), so neither the compiler
//   nor kaudit's runtime dependencies are there. This runs `npm ci --ignore-scripts` in the folder
//   first (the lockfile's exact versions, no scripts), then tsc: the link then points at a
//   complete, built checkout.
// - A tarball from `npm pack` carries dist/ and npm does not run `prepare` for it.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

function run(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    process.stderr.write(`kaudit prepare: ${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
}

if (!existsSync(tsc)) {
  process.stderr.write('kaudit prepare: installing the dependencies of this checkout (npm ci --ignore-scripts) to build it\n');
  // The global flags of `npm install -g .` must not reach the nested install.
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^npm_config_(global|location|prefix|install_links)$/i.test(k)) delete env[k];
  const npm = process.env.npm_execpath;
  if (npm && npm.endsWith('.js')) run(process.execPath, [npm, 'ci', '--ignore-scripts', '--no-audit', '--no-fund'], env);
  else run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], env);
}
run(process.execPath, [tsc, '-p', 'tsconfig.json']);
// The page of `audit view` (dist/view-page/), as `npm run build` makes it.
run(process.execPath, [tsc, '-p', 'src/view-page/tsconfig.json']);
run(process.execPath, [join(root, 'tools', 'build-view-page.mjs')]);
// The pre-filter's line scanner (dist/ingest/linescan.wasm), as `npm run build` makes it.
run(process.execPath, [join(root, 'tools', 'build-wasm.mjs')]);
