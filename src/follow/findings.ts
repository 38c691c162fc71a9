// `--findings`: the detection rules evaluated live, one request at a time, through the rule
// engine's library API (src/rules/detections.ts: loadRuleSet → DetectionEngine.evaluate): the
// built-in rules, the user's rule files (--rules) and Sigma rules (--sigma), selected as for
// `audit anomalies`. Each hit becomes one finding with the shape of an `audit anomalies -o jsonl`
// line (kind `detection`); stateful rules (thresholds, first-seen, sequences) keep the engine's
// bounded state, which starts afresh after a restart.
import type { AuditRecord } from '../types.js';
import type { Finding } from '../analyses/anomalies/index.js';
import { DetectionEngine, type Hit, type RuleSet, type RuleStats } from '../rules/detections.js';

/** One hit as a finding, the way `audit anomalies` reports a detection (here for the hit's events alone). */
export function findingOf(h: Hit): Finding {
  const r = h.record;
  const d = h.rule.doc;
  // A threshold finding is about its key (the subject, the source…), not one request's verb and object.
  const grouped = d.threshold !== null && h.key !== null;
  const resource = grouped ? '' : r.resource ? `${r.apiGroup ? `${r.resource}.${r.apiGroup}` : r.resource}${r.subresource ? `/${r.subresource}` : ''}` : r.nonResourceURL;
  const events = [...h.events].sort((a, b) => a.timeMs - b.timeMs);
  const first = events[0];
  const last = events[events.length - 1];
  return {
    rule: d.id,
    title: d.title,
    kind: 'detection',
    severity: d.severity,
    subject: r.subject,
    subjectKind: r.subjectKind,
    verb: grouped ? '*' : r.verb,
    resource,
    namespace: grouped ? (h.key!.namespace ?? '') : r.namespace,
    time: first?.time ?? r.time,
    last: last?.time ?? r.time,
    count: Math.max(1, events.length),
    auditIDs: events.map((e) => e.auditID).filter(Boolean).slice(0, 5),
    reason: h.reason,
    technique: d.technique,
    source: d.source.kind,
    location: first?.location ?? r.location ?? null,
    ...(d.sigma ? { sigma: { id: d.sigma.id, title: d.sigma.title, author: d.sigma.author, license: d.sigma.license } } : {}),
  };
}

/** Runs a rule set over records as they complete. */
export class LiveDetector {
  private readonly engine: DetectionEngine;

  constructor(set: RuleSet) {
    this.engine = new DetectionEngine(set);
  }

  /** The findings one record raises (usually none). */
  check(r: AuditRecord): Finding[] {
    const out: Finding[] = [];
    this.engine.evaluate(r, (h) => out.push(findingOf(h)));
    return out;
  }

  /** Per rule: matched, not evaluated (body not logged…), evicted state keys. */
  stats(): RuleStats[] {
    return this.engine.stats();
  }
}
