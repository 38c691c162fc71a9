import { describe, it, expect } from 'vitest';
import { StageCollapser, hashKey, requestHashOf } from '../../src/normalize/collapse.js';
import { normalizeValue } from '../../src/normalize/index.js';
import type { AuditRecord } from '../../src/types.js';
import { event } from '../helpers.js';

function rec(auditID: string, stage: string, cluster = '', code = 200): AuditRecord {
  const r = normalizeValue(event({ auditID, stage, responseStatus: stage === 'RequestReceived' ? undefined : { code } }), cluster);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

function run(recs: AuditRecord[], opts = { maxPending: 100, maxDone: 100 }) {
  const out: AuditRecord[] = [];
  const c = new StageCollapser((r) => out.push(r), opts);
  for (const r of recs) c.add(r);
  c.flush();
  return { out: out.map((r) => `${r.cluster}${r.auditID}:${r.stage}`), duplicates: c.duplicates };
}

describe('stage collapsing', () => {
  it.each([
    ['RequestReceived then ResponseComplete → the completing stage', [rec('a', 'RequestReceived'), rec('a', 'ResponseComplete')], ['a:ResponseComplete'], 1],
    ['watch: ResponseStarted then ResponseComplete', [rec('w', 'ResponseStarted'), rec('w', 'ResponseComplete')], ['w:ResponseComplete'], 1],
    ['all three stages', [rec('x', 'RequestReceived'), rec('x', 'ResponseStarted'), rec('x', 'ResponseComplete')], ['x:ResponseComplete'], 2],
    ['Panic completes a request', [rec('p', 'RequestReceived'), rec('p', 'Panic', '', 500)], ['p:Panic'], 1],
    ['a late RequestReceived after completion (files out of order) is absorbed', [rec('a', 'ResponseComplete'), rec('a', 'RequestReceived')], ['a:ResponseComplete'], 1],
    ['an exact duplicate completion is absorbed', [rec('a', 'ResponseComplete'), rec('a', 'ResponseComplete')], ['a:ResponseComplete'], 1],
    ['an open watch at the end of the log is kept with its latest stage', [rec('w', 'RequestReceived'), rec('w', 'ResponseStarted')], ['w:ResponseStarted'], 1],
    ['interleaved requests keep completion order', [rec('a', 'RequestReceived'), rec('b', 'RequestReceived'), rec('b', 'ResponseComplete'), rec('a', 'ResponseComplete')], ['b:ResponseComplete', 'a:ResponseComplete'], 2],
    ['the same auditID in two clusters is two requests', [rec('a', 'ResponseComplete', 'x'), rec('a', 'ResponseComplete', 'y')], ['xa:ResponseComplete', 'ya:ResponseComplete'], 0],
  ])('%s', (_n, input, want, dups) => {
    const r = run(input);
    expect(r.out).toEqual(want);
    expect(r.duplicates).toBe(dups);
    expect(r.out.length + r.duplicates).toBe(input.length);
  });

  it('events without an auditID are never merged', () => {
    const a = rec('', 'ResponseComplete');
    expect(run([a, a]).out).toHaveLength(2);
  });

  it('holds at most maxPending requests: the oldest is emitted when the window is full', () => {
    const recs: AuditRecord[] = [];
    for (let i = 0; i < 10; i++) recs.push(rec(`r${i}`, 'RequestReceived'));
    const out: string[] = [];
    const c = new StageCollapser((r) => out.push(r.auditID), { maxPending: 3, maxDone: 100 });
    for (const r of recs) c.add(r);
    expect(out).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    // A completion arriving after its request was emitted is absorbed, not double-counted.
    c.add(rec('r0', 'ResponseComplete'));
    expect(out).toHaveLength(7);
    expect(c.duplicates).toBe(1);
    c.flush();
    expect(out).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
  });

  it('remembers at most maxDone completed requests (bounded memory), forgetting the oldest first', () => {
    const out: string[] = [];
    const c = new StageCollapser((r) => out.push(`${r.auditID}:${r.stage}`), { maxPending: 10, maxDone: 2 });
    for (const id of ['a', 'b', 'c']) c.add(rec(id, 'ResponseComplete'));
    c.add(rec('c', 'RequestReceived')); // still remembered: absorbed
    c.add(rec('b', 'RequestReceived')); // still remembered: absorbed
    c.add(rec('a', 'RequestReceived')); // forgotten: a new request
    c.flush();
    expect(out).toEqual(['a:ResponseComplete', 'b:ResponseComplete', 'c:ResponseComplete', 'a:RequestReceived']);
    expect(c.duplicates).toBe(2);
  });

  it('evicts the oldest still-pending request even after others completed out of order', () => {
    const out: string[] = [];
    const c = new StageCollapser((r) => out.push(r.auditID), { maxPending: 2, maxDone: 100 });
    c.add(rec('a', 'RequestReceived'));
    c.add(rec('b', 'RequestReceived'));
    c.add(rec('a', 'ResponseComplete')); // a leaves the window
    c.add(rec('c', 'RequestReceived'));
    c.add(rec('d', 'RequestReceived')); // window full: b is the oldest pending
    expect(out).toEqual(['a', 'b']);
  });

  it('keeps its bookkeeping proportional to the pending window, not to the number of requests', () => {
    const c = new StageCollapser(() => {}, { maxPending: 100, maxDone: 100 });
    for (let i = 0; i < 50_000; i++) {
      c.add(rec(`q${i}`, 'RequestReceived'));
      c.add(rec(`q${i}`, 'ResponseComplete'));
    }
    expect(c.queued).toBeLessThanOrEqual(2 * 0 + 1025);
  });
});

describe('partial runs (a byte range of a file, --jobs)', () => {
  it('hands back pending requests, not emitted, oldest first, and the hashes of keys first seen, in order', () => {
    const out: string[] = [];
    const c = new StageCollapser((r) => out.push(r.auditID), { maxPending: 10, maxDone: 10 }, true);
    c.add(rec('b', 'RequestReceived'));
    c.add(rec('a', 'ResponseStarted'));
    c.add(rec('c', 'ResponseComplete'));
    c.add(rec('b', 'ResponseStarted')); // seen already
    c.add(rec('c', 'ResponseComplete')); // a duplicate
    const left = c.leftovers();
    expect(left.leftovers.map((r) => `${r.auditID}:${r.stage}`)).toEqual(['b:ResponseStarted', 'a:ResponseStarted']);
    const keyHash = (id: string): number => requestHashOf(rec(id, 'ResponseComplete'));
    expect([...left.firstSeen]).toEqual(['b', 'a', 'c'].map(keyHash));
    expect([...left.completed]).toEqual(['c'].map(keyHash));
    expect(out).toEqual(['c']);
  });
  it('records nothing unless asked', () => {
    const c = new StageCollapser(() => {}, { maxPending: 2, maxDone: 10 });
    c.add(rec('a', 'ResponseComplete'));
    expect(c.leftovers().firstSeen.length).toBe(0);
  });
  it('hashKey spreads keys over 52 bits without collisions on a million audit IDs', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 1_000_000; i++) {
      const h = hashKey(`4a1f${i.toString(16).padStart(8, '0')}-1b2c-4d5e-8f90-${(i * 7919).toString(16).padStart(12, '0')}`);
      expect(Number.isSafeInteger(h) && h >= 0).toBe(true);
      seen.add(h);
    }
    expect(seen.size).toBe(1_000_000);
  });
});
