// --jobs: worker threads over whole files and byte ranges must give the bytes one pass gives.
// Ranges are made small here (KAUDIT_MIN_RANGE_BYTES) so that a few-MB file splits into many.
import { describe, it, expect, beforeAll } from 'vitest';
import { join } from 'node:path';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { runCli, tmpDir, event } from '../helpers.js';
import { generate, DEFAULT_GEN } from '../../src/gen/index.js';
import { reconcile, mergeAccounting, Reconciler, type Fallback } from '../../src/parallel/run.js';
import type { AuditRecord, InputAccounting } from '../../src/types.js';
import { StageCollapser, AuditIDReuse, idHashOf, familyHash, stageRank, receivedKey } from '../../src/normalize/collapse.js';
import { normalizeValue } from '../../src/normalize/index.js';
import type { PartialResult } from '../../src/pipeline.js';

process.env.KAUDIT_MIN_RANGE_BYTES = String(96 << 10);
// Several tasks per worker (src/parallel/plan.ts taskBytes).
process.env.KAUDIT_TASK_BYTES = String(3 * (96 << 10));

const at = (ms: number): string => `2026-03-02T10:00:00.${String(ms).padStart(3, '0')}000Z`;
const rec = (auditID: string, stage: string, ms = 0, verb = 'get'): AuditRecord => {
  const r = normalizeValue(event({ auditID, stage, verb, requestURI: '/api/v1/pods', requestReceivedTimestamp: at(ms), stageTimestamp: at(ms) }), '');
  if (typeof r === 'string') throw new Error(r);
  return r;
};
/** An event of a later task that found nothing under its auditID there. */
const first = (r: AuditRecord): number[] => [idHashOf(r), familyHash(r), stageRank(r.stage), receivedKey(r)];
/** A task's partial result: what it left waiting, the events that found nothing under their ID, the requests it completed. */
const part = (leftovers: AuditRecord[], firsts: AuditRecord[] = [], completed: AuditRecord[] = firsts.filter((f) => !leftovers.some((r) => r.auditID === f.auditID)), peakPending = leftovers.length): PartialResult => ({
  leftovers,
  origins: Int32Array.from(leftovers, (r) => firsts.findIndex((f) => f.auditID === r.auditID && f.stage === r.stage)),
  idFirst: Float64Array.from(firsts.flatMap(first)),
  completed: Float64Array.from(completed.flatMap((r) => [idHashOf(r), familyHash(r), stageRank(r.stage), receivedKey(r)])),
  doneAdded: completed.length,
  reusedKeys: new Float64Array(0),
  peakPending,
  firstIds: new Float64Array(0),
});
const RR = (id: string, ms = 0, verb?: string) => rec(id, 'RequestReceived', ms, verb);
const RS = (id: string, ms = 0) => rec(id, 'ResponseStarted', ms);
const RC = (id: string, ms = 0, verb?: string) => rec(id, 'ResponseComplete', ms, verb);

describe('reconcile: stage collapsing across tasks', () => {
  it.each<{ name: string; parts: (PartialResult | null)[]; emitted: string[]; dups: number; fallback: Fallback | null; maxPending?: number }>([
    { name: 'a request completed in the next range is absorbed', parts: [part([RR('a')], [RR('a')]), part([], [RC('a')])], emitted: [], dups: 1, fallback: null },
    { name: '… also when its stages were re-stamped (completion received later)', parts: [part([RR('a', 0)], [RR('a', 0)]), part([], [RC('a', 10)])], emitted: [], dups: 1, fallback: null },
    { name: 'a request nobody completed is emitted once, at the end', parts: [part([RS('a')], [RS('a')]), part([], [RC('b')])], emitted: ['a:ResponseStarted'], dups: 0, fallback: null },
    { name: 'a watch left open in two ranges keeps its latest stage', parts: [part([RR('w')], [RR('w')]), part([RS('w')], [RS('w')])], emitted: ['w:ResponseStarted'], dups: 1, fallback: null },
    { name: 'a leftover survives ranges that never saw it, then is absorbed', parts: [part([RR('a')], [RR('a')]), part([], [RC('x')]), part([], [RC('y'), RC('a')])], emitted: [], dups: 1, fallback: null },
    { name: 'leftovers are emitted oldest first', parts: [part([RR('b'), RR('a')], [RR('b'), RR('a')]), null], emitted: ['b:RequestReceived', 'a:RequestReceived'], dups: 0, fallback: null },
    { name: 'a request completed in one task and seen again in a later one is a repeat', parts: [part([], [RC('a'), RC('b')]), part([], [RC('c'), RC('a')])], emitted: [], dups: 0, fallback: 'repeats' },
    { name: 'a late stage of a request completed earlier, still waiting at the end, is absorbed as one pass absorbs it', parts: [part([], [RC('a')]), part([RS('a')], [RS('a')])], emitted: [], dups: 1, fallback: null },
    { name: 'the same, waiting through two more tasks', parts: [part([], [RC('a')]), part([RR('a')], [RR('a')]), part([RS('a')], [RS('a')])], emitted: [], dups: 2, fallback: null },
    { name: '… also an early stage re-stamped earlier than the completion', parts: [part([], [RC('a', 10)]), part([RR('a', 5)], [RR('a', 5)])], emitted: [], dups: 1, fallback: null },
    { name: 'a late early stage received after the completion is not absorbed (one pass: another request)', parts: [part([], [RC('a', 5)]), part([RS('a', 10)], [RS('a', 10)])], emitted: [], dups: 0, fallback: 'repeats' },
    { name: 'a late early stage that one pass absorbs, beside another request the task completed under the ID', parts: [part([], [RC('a')]), part([RS('a')], [RS('a')], [RC('a', 20)])], emitted: [], dups: 0, fallback: 'repeats' },
    { name: 'a request completed after the border, then repeated, is a repeat', parts: [part([RS('w')], [RS('w')]), part([], [RC('w'), RC('x')]), part([], [RC('w')])], emitted: [], dups: 1, fallback: 'repeats' },
    { name: 'a request still open is not a repeat', parts: [part([RS('w')], [RS('w')]), part([], [RC('x')])], emitted: ['w:ResponseStarted'], dups: 0, fallback: null },
    { name: 'an earlier stage of a carried request (stages out of order across the border): one pass keeps the carried stage', parts: [part([RS('a')], [RS('a')]), part([], [RR('a')], [])], emitted: [], dups: 0, fallback: 'repeats' },
    { name: 'another request under a carried ID (a reuse across the border)', parts: [part([RR('a')], [RR('a')]), part([], [RC('a', 0, 'delete')])], emitted: [], dups: 0, fallback: 'auditid-reuse' },
    { name: 'a later stage received before the carried request is another request', parts: [part([RR('a', 10)], [RR('a', 10)]), part([], [RC('a', 5)])], emitted: [], dups: 0, fallback: 'auditid-reuse' },
    { name: 'an ID completed earlier, used by another request after the border', parts: [part([], [RC('a')]), part([], [RC('a', 0, 'delete')])], emitted: [], dups: 0, fallback: 'auditid-reuse' },
    { name: 'two requests carried under one ID', parts: [part([RR('a', 0), RR('a', 0, 'delete')], [RR('a')]), part([], [RC('a')])], emitted: [], dups: 0, fallback: 'auditid-reuse' },
    { name: 'one pass would have held more than maxPending requests waiting', parts: [part([RR('a'), RR('b')], [RR('a'), RR('b')]), part([RR('c'), RR('d')], [RR('c'), RR('d')])], emitted: [], dups: 0, fallback: 'window', maxPending: 3 },
    { name: '… which the first task alone never does', parts: [part([RR('a'), RR('b')], [RR('a'), RR('b')], [], 4), part([], [RC('c')])], emitted: ['a:RequestReceived', 'b:RequestReceived'], dups: 0, fallback: null, maxPending: 3 },
  ])('$name', ({ parts, emitted, dups, fallback, maxPending }) => {
    const out: string[] = [];
    expect(reconcile(parts, (r) => out.push(`${r.auditID}:${r.stage}`), maxPending)).toEqual({ duplicates: dups, fallback });
    expect(out).toEqual(emitted);
  });

  it('completeFromCarry: a record a later part completed takes from the request an earlier part left waiting what one pass keeps (takeFromEarlierStage), once, and only for its own request', () => {
    const r = new Reconciler();
    const started = RS('w');
    started.responseStartedMs = 250;
    r.push(part([started], [started]));
    const other = RC('w', 0, 'delete'); // another family under the ID: not its request
    r.completeFromCarry(other);
    expect(other.responseStartedMs).toBeNull();
    const earlier = RC('w'); // the same family and time: the request itself
    r.completeFromCarry(earlier);
    expect(earlier.responseStartedMs).toBe(250);
    const again = RC('w');
    r.completeFromCarry(again); // a second record under the ID in the same part is not the carried request
    expect(again.responseStartedMs).toBeNull();
    r.push(part([], [RC('w')]));
    expect(r.fallback).toBeNull();
    expect(r.duplicates).toBe(1);
  });

  it('property: cut anywhere, the tasks give one pass\'s requests, in its order, or fall back', () => {
    // Random logs of a few requests (stages in order, re-stamped or not, interleaved), with
    // reused IDs, repeated lines and swapped neighbours, cut into parts at random places.
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const show = (r: AuditRecord) => `${r.auditID}:${r.verb}:${r.stage}:${r.time}`;
    let exact = 0;
    let joined = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const requests: AuditRecord[][] = [];
      for (let m = 1 + rnd(6); m > 0; m--) {
        const id = `id${rnd(trial % 3 ? 40 : 3)}`;
        const verb = rnd(3) ? 'get' : 'delete';
        const base = 10 * rnd(4);
        const restamped = rnd(2) === 1;
        const stages = [rnd(3) ? 'RequestReceived' : '', rnd(3) ? '' : 'ResponseStarted', rnd(4) ? (rnd(8) ? 'ResponseComplete' : 'Panic') : ''].filter(Boolean);
        requests.push(stages.map((st, k) => rec(id, st, restamped ? base + 3 * k : base, verb)));
      }
      const log: AuditRecord[] = [];
      while (requests.some((q) => q.length > 0)) {
        const q = requests.filter((x) => x.length > 0)[rnd(requests.filter((x) => x.length > 0).length)]!;
        log.push(q.shift()!);
      }
      if (rnd(6) === 0 && log.length > 1) log.splice(rnd(log.length), 0, log[rnd(log.length)]!);
      if (rnd(6) === 0 && log.length > 1) {
        const i = rnd(log.length - 1);
        [log[i], log[i + 1]] = [log[i + 1]!, log[i]!];
      }
      const n = log.length;
      const opts = { maxPending: 1 + rnd(8), maxDone: 1 + rnd(8) };
      const one: string[] = [];
      const c1 = new StageCollapser((r) => one.push(show(r)), opts);
      for (const r of log) c1.add(r);
      c1.flush();
      const cuts = [...new Set(Array.from({ length: 1 + rnd(4) }, () => rnd(n + 1)))].sort((a, b) => a - b);
      const bounds = [0, ...cuts, n];
      const many: string[] = [];
      const r = new Reconciler(opts.maxPending, opts.maxDone);
      let dups = 0;
      for (let k = 0; k + 1 < bounds.length; k++) {
        const c = new StageCollapser((x) => many.push(show(x)), opts, true);
        for (const x of log.slice(bounds[k], bounds[k + 1])) c.add(x);
        dups += c.duplicates;
        r.push(c.leftovers());
        if (r.fallback !== null) break;
      }
      if (r.fallback !== null) continue;
      r.finish((x) => many.push(show(x)));
      exact++;
      if (r.duplicates > 0) joined++;
      expect(many, JSON.stringify({ trial, log: log.map(show), cuts, opts })).toEqual(one);
      expect(dups + r.duplicates).toBe(c1.duplicates);
    }
    // Most cuts are decided exactly, many of them joining stages across a border; the rest fall
    // back (asserted so that the test keeps its teeth).
    expect(exact).toBeGreaterThan(1500);
    expect(joined).toBeGreaterThan(300);
  });

  it('property: Audit-ID reuse across parts (firstIds, the last part only looked up, reuseOf at the end) is flagged and counted as one pass does, or the run falls back', () => {
    // As the pipeline wires it: each part's selected requests go through a partial AuditIDReuse
    // with the hashes the collapser took; the Reconciler gets the last part with `last` (its IDs
    // checked, added only when finish() emits a request). Small windows, so that the IDs of the
    // last part evict earlier ones while it is checked.
    let seed = 11;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const show = (r: AuditRecord) => `${r.auditID}:${r.verb}:${r.stage}:${r.time}:${r.auditIDReused ? 'reused' : ''}`;
    let exact = 0;
    let flagged = 0;
    for (let trial = 0; trial < 3000; trial++) {
      const log: AuditRecord[] = [];
      for (let m = 2 + rnd(14); m > 0; m--) {
        const id = `id${rnd(2 + (trial % 9))}`;
        const verb = rnd(3) ? 'get' : 'delete';
        // Each request its own receive time: no request repeats another (repeats are the property above's).
        const ms = 10 * m;
        if (rnd(4) > 0) log.push(rec(id, 'RequestReceived', ms, verb));
        if (rnd(5) > 0) log.push(rec(id, 'ResponseComplete', ms, verb));
      }
      const n = log.length;
      const opts = { maxPending: 1 + rnd(8), maxDone: 1 + rnd(6) };
      const one: string[] = [];
      const reuse1 = new AuditIDReuse(opts.maxDone);
      const c1 = new StageCollapser((r, ih) => {
        reuse1.check(r, ih);
        one.push(show(r));
      }, opts);
      for (const r of log) c1.add(structuredClone(r));
      c1.flush();
      const cuts = [...new Set(Array.from({ length: 1 + rnd(4) }, () => rnd(n + 1)))].sort((a, b) => a - b);
      const bounds = [0, ...cuts, n];
      const many: string[] = [];
      const r = new Reconciler(opts.maxPending, opts.maxDone);
      let count = 0;
      for (let k = 0; k + 1 < bounds.length; k++) {
        const reuse = new AuditIDReuse(opts.maxDone, true);
        const c = new StageCollapser((x, ih, idh) => {
          reuse.check(x, ih, idh);
          many.push(show(x));
        }, opts, true);
        for (const x of log.slice(bounds[k], bounds[k + 1])) c.add(structuredClone(x));
        count += reuse.count;
        r.push({ ...c.leftovers(), firstIds: reuse.firstIds() }, k + 2 === bounds.length);
        if (r.fallback !== null) break;
      }
      if (r.fallback !== null) continue;
      r.finish((x) => {
        r.reuseOf(x);
        many.push(show(x));
      });
      exact++;
      if (reuse1.count > 0) flagged++;
      expect(many, JSON.stringify({ trial, log: log.map(show), cuts, opts })).toEqual(one);
      expect(count + r.reusedAtEnd).toBe(reuse1.count);
    }
    expect(exact).toBeGreaterThan(600);
    expect(flagged).toBeGreaterThan(100);
  });
});

describe('mergeAccounting', () => {
  const acc = (files: InputAccounting['files'], n: number): InputAccounting => ({ files, lines: n, prefiltered: 0, events: n, requests: n, duplicates: 0, rejected: 0, used: n, skipped: 0, ignored: 0, auditIDReuse: 0, complete: true, notCompleted: 0, window: { limit: 100_000, evicted: 0 } });
  const fs = (path: string, lines: number) => ({ path, format: 'jsonl', gzip: false, bytes: lines * 10, lines, events: lines, rejected: 0, prefiltered: 0, providers: ['k8s'], ignored: 0, complete: true, incomplete: '' });
  it('adds the ranges of one file into one entry and keeps other files apart', () => {
    const m = mergeAccounting([
      { acc: acc([fs('a.log', 3)], 3), continues: false },
      { acc: acc([fs('a.log', 4)], 4), continues: true },
      { acc: acc([fs('b.log', 5)], 5), continues: false },
    ]);
    expect(m.files.map((f) => [f.path, f.lines, f.bytes])).toEqual([
      ['a.log', 7, 70],
      ['b.log', 5, 50],
    ]);
    expect(m.lines).toBe(12);
    expect(m.files[0]).not.toHaveProperty('range');
  });
});

describe('--jobs gives the bytes of a single pass', () => {
  let dir = '';
  let log = '';
  let rbac = '';
  beforeAll(async () => {
    dir = tmpDir();
    await generate({ ...DEFAULT_GEN, out: join(dir, 'gen'), days: 1, seed: 11, scale: 0.03, rotate: 'none', incidents: true, start: '2026-03-03T00:00:00Z' });
    const lines = readFileSync(join(dir, 'gen', 'audit.log'), 'utf8').split('\n');
    // Bad lines and long-running requests whose stages lie in different ranges.
    const watches: string[] = [];
    for (let i = 0; i < 40; i++) {
      const id = `watch-${i}`;
      const open = JSON.stringify(event({ auditID: id, stage: 'ResponseStarted', verb: 'watch', requestURI: '/api/v1/pods?watch=true', objectRef: { resource: 'pods', apiVersion: 'v1' }, requestReceivedTimestamp: '2026-03-03T00:00:01.000000Z', stageTimestamp: '2026-03-03T00:00:01.100000Z' }));
      const close = JSON.stringify(event({ auditID: id, stage: 'ResponseComplete', verb: 'watch', requestURI: '/api/v1/pods?watch=true', objectRef: { resource: 'pods', apiVersion: 'v1' }, requestReceivedTimestamp: '2026-03-03T00:00:01.000000Z', stageTimestamp: '2026-03-03T05:00:00.000000Z' }));
      watches.push(open);
      // Opened in the first half, closed (three in four) up to 40% of the file later: other ranges.
      const at = Math.floor(((i % 7) / 14) * lines.length) + 3;
      lines.splice(at, 0, open);
      if (i % 4 !== 0) lines.splice(at + Math.floor((0.1 + (i % 4) / 10) * lines.length), 0, close);
    }
    for (let i = 1; i <= 9; i++) lines.splice(Math.floor((i / 10) * lines.length), 0, i % 3 === 0 ? '{"kind":"Event","apiVersion":"audit.k8s.io/v1"' : '{"not":"audit"}');
    log = join(dir, 'audit.log');
    writeFileSync(log, lines.join('\n'));
    rbac = 'fixtures/sample-rbac';
    expect(statSync(log).size).toBeGreaterThan(8 * (96 << 10));
  }, 60_000);

  it.each([
    ['summary', ['-o', 'json']],
    ['summary', ['-o', 'json', '--verb', 'get,list', '--user', 'system:*']],
    ['rbac-gen', ['-o', 'report']],
    ['rbac-gen', ['-o', 'report', '--existing', 'fixtures/sample-rbac', '--explain']],
    // Workers spill, and hand their subjects over as runs (handOff) rather than as maps.
    ['rbac-gen', ['--explain', '--memory', '64k']],
    ['drift', ['--rbac', 'fixtures/sample-rbac', '-o', 'json']],
    ['baseline', []],
  ])('%s %j', async (cmd, args) => {
    const one = await runCli([cmd, log, ...args.map((a) => (a === 'fixtures/sample-rbac' ? rbac : a)), '--jobs', '1']);
    const many = await runCli([cmd, log, ...args, '--jobs', '3']);
    expect(one.code).toBe(0);
    expect(many.code).toBe(0);
    expect(many.stdout).toBe(one.stdout);
    // The accounting line and warnings count the same lines; only where a reject is placed differs.
    const acc = (s: string): string => s.replace(/ \(from byte \d+\):\d+/g, ':N').replace(/\.log:\d+/g, '.log:N');
    expect(acc(many.stderr).split('\n').filter((l) => !/^\S+\.log:N/.test(l))).toEqual(acc(one.stderr).split('\n').filter((l) => !/^\S+\.log:N/.test(l)));
  });

  it('the accounting adds up and the split run really split', async () => {
    const r = await runCli(['summary', log, '-o', 'json', '--jobs', '3']);
    const a = JSON.parse(r.stdout).input as InputAccounting;
    expect(a.files).toHaveLength(1);
    expect(a.lines).toBe(a.events + a.rejected + a.prefiltered);
    expect(a.events).toBe(a.requests + a.duplicates);
    expect(a.requests).toBe(a.used + a.skipped);
    expect(a.rejected).toBe(9);
    expect(a.files[0]!.bytes).toBe(statSync(log).size);
    // Rejects from later ranges say where their range began.
    expect(r.stderr).toMatch(/audit\.log \(from byte \d+\):\d+: /);
  });

  it('an early stage written after its request completed, ranges apart, is absorbed as one pass absorbs it', async () => {
    const lines = readFileSync(log, 'utf8').split('\n');
    const late = JSON.stringify(event({ auditID: 'late-1', stage: 'ResponseComplete', requestReceivedTimestamp: '2026-03-03T01:00:00.000000Z', stageTimestamp: '2026-03-03T01:00:00.010000Z', responseStatus: { code: 200 } }));
    const early = JSON.stringify(event({ auditID: 'late-1', stage: 'RequestReceived', requestReceivedTimestamp: '2026-03-03T01:00:00.000000Z', stageTimestamp: '2026-03-03T01:00:00.000000Z' }));
    lines.splice(Math.floor(lines.length * 0.2), 0, late);
    lines.splice(Math.floor(lines.length * 0.8), 0, early);
    const shuffled = join(dir, 'out-of-order.log');
    writeFileSync(shuffled, lines.join('\n'));
    const one = await runCli(['summary', shuffled, '-o', 'json', '--jobs', '1']);
    const many = await runCli(['summary', shuffled, '-o', 'json', '--jobs', '3']);
    expect(many.stdout).toBe(one.stdout);
    expect(many.stderr).not.toMatch(/note: the same requests appear/);
  });

  it('a request completed twice, ranges apart, makes the run fall back and count it once', async () => {
    const lines = readFileSync(log, 'utf8').split('\n');
    const done = JSON.stringify(event({ auditID: 'twice-1', stage: 'ResponseComplete', requestReceivedTimestamp: '2026-03-03T01:00:00.000000Z', stageTimestamp: '2026-03-03T01:00:00.010000Z', responseStatus: { code: 200 } }));
    lines.splice(Math.floor(lines.length * 0.2), 0, done);
    lines.splice(Math.floor(lines.length * 0.8), 0, done);
    const twice = join(dir, 'twice.log');
    writeFileSync(twice, lines.join('\n'));
    const one = await runCli(['summary', twice, '-o', 'json', '--jobs', '1']);
    const many = await runCli(['summary', twice, '-o', 'json', '--jobs', '3']);
    expect(many.stdout).toBe(one.stdout);
    expect(many.stderr).toMatch(/note: the same requests appear in more than one part of the inputs; reading again in one thread/);
  });

  it('--strict stops at the first bad line, in input order, with exit 2', async () => {
    const one = await runCli(['summary', log, '--strict', '--jobs', '1']);
    const many = await runCli(['summary', log, '--strict', '--jobs', '3']);
    expect(one.code).toBe(2);
    expect(many.code).toBe(2);
    expect(many.stdout).toBe('');
    expect(many.stderr).toMatch(/not an audit event|not JSON/);
  });

  it('--jobs rejects nonsense with the flag and the fix', async () => {
    const r = await runCli(['summary', log, '--jobs', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--jobs: "many" is not a positive whole number/);
  });
});

describe('a worker that runs out of memory', () => {
  it('makes the run fall back to one thread, with a note, and the same result', async () => {
    const dir = tmpDir();
    const lines: string[] = [];
    for (let i = 0; i < 4000; i++) lines.push(JSON.stringify(event({ auditID: `id-${i}`, user: { username: `user-${i % 50}` }, verb: i % 3 ? 'get' : 'list' })));
    const log = join(dir, 'a.log');
    writeFileSync(log, lines.join('\n') + '\n');
    const one = await runCli(['summary', log, '-o', 'json', '--jobs', '1']);
    process.env.KAUDIT_WORKER_OLD_MB = '1';
    try {
      const r = await runCli(['summary', log, '-o', 'json', '--jobs', '2']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(one.stdout);
      expect(r.stderr).toMatch(/note: a worker thread ran out of memory \(more than 1 MB\); reading again in one thread/);
    } finally {
      delete process.env.KAUDIT_WORKER_OLD_MB;
    }
  });
});

describe('--jobs over inputs split by file only', () => {
  it.each([
    ['the sample: a rotated gzip day and a plain day (stages across the rotation)', ['fixtures/sample'], false],
    ['cloud exports: documents, CSV, gzip and JSON lines side by side', ['fixtures/cloud', 'fixtures/sample/audit-2026-03-02T23-59-59.999.log.gz'], true],
  ])('%s', async (_name, inputs, repeats) => {
    for (const cmd of [
      ['summary', '-o', 'json'],
      ['rbac-gen', '-o', 'report'],
    ]) {
      const one = await runCli([...cmd, ...inputs, '--jobs', '1']);
      const many = await runCli([...cmd, ...inputs, '--jobs', '4']);
      expect(one.code).toBe(0);
      expect(many.stdout).toBe(one.stdout);
      const note = /^note: the same requests appear in more than one part of the inputs; reading again in one thread.*\n/m;
      // The cloud fixtures hold the same events in several forms: one pass counts them once, so workers give up.
      expect(note.test(many.stderr)).toBe(repeats);
      expect(many.stderr.replace(note, '')).toBe(one.stderr);
    }
  });
});

describe('planTasks', () => {
  it('splits a large JSON-lines file into contiguous ranges that start at line starts; other formats stay whole', async () => {
    const { planTasks } = await import('../../src/parallel/plan.js');
    const dir = tmpDir();
    const lines: string[] = [];
    for (let i = 0; i < 6000; i++) lines.push(JSON.stringify(event({ auditID: `p-${i}`, requestURI: `/api/v1/namespaces/ns-${i % 9}/pods/${'x'.repeat(i % 50)}` })));
    const text = lines.join('\n') + '\n';
    const log = join(dir, 'big.log');
    writeFileSync(log, text);
    const size = statSync(log).size;
    const src = { path: log, cluster: '', size };
    const tasks = await planTasks([src], 3);
    expect(tasks.length).toBeGreaterThanOrEqual(6);
    let at = 0;
    for (const [i, t] of tasks.entries()) {
      expect(t.index).toBe(i);
      expect(t.format).toBe('jsonl');
      expect(t.source.start).toBe(at);
      expect(t.source.start === 0 || text[t.source.start! - 1] === '\n').toBe(true);
      at = t.source.end!;
    }
    expect(at).toBe(size);
    // One range per worker up to jobs × taskBytes(), then ranges of taskBytes() at most.
    const saved = process.env.KAUDIT_TASK_BYTES;
    try {
      process.env.KAUDIT_TASK_BYTES = String(size);
      expect((await planTasks([src], 2)).length).toBe(2);
      expect((await planTasks([src], 3)).length).toBe(3);
      process.env.KAUDIT_TASK_BYTES = String(Math.ceil(size / 5));
      expect((await planTasks([src], 2)).length).toBe(5);
      for (const t of await planTasks([src], 2)) expect(t.source.size).toBeLessThanOrEqual(Math.ceil(size / 5) + 600);
    } finally {
      process.env.KAUDIT_TASK_BYTES = saved;
    }
    // Forced to another format, or a JSON document: one task for the whole file.
    expect(await planTasks([src], 3, 'json')).toEqual([{ index: 0, source: src }]);
    const doc = join(dir, 'list.json');
    writeFileSync(doc, JSON.stringify({ kind: 'EventList', items: lines.map((l) => JSON.parse(l)) }, null, 1));
    expect((await planTasks([{ path: doc, cluster: '', size: statSync(doc).size }], 3)).length).toBe(1);
    // Pretty-printed events after a byte-order mark (as Azure writes them): a document, whatever the first line looks like.
    const bom = join(dir, 'bom.json');
    writeFileSync(bom, '\ufeff' + lines.map((l) => JSON.stringify(JSON.parse(l), null, 2)).join('\n'));
    expect((await planTasks([{ path: bom, cluster: '', size: statSync(bom).size }], 3)).length).toBe(1);
    const one = await runCli(['summary', bom, '-o', 'json', '--jobs', '1']);
    const many = await runCli(['summary', bom, '-o', 'json', '--jobs', '3']);
    expect(JSON.parse(one.stdout).input.events).toBe(6000);
    expect(many.stdout).toBe(one.stdout);
  });
});

describe('atOffset (a range\'s record locations)', () => {
  it('gives the keys, order and values of { ...loc, offset } for line, item and wrapper-item locations', async () => {
    const { atOffset } = await import('../../src/pipeline.js');
    const locs = [
      { file: 'a.log', line: 7, unit: 'line' as const },
      { file: 'a.log', line: 7, unit: 'line' as const, item: 3 },
      { file: 'b.json', line: 2, unit: 'item' as const },
    ];
    for (const loc of locs) {
      const got = atOffset(loc, 1234);
      expect(JSON.stringify(got)).toBe(JSON.stringify({ ...loc, offset: 1234 }));
      expect(Object.keys(got)).toEqual(Object.keys({ ...loc, offset: 1234 }));
      expect(got).not.toBe(loc);
    }
  });
});
