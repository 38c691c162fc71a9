// Array helpers for data of any size. Spreading an array into a call (`a.push(...b)`,
// `Math.max(...b)`) passes every element as an argument on the stack: beyond about 100,000
// elements it throws "Maximum call stack size exceeded" (anomalies crashed on 300,000 findings).
// These loop instead; test/util/spread.test.ts keeps such spreads out of src/.

/** Appends every item of `src` to `dst`; returns `dst`. */
export function pushAll<T>(dst: T[], src: Iterable<T>): T[] {
  for (const x of src) dst.push(x);
  return dst;
}

/** The largest of `values` (after `f`), or `init` when there is none larger. */
export function maxOf<T>(values: Iterable<T>, f: (x: T) => number, init = -Infinity): number {
  let m = init;
  for (const x of values) {
    const v = f(x);
    if (v > m) m = v;
  }
  return m;
}
