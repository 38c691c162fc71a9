// Views of an anomaly report: findings table, summary, SARIF.
import type { View } from '../../types.js';
import type { AnomalyReport } from './index.js';
import { BASELINE_FINDINGS } from './index.js';
import { DETECTION_RULES, DENIED_BURST } from '../../rules/detections.js';
import { eventLocation, type SarifResult, type SarifRule } from '../../render/sarif.js';
import { displayTime, displayWindow, plural } from '../../render/format.js';

export function anomaliesView(r: AnomalyReport): View {
  const s = r.summary;
  const b = r.baseline;
  return {
    title: 'kaudit anomalies',
    sections: [
      {
        title: 'Summary',
        kind: 'kv',
        rows: [
          ['baseline', b ? `${b.source === 'file' ? 'from --baseline' : 'trained before --train-until'}: ${displayWindow(b.window.from, b.window.to)} (${plural(b.days, 'day')}, ${plural(b.subjects, 'subject')})` : 'none (built-in detections only)'],
          ['judged', r.detection.from ? displayWindow(r.detection.from, r.detection.to) : '(no requests)'],
          ['findings', `${s.findings}: ${s.bySeverity.critical} critical, ${s.bySeverity.high} high, ${s.bySeverity.medium} medium, ${s.bySeverity.low} low`],
          ['suppressed by --allow', s.suppressed],
        ],
      },
      {
        title: 'Findings',
        kind: 'table',
        columns: ['severity', 'rule', 'subject', 'what', 'first seen', 'count', 'reason'],
        rows: r.findings.map((f) => [f.severity, f.rule, f.subject, [f.verb === '*' ? '' : f.verb, f.resource, f.namespace ? `in ${f.namespace}` : ''].filter(Boolean).join(' ') || '-', displayTime(f.time), f.count, f.reason]),
        dropOrder: ['count', 'what'],
      },
    ].filter((x) => x.kind === 'kv' || x.rows.length > 0) as View['sections'],
  };
}

/** SARIF results: each cites the first request of its finding (input file and line or item). */
export function anomaliesSarif(r: AnomalyReport): { rules: SarifRule[]; results: SarifResult[] } {
  const rules: SarifRule[] = [
    ...DETECTION_RULES.map((d) => ({ id: d.id, description: `${d.description}${d.technique ? ` (MITRE ATT&CK ${d.technique})` : ''}`, severity: d.severity })),
    { id: DENIED_BURST.id, description: `${DENIED_BURST.description} (MITRE ATT&CK ${DENIED_BURST.technique})`, severity: DENIED_BURST.severity },
    ...Object.entries(BASELINE_FINDINGS).map(([id, k]) => ({ id, description: k.description, severity: k.severity })),
  ];
  const results: SarifResult[] = r.findings.map((f) => ({
    ruleId: f.rule,
    severity: f.severity,
    message: `${f.reason} (${f.count} request${f.count === 1 ? '' : 's'} from ${f.time}; auditIDs ${f.auditIDs.join(', ')})`,
    locations: [eventLocation(f.location, f.subject)],
  }));
  return { rules, results };
}
