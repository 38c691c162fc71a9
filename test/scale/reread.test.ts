// The pieces issue 15 added for per-subject analyses: reading a spilling map twice (rbac-gen's
// two passes), releasing a list nobody reads, the memory ledger seeing the rule engine's state, and
// the profile estimate with examples. No timing: order, equality and clean-up.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { drain, discard, grow, handOff, newSpillMap, readTwice, reread, type SpillSpec } from '../../src/scale/spillmap.js';
import { spillCount } from '../../src/scale/ledger.js';
import { setBudget } from '../../src/scale/budget.js';
import { ledgerUsed, resetLedger, settle } from '../../src/scale/ledger.js';
import { ExternalSorter } from '../../src/scale/extsort.js';
import { LazyList, rowsOf } from '../../src/scale/lazy.js';
import { DetectionEngine, KEY_STATE_BYTES } from '../../src/rules/lang/engine.js';
import { loadRuleSet } from '../../src/rules/lang/load.js';
import { addToProfile, newProfile, profileBytes } from '../../src/analyses/baseline/index.js';
import { normalizeValue } from '../../src/normalize/index.js';
import { event } from '../helpers.js';
import type { AuditRecord } from '../../src/types.js';
import { isolateSpills, leftovers } from './spillkit.js';

isolateSpills();

const sum: SpillSpec<number[]> = { tag: 'test', merge: (a, b) => [...a, ...b], size: (k, v) => 50 + 2 * k.length + 8 * v.length };

describe('reread', () => {
  it('gives what drain gives, keeps the runs for a drain after it, and drain then removes them', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.integer()), { maxLength: 300 }), fc.integer({ min: 1, max: 40 }), (items, every) => {
        resetLedger();
        setBudget(1024);
        const ref = new Map<string, number[]>();
        for (const [k, v] of items) ref.set(k, [...(ref.get(k) ?? []), v]);
        const s = newSpillMap<number[]>();
        items.forEach(([k, v], i) => {
          const had = s.map.get(k);
          if (had) had.push(v);
          else s.map.set(k, [v]);
          grow(s, sum, 60);
          if (i % every === 0) settle();
        });
        const want = [...ref].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        const first = [...reread(s, sum)];
        expect(first).toEqual(want);
        // Everything is on disk now; the map is empty and the runs are still there.
        expect(s.map.size).toBe(0);
        if (items.length) expect(leftovers().length).toBeGreaterThan(0);
        expect([...drain(s, sum)]).toEqual(want);
        expect(leftovers()).toEqual([]);
        expect(ledgerUsed()).toBe(0);
      }),
      { numRuns: 60 },
    );
  });

  it('discard removes the runs a reread kept', () => {
    setBudget(1024);
    const s = newSpillMap<number[]>();
    for (let i = 0; i < 200; i++) {
      s.map.set(`k${i}`, [i]);
      grow(s, sum, 60);
      settle();
    }
    expect([...reread(s, sum)].length).toBe(200);
    expect(leftovers().length).toBeGreaterThan(0);
    discard(s);
    expect(leftovers()).toEqual([]);
  });
});

describe('readTwice', () => {
  const fill = (every: number | null, n = 200): ReturnType<typeof newSpillMap<number[]>> => {
    const s = newSpillMap<number[]>();
    for (let i = 0; i < n; i++) {
      const k = `k${(i * 7) % 150}`;
      const had = s.map.get(k);
      if (had) had.push(i);
      else s.map.set(k, [i]);
      grow(s, sum, 60);
      if (every !== null && i % every === 0) settle();
    }
    return s;
  };
  const want = (n = 200): [string, number[]][] => {
    const ref = new Map<string, number[]>();
    for (let i = 0; i < n; i++) ref.set(`k${(i * 7) % 150}`, [...(ref.get(`k${(i * 7) % 150}`) ?? []), i]);
    return [...ref].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  };

  it('a map that never spilled is read twice from memory: no run is written, and the ledger lets it go after the second reading', () => {
    setBudget(1 << 20);
    const s = fill(null);
    const two = readTwice(s, sum);
    expect([...two.first()]).toEqual(want());
    expect(spillCount()).toBe(0);
    expect(leftovers()).toEqual([]);
    expect(ledgerUsed()).toBeGreaterThan(0);
    expect([...two.second()]).toEqual(want());
    expect(ledgerUsed()).toBe(0);
    expect(s.map.size).toBe(0);
  });

  it('a map with runs is read from them both times, and its runs are gone after the second reading', () => {
    setBudget(1024);
    const s = fill(10);
    expect(s.runs.length).toBeGreaterThan(0);
    const two = readTwice(s, sum);
    expect([...two.first()]).toEqual(want());
    expect([...two.second()]).toEqual(want());
    expect(leftovers()).toEqual([]);
    expect(ledgerUsed()).toBe(0);
  });

  it('when the ledger spills the map during the first reading, the second reads the run it wrote', () => {
    setBudget(1 << 20);
    const s = fill(null);
    const two = readTwice(s, sum);
    const first: [string, number[]][] = [];
    let i = 0;
    for (const e of two.first()) {
      first.push(e);
      // Another structure passes the budget halfway: the map is the largest and spills.
      if (i++ === 50) {
        setBudget(1024);
        settle();
        expect(s.runs.length).toBe(1);
      }
    }
    expect(first).toEqual(want());
    expect([...two.second()]).toEqual(want());
    expect(leftovers()).toEqual([]);
  });

  it('release drops the map, runs included, without a second reading', () => {
    setBudget(1024);
    const s = fill(10);
    const two = readTwice(s, sum);
    expect([...two.first()].length).toBe(150);
    two.release();
    expect(leftovers()).toEqual([]);
    expect(ledgerUsed()).toBe(0);
    setBudget(1 << 20);
    const m = fill(null);
    const mem = readTwice(m, sum);
    [...mem.first()];
    mem.release();
    expect(m.map.size).toBe(0);
    expect(ledgerUsed()).toBe(0);
  });
});

describe('handOff', () => {
  const filled = (n: number): ReturnType<typeof newSpillMap<number[]>> => {
    const s = newSpillMap<number[]>();
    for (let i = 0; i < n; i++) {
      s.map.set(`k${i}`, [i]);
      grow(s, sum, 60);
    }
    return s;
  };

  it('a map that holds much is written out and leaves the ledger; what crosses the thread drains to the same entries', () => {
    setBudget(4096);
    const s = filled(40);
    expect(ledgerUsed()).toBe(2400);
    handOff(s, sum);
    expect(s.map.size).toBe(0);
    expect(s.runs.length).toBe(1);
    expect(ledgerUsed()).toBe(0);
    // Another structure passing the budget later never touches it again.
    settle();
    expect(s.runs.length).toBe(1);
    const posted = structuredClone(s);
    expect([...drain(posted, sum)]).toEqual(Array.from({ length: 40 }, (_, i) => [`k${i}`, [i]]).sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1)));
    expect(leftovers()).toEqual([]);
  });

  it('a small map without runs crosses in memory, and the ledger forgets it all the same', () => {
    setBudget(1 << 20);
    const s = filled(10);
    handOff(s, sum);
    expect(s.map.size).toBe(10);
    expect(s.runs).toEqual([]);
    expect(ledgerUsed()).toBe(0);
    expect(leftovers()).toEqual([]);
  });
});

describe('LazyList.release', () => {
  it('removes the runs of a spilled sort nobody read, and is a no-op once the items were read', () => {
    setBudget(1024);
    const sorter = new ExternalSorter<number>({ compare: (a, b) => a - b, size: () => 100 });
    for (let i = 0; i < 100; i++) sorter.add(100 - i);
    const rows = rowsOf(sorter);
    expect(rows).toBeInstanceOf(LazyList);
    expect(leftovers().length).toBeGreaterThan(0);
    (rows as LazyList<number>).release();
    expect(leftovers()).toEqual([]);
    expect(() => [...(rows as LazyList<number>)]).toThrow(/already read/);
    const read = new LazyList(2, () => [1, 2], () => {
      throw new Error('released after reading');
    });
    expect([...read]).toEqual([1, 2]);
    read.release();
  });
});

describe('estimates the ledger works with', () => {
  const rec = (o: Record<string, unknown>): AuditRecord => normalizeValue(event(o), '') as AuditRecord;

  it("the rule engine tells its keys' bytes as they come and go", async () => {
    const set = await loadRuleSet();
    const engine = new DetectionEngine(set, { maxKeys: 4 });
    const told: number[] = [];
    engine.onHeld = (b) => told.push(b);
    // Denied requests of distinct subjects: K8S-DENIED-BURST keeps a window per subject.
    for (let u = 0; u < 20; u++) engine.evaluate(rec({ auditID: `a${u}`, user: { username: `u${u}@example.com`, groups: ['system:authenticated'] }, verb: 'list', requestURI: '/api/v1/secrets', objectRef: { resource: 'secrets', apiVersion: 'v1' }, responseStatus: { metadata: {}, code: 403 }, annotations: { 'authorization.k8s.io/decision': 'forbid', 'authorization.k8s.io/reason': '' } }), () => {});
    expect(told.length).toBeGreaterThan(0);
    for (const b of told) expect(b % KEY_STATE_BYTES).toBe(0);
    // Bounded by the limits: two generations of at most maxKeys / 2 keys per stateful rule.
    expect(Math.max(...told)).toBeLessThanOrEqual(set.rules.length * 4 * KEY_STATE_BYTES);
  });

  it('a profile kept for detection counts its examples and first-seen locations', () => {
    const r = rec({ auditID: 'x-1', verb: 'get', requestURI: '/api/v1/namespaces/a/pods/p', objectRef: { resource: 'pods', namespace: 'a', name: 'p', apiVersion: 'v1' } });
    r.location = { file: 'f', line: 1 } as AuditRecord['location'];
    const plain = newProfile('User');
    const detect = newProfile('User');
    const grewPlain = addToProfile(plain, r, 0);
    const grewDetect = addToProfile(detect, r, 5);
    expect(grewDetect).toBeGreaterThan(grewPlain);
    // What add() charged is what the size function sees when a map absorbs the profile.
    expect(profileBytes('alice', detect) - profileBytes('alice', plain)).toBe(grewDetect - grewPlain);
  });
});

describe('spill folder that cannot take more', () => {
  it('a full disk, a quota or a read-only folder is an input error (exit 2) that says what to do; other errors stay as they are', async () => {
    const { spillFailure } = await import('../../src/scale/tempdir.js');
    const { InputError } = await import('../../src/util/errors.js');
    for (const code of ['ENOSPC', 'EDQUOT', 'EROFS', 'EACCES']) {
      const e = spillFailure(Object.assign(new Error('write'), { code }), '/tmp/kaudit-x');
      expect(e).toBeInstanceOf(InputError);
      expect((e as InstanceType<typeof InputError>).message).toContain('/tmp/kaudit-x');
      expect((e as InstanceType<typeof InputError>).fix).toContain('KAUDIT_TMPDIR');
    }
    const other = Object.assign(new Error('bad fd'), { code: 'EBADF' });
    expect(spillFailure(other, '/tmp/x')).toBe(other);
  });
});
