#!/usr/bin/env node
// `npm run bench [-- --size 1G,3G] [-- --only summary] [-- --logs metadata,bodies] [-- --runs 3]`;
// `--only follow` runs audit follow's scenarios alone (bench/follow.mjs: --follow-mb,
// --follow-seconds, --follow-rate).
// Generates logs with the project's generator (cached in .bench-cache/), then times each scenario
// end to end as a whole process and reports MB/s, events/s, CPU seconds and peak RSS (VmHWM from
// /proc). Two logs: `metadata` (every request at the Metadata level, as most policies log most
// requests) and `bodies` (70% of the gets and writes at RequestResponse with realistic bodies:
// `npm run gen -- --levels RequestResponse=0.7`). Each has baseline rows measured in the same run: a
// naive `readline` + `JSON.parse` per line in one thread, and jq; the ratios issue 19's targets are
// stated in are printed after the table.
// `npm run bench -- --cardinality 100k,1M [--only …] [--cache DIR]`: the cardinality scenarios of
// issue 15 instead (bench/cardinality.mjs makes the logs): each command on a log where one dimension
// is unusual (every event a distinct user or object name, requests that never completed, one event
// dated 1970) next to the same command on a log of the same size with ordinary cardinality, at each
// size, with the time ratio to the ordinary log and the growth ratio between sizes.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpus, totalmem, loadavg, tmpdir } from 'node:os';
import { root, cache, run, dataset, hasCommand } from './lib.mjs';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1G' },
    only: { type: 'string' },
    runs: { type: 'string', default: '1' },
    logs: { type: 'string', default: 'metadata,bodies' },
    'follow-mb': { type: 'string', default: '100' },
    'follow-seconds': { type: 'string', default: '20' },
    'follow-rate': { type: 'string', default: '5000' },
    cardinality: { type: 'string' },
    cache: { type: 'string' },
  },
});
const only = values.only?.split(',');

/** The selective question of issue 19, asked of kaudit and of jq. */
const SELECTIVE = ['--verb', 'delete', '--resource', 'namespaces'];

/**
 * Scenarios: each is one whole `audit` process over the generated log (or a baseline `cmd`). `logs`:
 * the logs it runs on (default: metadata only).
 */
const BOTH = ['metadata', 'bodies'];
const SCENARIOS = [
  // Baselines, in the same run: a naive one-thread JSON.parse of every line, and jq.
  { name: 'naive JSON.parse', logs: BOTH, cmd: process.execPath, args: (f) => [join(root, 'bench/naive.mjs'), f] },
  { name: 'jq (selective)', logs: BOTH, cmd: 'jq', args: (f) => ['-c', 'select(.verb=="delete" and .objectRef.resource=="namespaces")', f] },
  { name: 'investigate (selective)', logs: BOTH, args: (f) => ['investigate', f, ...SELECTIVE, '-o', 'jsonl', '-q'] },
  { name: 'summary --jobs 1', logs: BOTH, args: (f) => ['summary', f, '-o', 'json', '-q', '--jobs', '1'] },
  { name: 'summary --jobs 1 --parser reference', logs: BOTH, args: (f) => ['summary', f, '-o', 'json', '-q', '--jobs', '1', '--parser', 'reference'] },
  { name: 'summary', logs: BOTH, args: (f) => ['summary', f, '-o', 'json', '-q'] },
  { name: 'rbac-gen --jobs 1', logs: BOTH, args: (f) => ['rbac-gen', f, '-q', '--jobs', '1'] },
  { name: 'rbac-gen', logs: BOTH, args: (f) => ['rbac-gen', f, '-q'] },
  { name: 'drift', args: (f) => ['drift', '--rbac', join(root, 'fixtures/sample-rbac'), f, '-q', '-o', 'json'] },
  { name: 'baseline', args: (f) => ['baseline', f, '-q'] },
  { name: 'investigate', args: (f) => ['investigate', f, '--user', 'alice@example.com', '--verb', 'delete', '-o', 'jsonl', '-q'] },
  // The same question asked of jq, the tool people reach for first (skipped when jq is absent).
  { name: 'jq (same filter)', cmd: 'jq', args: (f) => ['-c', 'select(.user.username == "alice@example.com" and .verb == "delete")', f] },
  { name: 'commands', args: (f) => ['commands', f, '-o', 'csv', '-q'] },
  // The page keeps the newest requests that --memory allows (one per 2 KB, up to 500,000; --max-rows): bounded memory whatever the log's size.
  { name: 'view', args: (f) => ['view', f, '-q'] },
  // gzip is read member by member (src/ingest/gunzip.ts); zcat alone is the floor.
  { name: 'summary (gzip) --jobs 1', gzip: true, args: (f) => ['summary', f, '-o', 'json', '-q', '--jobs', '1'] },
  { name: 'zcat (decompress only)', gzip: true, cmd: 'zcat', args: (f) => [f] },
  // Requests whose completion was never logged (only RequestReceived): was quadratic before issue 16.
  { name: 'commands (RequestReceived only)', input: 'request-received', args: (f) => ['commands', f, '-o', 'csv', '-q'] },
  { name: 'anomalies', logs: BOTH, args: (f) => ['anomalies', f, '--train-until', '2026-03-05', '-o', 'json', '-q'] },
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

/**
 * Cardinality scenarios (issue 15): `kind` names the log (bench/cardinality.mjs: ordinary, users,
 * names, open, outlier); each runs on that log and on the ordinary log of the same size.
 */
const RBAC = join(root, 'fixtures/sample-rbac');
const CARDINALITY = [
  { name: 'investigate --group-by user (table)', kind: 'users', args: (f) => ['investigate', f, '--group-by', 'user', '-q'] },
  { name: 'investigate --group-by user -o json', kind: 'users', args: (f) => ['investigate', f, '--group-by', 'user', '-o', 'json', '-q'] },
  { name: 'summary', kind: 'users', args: (f) => ['summary', f, '-o', 'json', '-q'] },
  { name: 'summary (table)', kind: 'users', args: (f) => ['summary', f, '-q'] },
  { name: 'summary --jobs 1', kind: 'users', args: (f) => ['summary', f, '--jobs', '1', '-o', 'json', '-q'] },
  // --approx: sketches in fixed memory (src/scale/sketch), no temporary files.
  { name: 'summary --approx', kind: 'users', args: (f) => ['summary', f, '--approx', '-o', 'json', '-q'] },
  { name: 'summary --approx (table)', kind: 'users', args: (f) => ['summary', f, '--approx', '-q'] },
  { name: 'summary --approx --jobs 1', kind: 'users', args: (f) => ['summary', f, '--approx', '--jobs', '1', '-o', 'json', '-q'] },
  { name: 'investigate --group-by user -o csv', kind: 'users', args: (f) => ['investigate', f, '--group-by', 'user', '-o', 'csv', '-q'] },
  { name: 'investigate --group-by user --approx (table)', kind: 'users', args: (f) => ['investigate', f, '--group-by', 'user', '--approx', '-q'] },
  { name: 'investigate --group-by user --approx -o json', kind: 'users', args: (f) => ['investigate', f, '--group-by', 'user', '--approx', '-o', 'json', '-q'] },
  { name: 'investigate --group-by user --approx -o csv', kind: 'users', args: (f) => ['investigate', f, '--group-by', 'user', '--approx', '-o', 'csv', '-q'] },
  { name: 'anomalies --train-until', kind: 'users', args: (f) => ['anomalies', f, '--train-until', '2026-03-02T00:10:00Z', '-o', 'json', '-q'] },
  { name: 'anomalies (table)', kind: 'users', args: (f) => ['anomalies', f, '--train-until', '2026-03-02T00:10:00Z', '-q'] },
  { name: 'baseline', kind: 'users', args: (f) => ['baseline', f, '-q'] },
  { name: 'rbac-gen', kind: 'users', args: (f) => ['rbac-gen', f, '-q'] },
  { name: 'compliance', kind: 'users', args: (f) => ['compliance', '--rbac', RBAC, f, '-o', 'json', '-q'] },
  { name: 'drift', kind: 'users', args: (f) => ['drift', '--rbac', RBAC, f, '-o', 'json', '-q'] },
  { name: 'drift (table)', kind: 'users', args: (f) => ['drift', '--rbac', RBAC, f, '-q'] },
  { name: 'investigate --group-by name', kind: 'names', args: (f) => ['investigate', f, '--group-by', 'name', '-q'] },
  { name: 'investigate --group-by name -o json', kind: 'names', args: (f) => ['investigate', f, '--group-by', 'name', '-o', 'json', '-q'] },
  { name: 'investigate --group-by name --approx', kind: 'names', args: (f) => ['investigate', f, '--group-by', 'name', '--approx', '-q'] },
  { name: 'rbac-gen --resource-names', kind: 'names', args: (f) => ['rbac-gen', f, '--resource-names', '-q'] },
  { name: 'commands (never completed)', kind: 'open', args: (f) => ['commands', f, '-o', 'csv', '-q'] },
  { name: 'summary (never completed)', kind: 'open', args: (f) => ['summary', f, '-o', 'json', '-q'] },
  { name: 'investigate --timeline hour (1970 outlier)', kind: 'outlier', args: (f) => ['investigate', f, '--timeline', 'hour', '-q'] },
  { name: 'investigate --timeline hour -o json (1970 outlier)', kind: 'outlier', args: (f) => ['investigate', f, '--timeline', 'hour', '-o', 'json', '-q'] },
  { name: 'investigate -o yaml', kind: 'ordinary', args: (f) => ['investigate', f, '-o', 'yaml', '-q'] },
  { name: 'investigate --sort time -o jsonl', kind: 'ordinary', args: (f) => ['investigate', f, '--sort', 'time', '-o', 'jsonl', '-q'] },
  // Every other command and output format at 1M distinct users (issue 15): `dir` is a fresh
  // temporary folder per run (removed after it) for outputs and saved states.
  { name: 'investigate --sort time -o jsonl (users)', kind: 'users', args: (f) => ['investigate', f, '--sort', 'time', '-o', 'jsonl', '-q'] },
  { name: 'commands', kind: 'users', args: (f) => ['commands', f, '-o', 'csv', '-q'] },
  { name: 'commands (table)', kind: 'users', args: (f) => ['commands', f, '-q'] },
  { name: 'export -o jsonl', kind: 'users', args: (f) => ['export', f, '-o', 'jsonl', '-q'] },
  { name: 'export -o csv', kind: 'users', args: (f) => ['export', f, '-o', 'csv', '-q'] },
  { name: 'export -o json', kind: 'users', args: (f) => ['export', f, '-o', 'json', '-q'] },
  { name: 'investigate -o yaml (users)', kind: 'users', args: (f) => ['investigate', f, '-o', 'yaml', '-q'] },
  { name: 'export -o parquet', kind: 'users', args: (f, dir) => ['export', f, '-o', 'parquet', '--out', join(dir, 'dataset'), '-q'] },
  // audit sql straight on the log: staged, then read by DuckDB within the --memory budget (1M groups here).
  { name: 'sql (log) group by subject', kind: 'users', args: (f) => ['sql', 'SELECT subject, count(*) AS n, sum(durationMs) AS ms FROM requests GROUP BY subject ORDER BY n DESC, subject LIMIT 20', f, '-o', 'csv', '-q'] },
  { name: 'view', kind: 'users', args: (f, dir) => ['view', f, '--out', join(dir, 'view.html'), '-q'] },
  // audit merge of two shards' saved states (the shards run before, unmeasured).
  ...['summary', 'commands'].map((command) => ({
    name: `merge --command ${command}`,
    kind: 'users',
    prepare: async (f, dir) => {
      for (const i of [0, 1]) await run(process.execPath, [join(root, 'bin/audit.js'), command, f, '--shard', `${i}/2`, '--save-state', join(dir, `s${i}.json`), '-q']);
    },
    args: (f, dir) => ['merge', '--command', command, join(dir, 's0.json'), join(dir, 's1.json'), '-o', 'json', '-q'],
  })),
];

/** `100k`, `1M`, `2000`: an event count. */
function events(label) {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(label.trim());
  if (!m) throw new Error(`--cardinality: ${label} is not an event count (e.g. 100k, 1M)`);
  return Math.round(Number(m[1]) * { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }[m[2]]);
}

async function cardinalityLog(n, kind) {
  const dir = join(values.cache ?? cache, 'cardinality');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${kind}-${n}.log`);
  if (!existsSync(file)) {
    process.stderr.write(`generating ${n} ${kind} events into ${file} …\n`);
    const { writeCardinalityLog } = await import('./cardinality.mjs');
    await writeCardinalityLog(`${file}.tmp`, n, kind);
    renameSync(`${file}.tmp`, file);
  }
  return { file, size: statSync(file).size, events: n };
}

async function cardinalityRuns() {
  const labels = values.cardinality.split(',').map((l) => l.trim());
  const rows = [];
  for (const label of labels) {
    const n = events(label);
    for (const s of CARDINALITY) {
      if (values.only && !values.only.split(',').includes(s.name)) continue;
      const measure = async (kind) => {
        const input = await cardinalityLog(n, kind);
        let best = null;
        for (let i = 0; i < Number(values.runs); i++) {
          const dir = mkdtempSync(join(tmpdir(), 'kaudit-bench-'));
          try {
            await s.prepare?.(input.file, dir);
            const r = await run(process.execPath, [join(root, 'bin/audit.js'), ...s.args(input.file, dir)]);
            if (!best || r.secs < best.secs) best = r;
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }
        return { ...best, MB: input.size / 1e6 };
      };
      const odd = await measure(s.kind);
      const ordinary = s.kind === 'ordinary' ? odd : await measure('ordinary');
      rows.push({ events: label, scenario: s.name, log: s.kind, MB: odd.MB.toFixed(0), secs: odd.secs.toFixed(2), 'peak RSS MB': odd.rssMB.toFixed(0), 'ordinary secs': ordinary.secs.toFixed(2), 'ordinary RSS MB': ordinary.rssMB.toFixed(0), '× ordinary time': (odd.secs / ordinary.secs).toFixed(2) });
      process.stderr.write(`${label} ${s.name}: ${odd.secs.toFixed(2)} s, ${odd.rssMB.toFixed(0)} MB RSS (ordinary log: ${ordinary.secs.toFixed(2)} s)\n`);
    }
  }
  const cols = Object.keys(rows[0] ?? {});
  console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`);
  // Growth between consecutive sizes: time and peak RSS ratios for the ratio of the data.
  for (let i = 1; i < labels.length; i++) {
    const [a, b] = [labels[i - 1], labels[i]];
    console.log(`\ngrowth ${a} → ${b} (${(events(b) / events(a)).toFixed(1)}× the data):`);
    for (const s of CARDINALITY) {
      const ra = rows.find((r) => r.events === a && r.scenario === s.name);
      const rb = rows.find((r) => r.events === b && r.scenario === s.name);
      if (ra && rb) console.log(`- ${s.name}: time ${(Number(rb.secs) / Number(ra.secs)).toFixed(1)}×, peak RSS ${(Number(rb['peak RSS MB']) / Number(ra['peak RSS MB'])).toFixed(1)}×`);
    }
  }
}

if (values.cardinality) {
  await cardinalityRuns();
  process.exit(0);
}

const rows = [];
for (const label of only?.every((o) => o === 'follow') ? [] : values.size.split(',').map((l) => l.trim())) {
  for (const log of values.logs.split(',').map((l) => l.trim())) {
    const ds = await dataset(label, log);
    for (const s of SCENARIOS) {
      if (!(s.logs ?? ['metadata']).includes(log)) continue;
      if (only && !only.includes(s.name)) continue;
      if (s.cmd && !hasCommand(s.cmd)) {
        process.stderr.write(`${label} ${s.name}: skipped (${s.cmd} is not installed)\n`);
        continue;
      }
      const base = s.input === 'request-received' ? await requestReceivedOnly(ds, label) : ds;
      const input = s.gzip ? { ...base, file: await gzipped(base.file) } : base;
      let best = null;
      for (let i = 0; i < Number(values.runs); i++) {
        const r = s.cmd ? await run(s.cmd, s.args(input.file)) : await run(process.execPath, [join(root, 'bin/audit.js'), ...s.args(input.file)]);
        if (!best || r.secs < best.secs) best = r;
      }
      rows.push({ size: label, log, scenario: s.name, MB: (input.size / 1e6).toFixed(0), events: input.events, secs: best.secs.toFixed(2), 'CPU s': best.cpu.toFixed(2), 'MB/s': (input.size / 1e6 / best.secs).toFixed(1), 'events/s': Math.round(input.events / best.secs), 'peak RSS MB': best.rssMB.toFixed(0) });
      process.stderr.write(`${label} ${log} ${s.name}: ${rows.at(-1)['MB/s']} MB/s, ${rows.at(-1)['peak RSS MB']} MB RSS\n`);
    }
  }
}
const cols = Object.keys(rows[0] ?? {});
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
if (rows.length) console.log(`| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`);
/** a / b in seconds (wall clock) and in CPU seconds, or null when either row is missing. */
const ratio = (a, b) => (a && b ? [Number(a.secs) / Number(b.secs), Number(a['CPU s']) / Number(b['CPU s'])] : null);
for (const label of new Set(rows.map((r) => r.size))) {
  for (const log of new Set(rows.filter((r) => r.size === label).map((r) => r.log))) {
    const row = (name) => rows.find((r) => r.size === label && r.log === log && r.scenario === name);
    const naive = row('naive JSON.parse');
    const lines = [];
    const say = (what, x, target) => x !== null && lines.push(`  ${what}: ${x[0].toFixed(2)}× (CPU time ${x[1].toFixed(2)}×)${target ? `, target ${target}` : ''}`);
    say('investigate (selective) / naive JSON.parse', ratio(row('investigate (selective)'), naive), '≤ 0.15');
    say('summary --jobs 1 / naive JSON.parse', ratio(row('summary --jobs 1'), naive), log === 'bodies' ? '≤ 0.5' : '≤ 1.0');
    say('rbac-gen --jobs 1 / naive JSON.parse', ratio(row('rbac-gen --jobs 1'), naive), log === 'bodies' ? '≤ 0.5' : '≤ 1.0');
    say('summary --jobs 1 --parser reference / naive JSON.parse', ratio(row('summary --jobs 1 --parser reference'), naive));
    say('summary speed-up of two workers (--jobs 1 time / --jobs auto time)', ratio(row('summary --jobs 1'), row('summary')), '≥ 1.8');
    say('rbac-gen speed-up of two workers', ratio(row('rbac-gen --jobs 1'), row('rbac-gen')), '≥ 1.8');
    say('jq (selective) / investigate (selective)', ratio(row('jq (selective)'), row('investigate (selective)')));
    if (lines.length) console.log(`${label} ${log}:\n${lines.join('\n')}`);
    const jq = row('jq (same filter)');
    const inv = row('investigate');
    if (jq && inv) console.log(`${label} ${log}: investigate answers the jq question ${(Number(jq.secs) / Number(inv.secs)).toFixed(1)}× faster (${inv.secs} s vs ${jq.secs} s)`);
    for (const name of ['anomalies', 'anomalies (all judged)']) {
      const withRules = row(name);
      const noRules = row(`${name} --disable-rule *`);
      if (withRules && noRules) console.log(`${label} ${log}: the detection rules add ${(100 * (Number(withRules.secs) / Number(noRules.secs) - 1)).toFixed(0)}% to ${name} (${withRules.secs} s vs ${noRules.secs} s without rules)`);
    }
  }
}

// audit follow: sustained forwarding rate to local receivers and rsyslog, lag at a steady rate.
if (!only || only.includes('follow')) {
  const { followBench, printRows } = await import('./follow.mjs');
  console.log(`\naudit follow (${values['follow-mb']} MB log; lag at ${values['follow-rate']} events/s for ${values['follow-seconds']} s):`);
  printRows(await followBench({ mb: Number(values['follow-mb']), seconds: Number(values['follow-seconds']), rate: Number(values['follow-rate']) }));
}
