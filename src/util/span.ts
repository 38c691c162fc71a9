// When something was first and last seen: epoch ms for comparing, and the time as the log wrote it.
// Shared by every reducer that reports a first/last seen (the strict comparisons keep the earliest
// record on ties, so a merge of partial states equals one pass). A reducer that cites evidence
// also keeps where the first-seen request was read (`firstAt`).
import type { Loc } from '../types.js';

export interface Span {
  firstMs: number;
  first: string;
  lastMs: number;
  last: string;
  /** Where the first-seen request was read (AuditRecord.location), when the reducer keeps it. */
  firstAt?: Loc;
}

/** Widens the span to a record's time (an unknown time, NaN, changes nothing but a missing `firstAt`). */
export function widenSpan(s: Span, ms: number, time: string, at?: Loc): void {
  if (ms < s.firstMs) {
    s.firstMs = ms;
    s.first = time;
    if (at) s.firstAt = at;
  } else if (at && s.firstAt === undefined) s.firstAt = at;
  if (ms > s.lastMs) [s.lastMs, s.last] = [ms, time];
}

/** Widens `a` to cover `b`. */
export function mergeSpan(a: Span, b: Span): void {
  if (b.firstMs < a.firstMs) {
    a.firstMs = b.firstMs;
    a.first = b.first;
    if (b.firstAt) a.firstAt = b.firstAt;
  } else if (a.firstAt === undefined && b.firstAt) a.firstAt = b.firstAt;
  if (b.lastMs > a.lastMs) [a.lastMs, a.last] = [b.lastMs, b.last];
}
