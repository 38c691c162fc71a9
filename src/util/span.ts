// When something was first and last seen: epoch ms for comparing, and the time as the log wrote it.
// Shared by every reducer that reports a first/last seen (the strict comparisons keep the earliest
// record on ties, so a merge of partial states equals one pass).

export interface Span {
  firstMs: number;
  first: string;
  lastMs: number;
  last: string;
}

/** Widens the span to a record's time (an unknown time, NaN, changes nothing). */
export function widenSpan(s: Span, ms: number, time: string): void {
  if (ms < s.firstMs) [s.firstMs, s.first] = [ms, time];
  if (ms > s.lastMs) [s.lastMs, s.last] = [ms, time];
}

/** Widens `a` to cover `b`. */
export function mergeSpan(a: Span, b: Span): void {
  if (b.firstMs < a.firstMs) [a.firstMs, a.first] = [b.firstMs, b.first];
  if (b.lastMs > a.lastMs) [a.lastMs, a.last] = [b.lastMs, b.last];
}
