// --jobs: worker threads over whole files and byte ranges must give the bytes one pass gives.
// Ranges are made small here (KAUDIT_MIN_RANGE_BYTES) so that a few-MB file splits into many.
import { describe, it, expect, beforeAll } from 'vitest';
import { join } from 'node:path';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { runCli, tmpDir, event } from '../helpers.js';
import { generate, DEFAULT_GEN } from '../../src/gen/index.js';
import { reconcile, mergeAccounting } from '../../src/parallel/run.js';
import type { AuditRecord, InputAccounting } from '../../src/types.js';
import { requestHashOf } from '../../src/normalize/collapse.js';
import type { PartialResult } from '../../src/pipeline.js';

process.env.KAUDIT_MIN_RANGE_BYTES = String(96 << 10);

const rec = (auditID: string, stage: string): AuditRecord => ({ auditID, stage, cluster: '', time: '2026-03-02T10:00:00Z', verb: 'get', requestURI: '/api/v1/pods', subject: 'alice', impersonator: '' }) as AuditRecord;
/** The key hash of the request with this auditID (every request here has the same identity otherwise). */
const keyHash = (id: string): number => requestHashOf(rec(id, ''));
/** A task's partial result: what it left pending, the keys it saw first and those it completed, in order. */
const part = (leftovers: AuditRecord[], firstSeen: string[] = [], completed = firstSeen.filter((k) => !leftovers.some((r) => r.auditID === k))): PartialResult => ({
  leftovers,
  firstSeen: Float64Array.from(firstSeen.map(keyHash)),
  completed: Float64Array.from(completed.map(keyHash)),
  firstIds: new Float64Array(0),
});

describe('reconcile: stage collapsing across tasks', () => {
  it.each([
    { name: 'a request completed in the next range is absorbed', parts: [part([rec('a', 'RequestReceived')], ['a']), part([], ['a'])], emitted: [], dups: 1, repeats: 0 },
    { name: 'a request nobody completed is emitted once, at the end', parts: [part([rec('a', 'ResponseStarted')], ['a']), part([], ['b'])], emitted: ['a:ResponseStarted'], dups: 0, repeats: 0 },
    { name: 'a watch left open in two ranges keeps its latest stage', parts: [part([rec('w', 'RequestReceived')], ['w']), part([rec('w', 'ResponseStarted')], ['w'])], emitted: ['w:ResponseStarted'], dups: 1, repeats: 0 },
    { name: 'a leftover survives ranges that never saw it, then is absorbed', parts: [part([rec('a', 'RequestReceived')], ['a']), part([], ['x']), part([], ['y', 'a'])], emitted: [], dups: 1, repeats: 0 },
    { name: 'leftovers are emitted oldest first', parts: [part([rec('b', 'RequestReceived'), rec('a', 'RequestReceived')], ['b', 'a']), null], emitted: ['b:RequestReceived', 'a:RequestReceived'], dups: 0, repeats: 0 },
    { name: 'a request completed in one task and seen again in a later one is a repeat', parts: [part([], ['a', 'b']), part([], ['c', 'a'])], emitted: [], dups: 0, repeats: 1 },
    { name: 'a late stage of a request completed earlier, still waiting at the end, is absorbed as one pass absorbs it', parts: [part([], ['a']), part([rec('a', 'ResponseStarted')], ['a'])], emitted: [], dups: 1, repeats: 0 },
    { name: 'the same, waiting through two more tasks', parts: [part([], ['a']), part([rec('a', 'RequestReceived')], ['a']), part([rec('a', 'ResponseStarted')], ['a'])], emitted: [], dups: 2, repeats: 0 },
    { name: 'a request completed after the border, then repeated, is a repeat', parts: [part([rec('w', 'ResponseStarted')], ['w']), part([], ['w', 'x']), part([], ['w'])], emitted: [], dups: 1, repeats: 1 },
    { name: 'a request still open is not a repeat', parts: [part([rec('w', 'ResponseStarted')], ['w']), part([], ['x'])], emitted: ['w:ResponseStarted'], dups: 0, repeats: 0 },
  ])('$name', ({ parts, emitted, dups, repeats }) => {
    const out: string[] = [];
    expect(reconcile(parts, (r) => out.push(`${r.auditID}:${r.stage}`))).toEqual({ duplicates: dups, repeats });
    expect(out).toEqual(emitted);
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
