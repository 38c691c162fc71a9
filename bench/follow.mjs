#!/usr/bin/env node
// `npm run bench -- --only follow` (or `node bench/follow.mjs [--mb 100] [--seconds 20] [--rate 5000]`)
// audit follow, as a whole process:
//   1. sustained forwarding rate: a generated log of --mb MB, read from its start and delivered to a
//      local NDJSON receiver, a local _bulk receiver and a real rsyslogd (TCP), until the receiver
//      has every record; records/s, MB/s and peak RSS;
//   2. lag at --rate events/s: a writer appends events stamped with the wall clock for --seconds;
//      the receiver notes each record's arrival; write-to-delivery latency p50/p95/p99/max.
// Receivers run on 127.0.0.1 in this process (rsyslogd as a child with its own config).
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync, rmSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer as netServer, connect } from 'node:net';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, '.bench-cache', 'follow');
const audit = join(root, 'bin/audit.js');

function hwmOf(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

async function freePort() {
  const s = netServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A receiver that counts NDJSON lines or _bulk documents (answering each item 201), noting arrival times when asked. */
async function receiver(kind, onRecord) {
  let count = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const now = Date.now();
      const ls = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
      const docs = kind === 'bulk' ? ls.filter((_, i) => i % 2 === 1) : ls;
      count += docs.length;
      if (onRecord) for (const d of docs) onRecord(d, now);
      if (kind === 'bulk') res.end(JSON.stringify({ took: 1, errors: false, items: docs.map(() => ({ create: { status: 201 } })) }));
      else res.end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, count: () => count, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

async function rsyslog(dir) {
  if (spawnSync('sh', ['-c', 'command -v rsyslogd']).status !== 0) return null;
  mkdirSync(join(dir, 'work'), { recursive: true });
  const port = await freePort();
  const out = join(dir, 'received.log');
  writeFileSync(join(dir, 'rsyslog.conf'), [`global(workDirectory="${join(dir, 'work')}" maxMessageSize="256k")`, 'module(load="imtcp")', `input(type="imtcp" port="${port}" address="127.0.0.1")`, 'template(name="m" type="string" string="%msg%\\n")', `if $app-name == 'kaudit' then action(type="omfile" file="${out}" template="m" asyncWriting="on" ioBufferSize="1m")`].join('\n') + '\n');
  const child = spawn('rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'pid')], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => connect(port, '127.0.0.1').on('connect', function () { this.destroy(); r(true); }).on('error', () => r(false)));
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const exited = new Promise((r) => child.on('exit', r));
  return { port, out, stop: async () => { child.kill('SIGTERM'); await exited; } };
}

function follow(args) {
  const child = spawn(process.execPath, [audit, 'follow', ...args, '-q'], { stdio: ['ignore', 'ignore', 'inherit'] });
  let hwm = 0;
  const poll = setInterval(() => (hwm = Math.max(hwm, hwmOf(child.pid))), 20);
  const exited = new Promise((r) => child.on('exit', (code) => { clearInterval(poll); r(code); }));
  return { child, hwm: () => hwm, stop: async () => { child.kill('SIGTERM'); return exited; } };
}

async function until(cond, ms) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('bench: timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function dataset(mb) {
  const dir = join(cache, `${mb}M`);
  const file = join(dir, 'audit.log');
  const marker = join(dir, 'done.json');
  if (!existsSync(marker)) {
    mkdirSync(dir, { recursive: true });
    process.stderr.write(`generating ${mb} MB into ${dir} …\n`);
    spawnSync(process.execPath, [join(root, 'dist/gen/cli.js'), '--out', dir, '--rotate', 'none', '--days', '30', '--seed', '1', '--max-bytes', String(mb * 1e6)], { stdio: 'inherit' });
    const s = JSON.parse(spawnSync(process.execPath, [audit, 'summary', file, '-o', 'json', '-q'], { encoding: 'utf8', maxBuffer: 1 << 26 }).stdout);
    writeFileSync(marker, JSON.stringify({ records: s.input.requests, events: s.input.events }));
  }
  return { file, size: statSync(file).size, ...JSON.parse(readFileSync(marker, 'utf8')) };
}

/** Scenario 1: read a whole log from its start and deliver it; the rate is records over the time until the receiver has them all. */
async function sustained(ds, sinkName) {
  const dir = join(cache, `run-${sinkName}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let rx;
  let to;
  const status = () => {
    try {
      return JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8'));
    } catch {
      return null;
    }
  };
  // Done when the whole file is read and every record sent so far arrived (requests still waiting
  // for their completing stage at the end of the file stay in the checkpoint, as they should).
  const caughtUp = (st) => st && st.files.every((f) => f.lagBytes === 0) && st.input.used > 0;
  let done;
  if (sinkName === 'rsyslog') {
    rx = await rsyslog(dir);
    if (!rx) return null;
    to = `syslog://127.0.0.1:${rx.port}`;
    // rsyslog has no acknowledgement: done when kaudit has handed every record to the kernel.
    done = () => {
      const st = status();
      return caughtUp(st) && st.sinks[0].delivered >= st.input.used;
    };
  } else {
    rx = await receiver(sinkName === 'elasticsearch' ? 'bulk' : 'ndjson');
    to = sinkName === 'elasticsearch' ? `elasticsearch+http://127.0.0.1:${rx.port}/audit-%Y.%m.%d` : `http://127.0.0.1:${rx.port}/ingest`;
    done = () => {
      const st = status();
      return caughtUp(st) && rx.count() >= st.input.used;
    };
  }
  const t0 = process.hrtime.bigint();
  const f = follow([ds.file, '--to', to, '--state', join(dir, 'state.json'), '--status-file', join(dir, 'status.json'), '--status-interval', '100ms']);
  await until(done, 600_000);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const records = status().input.used;
  await f.stop();
  await (rx.stop ?? rx.close)();
  return { scenario: `sustained → ${sinkName}`, records, secs: secs.toFixed(2), 'records/s': Math.round(records / secs), 'MB/s': (ds.size / 1e6 / secs).toFixed(1), 'peak RSS MB': f.hwm().toFixed(0) };
}

/** Scenario 2: events written at `rate` per second for `seconds`; latency from the write to the receiver. */
async function lag(rate, seconds) {
  const dir = join(cache, 'run-lag');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'audit.log');
  writeFileSync(log, '');
  const latencies = [];
  const rx = await receiver('ndjson', (doc, now) => {
    const r = JSON.parse(doc);
    latencies.push(now - r.timeMs);
  });
  const f = follow([log, '--to', `http://127.0.0.1:${rx.port}/ingest`, '--state', join(dir, 'state.json')]);
  await new Promise((r) => setTimeout(r, 1000));
  const tick = 10;
  let n = 0;
  const total = rate * seconds;
  const start = Date.now();
  await new Promise((resolve) => {
    const t = setInterval(() => {
      // Catch up to the schedule: the rate holds even when a tick runs late.
      const due = Math.min(total, Math.round(((Date.now() - start) / 1000) * rate));
      let s = '';
      for (; n < due; n++) {
        const ts = new Date().toISOString().replace('Z', '000Z');
        s += JSON.stringify({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: `lag-${n}`, stage: 'ResponseComplete', requestURI: `/api/v1/namespaces/ns-${n % 50}/pods/p-${n}`, verb: 'get', user: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts', 'system:authenticated'] }, sourceIPs: ['10.0.0.12'], userAgent: 'kube-controller-manager/v1.29.2 (linux/amd64) kubernetes/4b8e819/system:serviceaccount:kube-system:replicaset-controller', objectRef: { resource: 'pods', namespace: `ns-${n % 50}`, name: `p-${n}`, apiVersion: 'v1' }, responseStatus: { metadata: {}, code: 200 }, requestReceivedTimestamp: ts, stageTimestamp: ts, annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': 'RBAC: allowed by ClusterRoleBinding "system:controller:replicaset-controller"' } }) + '\n';
      }
      if (s) appendFileSync(log, s);
      if (n >= total) {
        clearInterval(t);
        resolve();
      }
    }, tick);
  });
  await until(() => rx.count() >= total, 120_000);
  await f.stop();
  await rx.close();
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { scenario: `lag at ${rate} events/s for ${seconds} s → http`, records: total, 'p50 ms': q(0.5), 'p95 ms': q(0.95), 'p99 ms': q(0.99), 'max ms': latencies.at(-1), 'peak RSS MB': f.hwm().toFixed(0) };
}

export async function followBench({ mb = 100, seconds = 20, rate = 5000 } = {}) {
  const ds = await dataset(mb);
  const rows = [];
  for (const sink of ['http', 'elasticsearch', 'rsyslog']) {
    const r = await sustained(ds, sink);
    if (r) {
      rows.push(r);
      process.stderr.write(`${r.scenario}: ${r['records/s']} records/s, ${r['peak RSS MB']} MB RSS\n`);
    } else process.stderr.write(`sustained → ${sink}: skipped (rsyslogd is not installed)\n`);
  }
  const l = await lag(rate, seconds);
  process.stderr.write(`${l.scenario}: p50 ${l['p50 ms']} ms, p99 ${l['p99 ms']} ms\n`);
  rows.push(l);
  return rows;
}

export function printRows(rows) {
  for (const group of [rows.filter((r) => 'records/s' in r), rows.filter((r) => 'p50 ms' in r)]) {
    if (!group.length) continue;
    const cols = Object.keys(group[0]);
    console.log(`| ${cols.join(' | ')} |\n|${cols.map(() => '---').join('|')}|`);
    for (const r of group) console.log(`| ${cols.map((c) => r[c]).join(' | ')} |`);
    console.log();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { mb: { type: 'string', default: '100' }, seconds: { type: 'string', default: '20' }, rate: { type: 'string', default: '5000' } } });
  printRows(await followBench({ mb: Number(values.mb), seconds: Number(values.seconds), rate: Number(values.rate) }));
}
