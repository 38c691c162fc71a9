#!/usr/bin/env node
// `npm run bench [-- --size 1G,3G] [-- --only summary]`; `--only follow` runs audit follow's
// scenarios alone (bench/follow.mjs: --follow-mb, --follow-seconds, --follow-rate).
// Generates logs with the project's generator (cached in .bench-cache/), then times each scenario
// end to end as a whole process and reports MB/s, events/s and peak RSS (VmHWM from /proc).
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpus, totalmem } from 'node:os';
import { root, cache, run, dataset, hasCommand } from './lib.mjs';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1G' },
    only: { type: 'string' },
    runs: { type: 'string', default: '1' },
    'follow-mb': { type: 'string', default: '100' },
    'follow-seconds': { type: 'string', default: '20' },
    'follow-rate': { type: 'string', default: '5000' },
  },
});
const only = values.only?.split(',');

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
}

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

const rows = [];
for (const label of only?.every((o) => o === 'follow') ? [] : values.size.split(',')) {
  const ds = await dataset(label.trim());
  for (const s of SCENARIOS) {
    if (only && !only.includes(s.name)) continue;
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
if (rows.length) console.log(`| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|`);
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

// audit follow: sustained forwarding rate to local receivers and rsyslog, lag at a steady rate.
if (!only || only.includes('follow')) {
  const { followBench, printRows } = await import('./follow.mjs');
  console.log(`\naudit follow (${values['follow-mb']} MB log; lag at ${values['follow-rate']} events/s for ${values['follow-seconds']} s):`);
  printRows(await followBench({ mb: Number(values['follow-mb']), seconds: Number(values['follow-seconds']), rate: Number(values['follow-rate']) }));
}
