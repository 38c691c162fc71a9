// A mergeable latency histogram with 1% log-spaced buckets: bounded memory (a few hundred buckets
// for any input), order-independent, and exact enough for p50/p95/p99.

const K = 1 / Math.log(1.01);

export interface Histogram {
  count: number;
  /** bucket index → count; index 0 holds values ≤ 1 µs. */
  buckets: Map<number, number>;
}

export function newHistogram(): Histogram {
  return { count: 0, buckets: new Map() };
}

/** The bucket of a value in ms (record() adds it there). */
export function bucketOf(ms: number): number {
  return ms <= 0.001 ? -1000 : Math.round(Math.log(ms) * K);
}

export function record(h: Histogram, ms: number): void {
  recordBucket(h, bucketOf(ms));
}

/** record() of a value whose bucketOf is `idx` (one value recorded in several histograms is bucketed once). */
export function recordBucket(h: Histogram, idx: number): void {
  h.buckets.set(idx, (h.buckets.get(idx) ?? 0) + 1);
  h.count++;
}

export function mergeHistogram(a: Histogram, b: Histogram): Histogram {
  for (const [k, v] of b.buckets) a.buckets.set(k, (a.buckets.get(k) ?? 0) + v);
  a.count += b.count;
  return a;
}

function bucketValue(idx: number): number {
  if (idx === -1000) return 0;
  const v = Math.exp(idx / K);
  return v >= 10 ? Math.round(v) : Math.round(v * 100) / 100;
}

/** Nearest-rank percentiles (p in 0..1), in ms; null when empty. */
export function percentiles(h: Histogram, ps: number[]): (number | null)[] {
  if (h.count === 0) return ps.map(() => null);
  const keys = [...h.buckets.keys()].sort((x, y) => x - y);
  return ps.map((p) => {
    const rank = Math.max(1, Math.ceil(p * h.count));
    let seen = 0;
    for (const k of keys) {
      seen += h.buckets.get(k)!;
      if (seen >= rank) return bucketValue(k);
    }
    return bucketValue(keys[keys.length - 1]!);
  });
}

/** Plain-JSON form, for worker messages and baselines. */
export function histogramToJSON(h: Histogram): { count: number; buckets: [number, number][] } {
  return { count: h.count, buckets: [...h.buckets].sort((x, y) => x[0] - y[0]) };
}
