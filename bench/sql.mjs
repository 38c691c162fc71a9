#!/usr/bin/env node
// `npm run bench:sql [-- --size 1G] [-- --runs 3]`
// The same questions answered four ways over a generated log (cached in .bench-cache/): kaudit's
// own command on the JSON-lines log, `audit sql` on the log and on a Parquet dataset exported from
// it, jq on the log, and DuckDB's own JSON reader on the raw log; each a whole process, timed with
// its peak RSS. Also the one-time export to Parquet and the dataset's size against gzip's.
//
// The raw-log engines see events, not requests: they keep stage ResponseComplete (kaudit collapses
// stages, so that a request counts once) and read the decision like kaudit does. jq cannot compute
// percentiles in a stream, so latency has no jq row.
import { createReadStream, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { parseArgs } from 'node:util';
import { cpus, totalmem } from 'node:os';
import { root, run, dataset, hasCommand } from './lib.mjs';

const { values } = parseArgs({ options: { size: { type: 'string', default: '1G' }, runs: { type: 'string', default: '1' }, only: { type: 'string' } } });

const audit = (...args) => ({ cmd: process.execPath, args: [join(root, 'bin/audit.js'), ...args] });
const sh = (script) => ({ cmd: 'sh', args: ['-c', script], needs: script.split(' ')[0] });
const duck = (question, file) => ({ cmd: process.execPath, args: [join(root, 'bench/duckdb-json.mjs'), question, file] });
const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

const RECIPE = {
  'who-deleted': "SELECT time, subject, name, sourceIP, code, auditID FROM requests WHERE verb = 'delete' AND resource = 'pods' AND namespace = 'kube-system' ORDER BY time, auditID",
  'top-denied': "SELECT subject, count(*) AS denied FROM requests WHERE decision = 'forbid' GROUP BY subject ORDER BY denied DESC, subject LIMIT 10",
  latency:
    "SELECT verb, count(*) AS n, quantile_disc(durationMs, 0.5) AS p50, quantile_disc(durationMs, 0.95) AS p95, quantile_disc(durationMs, 0.99) AS p99 FROM requests WHERE durationMs IS NOT NULL AND verb <> 'watch' AND subresource NOT IN ('exec', 'attach', 'portforward', 'proxy') AND NOT (subresource = 'log' AND requestURI LIKE '%follow=true%') GROUP BY verb ORDER BY n DESC, verb",
};

const JQ_DECISION = '((.annotations // {})["authorization.k8s.io/decision"] // (if .responseStatus.code == 403 then "forbid" else "" end))';

/** question → ways to answer it: [label, command(log, dataset)]. */
const QUESTIONS = {
  'who-deleted': [
    ['audit investigate (log)', (f) => audit('investigate', f, '--verb', 'delete', '--resource', 'pods', '-n', 'kube-system', '-o', 'jsonl', '-q')],
    ['audit sql (log)', (f) => audit('sql', RECIPE['who-deleted'], f, '-o', 'jsonl', '-q')],
    ['audit sql (Parquet)', (_f, ds) => audit('sql', RECIPE['who-deleted'], ds, '-o', 'jsonl', '-q')],
    ['jq (log)', (f) => sh(`jq -c ${q('select(.stage == "ResponseComplete" and .verb == "delete" and .objectRef.resource == "pods" and .objectRef.namespace == "kube-system")')} ${q(f)}`)],
    ['DuckDB read_json (log)', (f) => duck('who-deleted', f)],
  ],
  'top-denied': [
    ['audit investigate (log)', (f) => audit('investigate', f, '--denied', '--group-by', 'user', '-o', 'jsonl', '-q')],
    ['audit sql (log)', (f) => audit('sql', RECIPE['top-denied'], f, '-o', 'jsonl', '-q')],
    ['audit sql (Parquet)', (_f, ds) => audit('sql', RECIPE['top-denied'], ds, '-o', 'jsonl', '-q')],
    ['jq (log)', (f) => sh(`jq -r ${q(`select(.stage == "ResponseComplete" and ${JQ_DECISION} == "forbid") | .user.username`)} ${q(f)} | sort | uniq -c | sort -rn | head -10`)],
    ['DuckDB read_json (log)', (f) => duck('top-denied', f)],
  ],
  latency: [
    ['audit summary (log)', (f) => audit('summary', f, '-o', 'json', '-q', '--jobs', '1')],
    ['audit sql (log)', (f) => audit('sql', RECIPE.latency, f, '-o', 'jsonl', '-q')],
    ['audit sql (Parquet)', (_f, ds) => audit('sql', RECIPE.latency, ds, '-o', 'jsonl', '-q')],
    ['DuckDB read_json (log)', (f) => duck('latency', f)],
  ],
};

async function gzipSize(file) {
  let n = 0;
  const gz = createGzip({ level: 6 });
  gz.on('data', (c) => (n += c.length));
  await pipeline(createReadStream(file), gz);
  return n;
}

function dirSize(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? dirSize(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return n;
}

async function best(cmd) {
  let b = null;
  for (let i = 0; i < Number(values.runs); i++) {
    const r = await run(cmd.cmd, cmd.args);
    if (!b || r.secs < b.secs) b = r;
  }
  return b;
}

const rows = [];
const sizes = [];
for (const label of values.size.split(',')) {
  const ds = await dataset(label.trim());
  const parquet = join(root, '.bench-cache', label, 'parquet');
  rmSync(parquet, { recursive: true, force: true });
  const exp = await best(audit('export', ds.file, '-o', 'parquet', '--out', parquet, '--overwrite', '-q'));
  const gz = await gzipSize(ds.file);
  const pq = dirSize(parquet);
  sizes.push({ size: label, 'log MB': (ds.size / 1e6).toFixed(1), 'gzip -6 MB': (gz / 1e6).toFixed(1), 'Parquet (zstd) MB': (pq / 1e6).toFixed(1), 'Parquet / gzip': (pq / gz).toFixed(2), 'export -o parquet s': exp.secs.toFixed(2), 'export MB/s': (ds.size / 1e6 / exp.secs).toFixed(1), 'export peak RSS MB': exp.rssMB.toFixed(0) });
  process.stderr.write(`${label}: Parquet ${(pq / 1e6).toFixed(1)} MB vs gzip ${(gz / 1e6).toFixed(1)} MB; export ${exp.secs.toFixed(2)} s\n`);
  for (const [question, ways] of Object.entries(QUESTIONS)) {
    if (values.only && !values.only.split(',').includes(question)) continue;
    let base = null;
    for (const [name, make] of ways) {
      const cmd = make(ds.file, parquet);
      if (cmd.needs && !hasCommand(cmd.needs)) {
        process.stderr.write(`${label} ${question} ${name}: skipped (${cmd.needs} is not installed)\n`);
        continue;
      }
      if (cmd.cmd === 'sh' && !hasCommand('jq')) continue;
      const r = await best(cmd);
      base ??= r.secs;
      rows.push({ size: label, question, 'answered by': name, secs: r.secs.toFixed(2), 'MB/s of log': (ds.size / 1e6 / r.secs).toFixed(1), 'vs first row': `${(r.secs / base).toFixed(2)}×`, 'peak RSS MB': r.rssMB.toFixed(0) });
      process.stderr.write(`${label} ${question} ${name}: ${r.secs.toFixed(2)} s\n`);
    }
  }
}

const table = (rs) => {
  const cols = Object.keys(rs[0] ?? {});
  return [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`, ...rs.map((r) => `| ${cols.map((c) => r[c]).join(' | ')} |`)].join('\n');
};
console.log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`);
console.log(table(sizes) + '\n');
console.log(table(rows));
