// The CI gate: which subjects cross the thresholds the user set (--fail-on, --max-unused).
import type { DriftReport, SubjectDrift } from './evaluate.js';

export const FAIL_ON = ['sensitive', 'red', 'yellow', 'any'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export interface GateOptions {
  failOn: FailOn[];
  /** Fail when a subject leaves more than this percentage of its grants unused (100 − score). */
  maxUnused?: number;
}

/** Why one subject fails the gate ([] when it passes). */
export function subjectFailures(d: SubjectDrift, g: GateOptions): string[] {
  const why: string[] = [];
  for (const f of g.failOn) {
    if (f === 'sensitive' && d.sensitiveExcess.length) why.push(`${d.sensitiveExcess.length} sensitive excess (${[...new Set(d.sensitiveExcess.map((e) => e.id))].join(', ')})`);
    if (f === 'red' && d.severity === 'red') why.push(`score ${d.score}% is red (< 50%)`);
    if (f === 'yellow' && (d.severity === 'yellow' || d.severity === 'red')) why.push(`score ${d.score}% is ${d.severity} (< 80%)`);
    if (f === 'any' && (d.unusedRules.length || d.sensitiveExcess.length)) why.push(`${d.unusedRules.length} unused rules`);
  }
  if (g.maxUnused !== undefined && d.score !== null && 100 - d.score > g.maxUnused) why.push(`${Math.round((100 - d.score) * 10) / 10}% unused > --max-unused ${g.maxUnused}%`);
  return [...new Set(why)];
}

/**
 * The gate over every subject: whether any fails, how many, and the lines of the first `keep` that
 * do (`subject: why`), in report order.
 */
export function gate(r: DriftReport, g: GateOptions, keep = 20): { failed: boolean; count: number; lines: string[] } {
  const lines: string[] = [];
  let count = 0;
  if (!g.failOn.length && g.maxUnused === undefined) return { failed: false, count, lines };
  for (const d of r.subjects) {
    const why = subjectFailures(d, g);
    if (!why.length) continue;
    count++;
    if (lines.length < keep) lines.push(`${d.subject.kind} ${d.subject.namespace ? `${d.subject.namespace}/` : ''}${d.subject.name}: ${why.join('; ')}`);
  }
  return { failed: count > 0, count, lines };
}
