// Views of an anomaly report: summary, findings, the rules behind them, and what the rules could not
// judge; SARIF with each rule's metadata.
import type { View } from '../../types.js';
import type { AnomalyReport } from './index.js';
import { BASELINE_FINDINGS } from './index.js';
import { completeness } from '../../render/accounting.js';
import type { RuleInfo } from '../../rules/detections.js';
import { eventLocation, type SarifResult, type SarifRule } from '../../render/sarif.js';
import { maxOf } from '../../util/array.js';
import { headOf, mapRows, VIEW_ROWS, type Rows } from '../../render/stream.js';
import { displayTime, displayWindow, plural } from '../../render/format.js';

function rulesLine(r: AnomalyReport): string {
  const s = r.rules.bySource;
  return `${r.rules.count} (${s.builtin} built-in, ${s.file} from --rules, ${s.sigma} Sigma)`;
}

/** `builtin/workloads.yaml`, `sigma my-rules/x.yml (author, license)`. */
export function sourceLabel(i: RuleInfo): string {
  if (i.source.kind === 'sigma') return `sigma ${i.source.file}${i.sigma?.author || i.sigma?.license ? ` (${[i.sigma.author, i.sigma.license].filter(Boolean).join(', ')})` : ''}`;
  return i.source.file;
}

/** "14 rules could not judge some requests (up to 145 each; body not logged)", or '' when every rule judged every request. */
export function notEvaluatedLine(r: AnomalyReport): string {
  const ne = r.rules.notEvaluated;
  if (!ne.length) return '';
  const rules = new Set(ne.map((x) => x.rule)).size;
  const most = maxOf(ne, (x) => x.requests);
  return `${rules} rule${rules === 1 ? '' : 's'} could not judge some requests (up to ${most} each; ${[...new Set(ne.map((x) => x.reason))].sort().join(', ')})`;
}

export function anomaliesView(r: AnomalyReport): View {
  const s = r.summary;
  const b = r.baseline;
  const fired = Object.values(r.ruleInfo);
  const shown = headOf(r.findings, VIEW_ROWS);
  const more = r.findings.length - shown.length;
  return {
    title: 'kaudit anomalies',
    sections: [
      {
        title: 'Summary',
        kind: 'kv',
        rows: [
          ['baseline', b ? `${b.source === 'file' ? 'from --baseline' : 'trained before --train-until'}: ${displayWindow(b.window.from, b.window.to)} (${plural(b.days, 'day')}, ${plural(b.subjects, 'subject')})` : 'none (detection rules only)'],
          ['judged', r.detection.from ? displayWindow(r.detection.from, r.detection.to) : '(no requests)'],
          ['detection rules', rulesLine(r)],
          ['findings', `${s.findings}: ${s.bySeverity.critical} critical, ${s.bySeverity.high} high, ${s.bySeverity.medium} medium, ${s.bySeverity.low} low`],
          ['suppressed by --allow', s.suppressed],
          ['not evaluated', notEvaluatedLine(r) || 'none'],
          ['read to the end', completeness(r.input)],
        ],
      },
      {
        title: 'Findings',
        kind: 'table',
        columns: ['severity', 'rule', 'subject', 'what', 'first seen', 'count', 'reason'],
        rows: shown.map((f) => [f.severity, f.rule, f.subject, [f.verb === '*' ? '' : f.verb, f.resource, f.namespace ? `in ${f.namespace}` : ''].filter(Boolean).join(' ') || '-', displayTime(f.time), f.count, f.reason]),
        dropOrder: ['count', 'what'],
        // The most severe VIEW_ROWS findings; the renderer says how many more (src/render/cap.ts).
        ...(more > 0 ? { omitted: more } : {}),
      },
      {
        title: 'Rules with findings',
        kind: 'table',
        columns: ['rule', 'severity', 'technique', 'title', 'source'],
        rows: fired.map((i) => [i.id, i.severity, i.technique.join(', ') || '-', i.title, sourceLabel(i)]),
      },
      {
        title: 'Not evaluated',
        kind: 'table',
        columns: ['rule', 'reason', 'requests'],
        rows: r.rules.notEvaluated.map((x) => [x.rule, `not evaluated: ${x.reason}`, x.requests]),
        note: 'These rules needed a body the audit policy did not log (raise the level to Request for these resources) or another field that was missing; they judged nothing for these requests.',
      },
      {
        title: 'State limits',
        kind: 'table',
        columns: ['rule', 'keys dropped'],
        rows: r.rules.evictedKeys.map((x) => [x.rule, x.keys]),
        note: 'Stateful rules keep a bounded number of keys; windows across dropped keys may be missed.',
      },
    ].filter((x) => x.kind === 'kv' || x.rows.length > 0) as View['sections'],
  };
}

/** The first reference that is an http(s) URL: SARIF's helpUri is a URI, and a viewer makes it a link (a user or Sigma rule may give any text). */
function helpUri(references: readonly string[]): string | undefined {
  for (const r of references) {
    try {
      const u = new URL(r);
      if (u.protocol === 'https:' || u.protocol === 'http:') return u.href;
    } catch {
      /* not a URL */
    }
  }
  return undefined;
}

/** SARIF rules from rule metadata: title, description, remediation as help, first http(s) reference, ATT&CK tags, Sigma fields. */
export function sarifRule(i: RuleInfo): SarifRule {
  return {
    id: i.id,
    name: i.title,
    description: `${i.title}${i.technique.length ? ` (MITRE ATT&CK ${i.technique.join(', ')})` : ''}`,
    fullDescription: i.description,
    ...(i.remediation ? { help: i.remediation } : {}),
    ...(helpUri(i.references) ? { helpUri: helpUri(i.references) } : {}),
    severity: i.severity,
    tags: [...i.technique.map((t) => `external/mitre-attack/${t}`), ...i.tags],
    properties: { source: i.source.kind, file: i.source.file, ...(i.sigma ? { sigma: i.sigma } : {}), ...(i.falsePositives.length ? { falsePositives: i.falsePositives } : {}) },
  };
}

/** SARIF: the rules that ran with their metadata, and results that cite the first request of each finding (input file and line or item). */
export function anomaliesSarif(r: AnomalyReport, rules: RuleInfo[]): { rules: SarifRule[]; results: Rows<SarifResult> } {
  const out: SarifRule[] = [...rules.map(sarifRule), ...Object.entries(BASELINE_FINDINGS).map(([id, k]) => ({ id, description: k.description, severity: k.severity }))];
  const results: Rows<SarifResult> = mapRows(r.findings, (f) => ({
    ruleId: f.rule,
    severity: f.severity,
    message: `${f.reason} (${f.count} request${f.count === 1 ? '' : 's'} from ${f.time}; auditIDs ${f.auditIDs.join(', ')})`,
    locations: [eventLocation(f.location, f.subject)],
  }));
  return { rules: out, results };
}
