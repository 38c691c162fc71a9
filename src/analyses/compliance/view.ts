// The compliance report as a generic View (Markdown, terminal) and as CSV rows (the checks).
import type { Cell, View } from '../../types.js';
import { headOf, VIEW_ROWS } from '../../scale/lazy.js';
import type { ComplianceReport } from './index.js';
import { FRAMEWORK_NAMES, type Framework } from '../../rules/compliance.js';
import { displayTime, displayWindow } from '../../render/format.js';
import { csvCell, csvRow, writeCsvListCell } from '../../render/sanitize.js';
import type { Sink } from '../../render/stream.js';

export function complianceView(r: ComplianceReport): View {
  const e = r.evaluation;
  const fw = e.frameworks as Framework[];
  return {
    title: 'Kubernetes least-privilege report',
    sections: [
      {
        title: 'Evaluation',
        kind: 'kv',
        rows: [
          ['generated at', displayTime(e.generatedAt)],
          ['kaudit', e.kaudit],
          ['observation window', displayWindow(e.window.from, e.window.to)],
          ['period under review', e.period ? displayWindow(e.period.from, e.period.to) : '(none given: KC-12 not assessed)'],
          ['frameworks', fw.map((f) => FRAMEWORK_NAMES[f]).join(', ')],
          ['RBAC snapshot', `${r.inputs.rbac.digest} (${r.inputs.rbac.roles} roles, ${r.inputs.rbac.bindings} bindings)`],
          ['checks', checkCounts(r)],
          ['subjects', `${r.summary.subjects} (average score ${r.summary.averageScore ?? '–'}%, ${r.summary.red.length} in red, ${r.dormant.length} dormant)`],
        ],
      },
      {
        title: 'Checks',
        kind: 'table',
        columns: ['check', 'title', 'status', ...fw.map((f) => FRAMEWORK_NAMES[f]), 'finding'],
        rows: r.checks.map((c) => [c.id, c.title, c.status === 'not-assessed' ? 'NOT ASSESSED' : c.status.toUpperCase(), ...fw.map((f) => (c.controls[f] ?? []).join(', ')), c.summary]),
        dropOrder: [...fw.map((f) => FRAMEWORK_NAMES[f]).reverse(), 'title'],
      },
      {
        title: 'Evidence',
        kind: 'table',
        columns: ['check', 'subject', 'rule or request', 'source'],
        rows: r.checks.flatMap((c) => c.evidence.rules.map((x) => [c.id, x.subject, x.rule, x.source])),
        note: 'Sample auditIDs per check are in -o json.',
      },
      {
        title: 'Use of cluster-admin and system:masters',
        kind: 'table',
        columns: ['role', 'subject', 'through', 'requests', 'sample auditIDs'],
        ...privilegedRows(r),
      },
      {
        title: 'Subjects',
        kind: 'table',
        columns: ['subject', 'kind', 'requests', 'granted', 'used', 'unused', 'sensitive', 'score', 'band', 'dormant'],
        rows: headOf(r.subjects, VIEW_ROWS).map((x) => [x.namespace ? `${x.namespace}/${x.name}` : x.name, x.kind, x.requests, x.grantedRules, x.usedRules, x.unusedRules, x.sensitiveExcess, x.score === null ? '–' : `${x.score}%`, x.severity, x.dormant ? 'yes' : 'no']),
        ...(r.subjects.length > VIEW_ROWS ? { omitted: r.subjects.length - VIEW_ROWS } : {}),
        note: 'Score: the used share of the subject’s own rules (a rule used in part counts in part), as audit drift computes it; bands: green ≥ 80%, yellow ≥ 50%, red below.',
        dropOrder: ['granted', 'used', 'dormant', 'kind'],
      },
      { title: 'Score distribution', kind: 'table', columns: ['score', 'subjects'], rows: r.summary.scoreDistribution.map((d) => [d.range, d.subjects]) },
      { title: 'Log coverage gaps', kind: 'table', columns: ['from', 'to', 'hours'], rows: r.coverage.gaps.map((g) => [displayTime(g.from), displayTime(g.to), g.hours]), note: `${r.coverage.hoursWithEvents} of ${r.coverage.hours} hours have events.` },
      {
        title: 'Inputs',
        kind: 'table',
        columns: ['input', 'path', 'SHA-256', 'events', 'rejected', 'read to the end'],
        rows: [...r.inputs.files.map((f) => ['audit log', f.path, f.sha256, f.events, f.rejected, f.complete ? 'yes' : `no: ${f.incomplete}`]), ...r.inputs.rbac.files.map((f) => ['RBAC export', f.path, f.sha256, null, null, null])],
      },
    ].filter((s) => s.kind === 'kv' || s.rows.length > 0) as View['sections'],
  };
}

/** The rows of the cluster-admin and system:masters table: the first VIEW_ROWS, and how many more there are. */
function privilegedRows(r: ComplianceReport): { rows: Cell[][]; omitted?: number } {
  const admin = headOf(r.privileged.clusterAdmin, VIEW_ROWS).map((x): Cell[] => ['cluster-admin', x.subject, x.binding, x.requests, x.auditIDs.join(', ') || '-']);
  const masters = headOf(r.privileged.systemMasters, VIEW_ROWS - admin.length).map((x): Cell[] => ['system:masters', x.subject, 'group membership (bypasses RBAC)', x.requests, x.auditIDs.join(', ') || '-']);
  const omitted = r.privileged.clusterAdmin.length + r.privileged.systemMasters.length - admin.length - masters.length;
  return { rows: [...admin, ...masters], ...(omitted > 0 ? { omitted } : {}) };
}

/** `8 fail, 1 warn, 2 pass, 1 not assessed`. */
export function checkCounts(r: ComplianceReport): string {
  const c = r.summary.checks;
  return `${c.fail} fail, ${c.warn} warn, ${c.pass} pass${c['not-assessed'] ? `, ${c['not-assessed']} not assessed` : ''}`;
}

/** CSV columns of the checks: a control column for each framework shown (--framework), no others. */
export function checkCsvColumns(r: ComplianceReport): string[] {
  return ['check', 'title', 'status', ...(r.evaluation.frameworks as Framework[]), 'finding', 'subjects', 'auditIDs'];
}

/**
 * Writes the checks as CSV (checkCsvColumns, then a row per check), each check's evidence subjects
 * joined by `; ` in one cell, written piece by piece (a check may cite every subject).
 */
export function writeCheckCsv(sink: Sink, r: ComplianceReport): void {
  sink.write(csvRow(checkCsvColumns(r)));
  for (const c of r.checks) {
    const before = [c.id, c.title, c.status, ...(r.evaluation.frameworks as Framework[]).map((f) => (c.controls[f] ?? []).join(' ')), c.summary];
    sink.write(`${before.map(csvCell).join(',')},`);
    writeCsvListCell((x) => sink.write(x), c.evidence.subjects, '; ');
    sink.write(`,${csvCell(c.evidence.auditIDs.join(' '))}\n`);
  }
}
