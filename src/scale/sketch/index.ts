// Sketches for `--approx` (issue 15): fixed-memory summaries whose every answer carries its error
// bound. HyperLogLog distinct counts (hll.ts) and Misra–Gries heavy hitters (heavy.ts), both
// mergeable (worker threads, --save-state shards) and plain data.
export * from './hll.js';
export * from './heavy.js';
export { hash64 } from './hash.js';

import { newHll, hllAdd, hllMerge, hllEstimate, type Hll, type DistinctEstimate } from './hll.js';
import { newHeavyHitters, heavyAdd, heavyMerge, heavyTop, type HeavyHitters, type CountBounds } from './heavy.js';

/** A count per key in fixed memory: heavy hitters for the top-N, HyperLogLog for how many keys. */
export interface ApproxCounter {
  top: HeavyHitters<null>;
  distinct: Hll;
}

/** A top-N entry of an approximate count: the true count lies in [count.lower, count.upper]. */
export interface ApproxCount {
  key: string;
  count: CountBounds;
}

export function newApproxCounter(k?: number): ApproxCounter {
  return { top: newHeavyHitters<null>(k), distinct: newHll() };
}

const NONE = (): null => null;
const KEEP = (): null => null;

/** Counts one occurrence of `key`. */
export function approxCount(c: ApproxCounter, key: string): void {
  heavyAdd(c.top, key, NONE);
  hllAdd(c.distinct, key);
}

/** Folds `b` (later records) into `a`. */
export function approxMerge(a: ApproxCounter, b: ApproxCounter): ApproxCounter {
  heavyMerge(a.top, b.top, KEEP);
  hllMerge(a.distinct, b.distinct);
  return a;
}

/** The `limit` keys with the most guaranteed occurrences, with bounds; and the distinct count. */
export function approxResult(c: ApproxCounter, limit: number): { top: ApproxCount[]; distinct: DistinctEstimate; unlistedMax: number } {
  return { top: heavyTop(c.top, limit).map((t) => ({ key: t.key, count: t.bounds })), distinct: hllEstimate(c.distinct), unlistedMax: c.top.delta };
}
