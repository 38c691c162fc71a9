// `--findings`: detections evaluated live, one request at a time.
//
// The adapter: `LiveDetector.check` is the one place that knows where detection rules come from.
// Today that is the built-in table in src/rules/detections.ts (matchingRules, renderReason) plus
// the stateful denied-burst rule, exactly as `audit anomalies` runs them; when the rule engine with
// user rules lands, only this function changes. A finding has the shape of one line of
// `audit anomalies -o jsonl` (kind `detection`).
import type { AuditRecord } from '../types.js';
import type { Finding } from '../analyses/anomalies/index.js';
import { DENIED_BURST, matchingRules, renderReason } from '../rules/detections.js';

export interface DeniedBurst {
  /** Denials from one subject… */
  count: number;
  /** …within this many minutes. */
  minutes: number;
}

/** Subjects with recent denials kept at most (the oldest windows are swept beyond it). */
const MAX_SUBJECTS = 10_000;

function resourceOf(r: AuditRecord): string {
  return r.resource ? `${r.apiGroup ? `${r.resource}.${r.apiGroup}` : r.resource}${r.subresource ? `/${r.subresource}` : ''}` : r.nonResourceURL;
}

function one(r: AuditRecord, rule: { id: string; severity: Finding['severity']; technique: string }, reason: string): Finding {
  return { rule: rule.id, kind: 'detection', severity: rule.severity, subject: r.subject, subjectKind: r.subjectKind, verb: r.verb, resource: resourceOf(r), namespace: r.namespace, time: r.time, last: r.time, count: 1, auditIDs: r.auditID ? [r.auditID] : [], reason, technique: rule.technique };
}

/** Runs the detections over records as they complete. Bounded state: the denied-burst windows. */
export class LiveDetector {
  private readonly denials = new Map<string, [number, string, string][]>();

  constructor(private readonly burst: DeniedBurst = { count: 10, minutes: 5 }) {}

  /** The findings one record raises (usually none). */
  check(r: AuditRecord): Finding[] {
    const out: Finding[] = [];
    for (const rule of matchingRules(r)) out.push(one(r, rule, renderReason(rule.reason ?? rule.description, r)));
    if (r.decision === 'forbid' && Number.isFinite(r.timeMs)) {
      const windowMs = this.burst.minutes * 60_000;
      let q = this.denials.get(r.subject);
      if (!q) {
        if (this.denials.size >= MAX_SUBJECTS) this.sweep(r.timeMs - windowMs);
        this.denials.set(r.subject, (q = []));
      }
      q.push([r.timeMs, r.auditID, r.time]);
      while (q.length && r.timeMs - q[0]![0] > windowMs) q.shift();
      if (q.length >= this.burst.count) {
        const f = one({ ...r, verb: '*', resource: '', subresource: '', apiGroup: '', nonResourceURL: '(denied)', namespace: '' }, DENIED_BURST, `${this.burst.count} or more denied requests within ${this.burst.minutes} minutes`);
        f.time = q[0]![2];
        f.count = q.length;
        f.auditIDs = q.slice(0, 5).map((e) => e[1]).filter(Boolean);
        out.push(f);
        this.denials.delete(r.subject);
      }
    }
    return out;
  }

  private sweep(before: number): void {
    for (const [k, q] of this.denials) if (!q.length || q[q.length - 1]![0] < before) this.denials.delete(k);
    // Still full (a flood of distinct subjects): forget the oldest half.
    if (this.denials.size >= MAX_SUBJECTS) {
      let n = this.denials.size / 2;
      for (const k of this.denials.keys()) {
        if (n-- <= 0) break;
        this.denials.delete(k);
      }
    }
  }
}
