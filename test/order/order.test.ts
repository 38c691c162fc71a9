// Time order across inputs: the bounded reorder stage (src/order/reorder.ts) and inputs read oldest
// first (src/order/sources.ts), and the pipeline that applies both when asked.
import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { TimeReorder } from '../../src/order/reorder.js';
import { firstTimeMs, sortSourcesByTime } from '../../src/order/sources.js';
import { expandInputs } from '../../src/ingest/sources.js';
import { collect, event, expectBalanced, jsonl, tmpDir, writeFiles } from '../helpers.js';

interface Item {
  t: number;
  id: number;
}

function reorder(items: Item[], windowMs: number, maxHeld: number): { out: Item[]; r: TimeReorder<Item> } {
  const out: Item[] = [];
  const r = new TimeReorder<Item>((x) => out.push(x), (x) => x.t, { windowMs, maxHeld });
  for (const x of items) r.add(x);
  r.flush();
  return { out, r };
}

describe('TimeReorder', () => {
  it('puts items back in time order when none is later than the window (seeded property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 300 }), fc.integer({ min: 0, max: 500 }), (times, lateness) => {
        // Items arrive in time order, each delayed by up to `lateness`: the arrival order of a log written at stage time.
        const items = times.sort((a, b) => a - b).map((t, id) => ({ t, id, at: t + ((id * 7919) % (lateness + 1)) }));
        items.sort((a, b) => a.at - b.at || a.id - b.id);
        const { out, r } = reorder(items, lateness, 1e9);
        expect(out.map((x) => x.t)).toEqual([...times].sort((a, b) => a - b));
        expect(r.stats.late).toBe(0);
        // Ties keep arrival order.
        for (let i = 1; i < out.length; i++) if (out[i]!.t === out[i - 1]!.t) expect(items.indexOf(out[i - 1] as never)).toBeLessThan(items.indexOf(out[i] as never));
      }),
      { seed: 16, numRuns: 200 },
    );
  });

  it('passes an item later than the window on at once, counted as late, and never holds more than maxHeld', () => {
    const items: Item[] = [];
    for (let i = 0; i < 1000; i++) items.push({ t: i * 10, id: i });
    items.push({ t: 5, id: 1000 }); // 9.9 s late
    const out: Item[] = [];
    let maxHeld = 0;
    const r = new TimeReorder<Item>((x) => out.push(x), (x) => x.t, { windowMs: 1000, maxHeld: 50 });
    for (const x of items) {
      r.add(x);
      maxHeld = Math.max(maxHeld, r.held);
    }
    r.flush();
    expect(maxHeld).toBeLessThanOrEqual(51);
    expect(out).toHaveLength(1001);
    expect(r.stats.late).toBe(1);
    expect(r.stats.maxLateMs).toBeGreaterThan(9000);
    expect(out.findIndex((x) => x.id === 1000)).toBeGreaterThan(900);
  });

  it('keeps an item without a time beside the latest time seen', () => {
    const { out } = reorder([{ t: 10, id: 0 }, { t: NaN, id: 1 }, { t: 5, id: 2 }, { t: 20, id: 3 }], 100, 100);
    expect(out.map((x) => x.id)).toEqual([2, 0, 1, 3]);
  });
});

const day = (d: string, n: number): Record<string, unknown>[] =>
  Array.from({ length: n }, (_, i) => event({ auditID: `${d}-${i}`, requestReceivedTimestamp: `${d}T10:00:0${i}.000000Z`, stageTimestamp: `${d}T10:00:0${i}.010000Z` }));

describe('inputs in time order', () => {
  it('reads the files by their first timestamps, whatever their names and order (plain, gzip, EventList)', async () => {
    const dir = writeFiles(tmpDir(), {
      'b-newest.jsonl': jsonl(day('2026-03-03', 3)),
      'a-middle.log.gz': gzipSync(jsonl(day('2026-03-02', 3))),
      'c-oldest.json': JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: day('2026-03-01', 3) }),
      'empty.log': '',
    });
    const sources = await expandInputs([join(dir, 'b-newest.jsonl'), join(dir, 'empty.log'), join(dir, 'c-oldest.json'), join(dir, 'a-middle.log.gz')]);
    expect(await firstTimeMs(sources[0]!)).toBe(Date.parse('2026-03-03T10:00:00Z'));
    expect(Number.isNaN(await firstTimeMs(sources[1]!))).toBe(true);
    // Files without a time first (nothing is known of them), then oldest first.
    expect((await sortSourcesByTime(sources)).map((s) => s.path.split('/').pop())).toEqual(['empty.log', 'c-oldest.json', 'a-middle.log.gz', 'b-newest.jsonl']);
  });

  it('the pipeline in time order gives the records of every input order in receipt order, with the accounting intact', async () => {
    const dir = writeFiles(tmpDir(), { 'd2.jsonl': jsonl(day('2026-03-03', 4)), 'd1.jsonl': jsonl(day('2026-03-02', 4).reverse()) });
    const want = [...day('2026-03-02', 4), ...day('2026-03-03', 4)].map((e) => e.auditID);
    for (const order of [['d1.jsonl', 'd2.jsonl'], ['d2.jsonl', 'd1.jsonl']]) {
      const timeOrder = { reorder: { windowMs: 60_000, maxHeld: 1000 } };
      const c = await collect(order.map((f) => join(dir, f)), { timeOrder });
      expect(c.records.map((r) => r.auditID)).toEqual(want);
      expectBalanced(c.acc);
      expect(c.acc.files.map((f) => f.path.split('/').pop())).toEqual(['d1.jsonl', 'd2.jsonl']);
      expect((timeOrder as { stats?: { late: number } }).stats?.late).toBe(0);
    }
  });
});
