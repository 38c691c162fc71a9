// Example auditIDs kept as evidence: the k earliest requests by (time, auditID). The order is total
// (unknown times sort last), so the kept set does not depend on the order requests arrive in, and a
// merge of partial states keeps what one pass keeps.
import { cmp } from './counter.js';

export type Example = [timeMs: number, auditID: string];

const key = (t: number): number => (Number.isNaN(t) ? Infinity : t);

/** Orders examples by time (unknown last), then auditID. */
export function compareExamples(x: Example, y: Example): number {
  return key(x[0]) - key(y[0]) || cmp(x[1], y[1]);
}

/** Adds an example to `ex` (sorted, at most `k`) if it is among the k earliest. */
export function keepEarliest(ex: Example[], t: number, id: string, k: number): void {
  if (ex.length >= k && compareExamples([t, id], ex[ex.length - 1]!) >= 0) return;
  ex.push([t, id]);
  ex.sort(compareExamples);
  if (ex.length > k) ex.length = k;
}

/** The k earliest of two example lists. */
export function mergeEarliest(a: Example[], b: Example[], k: number): Example[] {
  return [...a, ...b].sort(compareExamples).slice(0, k);
}
