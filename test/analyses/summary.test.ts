import { describe, it, expect } from 'vitest';
import { summary } from '../../src/analyses/summary/index.js';
import { collect } from '../helpers.js';
import { Rng } from '../../src/gen/rng.js';
import { newHistogram, record, percentiles, mergeHistogram } from '../../src/util/histogram.js';
import type { InputAccounting } from '../../src/types.js';

const NO_INPUT: InputAccounting = { files: [], lines: 0, prefiltered: 0, events: 0, requests: 0, duplicates: 0, rejected: 0, used: 0, skipped: 0 };

describe('summary reducer', () => {
  it('merge of partial folds equals one pass, for seeded random splits', async () => {
    const { records } = await collect(['fixtures/sample']);
    expect(records.length).toBeGreaterThan(1000);
    const whole = summary.init({ top: 10 });
    for (const r of records) summary.add(whole, r);
    const expected = summary.finish(whole, { input: NO_INPUT });
    for (const seed of [1, 2, 3, 4, 5]) {
      const rng = new Rng(seed);
      const parts = Array.from({ length: rng.int(2, 6) }, () => summary.init({ top: 10 }));
      // Contiguous shards, as workers would see them.
      const cuts = parts.map(() => rng.int(0, records.length)).sort((a, b) => a - b);
      let p = 0;
      records.forEach((r, i) => {
        while (p < cuts.length - 1 && i >= cuts[p]!) p++;
        summary.add(parts[p]!, r);
      });
      const merged = parts.reduce((a, b) => summary.merge(a, b));
      expect(summary.finish(merged, { input: NO_INPUT })).toEqual(expected);
    }
  });

  it('leaves long-running requests (exec sessions, watches) out of latency', async () => {
    const { records } = await collect(['fixtures/mini/mini.jsonl']);
    const s = summary.init({ top: 10 });
    for (const r of records) summary.add(s, r);
    const rep = summary.finish(s, { input: NO_INPUT });
    const timed = records.filter((r) => r.durationMs !== null);
    expect(timed.some((r) => r.subresource === 'exec')).toBe(true);
    expect(rep.latency.overall.count).toBe(timed.length - 1);
  });

  it('counts what it was given', async () => {
    const { records } = await collect(['fixtures/mini/mini.jsonl']);
    const s = summary.init({ top: 3 });
    for (const r of records) summary.add(s, r);
    const rep = summary.finish(s, { input: NO_INPUT });
    expect(rep.requests).toBe(9);
    expect(rep.denied).toBe(2);
    expect(rep.top.subjects).toHaveLength(3);
    expect(rep.window).toEqual({ from: '2026-03-02T09:00:00.100000Z', to: '2026-03-02T09:08:00.000000Z' });
    expect(rep.status).toEqual([
      { key: '1xx', count: 1 },
      { key: '2xx', count: 6 },
      { key: '4xx', count: 2 },
    ]);
  });
});

describe('latency histogram', () => {
  it('percentiles are within 1% of the exact nearest-rank value', () => {
    const rng = new Rng(9);
    const xs = Array.from({ length: 5000 }, () => rng.latency(20));
    const h = newHistogram();
    for (const x of xs) record(h, x);
    const sorted = [...xs].sort((a, b) => a - b);
    const exact = [0.5, 0.95, 0.99].map((p) => sorted[Math.ceil(p * xs.length) - 1]!);
    percentiles(h, [0.5, 0.95, 0.99]).forEach((v, i) => expect(Math.abs(v! - exact[i]!) / exact[i]!).toBeLessThan(0.011));
  });

  it('is order-independent under merge', () => {
    const a = newHistogram();
    const b = newHistogram();
    const c = newHistogram();
    [1, 5, 9].forEach((x) => record(a, x));
    [100, 0.5].forEach((x) => record(b, x));
    [1, 5, 9, 100, 0.5].forEach((x) => record(c, x));
    expect(percentiles(mergeHistogram(a, b), [0.5, 1])).toEqual(percentiles(c, [0.5, 1]));
  });

  it('is empty-safe', () => {
    expect(percentiles(newHistogram(), [0.5])).toEqual([null]);
  });
});
