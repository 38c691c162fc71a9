import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { AuditIDReuse, StageCollapser, hashKey, hashParts, setHashSeed, idHashOf, familyHash, stageRank, sharedIdWork, ID_FIRST_STRIDE, receivedKey, MANY_WAITING, FLOOD_WAITING } from '../../src/normalize/collapse.js';
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

  it('… also when requests never complete: evicted requests are not kept (issue 15, a million RequestReceived-only requests took 0.9 GB)', () => {
    let emitted = 0;
    const c = new StageCollapser(() => emitted++, { maxPending: 100, maxDone: 100 });
    for (let i = 0; i < 50_000; i++) c.add(rec(`q${i}`, 'RequestReceived'));
    expect(c.evicted).toBe(50_000 - 100);
    expect(emitted).toBe(50_000 - 100);
    // Compacted once the evicted entries before the head are half the queue: at most 2 × (1024 + window).
    expect(c.queued).toBeLessThanOrEqual(2 * (1024 + 100) + 1);
    c.flush();
    expect(emitted).toBe(50_000);
  });

  it('calls onManyWaiting once when MANY_WAITING requests wait at once and once at FLOOD_WAITING, with the count (the CLI then makes V8 collect its old generation sooner)', () => {
    const calls: number[] = [];
    const c = new StageCollapser(() => {}, { maxPending: 2 * FLOOD_WAITING, maxDone: 100, onManyWaiting: (n) => calls.push(n) });
    for (let i = 0; i < MANY_WAITING - 1; i++) c.add(rec(`w${i}`, 'RequestReceived'));
    expect(calls).toEqual([]);
    for (let i = MANY_WAITING - 1; i < FLOOD_WAITING - 1; i++) c.add(rec(`w${i}`, 'RequestReceived'));
    expect(calls).toEqual([MANY_WAITING]);
    expect(c.waitingNow).toBe(FLOOD_WAITING - 1);
    for (let i = FLOOD_WAITING - 1; i < 3 * FLOOD_WAITING; i++) c.add(rec(`w${i}`, 'RequestReceived'));
    expect(calls).toEqual([MANY_WAITING, FLOOD_WAITING]);
    expect(c.waitingNow).toBe(2 * FLOOD_WAITING);
  });
});

describe('request identity: which stages are one request (README "Request identity")', () => {
  // Upstream: one audit Event per request, stages differ only in stage, stageTimestamp and
  // responseStatus (k8s.io/apiserver pkg/endpoints/filters/audit.go WithAudit; requestReceivedTimestamp
  // set once in pkg/audit/request.go LogRequestMetadata); the auditID is the client's Audit-ID header
  // when sent (pkg/endpoints/filters/with_auditid.go). Re-stamped logs give each stage its own time.
  const at = (ms: number): string => `2026-03-02T10:00:00.${String(ms).padStart(3, '0')}000Z`;
  const ev = (stage: string, ms: number, over: Record<string, unknown> = {}): AuditRecord => {
    const r = normalizeValue(event({ auditID: 'x', stage, requestReceivedTimestamp: at(ms), stageTimestamp: at(ms), responseStatus: stage === 'RequestReceived' ? undefined : { code: 200 }, ...over }), '');
    if (typeof r === 'string') throw new Error(r);
    return r;
  };
  const create = { verb: 'create', requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings' };
  const show = (r: AuditRecord) => `${r.verb}:${r.stage}@${r.time.slice(20, 23)}`;
  it.each<[string, AuditRecord[], string[], number]>([
    ['re-stamped stages: a later stage received later joins the waiting request', [ev('RequestReceived', 0), ev('ResponseComplete', 10)], ['list:ResponseComplete@010'], 1],
    ['all three stages, each re-stamped', [ev('RequestReceived', 0), ev('ResponseStarted', 5), ev('ResponseComplete', 10)], ['list:ResponseComplete@010'], 2],
    ['a later stage received earlier than the waiting request is another request', [ev('RequestReceived', 10), ev('ResponseComplete', 0)], ['list:ResponseComplete@000', 'list:RequestReceived@010'], 0],
    ['the same stage again with another time is another request', [ev('RequestReceived', 0), ev('RequestReceived', 5), ev('ResponseComplete', 5), ev('ResponseComplete', 7)], ['list:ResponseComplete@005', 'list:ResponseComplete@007'], 2],
    ['an equal time wins over an earlier waiting request', [ev('RequestReceived', 0), ev('RequestReceived', 5), ev('ResponseComplete', 5)], ['list:ResponseComplete@005', 'list:RequestReceived@000'], 1],
    ['otherwise the earliest-received waiting request takes the stage', [ev('RequestReceived', 5), ev('RequestReceived', 0), ev('ResponseComplete', 9)], ['list:ResponseComplete@009', 'list:RequestReceived@005'], 1],
    ['another family with the same ID is never joined (the shared case auditid-reuse)', [ev('RequestReceived', 0), ev('RequestReceived', 3, create), ev('ResponseComplete', 10), ev('ResponseComplete', 20, create)], ['list:ResponseComplete@010', 'create:ResponseComplete@020'], 2],
    ['a completed request absorbs an earlier stage received not later (files out of order)', [ev('ResponseComplete', 10), ev('RequestReceived', 0)], ['list:ResponseComplete@010'], 1],
    ['… and an exact repeat', [ev('ResponseComplete', 10), ev('ResponseComplete', 10)], ['list:ResponseComplete@010'], 1],
    ['… but not an earlier stage received later: a request of its own', [ev('ResponseComplete', 10), ev('RequestReceived', 20)], ['list:ResponseComplete@010', 'list:RequestReceived@020'], 0],
    ['… nor a completion received later', [ev('ResponseComplete', 10), ev('ResponseComplete', 20)], ['list:ResponseComplete@010', 'list:ResponseComplete@020'], 0],
    ['… nor another family received at the same time', [ev('ResponseComplete', 10), ev('ResponseComplete', 10, create)], ['list:ResponseComplete@010', 'create:ResponseComplete@010'], 0],
    ['a late earlier stage with the waiting request\'s time is absorbed, the later stage kept', [ev('ResponseStarted', 4), ev('RequestReceived', 4), ev('ResponseComplete', 9)], ['list:ResponseComplete@009'], 2],
    // The completed request a reuse displaced still absorbs its own repeat, as it does when the other request is filtered out first (the pre-filter): found by the red team.
    ['… even after another request of the ID completed in between (an exact repeat of the first)', [ev('ResponseComplete', 10), ev('ResponseComplete', 12, create), ev('ResponseComplete', 10)], ['list:ResponseComplete@010', 'create:ResponseComplete@012'], 1],
    ['times are instants: 10:00:00Z and 10:00:00.000000Z are equal', [ev('RequestReceived', 0, { requestReceivedTimestamp: '2026-03-02T10:00:00Z' }), ev('RequestReceived', 0)], ['list:RequestReceived@000'], 1],
  ])('%s', (_n, input, want, dups) => {
    const out: AuditRecord[] = [];
    const c = new StageCollapser((r) => out.push(r), { maxPending: 100, maxDone: 100 });
    for (const r of input) c.add(r);
    c.flush();
    expect(out.map(show)).toEqual(want);
    expect(c.duplicates).toBe(dups);
    expect(out.length + c.duplicates).toBe(input.length);
  });

  it('GKE entries carry no requestReceivedTimestamp: their times always agree, and they never join a native event', () => {
    const gke = (stage: string, ms: number): AuditRecord => ({ ...ev(stage, ms), provider: 'gke' });
    const out: AuditRecord[] = [];
    const c = new StageCollapser((r) => out.push(r), { maxPending: 100, maxDone: 100 });
    for (const r of [gke('RequestReceived', 5), gke('ResponseComplete', 0), gke('ResponseComplete', 3), ev('ResponseComplete', 0)]) c.add(r);
    c.flush();
    expect(out.map((r) => `${r.provider}:${r.stage}`)).toEqual(['gke:ResponseComplete', 'k8s:ResponseComplete']);
    expect(c.duplicates).toBe(2);
  });

  it('a request emitted from a full window still takes its later stages (as it would have waiting), and then is complete', () => {
    const out: AuditRecord[] = [];
    const c = new StageCollapser((r) => out.push(r), { maxPending: 1, maxDone: 100 });
    c.add(ev('RequestReceived', 0));
    c.add(ev('RequestReceived', 0, { auditID: 'y' })); // the window is full: x is emitted as it is
    c.add(ev('ResponseStarted', 4)); // x's later stage: absorbed
    c.add(ev('ResponseComplete', 9)); // x's completion: absorbed
    c.add(ev('ResponseStarted', 12)); // after the completion, a later-received stage is a request of its own
    expect(out.map(show)).toEqual(['list:RequestReceived@000', 'list:RequestReceived@000']);
    c.flush();
    expect(out.map((r) => `${r.auditID}:${r.stage}`)).toEqual(['x:RequestReceived', 'y:RequestReceived', 'x:ResponseStarted']);
    expect(c.duplicates).toBe(2);
  });

  it('many requests open under one auditID cost O(log k) each: no scan of the others (an attacker can open thousands)', () => {
    // Before: when the ID's first entry left, promote() scanned every waiting key: k requests
    // completing oldest first made k² steps. Steps here are heap moves and family look-ups.
    const k = 20_000;
    for (const order of ['oldest first', 'newest first', 'interleaved']) {
      for (const families of [true, false]) {
        const opens: AuditRecord[] = [];
        for (let i = 0; i < k; i++) opens.push(families ? ev('RequestReceived', 0, { requestURI: `/api/v1/pods/p${i}` }) : ev('RequestReceived', 0, { requestReceivedTimestamp: new Date(Date.UTC(2026, 2, 2) + i).toISOString() }));
        const idx = opens.map((_, i) => i);
        if (order === 'newest first') idx.reverse();
        if (order === 'interleaved') idx.sort((a, b) => (a % 2) - (b % 2) || a - b);
        const out: AuditRecord[] = [];
        const c = new StageCollapser((r) => out.push(r), { maxPending: 2 * k, maxDone: 10 });
        sharedIdWork.steps = 0;
        for (const r of opens) c.add(r);
        for (const i of idx) c.add({ ...opens[i]!, stage: 'ResponseComplete', code: 200 });
        expect(out).toHaveLength(k);
        expect(c.duplicates).toBe(k);
        expect(sharedIdWork.steps).toBeLessThan(8 * k * Math.log2(k));
      }
    }
  });
});

describe('partial runs (a byte range of a file, --jobs)', () => {
  it('hands back waiting requests, not emitted, oldest first; the events that found nothing under their ID; the requests completed', () => {
    setHashSeed([1, 2]);
    const out: string[] = [];
    const c = new StageCollapser((r) => out.push(r.auditID), { maxPending: 10, maxDone: 10 }, true);
    c.add(rec('b', 'RequestReceived'));
    c.add(rec('a', 'ResponseStarted'));
    c.add(rec('c', 'ResponseComplete'));
    c.add(rec('b', 'ResponseStarted')); // joins b
    c.add(rec('c', 'ResponseComplete')); // a duplicate of c (found c under its ID)
    const left = c.leftovers();
    expect(left.leftovers.map((r) => `${r.auditID}:${r.stage}`)).toEqual(['b:ResponseStarted', 'a:ResponseStarted']);
    const first = (id: string, stage: string) => {
      const r = rec(id, stage);
      return [idHashOf(r), familyHash(r), stageRank(stage), r.timeMs];
    };
    expect([...left.idFirst]).toEqual([...first('b', 'RequestReceived'), ...first('a', 'ResponseStarted'), ...first('c', 'ResponseComplete')]);
    expect(left.idFirst.length).toBe(3 * ID_FIRST_STRIDE);
    const c1 = rec('c', 'ResponseComplete');
    expect([...left.completed]).toEqual([idHashOf(c1), familyHash(c1), stageRank(c1.stage), receivedKey(c1)]);
    expect(left.peakPending).toBe(2);
    expect(out).toEqual(['c']);
  });
  it('records nothing unless asked', () => {
    const c = new StageCollapser(() => {}, { maxPending: 2, maxDone: 10 });
    c.add(rec('a', 'ResponseComplete'));
    const l = c.leftovers();
    expect([l.idFirst.length, l.completed.length, l.peakPending]).toEqual([0, 0, 0]);
  });
  it('waiting(): the requests still waiting, oldest first, also under a reused ID (a Group), left in place (audit follow checkpoints)', () => {
    const at = (id: string, stage: string, verb: string, ms: number): AuditRecord => {
      const r = normalizeValue(event({ auditID: id, stage, verb, requestURI: '/api/v1/pods', requestReceivedTimestamp: `2026-03-02T10:00:00.${String(ms).padStart(3, '0')}Z`, stageTimestamp: `2026-03-02T10:00:00.${String(ms).padStart(3, '0')}Z` }), '');
      if (typeof r === 'string') throw new Error(r);
      return r;
    };
    const out: string[] = [];
    const c = new StageCollapser((r) => out.push(`${r.auditID}:${r.verb}:${r.stage}`), { maxPending: 10, maxDone: 10 });
    c.add(at('a', 'RequestReceived', 'get', 0));
    c.add(at('b', 'RequestReceived', 'get', 1));
    c.add(at('a', 'RequestReceived', 'delete', 2)); // another request under a (a Group of two families)
    c.add(at('a', 'RequestReceived', 'get', 3)); // a third, same family as the first, received later
    c.add(at('c', 'ResponseStarted', 'watch', 4));
    c.add(at('b', 'ResponseComplete', 'get', 1));
    c.add(at('a', 'ResponseStarted', 'get', 0)); // the first a moves on to ResponseStarted in its place
    const show = (rs: AuditRecord[]) => rs.map((r) => `${r.auditID}:${r.verb}:${r.stage}:${r.timeMs % 1000}`);
    const want = ['a:get:ResponseStarted:0', 'a:delete:RequestReceived:2', 'a:get:RequestReceived:3', 'c:watch:ResponseStarted:4'];
    expect(show(c.waiting())).toEqual(want);
    expect(show(c.waiting())).toEqual(want);
    expect(out).toEqual(['b:get:ResponseComplete']);
    c.flush();
    expect(out.slice(1)).toEqual(want.map((w) => w.split(':').slice(0, 3).join(':')));
    expect(c.waiting()).toEqual([]);
  });
  it('a completing stage keeps when the response began to stream (ResponseStarted), also when the stages were re-stamped apart', () => {
    const st = (stage: string, received: string, stamped: string): AuditRecord => {
      const r = normalizeValue(event({ auditID: 'w', stage, verb: 'watch', requestURI: '/api/v1/pods?watch=1', requestReceivedTimestamp: received, stageTimestamp: stamped }), '');
      if (typeof r === 'string') throw new Error(r);
      return r;
    };
    for (const rcReceived of ['2026-03-02T10:00:00.000Z', '2026-03-02T10:00:00.050Z']) {
      const out: AuditRecord[] = [];
      const c = new StageCollapser((r) => out.push(r), { maxPending: 10, maxDone: 10 });
      c.add(st('RequestReceived', '2026-03-02T10:00:00.000Z', '2026-03-02T10:00:00.000Z'));
      c.add(st('ResponseStarted', '2026-03-02T10:00:00.000Z', '2026-03-02T10:00:00.200Z'));
      c.add(st('ResponseComplete', rcReceived, '2026-03-02T10:05:00.000Z'));
      c.flush();
      expect(out.map((r) => [r.stage, r.responseStartedMs])).toEqual([['ResponseComplete', 200]]);
      expect(c.duplicates).toBe(2);
    }
  });
  it('hashKey spreads keys over 52 bits without collisions on a million audit IDs', () => {
    setHashSeed([0, 0]);
    const seen = new Set<number>();
    let bad = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const h = hashKey(`4a1f${i.toString(16).padStart(8, '0')}-1b2c-4d5e-8f90-${(i * 7919).toString(16).padStart(12, '0')}`);
      if (!(Number.isSafeInteger(h) && h >= 0)) bad++;
      seen.add(h);
    }
    expect(bad).toBe(0);
    expect(seen.size).toBe(1_000_000);
  });
  it('hashes are keyed by the run\'s seed, and the parts of a tuple cannot run into each other', () => {
    setHashSeed([1, 2]);
    const a = hashKey('audit-id');
    setHashSeed([3, 4]);
    expect(hashKey('audit-id')).not.toBe(a);
    expect(hashParts(['ab', 'c'])).not.toBe(hashParts(['a', 'bc']));
  });
});

describe('AuditIDReuse.checkSlot (the reuse check sharing the collapser window when nothing is filtered out)', () => {
  // Property: for any stream (few IDs, so that IDs are reused, repeated and out of order; windows of
  // a few requests, so that they evict), checkSlot flags exactly the requests check() flags.
  it('flags and counts what check() does, on generated streams', () => {
    const ev = fc.record({
      id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', ''),
      stage: fc.constantFrom('RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'),
      verb: fc.constantFrom('get', 'list', 'delete'),
      user: fc.constantFrom('alice', 'bob'),
      sec: fc.integer({ min: 0, max: 3 }),
      cluster: fc.constantFrom('', '', 'x'),
    });
    fc.assert(
      fc.property(fc.array(ev, { maxLength: 60 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), (evs, maxPending, maxDone, partial) => {
        const byCheck = new AuditIDReuse(maxDone, partial);
        const bySlot = new AuditIDReuse(maxDone, partial);
        const flagsCheck: boolean[] = [];
        const flagsSlot: boolean[] = [];
        const c: StageCollapser = new StageCollapser(
          (r, identity, idHash) => {
            byCheck.check(r, identity, idHash);
            flagsCheck.push(r.auditIDReused);
            r.auditIDReused = false;
            if (r.auditID !== '') bySlot.checkSlot(r, identity, c.doneSlot, c.doneFresh, idHash);
            flagsSlot.push(r.auditIDReused);
          },
          { maxPending, maxDone },
          partial,
        );
        for (const e of evs) {
          const r = normalizeValue(
            event({ auditID: e.id, stage: e.stage, verb: e.verb, user: { username: e.user }, requestReceivedTimestamp: `2026-03-02T10:00:0${e.sec}.000000Z`, stageTimestamp: `2026-03-02T10:00:0${e.sec}.500000Z` }),
            e.cluster,
          );
          if (typeof r === 'string') throw new Error(r);
          c.add(r);
        }
        if (partial) c.leftovers();
        else c.flush();
        expect(flagsSlot).toEqual(flagsCheck);
        expect(bySlot.count).toBe(byCheck.count);
        expect([...bySlot.firstIds()]).toEqual([...byCheck.firstIds()]);
      }),
      { numRuns: 2000 },
    );
  });
});
