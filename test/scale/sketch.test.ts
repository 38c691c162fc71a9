// The sketches of --approx (src/scale/sketch): error within the stated bound on seeded data, merged
// states equal to one pass (HyperLogLog) or within the same guarantees (heavy hitters), and states
// that survive state files (src/state/codec.ts) and structured clones. No timing.
import { describe, it, expect } from 'vitest';
import { decode, encode } from '../../src/state/codec.js';
import { EXACT_VALUES, hllAdd, hllError, hllEstimate, hllExact, hllMerge, newHll, type Hll } from '../../src/scale/sketch/hll.js';
import { boundsOf, heavyAdd, heavyMerge, heavyTop, newHeavyHitters, type HeavyHitters } from '../../src/scale/sketch/heavy.js';
import { Rng } from '../../src/gen/rng.js';
import { approxCount, approxMerge, approxResult, newApproxCounter } from '../../src/scale/sketch/index.js';

/** The generator's seeded PRNG (mulberry32), so that every run sees the same data. Seeds here are never 0. */
function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** n distinct subject-like values for a seed (the seed changes every value, so every hash). */
function values(seed: number, n: number): string[] {
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`system:serviceaccount:ns-${Math.floor(r() * 1000)}:sa-${seed}-${i}`);
  return out;
}

function registersOf(h: Hll): number[] | string[] {
  return h.registers ? [...h.registers] : [...h.values!].sort();
}

describe('HyperLogLog (Ertl 2017 estimator, 1.04/√m)', () => {
  it('states the relative standard error 1.04/√(2^p): 0.81% at the default p = 14', () => {
    expect(hllError(14)).toBeCloseTo(0.008125, 6);
    const h = newHll();
    for (const v of values(1, 5000)) hllAdd(h, v);
    expect(hllEstimate(h).relativeStandardError).toBeCloseTo(0.008125, 6);
  });

  it('counts exactly (error 0) up to EXACT_VALUES distinct values, repeats included', () => {
    const h = newHll();
    const vs = values(7, EXACT_VALUES);
    for (const v of vs) hllAdd(h, v);
    for (const v of vs) hllAdd(h, v);
    expect(hllExact(h)).toBe(true);
    expect(hllEstimate(h)).toEqual({ estimate: EXACT_VALUES, relativeStandardError: 0 });
    hllAdd(h, 'one more');
    expect(hllExact(h)).toBe(false);
  });

  it('switches to registers early for long values, so memory stays bounded', () => {
    const h = newHll();
    for (let i = 0; i < 10; i++) hllAdd(h, `${i}`.padEnd(10_000, 'x'));
    expect(hllExact(h)).toBe(false);
    expect(hllEstimate(h).estimate).toBe(10);
  });

  // Seeds × cardinalities from 1k to 1M: every estimate within 3 standard errors (a 99.7% bound,
  // and the seeded data makes the outcome fixed), and the mean error within about one.
  const cases: [number, number[]][] = [
    [2_000, [1, 2, 3, 4, 5]],
    [10_000, [1, 2, 3, 4, 5]],
    [100_000, [1, 2, 3]],
    [1_000_000, [1, 2]],
  ];
  for (const [n, seeds] of cases) {
    it(`estimates ${n} distinct values within 3 stated standard errors (seeds ${seeds.join(', ')})`, () => {
      const errors: number[] = [];
      for (const seed of seeds) {
        const h = newHll();
        const r = rng(seed * 31 + n);
        for (let i = 0; i < n; i++) {
          const v = `user-${seed}-${i}`;
          hllAdd(h, v);
          // Repeats must not count: a quarter of the values come again.
          if (r() < 0.25) hllAdd(h, v);
        }
        const { estimate, relativeStandardError } = hllEstimate(h);
        const rel = Math.abs(estimate - n) / n;
        expect(rel, `seed ${seed}: estimate ${estimate} for ${n}`).toBeLessThanOrEqual(3 * relativeStandardError);
        errors.push(rel);
      }
      const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
      expect(mean).toBeLessThanOrEqual(2 * hllError(14));
    });
  }

  it('merging parts gives exactly the sketch of one pass, however the input is split', () => {
    for (const n of [500, 1500, 50_000]) {
      const vs = values(n, n);
      const one = newHll();
      for (const v of vs) hllAdd(one, v);
      const r = rng(n);
      const parts = [newHll(), newHll(), newHll()];
      // Random split, with values repeated across parts.
      for (const v of vs) {
        hllAdd(parts[Math.floor(r() * 3)]!, v);
        if (r() < 0.1) hllAdd(parts[Math.floor(r() * 3)]!, v);
      }
      for (const v of vs) hllAdd(parts[Math.floor(r() * 3)]!, v);
      const merged = hllMerge(hllMerge(parts[2]!, parts[0]!), parts[1]!);
      expect(hllExact(merged)).toBe(hllExact(one));
      expect(registersOf(merged)).toEqual(registersOf(one));
      expect(hllEstimate(merged)).toEqual(hllEstimate(one));
    }
  });

  it('survives a state file and a structured clone unchanged', () => {
    for (const n of [10, 20_000]) {
      const h = newHll();
      for (const v of values(3, n)) hllAdd(h, v);
      const viaFile = decode(JSON.parse(JSON.stringify(encode(h)))) as Hll;
      const viaClone = structuredClone(h);
      for (const c of [viaFile, viaClone]) {
        expect(registersOf(c)).toEqual(registersOf(h));
        expect(hllEstimate(c)).toEqual(hllEstimate(h));
        // And it goes on counting like the original.
        hllAdd(c, 'another');
      }
      hllAdd(h, 'another');
      expect(hllEstimate(viaFile)).toEqual(hllEstimate(h));
    }
  });

  it('refuses to merge sketches of different precision', () => {
    expect(() => hllMerge(newHll(12), newHll(14))).toThrow(/precision 12 and 14/);
  });
});

/** A skewed stream: key i drawn with weight 1/(i+1) (Zipf), plus a long tail of one-off keys. */
function stream(seed: number, n: number, keys: number): string[] {
  const r = rng(seed);
  const cdf: number[] = [];
  let s = 0;
  for (let i = 0; i < keys; i++) cdf.push((s += 1 / (i + 1)));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    if (r() < 0.3) {
      out.push(`tail-${seed}-${i}`);
      continue;
    }
    const x = r() * s;
    let lo = 0;
    let hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    out.push(`key-${lo}`);
  }
  return out;
}

function exactCounts(xs: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

/** Every key's true count lies within the summary's bounds, and delta ≤ n/(k+1). */
function checkBounds(s: HeavyHitters<unknown>, truth: Map<string, number>, n: number): void {
  expect(s.n).toBe(n);
  expect(s.delta).toBeLessThanOrEqual(n / (s.k + 1));
  expect(s.items.size).toBeLessThanOrEqual(2 * s.k);
  for (const [key, f] of truth) {
    const b = boundsOf(s, key);
    if (b.lower > f || b.upper < f) throw new Error(`${key}: true count ${f} outside [${b.lower}, ${b.upper}] (delta ${s.delta})`);
    // Every key with more than delta occurrences is listed.
    if (f > s.delta) expect(s.items.has(key)).toBe(true);
  }
}

describe('heavy hitters (Misra–Gries, mergeable summaries)', () => {
  it('is exact while there are at most 2k distinct keys', () => {
    const s = newHeavyHitters<null>(8);
    const xs = stream(1, 2000, 16).map((x) => (x.startsWith('tail') ? 'key-0' : x));
    for (const x of xs) heavyAdd(s, x, () => null);
    expect(s.delta).toBe(0);
    const truth = exactCounts(xs);
    for (const t of heavyTop(s, Infinity)) expect(t.bounds).toEqual({ lower: truth.get(t.key), upper: truth.get(t.key) });
  });

  for (const seed of [1, 2, 3, 4]) {
    for (const k of [16, 256]) {
      it(`keeps every key's true count within its stated bounds (seed ${seed}, k ${k})`, () => {
        const xs = stream(seed, 50_000, 5_000);
        const s = newHeavyHitters<null>(k);
        for (const x of xs) heavyAdd(s, x, () => null);
        checkBounds(s, exactCounts(xs), xs.length);
        expect(s.delta).toBeGreaterThan(0);
      });
    }
  }

  it('merged partial summaries keep the guarantees of one pass (every split, every merge order)', () => {
    const xs = stream(9, 60_000, 3_000);
    const truth = exactCounts(xs);
    for (const parts of [2, 3, 5]) {
      const ss = Array.from({ length: parts }, () => newHeavyHitters<number>(64));
      const size = Math.ceil(xs.length / parts);
      xs.forEach((x, i) => {
        heavyAdd(ss[Math.floor(i / size)]!, x, () => 0).x++;
      });
      const merged = ss.slice(1).reduce((a, b) => heavyMerge(a, b, (p, q) => p + q), ss[0]!);
      checkBounds(merged, truth, xs.length);
      // The payload (here: occurrences while listed) is merged too and never exceeds the count.
      for (const [key, e] of merged.items) expect(e.x).toBeLessThanOrEqual(truth.get(key)!);
    }
  });

  it('merging summaries that never pruned gives exactly the counts of one pass', () => {
    const xs = stream(5, 3000, 40).map((x) => (x.startsWith('tail') ? 'key-1' : x));
    const one = newHeavyHitters<null>(64);
    for (const x of xs) heavyAdd(one, x, () => null);
    const a = newHeavyHitters<null>(64);
    const b = newHeavyHitters<null>(64);
    xs.forEach((x, i) => heavyAdd(i % 2 ? a : b, x, () => null));
    const merged = heavyMerge(a, b, () => null);
    expect(heavyTop(merged, Infinity).map((t) => [t.key, t.bounds])).toEqual(heavyTop(one, Infinity).map((t) => [t.key, t.bounds]));
  });

  it('survives a state file and a structured clone unchanged', () => {
    const s = newHeavyHitters<{ denied: number }>(32);
    for (const x of stream(2, 5000, 500)) heavyAdd(s, x, () => ({ denied: 0 })).x.denied++;
    for (const c of [decode(JSON.parse(JSON.stringify(encode(s)))) as typeof s, structuredClone(s)]) {
      expect(c).toEqual(s);
      expect(heavyTop(c, 10)).toEqual(heavyTop(s, 10));
    }
  });
});

describe('approximate counters (heavy hitters + distinct count)', () => {
  it('report top keys with bounds, the distinct count with its error, and the unlisted maximum', () => {
    const xs = stream(3, 40_000, 2_000);
    const truth = exactCounts(xs);
    const a = newApproxCounter(32);
    const b = newApproxCounter(32);
    xs.forEach((x, i) => approxCount(i < 20_000 ? a : b, x));
    const r = approxResult(approxMerge(a, b), 5);
    expect(r.top).toHaveLength(5);
    for (const t of r.top) {
      expect(t.count.lower).toBeLessThanOrEqual(truth.get(t.key)!);
      expect(t.count.upper).toBeGreaterThanOrEqual(truth.get(t.key)!);
    }
    // The most frequent key (key-0) is first: its lower bound beats every other key's upper bound here.
    expect(r.top[0]!.key).toBe('key-0');
    expect(Math.abs(r.distinct.estimate - truth.size) / truth.size).toBeLessThanOrEqual(3 * r.distinct.relativeStandardError);
    expect(r.unlistedMax).toBeLessThanOrEqual(xs.length / 33);
  });
});
