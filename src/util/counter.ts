// Counting helpers shared by reducers: bounded by distinct keys, merged by addition, sorted explicitly.

export type Counter = Map<string, number>;

export function bump(c: Counter, key: string, n = 1): void {
  c.set(key, (c.get(key) ?? 0) + n);
}

export function mergeCounter(a: Counter, b: Counter): Counter {
  for (const [k, v] of b) a.set(k, (a.get(k) ?? 0) + v);
  return a;
}

export interface Count {
  key: string;
  count: number;
}

/** Count descending, then key ascending (code-unit order, locale-independent). */
export function sortedCounts(c: Counter, limit = Infinity): Count[] {
  const all = [...c].map(([key, count]) => ({ key, count }));
  all.sort((x, y) => y.count - x.count || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return limit < all.length ? all.slice(0, limit) : all;
}

/** Deterministic string comparison for sorts. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
