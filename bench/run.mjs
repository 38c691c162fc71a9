#!/usr/bin/env node
// `npm run bench [-- --size 1G,3G] [-- --only summary]`
// Generates logs with the project's generator (cached in .bench-cache/), then times each scenario
// end to end as a whole process and reports MB/s, events/s and peak RSS (VmHWM from /proc).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpus, totalmem } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, '.bench-cache');
const { values } = parseArgs({ options: { size: { type: 'string', default: '1G' }, only: { type: 'string' }, runs: { type: 'string', default: '1' } } });

const SIZES = { '1G': 1e9, '3G': 3e9, '5G': 5e9, '200M': 2e8, '20M': 2e7 };

/** Scenarios: each is one whole `audit` process over the generated log. */
const SCENARIOS = [
  { name: 'summary --jobs 1', args: (f) => ['summary', f, '-o', 'json', '-q', '--jobs', '1'] },
  { name: 'summary', args: (f) => ['summary', f, '-o', 'json', '-q'] },
  { name: 'rbac-gen --jobs 1', args: (f) => ['rbac-gen', f, '-q', '--jobs', '1'] },
  { name: 'rbac-gen', args: (f) => ['rbac-gen', f, '-q'] },
  { name: 'drift', args: (f) => ['drift', '--rbac', join(root, 'fixtures/sample-rbac'), f, '-q', '-o', 'json'] },
  { name: 'baseline', args: (f) => ['baseline', f, '-q'] },
  { name: 'investigate', args: (f) => ['investigate', f, '--user', 'alice@example.com', '--verb', 'delete', '-o', 'jsonl', '-q'] },
  // The same question asked of jq, the tool people reach for first (skipped when jq is absent).
  { name: 'jq (same filter)', cmd: 'jq', args: (f) => ['-c', 'select(.user.username == "alice@example.com" and .verb == "delete")', f] },
  { name: 'commands', args: (f) => ['commands', f, '-o', 'csv', '-q'] },
  // gzip is read member by member (src/ingest/gunzip.ts); zcat alone is the floor.
  { name: 'summary (gzip) --jobs 1', gzip: true, args: (f) => ['summary', f, '-o', 'json', '-q', '--jobs', '1'] },
  { name: 'zcat (decompress only)', gzip: true, cmd: 'zcat', args: (f) => [f] },
  // Requests whose completion was never logged (only RequestReceived): was quadratic before issue 16.
  { name: 'commands (RequestReceived only)', input: 'request-received', args: (f) => ['commands', f, '-o', 'csv', '-q'] },
  { name: 'anomalies', args: (f) => ['anomalies', f, '--train-until', '2026-03-05', '-o', 'json', '-q'] },
  // The same without detection rules: the difference is what the full rule set costs. Then the worst
  // case, every request judged by every rule (no training period), with and without rules.
  { name: 'anomalies --disable-rule *', args: (f) => ['anomalies', f, '--train-until', '2026-03-05', '--disable-rule', '*', '-o', 'json', '-q'] },
  { name: 'anomalies (all judged)', args: (f) => ['anomalies', f, '-o', 'json', '-q'] },
  { name: 'anomalies (all judged) --disable-rule *', args: (f) => ['anomalies', f, '--disable-rule', '*', '-o', 'json', '-q'] },
  // Output safety: every CSV cell goes through the escaping; SARIF cites lines, resolved after a split run.
  { name: 'export -o csv', args: (f) => ['export', f, '-o', 'csv', '-q'] },
  { name: 'drift -o sarif', args: (f) => ['drift', '--rbac', join(root, 'fixtures/sample-rbac'), f, '-q', '-o', 'sarif'] },
  // Time order: export's default reorder window beside the log's own order (the cost of the window).
  { name: 'export -o csv --order-window 0', args: (f) => ['export', f, '-o', 'csv', '-q', '--order-window', '0'] },
  // Terminal tables: every request matched, a table capped at 1,000 rows; drift's tables in full.
  { name: 'investigate --limit 0 (table)', args: (f) => ['investigate', f, '--limit', '0', '-q'] },
  { name: 'drift (table)', args: (f) => ['drift', '--rbac', join(root, 'fixtures/sample-rbac'), f, '-q'] },
];

function run(cmd, args, keep = false) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let hwm = 0;
    // Output is kept only when asked for (a 5 GB log's CSV exceeds a string's maximum length).
    child.stdout.on('data', (d) => {
      if (keep) out += d;
    });
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]));
      } catch {
        /* exited */
      }
    }, 10);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`));
      else resolve({ secs, rssMB: hwm / 1024, out });
    });
  });
}

async function dataset(label) {
  const bytes = SIZES[label];
  if (!bytes) throw new Error(`--size: use one of ${Object.keys(SIZES).join(', ')}`);
  const dir = join(cache, label);
  const file = join(dir, 'audit.log');
  const marker = join(dir, 'done.json');
  if (!existsSync(marker)) {
    mkdirSync(dir, { recursive: true });
    process.stderr.write(`generating ${label} into ${dir} …\n`);
    await run(process.execPath, [join(root, 'dist/gen/cli.js'), '--out', dir, '--rotate', 'none', '--days', '365', '--scale', '1', '--seed', '1', '--max-bytes', String(bytes)]);
    const { out } = await run(process.execPath, [join(root, 'bin/audit.js'), 'summary', file, '-o', 'json', '-q'], true);
    writeFileSync(marker, JSON.stringify({ events: JSON.parse(out).input.events }));
  }
  return { file, size: statSync(file).size, events: JSON.parse(readFileSync(marker, 'utf8')).events };
}

/** The dataset gzipped once (cached beside it). */
async function gzipped(file) {
  const gz = `${file}.gz`;
  if (!existsSync(gz)) {
    const { createGzip } = await import('node:zlib');
    const { pipeline } = await import('node:stream/promises');
    const { createReadStream, createWriteStream } = await import('node:fs');
    process.stderr.write(`gzipping ${file} …\n`);
    await pipeline(createReadStream(file), createGzip(), createWriteStream(`${gz}.tmp`));
    (await import('node:fs')).renameSync(`${gz}.tmp`, gz);
  }
  return gz;
/**
 * The dataset with every request cut to its RequestReceived stage (the other stages dropped), as a
 * log whose policy omits the later stages, or a server that died mid-request, leaves it.
 */
async function requestReceivedOnly(ds, label) {
  const file = join(cache, label, 'request-received.log');
  const marker = join(cache, label, 'request-received.json');
  if (!existsSync(marker)) {
    let events = 0;
    const { createReadStream, createWriteStream } = await import('node:fs');
    const { createInterface } = await import('node:readline');
    const out = createWriteStream(file);
    for await (const line of createInterface({ input: createReadStream(ds.file), crlfDelay: Infinity })) {
      if (!line.includes('"stage":"ResponseComplete"')) continue;
      const e = JSON.parse(line);
      e.stage = 'RequestReceived';
      e.stageTimestamp = e.requestReceivedTimestamp;
      delete e.responseStatus;
      events++;
      if (!out.write(JSON.stringify(e) + '\n')) await new Promise((r) => out.once('drain', r));
    }
    await new Promise((r) => out.end(r));
    writeFileSync(marker, JSON.stringify({ events }));
  }
  return { file, size: statSync(file).size, events: JSON.parse(readFileSync(marker, 'utf8')).events };
}

function hasCommand(cmd) {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, cmd)));
}

const rows = [];
for (const label of values.size.split(',')) {
  const ds = await dataset(label.trim());
  for (const s of SCENARIOS) {
    if (values.only && !values.only.split(',').includes(s.name)) continue;
    if (s.cmd && !hasCommand(s.cmd)) {
      process.stderr.write(`${label} ${s.name}: skipped (${s.cmd} is not installed)\n`);
      continue;
    }
    const base = s.input === 'request-received' ? await requestReceivedOnly(ds, label.trim()) : ds;
    const input = s.gzip ? { ...base, file: await gzipped(base.file) } : base;
    let best = null;
    for (let i = 0; i < Number(values.runs); i++) {
      const r = s.cmd ? await run(s.cmd, s.args(input.file)) : await run(process.execPath, [join(root, 'bin/audit.js'), ...s.args(input.file)]);
      if (!best || r.secs < best.secs) best = r;
    }
    rows.push({ size: label, scenario: s.name, MB: (input.size / 1e6).toFixed(0), events: input.events, secs: best.secs.toFixed(2), 'MB/s': (input.size / 1e6 / best.secs).toFixed(1), 'events/s': Math.round(input.events / best.secs), 'peak RSS MB': best.rssMB.toFixed(0) });
    process.stderr.write(`${label} ${s.name}: ${rows.at(-1)['MB/s']} MB/s, ${rows.at(-1)['peak RSS MB']} MB RSS\n`);
  }
}
const cols = Object.keys(rows[0] ?? {});
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`);
console.log(`| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`);
for (const label of new Set(rows.map((r) => r.size))) {
  const jq = rows.find((r) => r.size === label && r.scenario.startsWith('jq'));
  const inv = rows.find((r) => r.size === label && r.scenario === 'investigate');
  if (jq && inv) console.log(`${label}: investigate answers the jq question ${(Number(jq.secs) / Number(inv.secs)).toFixed(1)}× faster (${inv.secs} s vs ${jq.secs} s)`);
  for (const name of ['anomalies', 'anomalies (all judged)']) {
    const withRules = rows.find((r) => r.size === label && r.scenario === name);
    const noRules = rows.find((r) => r.size === label && r.scenario === `${name} --disable-rule *`);
    if (withRules && noRules) console.log(`${label}: the detection rules add ${(100 * (Number(withRules.secs) / Number(noRules.secs) - 1)).toFixed(0)}% to ${name} (${withRules.secs} s vs ${noRules.secs} s without rules)`);
  }
}
