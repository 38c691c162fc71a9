// Re-readable spilled lists (src/scale/spilled.ts): what drift and compliance read several times.
import { describe, it, expect } from 'vitest';
import { isolateSpills, leftovers } from './spillkit.js';
import { setBudget } from '../../src/scale/budget.js';
import { KEEP_SHARE, ledgerUsed, spillCount } from '../../src/scale/ledger.js';
import { ExternalSorter } from '../../src/scale/extsort.js';
import { ListWriter, SpilledList, concatRows, isSpilled, releaseLists, remap } from '../../src/scale/spilled.js';
import { writeJson, stringSink } from '../../src/render/stream.js';
import { Rng } from '../../src/gen/rng.js';

isolateSpills();

const item = (i: number) => ({ i, name: `subject-${i}`, tags: [i % 3, i % 5], loc: { file: 'a.log', line: i } });
const size = () => 200;

describe('ListWriter', () => {
  it('keeps a list that fits as a plain array, and writes nothing', () => {
    const w = new ListWriter(size);
    for (let i = 0; i < 10; i++) w.push(item(i));
    const rows = w.finish();
    expect(Array.isArray(rows)).toBe(true);
    expect(rows).toEqual(Array.from({ length: 10 }, (_, i) => item(i)));
    expect(spillCount()).toBe(0);
  });

  it('past the budget: a SpilledList that reads the same items, in order, any number of times; release removes its files', () => {
    setBudget(4096);
    const w = new ListWriter(size);
    for (let i = 0; i < 500; i++) w.push(item(i));
    const rows = w.finish();
    expect(isSpilled(rows)).toBe(true);
    expect(spillCount()).toBeGreaterThan(1);
    expect(rows.length).toBe(500);
    const want = Array.from({ length: 500 }, (_, i) => item(i));
    expect([...rows]).toEqual(want);
    expect([...rows]).toEqual(want);
    expect((rows as SpilledList<unknown>).head(3)).toEqual(want.slice(0, 3));
    expect(leftovers().length).toBeGreaterThan(0);
    releaseLists({ a: { b: rows } });
    expect(leftovers()).toEqual([]);
    expect(() => [...rows]).toThrow(/after release/);
  });

  it('a list under the budget but over KEEP_SHARE of it is written out at finish: an array handed out would leave the ledger (issue 15)', () => {
    // 64 KiB budget: 100 items of 200 bytes (20,000) never spill while pushed, but are over 1/32 of it.
    setBudget(64 * 1024);
    expect(100 * 200).toBeLessThan(64 * 1024);
    expect(100 * 200).toBeGreaterThan(64 * 1024 * KEEP_SHARE);
    const w = new ListWriter(size);
    for (let i = 0; i < 100; i++) w.push(item(i));
    expect(spillCount()).toBe(0);
    const rows = w.finish();
    expect(isSpilled(rows)).toBe(true);
    expect(ledgerUsed()).toBe(0);
    expect([...rows]).toEqual(Array.from({ length: 100 }, (_, i) => item(i)));
    releaseLists(rows);
    expect(leftovers()).toEqual([]);
    // Under the share: an array, as before.
    const small = new ListWriter(size);
    for (let i = 0; i < 10; i++) small.push(item(i));
    expect(Array.isArray(small.finish())).toBe(true);
  });

  it('fix() corrects every item as it is read, idempotently', () => {
    setBudget(4096);
    const w = new ListWriter(size);
    for (let i = 0; i < 100; i++) w.push(item(i));
    const rows = w.finish() as SpilledList<ReturnType<typeof item>>;
    rows.fix((x) => {
      if (x.loc.file === 'a.log') x.loc = { file: 'b.log', line: x.loc.line + 1 };
    });
    expect([...rows].map((x) => x.loc.line)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect([...rows].every((x) => x.loc.file === 'b.log')).toBe(true);
    rows.release();
  });
});

describe('ExternalSorter.keepSorted', () => {
  it('gives the order sorted() gives (stable), re-readable, spilled or not', () => {
    const rng = new Rng(7);
    const keys = Array.from({ length: 800 }, () => Math.floor(rng.next() * 50));
    const run = (budget: number | null) => {
      setBudget(budget);
      const s = new ExternalSorter<{ k: number; at: number }>({ compare: (a, b) => a.k - b.k, size: () => 100 });
      keys.forEach((k, at) => s.add({ k, at }));
      return s.keepSorted();
    };
    const want = keys.map((k, at) => ({ k, at })).sort((a, b) => a.k - b.k);
    const mem = run(null);
    expect(Array.isArray(mem)).toBe(true);
    expect(mem).toEqual(want);
    const disk = run(2048);
    expect(isSpilled(disk)).toBe(true);
    expect([...disk]).toEqual(want);
    expect([...disk]).toEqual(want);
    const mapped = remap(disk, (x) => x.at);
    const both = concatRows(mapped, [1, 2, 3]);
    expect([...both]).toEqual([...want.map((x) => x.at), 1, 2, 3]);
    expect(both.length).toBe(803);
    releaseLists(both);
    expect(leftovers()).toEqual([]);
  });
});

describe('ExternalSorter.keepSorted past KEEP_SHARE', () => {
  it('writes out a sorted list that never spilled but is over KEEP_SHARE of the budget; an explicit maxInMemory still rules', () => {
    setBudget(64 * 1024);
    const make = () => {
      const s = new ExternalSorter<number>({ compare: (a, b) => a - b, size: () => 100 });
      for (let i = 300; i > 0; i--) s.add(i);
      return s;
    };
    const want = Array.from({ length: 300 }, (_, i) => i + 1);
    const out = make().keepSorted();
    expect(spillCount()).toBe(0);
    expect(isSpilled(out)).toBe(true);
    expect([...out]).toEqual(want);
    releaseLists(out);
    const kept = make().keepSorted(Infinity);
    expect(Array.isArray(kept)).toBe(true);
    expect(kept).toEqual(want);
    expect(leftovers()).toEqual([]);
  });
});

describe('writeJson with spilled lists', () => {
  it('writes the bytes of JSON.stringify, a list nested deeper than the streamed levels included', () => {
    setBudget(4096);
    const list = () => {
      const w = new ListWriter<string>(() => 100);
      for (let i = 0; i < 300; i++) w.push(`s-${i}`);
      return w.finish();
    };
    const report = { a: { b: [{ evidence: { subjects: list(), rules: [1, 2] } }] }, top: list() };
    const sink = stringSink();
    writeJson(sink, report);
    const plain = { a: { b: [{ evidence: { subjects: [...report.a.b[0]!.evidence.subjects], rules: [1, 2] } }] }, top: [...report.top] };
    expect(sink.text()).toBe(JSON.stringify(plain, null, 2) + '\n');
    releaseLists(report);
    expect(leftovers()).toEqual([]);
  });
});
